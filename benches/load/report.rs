//! `results.json` and the printed table.

use comfy_table::presets::ASCII_MARKDOWN;
use comfy_table::{CellAlignment, Table};
use serde_json::{Map, Value, json};

use crate::disk::SyncCost;
use crate::{
    CONCURRENCY, OVERLOAD_CONNECTIONS, Overload, Queries, Throughput, WalRun, dataset, median,
};

/// Everything the benchmark measured, for the JSON and the tables.
pub struct Phases<'a> {
    pub throughput: &'a Throughput,
    pub fsync: &'a SyncCost,
    pub wal: &'a WalRun,
    pub overload: &'a Overload,
    pub small: &'a Queries,
    pub large: &'a Queries,
}

/// Rounds a figure for the JSON: three significant decimals are plenty for noisy timings.
fn round(value: f64, decimals: i32) -> Value {
    if !value.is_finite() {
        return Value::Null;
    }
    let scale = 10f64.powi(decimals);
    json!((value * scale).round() / scale)
}

/// The figures of the rounds at [`CONCURRENCY`], each the median over the rounds; ratios are
/// the median of each round's own ratio (its runs were made a few seconds apart).
struct Headline {
    floor_rps: f64,
    ingest_rps: f64,
    ingest_p50_ms: f64,
    ingest_p99_ms: f64,
    ingest_over_floor: f64,
    duplicate_rps: f64,
    duplicate_p50_ms: f64,
    duplicate_over_floor: f64,
    floor_cpu_us: f64,
    ingest_cpu_us: f64,
    duplicate_cpu_us: f64,
    /// Medians over the rounds of each round's [`crate::IngestCost`] figures.
    writer_cpu_us_per_message: f64,
    writer_deferred_cpu_us_per_message: f64,
    ingest_cpu_us_per_message_total: f64,
    ingest_cpu_over_get_cpu: f64,
    /// Each round's own ratio, in order: how far apart rounds of one build fall.
    ingest_cpu_over_get_cpu_by_round: Vec<f64>,
    /// `None` when the server publishes no commit histogram.
    messages_per_commit: Option<f64>,
}

fn headline(throughput: &Throughput) -> Headline {
    let over = |f: &dyn Fn(
        &(
            crate::client::Outcome,
            crate::client::Outcome,
            crate::client::Outcome,
        ),
    ) -> f64| { median(throughput.rounds.iter().map(f).collect()) };
    let cpu_ratios: Vec<f64> = throughput
        .rounds
        .iter()
        .zip(&throughput.costs)
        .map(|((floor, ingest, _), cost)| cost.total_us(ingest) / floor.server_cpu_us())
        .collect();
    Headline {
        floor_rps: over(&|(floor, _, _)| floor.rps()),
        ingest_rps: over(&|(_, ingest, _)| ingest.rps()),
        ingest_p50_ms: over(&|(_, ingest, _)| ingest.percentile_ms(50.0)),
        ingest_p99_ms: over(&|(_, ingest, _)| ingest.percentile_ms(99.0)),
        ingest_over_floor: over(&|(floor, ingest, _)| ingest.rps() / floor.rps()),
        duplicate_rps: over(&|(_, _, duplicates)| duplicates.rps()),
        duplicate_p50_ms: over(&|(_, _, duplicates)| duplicates.percentile_ms(50.0)),
        duplicate_over_floor: over(&|(floor, _, duplicates)| duplicates.rps() / floor.rps()),
        floor_cpu_us: over(&|(floor, _, _)| floor.server_cpu_us()),
        ingest_cpu_us: over(&|(_, ingest, _)| ingest.server_cpu_us()),
        duplicate_cpu_us: over(&|(_, _, duplicates)| duplicates.server_cpu_us()),
        writer_cpu_us_per_message: median(throughput.costs.iter().map(|c| c.writer_us()).collect()),
        writer_deferred_cpu_us_per_message: median(
            throughput
                .costs
                .iter()
                .map(crate::IngestCost::writer_deferred_us)
                .collect(),
        ),
        ingest_cpu_us_per_message_total: median(
            throughput
                .rounds
                .iter()
                .zip(&throughput.costs)
                .map(|((_, ingest, _), cost)| cost.total_us(ingest))
                .collect(),
        ),
        ingest_cpu_over_get_cpu: median(cpu_ratios.clone()),
        ingest_cpu_over_get_cpu_by_round: cpu_ratios,
        messages_per_commit: throughput
            .costs
            .iter()
            .map(crate::IngestCost::messages_per_commit)
            .collect::<Option<Vec<f64>>>()
            .map(median),
    }
}

