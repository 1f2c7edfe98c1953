//! `results.json` and the printed table.

use comfy_table::presets::ASCII_MARKDOWN;
use comfy_table::{CellAlignment, Table};
use serde_json::{Map, Value, json};

use crate::{CONCURRENCY, Queries, Throughput, dataset, median};

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
}

fn headline(throughput: &Throughput) -> Headline {
    let over = |f: &dyn Fn(
        &(
            crate::client::Outcome,
            crate::client::Outcome,
            crate::client::Outcome,
        ),
    ) -> f64| { median(throughput.rounds.iter().map(f).collect()) };
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
    }
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

pub fn results(throughput: &Throughput, small: &Queries, large: &Queries) -> Value {
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
        ("search", "q_rare"),
        ("search_common", "q_common"),
        ("stats", "stats"),
    ] {
        put(&format!("{key}_p50_ms_1k"), round(small.p50(name), 3));
        put(&format!("{key}_p50_ms_1m"), round(large.p50(name), 3));
        put(&format!("{key}_1m_over_1k"), round(ratio(name), 2));
    }
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

pub fn print(
    settings: &Value,
    throughput: &Throughput,
    small: &Queries,
    large: &Queries,
    results: &Value,
) {
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
            format!("{:.3}", l.p50_ms),
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
}