/// The overload phase's figures.
struct OverloadFigures {
    rps: f64,
    p99_ms: f64,
    ok_p99_ms: f64,
    errors: u64,
    shed: u64,
}

fn overload(overload: &Overload) -> OverloadFigures {
    let outcome = &overload.outcome;
    OverloadFigures {
        rps: outcome.count(200) as f64 / outcome.elapsed.as_secs_f64(),
        p99_ms: outcome.percentile_ms(99.0),
        ok_p99_ms: outcome.ok_percentile_ms(99.0),
        errors: outcome.failures + outcome.server_errors(),
        shed: outcome.shed,
    }
}

/// A performance target: a results key, its bound, and which side passes.
struct Target {
    key: &'static str,
    at_least: bool,
    bound: f64,
}

const TARGETS: [Target; 15] = [
    Target {
        key: "ingest_over_floor",
        at_least: true,
        bound: 0.5,
    },
    Target {
        key: "ingest_cpu_over_get_cpu",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "duplicate_over_floor",
        at_least: true,
        bound: 0.6,
    },
    Target {
        key: "messages_1m_over_1k",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "from_1m_over_1k",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "since_recent_1m_over_1k",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "since_half_1m_over_1k",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "stats_1m_over_1k",
        at_least: false,
        bound: 2.0,
    },
    Target {
        key: "peak_rss_mb",
        at_least: false,
        bound: 64.0,
    },
    Target {
        key: "ready_ms_1m",
        at_least: false,
        bound: 500.0,
    },
    Target {
        key: "overload_peak_rss_mb",
        at_least: false,
        bound: 64.0,
    },
    Target {
        key: "overload_errors",
        at_least: false,
        bound: 0.0,
    },
    Target {
        key: "search_common_p50_ms_1m",
        at_least: false,
        bound: 50.0,
    },
    Target {
        key: "search_common_ingest_p50_ms_1m",
        at_least: false,
        bound: 50.0,
    },
    Target {
        key: "totals_match",
        at_least: true,
        bound: 1.0,
    },
];

/// Each target with its value in `results` and whether it is met (`None`: no value, e.g. a
/// figure the server could not give).
fn targets(results: &Map<String, Value>) -> Vec<(&'static Target, Option<f64>, Option<bool>)> {
    TARGETS
        .iter()
        .map(|target| {
            let value = match results.get(target.key) {
                Some(Value::Bool(ok)) => Some(f64::from(u8::from(*ok))),
                Some(value) => value.as_f64(),
                None => None,
            };
            let met = value.map(|value| {
                if target.at_least {
                    value >= target.bound
                } else {
                    value <= target.bound
                }
            });
            (target, value, met)
        })
        .collect()
}

fn describe(target: &Target) -> String {
    let op = if target.at_least { ">=" } else { "<=" };
    if target.key == "totals_match" {
        "totals_match (every query's exact total)".to_string()
    } else {
        format!("{} {op} {}", target.key, target.bound)
    }
}

/// Checks the target table's judgement on made-up figures; run by `cargo test`.
pub fn self_check() {
    let mut results = Map::new();
    results.insert("ingest_over_floor".into(), json!(0.5));
    results.insert("ingest_cpu_over_get_cpu".into(), json!(2.01));
    results.insert("overload_errors".into(), json!(0));
    results.insert("totals_match".into(), json!(false));
    results.insert("search_common_p50_ms_1m".into(), Value::Null);
    let judged = targets(&results);
    let met = |key: &str| {
        judged
            .iter()
            .find(|(target, _, _)| target.key == key)
            .map(|(_, _, met)| *met)
            .expect("a target")
    };
    assert_eq!(
        met("ingest_over_floor"),
        Some(true),
        "the bound itself is met"
    );
    assert_eq!(met("ingest_cpu_over_get_cpu"), Some(false));
    assert_eq!(met("overload_errors"), Some(true));
    assert_eq!(met("totals_match"), Some(false));
    assert_eq!(met("search_common_p50_ms_1m"), None, "null is no value");
    assert_eq!(met("ready_ms_1m"), None, "absent is no value");
}

/// The WhatsApp runs' figures, each the median over the runs.
struct WhatsApp {
    deliveries_per_s: f64,
    messages_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
}

fn whatsapp(throughput: &Throughput) -> WhatsApp {
    let over = |f: &dyn Fn(&crate::client::Outcome) -> f64| {
        median(throughput.whatsapp.iter().map(f).collect())
    };
    let per_delivery = dataset::WHATSAPP_MESSAGES_PER_DELIVERY as f64;
    WhatsApp {
        deliveries_per_s: over(&|run| run.rps()),
        messages_per_s: over(&|run| run.rps() * per_delivery),
        p50_ms: over(&|run| run.percentile_ms(50.0)),
        p99_ms: over(&|run| run.percentile_ms(99.0)),
        cpu_us: over(&|run| run.server_cpu_us()),
    }
}

pub fn results(phases: &Phases) -> Value {
    let Phases {
        throughput,
        fsync,
        wal,
        overload: overload_phase,
        small,
        large,
    } = *phases;
    let h = headline(throughput);
    let ratio = |name: &str| large.p50(name) / small.p50(name);
    let mut out = Map::new();
    let mut put = |key: &str, value: Value| {
        out.insert(key.to_string(), value);
    };
    put("floor_rps", round(h.floor_rps, 0));
    put("ingest_rps", round(h.ingest_rps, 0));
    put("ingest_p50_ms", round(h.ingest_p50_ms, 3));
    put("ingest_p99_ms", round(h.ingest_p99_ms, 3));
    put("ingest_over_floor", round(h.ingest_over_floor, 3));
    put("duplicate_rps", round(h.duplicate_rps, 0));
    put("duplicate_p50_ms", round(h.duplicate_p50_ms, 3));
    put("duplicate_over_floor", round(h.duplicate_over_floor, 3));
    put("floor_server_cpu_us", round(h.floor_cpu_us, 1));
    put("ingest_server_cpu_us", round(h.ingest_cpu_us, 1));
    put("duplicate_server_cpu_us", round(h.duplicate_cpu_us, 1));
    put(
        "writer_cpu_us_per_message",
        round(h.writer_cpu_us_per_message, 1),
    );
    put(
        "writer_deferred_cpu_us_per_message",
        round(h.writer_deferred_cpu_us_per_message, 1),
    );
    put(
        "ingest_cpu_us_per_message_total",
        round(h.ingest_cpu_us_per_message_total, 1),
    );
    put(
        "ingest_cpu_over_get_cpu",
        round(h.ingest_cpu_over_get_cpu, 2),
    );
    put(
        "ingest_cpu_over_get_cpu_by_round",
        h.ingest_cpu_over_get_cpu_by_round
            .iter()
            .map(|ratio| round(*ratio, 2))
            .collect(),
    );
    put(
        "messages_per_commit",
        h.messages_per_commit.map_or(Value::Null, |n| round(n, 1)),
    );
    put("fsync_cpu_us", round(fsync.cpu_us, 1));
    put("fsync_wall_us", round(fsync.wall_us, 1));
    put(
        "fsync_cpu_us_per_message",
        h.messages_per_commit
            .map_or(Value::Null, |n| round(fsync.cpu_us_per_message(n), 1)),
    );
    let (wal_during, wal_deferred) = wal.bytes_per_message();
    put("wal_bytes_per_message", round(wal_during, 0));
    put("wal_deferred_bytes_per_message", round(wal_deferred, 0));
    put("wal_run_messages", json!(wal.created));
    put("wal_run_no_errors", json!(wal.no_errors));
    let o = overload(overload_phase);
    put("overload_connections", json!(OVERLOAD_CONNECTIONS));
    put("overload_rps", round(o.rps, 0));
    put("overload_p99_ms", round(o.p99_ms, 3));
    put("overload_ok_p99_ms", round(o.ok_p99_ms, 3));
    put("overload_peak_rss_mb", round(overload_phase.peak_rss_mb, 1));
    put("overload_errors", json!(o.errors));
    put("overload_shed", json!(o.shed));
    put(
        "overload_statuses",
        json!(
            overload_phase
                .outcome
                .statuses
                .iter()
                .map(|(status, n)| (status.to_string(), json!(*n)))
                .collect::<Map<String, Value>>()
        ),
    );
    put(
        "overload_connection_errors",
        json!(overload_phase.outcome.failures),
    );
    put(
        "overload_server_max_open_files",
        json!(overload_phase.max_open_files),
    );
    let (rows, took) = throughput
        .indexed
        .iter()
        .fold((0, 0.0), |(rows, took), (n, d)| {
            (rows + n, took + d.as_secs_f64())
        });
    put("index_catch_up_rows_per_s", round(rows as f64 / took, 0));
    put("durable", json!(throughput.durable()));
    put("journal_mode", json!(throughput.journal_mode));
    put("synchronous", json!(throughput.synchronous));
    put("no_errors", json!(throughput.no_errors));
    let w = whatsapp(throughput);
    put("whatsapp_deliveries_per_s", round(w.deliveries_per_s, 0));
    put("whatsapp_messages_per_s", round(w.messages_per_s, 0));
    put("whatsapp_delivery_p50_ms", round(w.p50_ms, 3));
    put("whatsapp_delivery_p99_ms", round(w.p99_ms, 3));
    put("whatsapp_server_cpu_us_per_delivery", round(w.cpu_us, 1));
    put(
        "whatsapp_messages_per_delivery",
        json!(dataset::WHATSAPP_MESSAGES_PER_DELIVERY),
    );
    put("whatsapp_no_errors", json!(throughput.whatsapp_no_errors));
    // Every row is either a `created` answer of /webhook or a message of an acknowledged
    // WhatsApp delivery (their ids never repeat).
    put(
        "rows_match_created",
        json!(
            i64::try_from(throughput.created_answers + throughput.whatsapp_messages_acknowledged)
                .ok()
                == Some(throughput.rows_after)
        ),
    );
    put("rows_after_ingest", json!(throughput.rows_after));
    put("created_answers", json!(throughput.created_answers));
    put(
        "whatsapp_messages_acknowledged",
        json!(throughput.whatsapp_messages_acknowledged),
    );
    for (key, name) in [
        ("messages", "first_page"),
        ("from", "from"),
        ("since_recent", "since_recent"),
        ("since_half", "since_half"),
        ("search", "q_rare"),
        ("search_common", "q_common"),
        ("search_common_ingest", "q_common_ingest"),
        ("stats", "stats"),
    ] {
        put(&format!("{key}_p50_ms_1k"), round(small.p50(name), 3));
        put(&format!("{key}_p50_ms_1m"), round(large.p50(name), 3));
        put(&format!("{key}_1m_over_1k"), round(ratio(name), 2));
    }
    put(
        "search_common_first_ms_1m",
        round(large.first("q_common"), 3),
    );
    let peak = throughput
        .peak_rss_mb
        .max(small.peak_rss_mb)
        .max(large.peak_rss_mb);
    put("peak_rss_mb", round(peak, 1));
    put("ready_ms_1m", round(large.ready.as_secs_f64() * 1000.0, 1));
    put("ready_ms_1k", round(small.ready.as_secs_f64() * 1000.0, 1));
    put(
        "totals_match",
        json!(small.totals_match() && large.totals_match()),
    );
    let queries: Map<String, Value> = small
        .results
        .iter()
        .zip(&large.results)
        .map(|(s, l)| {
            (
                s.name.to_string(),
                json!({
                    "path_1m": l.path,
                    "p50_ms_1k": round(s.p50_ms, 3),
                    "p50_ms_1m": round(l.p50_ms, 3),
                    "first_ms_1k": round(s.first_ms, 3),
                    "first_ms_1m": round(l.first_ms, 3),
                    "1m_over_1k": round(l.p50_ms / s.p50_ms, 2),
                    "total_1k": s.total,
                    "total_1m": l.total,
                    "samples_1m": l.samples,
                }),
            )
        })
        .collect();
    put("queries", Value::Object(queries));
    let sweep: Vec<Value> = sweep_rows(throughput)
        .into_iter()
        .map(|row| {
            json!({
                "concurrency": row.concurrency,
                "floor_rps": round(row.floor_rps, 0),
                "ingest_rps": round(row.ingest_rps, 0),
                "ingest_p50_ms": round(row.ingest_p50_ms, 3),
                "ingest_p99_ms": round(row.ingest_p99_ms, 3),
                "ingest_over_floor": round(row.ingest_rps / row.floor_rps, 3),
                "duplicate_rps": round(row.duplicate_rps, 0),
                "server_cpu_us": {
                    "floor": round(row.floor_cpu_us, 1),
                    "ingest": round(row.ingest_cpu_us, 1),
                    "duplicate": round(row.duplicate_cpu_us, 1),
                },
            })
        })
        .collect();
    put("sweep", json!(sweep));
    put("rows_large", json!(large.rows));
    put("fill_seconds_1m", round(large.fill.as_secs_f64(), 1));
    put("log_bytes_ingest_server", json!(throughput.log_bytes));
    let judged: Vec<Value> = targets(&out)
        .into_iter()
        .map(|(target, value, met)| {
            json!({
                "key": target.key,
                "bound": target.bound,
                "at_least": target.at_least,
                "value": value,
                "met": met,
            })
        })
        .collect();
    let missed = judged.iter().filter(|t| t["met"] != json!(true)).count();
    out.insert("targets".to_string(), json!(judged));
    out.insert("targets_missed".to_string(), json!(missed));
    Value::Object(out)
}

struct SweepRow {
    concurrency: usize,
    floor_rps: f64,
    ingest_rps: f64,
    ingest_p50_ms: f64,
    ingest_p99_ms: f64,
    duplicate_rps: f64,
    floor_cpu_us: f64,
    ingest_cpu_us: f64,
    duplicate_cpu_us: f64,
}

/// One row per concurrency, in order; the headline concurrency's from the rounds' medians.
fn sweep_rows(throughput: &Throughput) -> Vec<SweepRow> {
    let h = headline(throughput);
    let mut rows: Vec<SweepRow> = throughput
        .sweep
        .iter()
        .map(|(concurrency, floor, ingest, duplicates)| SweepRow {
            concurrency: *concurrency,
            floor_rps: floor.rps(),
            ingest_rps: ingest.rps(),
            ingest_p50_ms: ingest.percentile_ms(50.0),
            ingest_p99_ms: ingest.percentile_ms(99.0),
            duplicate_rps: duplicates.rps(),
            floor_cpu_us: floor.server_cpu_us(),
            ingest_cpu_us: ingest.server_cpu_us(),
            duplicate_cpu_us: duplicates.server_cpu_us(),
        })
        .collect();
    rows.push(SweepRow {
        concurrency: CONCURRENCY,
        floor_rps: h.floor_rps,
        ingest_rps: h.ingest_rps,
        ingest_p50_ms: h.ingest_p50_ms,
        ingest_p99_ms: h.ingest_p99_ms,
        duplicate_rps: h.duplicate_rps,
        floor_cpu_us: h.floor_cpu_us,
        ingest_cpu_us: h.ingest_cpu_us,
        duplicate_cpu_us: h.duplicate_cpu_us,
    });
    rows.sort_by_key(|row| row.concurrency);
    rows
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(ASCII_MARKDOWN)
        .set_header(header.to_vec());
    table
}

fn right_align(table: &mut Table, from: usize) {
    for index in from..table.column_count() {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

pub fn print(settings: &Value, phases: &Phases, results: &Value) {
    let Phases {
        throughput,
        fsync,
        wal,
        overload: overload_phase,
        small,
        large,
    } = *phases;
    let h = headline(throughput);
    println!();
    println!("Benchmark settings: {settings}");
    println!();
    let mut load = table(&[
        "concurrency",
        "GET /health/live req/s",
        "POST /webhook (new) req/s",
        "p50 ms",
        "p99 ms",
        "new / floor",
        "POST /webhook (duplicate) req/s",
        "duplicate / floor",
        "server CPU us/req live, new, dup",
    ]);
    for row in sweep_rows(throughput) {
        let headline = row.concurrency == CONCURRENCY;
        let (ratio, dup_ratio) = if headline {
            (h.ingest_over_floor, h.duplicate_over_floor)
        } else {
            (
                row.ingest_rps / row.floor_rps,
                row.duplicate_rps / row.floor_rps,
            )
        };
        load.add_row(vec![
            format!(
                "{}{}",
                row.concurrency,
                if headline { " (median of rounds)" } else { "" }
            ),
            format!("{:.0}", row.floor_rps),
            format!("{:.0}", row.ingest_rps),
            format!("{:.2}", row.ingest_p50_ms),
            format!("{:.2}", row.ingest_p99_ms),
            format!("{ratio:.2}"),
            format!("{:.0}", row.duplicate_rps),
            format!("{dup_ratio:.2}"),
            format!(
                "{:.0}, {:.0}, {:.0}",
                row.floor_cpu_us, row.ingest_cpu_us, row.duplicate_cpu_us
            ),
        ]);
    }
    right_align(&mut load, 1);
    println!("{load}");
    println!();
    let w = whatsapp(throughput);
    let mut deliveries = table(&[
        "WhatsApp deliveries (median of rounds)",
        "deliveries/s",
        "messages/s",
        "p50 ms",
        "p99 ms",
        "server CPU us/delivery",
    ]);
    deliveries.add_row(vec![
        format!(
            "{} messages each, concurrency {CONCURRENCY}",
            dataset::WHATSAPP_MESSAGES_PER_DELIVERY
        ),
        format!("{:.0}", w.deliveries_per_s),
        format!("{:.0}", w.messages_per_s),
        format!("{:.2}", w.p50_ms),
        format!("{:.2}", w.p99_ms),
        format!("{:.0}", w.cpu_us),
    ]);
    right_align(&mut deliveries, 1);
    println!("{deliveries}");
    println!();
    let mut writer = table(&[
        &format!("where a new message's cost goes (concurrency {CONCURRENCY}, median of rounds)"),
        "value",
    ]);
    let rows = [
        (
            "writer thread CPU per new message, during the run",
            format!("{:.1} us", h.writer_cpu_us_per_message),
        ),
        (
            "writer thread CPU per new message, deferred (after the run, until idle)",
            format!("{:.1} us", h.writer_deferred_cpu_us_per_message),
        ),
        (
            "server CPU per new message, deferred part included",
            format!("{:.1} us", h.ingest_cpu_us_per_message_total),
        ),
        (
            "server CPU per GET /health/live",
            format!("{:.1} us", h.floor_cpu_us),
        ),
        (
            "new message over GET, server CPU (median of the rounds' own ratios)",
            format!(
                "{:.2} (rounds: {})",
                h.ingest_cpu_over_get_cpu,
                h.ingest_cpu_over_get_cpu_by_round
                    .iter()
                    .map(|ratio| format!("{ratio:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (
            "messages per commit (storage_commit_batch_messages)",
            h.messages_per_commit
                .map_or("not published".to_string(), |n| format!("{n:.1}")),
        ),
        (
            "one fsync's CPU (write and fsync here, less the write), per new message",
            format!(
                "{:.1} us per fsync, {}",
                fsync.cpu_us,
                h.messages_per_commit.map_or("-".to_string(), |n| format!(
                    "{:.1} us per message",
                    fsync.cpu_us_per_message(n)
                ))
            ),
        ),
        (
            "write-ahead log per new message (own run, no checkpoints)",
            {
                let (during, deferred) = wal.bytes_per_message();
                format!(
                    "{during:.0} bytes (+{deferred:.0} deferred), {} messages",
                    wal.created
                )
            },
        ),
    ];
    for (name, value) in rows {
        writer.add_row(vec![name.to_string(), value]);
    }
    right_align(&mut writer, 1);
    println!("{writer}");
    println!();
    let o = overload(overload_phase);
    let mut overloaded = table(&[
        "overload (fresh server)",
        "200/s",
        "p99 ms (all, 200s)",
        "peak RSS MiB",
        "errors",
        "shed (503 + Retry-After)",
        "statuses",
    ]);
    overloaded.add_row(vec![
        format!(
            "{OVERLOAD_CONNECTIONS} connections, {:.0} s",
            overload_phase.outcome.elapsed.as_secs_f64()
        ),
        format!("{:.0}", o.rps),
        format!("{:.2}, {:.2}", o.p99_ms, o.ok_p99_ms),
        format!("{:.1}", overload_phase.peak_rss_mb),
        format!(
            "{} ({} connection)",
            o.errors, overload_phase.outcome.failures
        ),
        format!("{}", o.shed),
        format!("{:?}", overload_phase.outcome.statuses),
    ]);
    right_align(&mut overloaded, 1);
    println!("{overloaded}");
    println!();
    let mut reads = table(&[
        "query (p50, one client)",
        "1k rows ms",
        &format!("{} rows ms", large.rows),
        "1m / 1k",
        "total at 1k",
        "total at 1m",
    ]);
    for (s, l) in small.results.iter().zip(&large.results) {
        reads.add_row(vec![
            s.name.to_string(),
            format!("{:.3}", s.p50_ms),
            format!("{:.3} (first {:.3})", l.p50_ms, l.first_ms),
            format!("{:.1}", l.p50_ms / s.p50_ms),
            format!("{}", s.total),
            format!("{}", l.total),
        ]);
    }
    right_align(&mut reads, 1);
    println!("{reads}");
    println!();
    let flag = |ok: bool| if ok { "yes" } else { "NO" };
    let mut other = table(&["check", "value"]);
    other.add_row(vec![
        "durable (journal_mode, synchronous of the running server)".to_string(),
        format!(
            "{} ({}, {})",
            flag(throughput.durable()),
            throughput.journal_mode,
            throughput.synchronous
        ),
    ]);
    other.add_row(vec![
        "every ingest answered 200 created, every resend 200 duplicate".to_string(),
        flag(throughput.no_errors).to_string(),
    ]);
    other.add_row(vec![
        "every WhatsApp delivery answered 200".to_string(),
        flag(throughput.whatsapp_no_errors).to_string(),
    ]);
    other.add_row(vec![
        "rows stored = created answers + WhatsApp messages acknowledged".to_string(),
        format!(
            "{} ({} = {} + {})",
            flag(results["rows_match_created"] == json!(true)),
            throughput.rows_after,
            throughput.created_answers,
            throughput.whatsapp_messages_acknowledged
        ),
    ]);
    other.add_row(vec![
        "every query total equals the data set's".to_string(),
        flag(small.totals_match() && large.totals_match()).to_string(),
    ]);
    other.add_row(vec![
        "search indexing after each ingest run (idle writer)".to_string(),
        format!("{} rows/s", results["index_catch_up_rows_per_s"]),
    ]);
    other.add_row(vec![
        "peak RSS of serve (VmHWM)".to_string(),
        format!("{} MiB", results["peak_rss_mb"]),
    ]);
    other.add_row(vec![
        format!("start to ready, {} rows", large.rows),
        format!("{:.1} ms", large.ready.as_secs_f64() * 1000.0),
    ]);
    other.add_row(vec![
        format!("bulk load of {} rows (setup, not a target)", large.rows),
        format!("{:.1} s", large.fill.as_secs_f64()),
    ]);
    println!("{other}");
    println!();
    let mut goals = table(&["target", "value", "met"]);
    let Value::Object(map) = results else {
        unreachable!("results are an object")
    };
    for (target, value, met) in targets(map) {
        goals.add_row(vec![
            describe(target),
            value.map_or("none".to_string(), |v| format!("{v}")),
            match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "no figure",
            }
            .to_string(),
        ]);
    }
    right_align(&mut goals, 1);
    println!("{goals}");
}
