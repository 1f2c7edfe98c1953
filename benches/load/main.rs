//! `make bench`: how much the real `app serve` release binary takes, how fast it answers, and
//! how its cost grows with the data. Prints a table and writes `target/bench/results.json`.
//!
//! The machine is shared and noisy, so every figure is a median, and the headline figures are
//! ratios of measurements taken side by side: ingest over the HTTP floor (the same client at the
//! same concurrency against `GET /health/live`), each ratio taken within a round whose runs are
//! seconds apart; and each query at 1M rows over the same query at 1k rows, the two servers
//! asked in turn, one request each. Server CPU per request (from `/proc`) is reported too: it
//! does not depend on what else the machine is doing. WhatsApp Cloud API deliveries of ten
//! messages each (new ids in every one) are measured on the same server after the rounds:
//! deliveries and messages per second, and the latency of a delivery.
//!
//! Knobs (environment): `BENCH_ROWS` (the large data set, default 1,000,000), `BENCH_SECONDS`
//! (each load run, default 2), `BENCH_ROUNDS` (interleaved floor/ingest/duplicate rounds at
//! concurrency 32, and as many WhatsApp runs, default 3), `BENCH_CLIENT_THREADS` (the load client's threads, default 1),
//! `BENCH_APP` (another build of `app` to run, e.g. one with symbols for a profiler),
//! `BENCH_KEEP` (set: keep the query databases in `target/bench/` to look into).

mod client;
mod dataset;
mod report;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use webhook_receiver::config::Location;
use webhook_receiver::signature;
use webhook_receiver::storage::{ReadOnlyStorage, search_matches};

use client::{Outcome, Prepared, Source};
use server::Server;

/// The concurrency of the headline figures, and the sweep in the table.
const CONCURRENCY: usize = 32;
const SWEEP: [usize; 4] = [1, 8, 32, 128];
/// No run sends more unique messages per second than this: it sizes the pre-signed supply.
const MAX_INGEST_RPS: f64 = 60_000.0;
/// The same for WhatsApp deliveries (ten messages each).
const MAX_WHATSAPP_DELIVERIES_PER_S: f64 = 10_000.0;

struct Settings {
    rows: u64,
    run: Duration,
    rounds: usize,
    client_threads: usize,
    out_dir: PathBuf,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: u64| -> u64 {
            std::env::var(name)
                .ok()
                .map(|value| {
                    value
                        .replace('_', "")
                        .parse()
                        .unwrap_or_else(|_| panic!("{name} must be a whole number"))
                })
                .unwrap_or(default)
        };
        Self {
            rows: number("BENCH_ROWS", 1_000_000).max(2_000),
            run: Duration::from_secs(number("BENCH_SECONDS", 2).max(1)),
            rounds: usize::try_from(number("BENCH_ROUNDS", 3).max(1)).expect("small"),
            client_threads: usize::try_from(number("BENCH_CLIENT_THREADS", 1).max(1))
                .expect("small"),
            out_dir: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join("bench"),
        }
    }
}

fn main() {
    // `cargo test --all-targets` builds and runs this target too, without `--bench`: the
    // benchmark only runs under `cargo bench`.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("the load benchmark runs with `make bench` (cargo bench --bench load)");
        return;
    }
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench(settings));
}

async fn bench(settings: Settings) {
    std::fs::create_dir_all(&settings.out_dir).expect("target/bench can be created");
    let scratch = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&settings.out_dir)
        .expect("a scratch folder");
    let started = Instant::now();
    eprintln!(
        "bench: {} CPUs, runs of {:?}, {} rounds, {} rows for the large data set",
        std::thread::available_parallelism().map_or(0, usize::from),
        settings.run,
        settings.rounds,
        settings.rows
    );

    let ingest = throughput(&settings, &scratch.path().join("ingest.db")).await;
    let small = data_set(scratch.path(), "1k", 1_000);
    let large = data_set(scratch.path(), "1m", settings.rows);
    let (small, large) = queries(&settings, small, large).await;

    let results = report::results(&ingest, &small, &large);
    let path = settings.out_dir.join("results.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).expect("JSON") + "\n",
    )
    .expect("results.json can be written");
    report::print(&settings_json(&settings), &ingest, &small, &large, &results);
    eprintln!(
        "bench: done in {:.0} s; wrote {}",
        started.elapsed().as_secs_f64(),
        path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
    );
}

fn settings_json(settings: &Settings) -> Value {
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "run_seconds": settings.run.as_secs(),
        "rounds": settings.rounds,
        "rows_large": settings.rows,
        "client_threads": settings.client_threads,
        "concurrency": CONCURRENCY,
    })
}

/// Everything measured against one server on a fresh database: floor, ingest, duplicates.
pub struct Throughput {
    /// The interleaved rounds at [`CONCURRENCY`]: `(floor, ingest, duplicates)`.
    pub rounds: Vec<(Outcome, Outcome, Outcome)>,
    /// The other concurrencies of the sweep: `(concurrency, floor, ingest, duplicates)`.
    pub sweep: Vec<(usize, Outcome, Outcome, Outcome)>,
    /// The WhatsApp runs at [`CONCURRENCY`], one a round: deliveries of ten messages each.
    pub whatsapp: Vec<Outcome>,
    /// After each ingest run: the rows left for the search index, and how long the idle
    /// writer took to index them.
    pub indexed: Vec<(u64, Duration)>,
    /// Rows in the database after the server stopped, the `created` answers sent, and the
    /// messages in the WhatsApp deliveries answered 200.
    pub rows_after: i64,
    pub created_answers: u64,
    pub whatsapp_messages_acknowledged: u64,
    /// Every ingest and duplicate request was answered 200 with the right result.
    pub no_errors: bool,
    /// Every WhatsApp delivery was answered 200.
    pub whatsapp_no_errors: bool,
    pub journal_mode: String,
    pub synchronous: String,
    pub journal_mode_on_disk: String,
    pub peak_rss_mb: f64,
    pub log_bytes: u64,
}

impl Throughput {
    pub fn durable(&self) -> bool {
        self.journal_mode.eq_ignore_ascii_case("wal")
            && self.journal_mode_on_disk.eq_ignore_ascii_case("wal")
            && ["full", "extra"].contains(&self.synchronous.to_ascii_lowercase().as_str())
    }
}

async fn throughput(settings: &Settings, database: &Path) -> Throughput {
    let server = Server::start(database).await;
    let address = server.address;
    let live = Arc::new(Source::Repeat(Prepared::get("/health/live")));
    let mut next_batch = 0u32;
    let mut fresh = |count: usize| -> Vec<Prepared> {
        next_batch += 1;
        let prefix = format!("ingest{next_batch}");
        (0..count as u64)
            .map(|i| {
                let body = dataset::body(&dataset::live_message(&prefix, i));
                let signature = signature::sign(server::SECRET.as_bytes(), body.as_bytes());
                Prepared::webhook(Bytes::from(body), &signature)
            })
            .collect()
    };
    let supply = (MAX_INGEST_RPS * settings.run.as_secs_f64()) as usize;
    let whatsapp_supply = (MAX_WHATSAPP_DELIVERIES_PER_S * settings.run.as_secs_f64()) as usize;

    // Warm up: connections, the page cache, the allocator.
    client::run(address, CONCURRENCY, settings.run / 4, Arc::clone(&live)).await;

    let serving = &server;
    let measure = |concurrency: usize, bodies: Vec<Prepared>| {
        let live = Arc::clone(&live);
        async move {
            let timed = |source: Arc<Source>| timed_run(serving, concurrency, settings.run, source);
            let floor = timed(live).await;
            let bodies = Arc::new(Source::Each(bodies));
            let ingest = timed(Arc::clone(&bodies)).await;
            // The writer indexes the new rows for search once it is idle: wait, so that this
            // work neither slows the next run nor goes unmeasured.
            let indexing = wait_for_index(database).await;
            let Source::Each(all) = &*bodies else {
                unreachable!()
            };
            let sent = &all[..usize::try_from(ingest.requests).expect("fits")];
            let again: Vec<Prepared> = sent.iter().cycle().take(supply * 2).cloned().collect();
            let duplicates = timed(Arc::new(Source::Each(again))).await;
            (floor, ingest, duplicates, indexing)
        }
    };

    let mut rounds = Vec::new();
    let mut indexed = Vec::new();
    for round in 1..=settings.rounds {
        let bodies = fresh(supply);
        let (floor, ingest, duplicates, indexing) = measure(CONCURRENCY, bodies).await;
        indexed.push(indexing);
        let outcome = (floor, ingest, duplicates);
        let per_thread = |outcome: &Outcome| -> String {
            outcome
                .server_cpu_by_thread
                .iter()
                .map(|(name, cpu)| {
                    format!(
                        "{name} {:.1}",
                        cpu.as_secs_f64() * 1e6 / outcome.requests as f64
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "  server CPU us/request by thread: ingest [{}], duplicates [{}]; client CPU us/request: floor {:.1}, ingest {:.1}, duplicates {:.1}",
            per_thread(&outcome.1),
            per_thread(&outcome.2),
            outcome.0.client_cpu_us(),
            outcome.1.client_cpu_us(),
            outcome.2.client_cpu_us(),
        );
        eprintln!(
            "round {round}: floor {:.0}/s ({:.1} us server CPU each), ingest {:.0}/s ({:.1} us; p50 {:.2} ms, p99 {:.2} ms), duplicates {:.0}/s ({:.1} us)",
            outcome.0.rps(),
            outcome.0.server_cpu_us(),
            outcome.1.rps(),
            outcome.1.server_cpu_us(),
            outcome.1.percentile_ms(50.0),
            outcome.1.percentile_ms(99.0),
            outcome.2.rps(),
            outcome.2.server_cpu_us(),
        );
        rounds.push(outcome);
    }
    let mut sweep = Vec::new();
    for concurrency in SWEEP.into_iter().filter(|&c| c != CONCURRENCY) {
        let bodies = fresh(supply);
        let (floor, ingest, duplicates, indexing) = measure(concurrency, bodies).await;
        indexed.push(indexing);
        eprintln!(
            "concurrency {concurrency}: floor {:.0}/s, ingest {:.0}/s (p50 {:.2} ms, p99 {:.2} ms), duplicates {:.0}/s",
            floor.rps(),
            ingest.rps(),
            ingest.percentile_ms(50.0),
            ingest.percentile_ms(99.0),
            duplicates.rps()
        );
        sweep.push((concurrency, floor, ingest, duplicates));
    }

    // WhatsApp deliveries of ten messages each, new ids in every one, at the headline
    // concurrency: the same rows as the ingest runs, arriving ten to a request.
    let mut whatsapp = Vec::new();
    for round in 1..=settings.rounds {
        let prefix = format!("whatsapp{round}");
        let deliveries: Vec<Prepared> = (0..whatsapp_supply as u64)
            .map(|i| {
                let body = dataset::whatsapp_delivery(&prefix, i);
                let hex = signature::sign(server::WHATSAPP_APP_SECRET.as_bytes(), body.as_bytes());
                Prepared::whatsapp(Bytes::from(body), &hex)
            })
            .collect();
        let outcome = timed_run(
            &server,
            CONCURRENCY,
            settings.run,
            Arc::new(Source::Each(deliveries)),
        )
        .await;
        indexed.push(wait_for_index(database).await);
        eprintln!(
            "whatsapp round {round}: {:.0} deliveries/s, {:.0} messages/s (p50 {:.2} ms, p99 {:.2} ms per delivery, {:.1} us server CPU each)",
            outcome.rps(),
            outcome.rps() * dataset::WHATSAPP_MESSAGES_PER_DELIVERY as f64,
            outcome.percentile_ms(50.0),
            outcome.percentile_ms(99.0),
            outcome.server_cpu_us(),
        );
        whatsapp.push(outcome);
    }

    let journal_mode = server.start_line["journal_mode"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let synchronous = server.start_line["synchronous"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let peak_rss_mb = server.peak_rss_mb();
    let log_bytes = server.stop();

    let all = || {
        rounds
            .iter()
            .map(|(f, i, d)| (f, i, d))
            .chain(sweep.iter().map(|(_, f, i, d)| (f, i, d)))
    };
    let created_answers: u64 = all().map(|(_, ingest, _)| ingest.result("created")).sum();
    let no_errors = all().all(|(_, ingest, duplicates)| {
        ingest.all_ok()
            && ingest.result("created") == ingest.requests
            && duplicates.all_ok()
            && duplicates.result("duplicate") == duplicates.requests
    });
    let whatsapp_no_errors = whatsapp.iter().all(client::Outcome::all_ok);
    let whatsapp_messages_acknowledged: u64 = whatsapp
        .iter()
        .map(|outcome| outcome.count(200) * dataset::WHATSAPP_MESSAGES_PER_DELIVERY)
        .sum();
    let conn = rusqlite::Connection::open(database).expect("the database opens");
    let rows_after: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
        .expect("count");
    let journal_mode_on_disk: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("journal_mode");
    Throughput {
        rounds,
        sweep,
        whatsapp,
        indexed,
        rows_after,
        created_answers,
        whatsapp_messages_acknowledged,
        no_errors,
        whatsapp_no_errors,
        journal_mode,
        synchronous,
        journal_mode_on_disk,
        peak_rss_mb,
        log_bytes,
    }
}

/// One load run against `server`, with the CPU the server spent on it, by thread.
async fn timed_run(
    server: &Server,
    concurrency: usize,
    budget: Duration,
    source: Arc<Source>,
) -> Outcome {
    let before = server.cpu_by_thread();
    let mut outcome = client::run(server.address, concurrency, budget, source).await;
    for (name, after) in server.cpu_by_thread() {
        let used = after.saturating_sub(before.get(&name).copied().unwrap_or_default());
        outcome.server_cpu += used;
        outcome.server_cpu_by_thread.insert(name, used);
    }
    outcome
}

/// Waits until the server's writer has indexed every stored row for search; returns how many
/// rows were waiting when this was called and how long they took.
async fn wait_for_index(database: &Path) -> (u64, Duration) {
    let started = Instant::now();
    let storage = ReadOnlyStorage::open_existing(&Location::File(database.to_path_buf()))
        .expect("the database opens");
    let backlog = || -> u64 {
        let rows = storage.unindexed_rows().expect("the backlog is readable");
        u64::try_from(rows).expect("fits")
    };
    let waiting = backlog();
    while backlog() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the search index does not catch up"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (waiting, started.elapsed())
}

/// One query's latencies at one data size.
pub struct QueryResult {
    pub name: &'static str,
    pub path: String,
    pub p50_ms: f64,
    pub samples: usize,
    /// The `total` (or `total_messages`) the server answered, and the one the data set implies.
    pub total: i64,
    pub expected_total: i64,
}

pub struct Queries {
    pub label: &'static str,
    pub rows: u64,
    pub fill: Duration,
    pub ready: Duration,
    pub peak_rss_mb: f64,
    pub results: Vec<QueryResult>,
}

impl Queries {
    pub fn p50(&self, name: &str) -> f64 {
        self.results
            .iter()
            .find(|result| result.name == name)
            .map_or(f64::NAN, |result| result.p50_ms)
    }

    pub fn totals_match(&self) -> bool {
        self.results
            .iter()
            .all(|result| result.total == result.expected_total)
    }
}

/// What the data set holds, counted while it is loaded, to check every answer's total.
#[derive(Default)]
struct Expected {
    rows: i64,
    busiest_sender: i64,
    since_recent: i64,
    since_half: i64,
    rare: i64,
    common: i64,
    short: i64,
}

/// A database filled in bulk for the query measurements, and the queries to ask it.
struct DataSet {
    label: &'static str,
    rows: u64,
    database: PathBuf,
    fill: Duration,
    /// `(name, path and query, the total the data set implies)`.
    plan: Vec<(&'static str, String, i64)>,
}

/// Fills a database with `rows` messages and plans the queries, with their expected totals.
fn data_set(scratch: &Path, label: &'static str, rows: u64) -> DataSet {
    let database = scratch.join(format!("queries-{label}.db"));
    let prefix = format!("seed{label}");
    let ts_key = |i: u64| dataset::message(&prefix, i, rows).ts_key;
    // `since` values: the last 100 messages (a poller catching up), and the later half.
    let recent = ts_key(rows - 100);
    let half = ts_key(rows / 2);
    let busiest = dataset::sender(0);
    const SHORT_WORD: &str = "ok";
    let mut expected = Expected::default();
    let fill = dataset::fill(&database, &prefix, rows, |message| {
        let text_has = |needle: &str| {
            message
                .text
                .as_deref()
                .is_some_and(|text| search_matches(text, needle))
        };
        expected.rows += 1;
        expected.busiest_sender += i64::from(message.from == busiest);
        expected.since_recent += i64::from(message.ts_key >= recent);
        expected.since_half += i64::from(message.ts_key >= half);
        expected.rare += i64::from(text_has(dataset::RARE_WORD));
        expected.common += i64::from(text_has(dataset::COMMON_WORD));
        expected.short += i64::from(text_has(SHORT_WORD));
    });
    eprintln!("{label}: loaded {rows} rows in {:.1} s", fill.as_secs_f64());
    let encode =
        |value: &str| -> String { form_urlencoded::byte_serialize(value.as_bytes()).collect() };
    let plan = vec![
        ("first_page", "/messages".into(), expected.rows),
        (
            "middle_page",
            format!("/messages?offset={}", rows / 2),
            expected.rows,
        ),
        (
            "from",
            format!("/messages?from={}", encode(&busiest)),
            expected.busiest_sender,
        ),
        (
            "since_recent",
            format!("/messages?since={}", encode(&recent)),
            expected.since_recent,
        ),
        (
            "since_half",
            format!("/messages?since={}", encode(&half)),
            expected.since_half,
        ),
        (
            "q_rare",
            format!("/messages?q={}", dataset::RARE_WORD),
            expected.rare,
        ),
        (
            "q_common",
            format!("/messages?q={}", dataset::COMMON_WORD),
            expected.common,
        ),
        (
            "q_short",
            format!("/messages?q={SHORT_WORD}"),
            expected.short,
        ),
        ("stats", "/stats".into(), expected.rows),
    ];
    DataSet {
        label,
        rows,
        database,
        fill,
        plan,
    }
}

/// The latency of each read on the small and the large data set, each served by a freshly
/// started server (whose start-up is timed). The two are asked in turn, one request each, so
/// that whatever else the machine does falls on both alike.
async fn queries(settings: &Settings, small: DataSet, large: DataSet) -> (Queries, Queries) {
    let sets = [small, large];
    let mut servers = Vec::new();
    for set in &sets {
        servers.push(Server::start(&set.database).await);
    }
    let mut connections = Vec::new();
    for server in &servers {
        connections.push(client::Connection::open(server.address).await);
    }
    let mut results: [Vec<QueryResult>; 2] = [Vec::new(), Vec::new()];
    for index in 0..sets[0].plan.len() {
        let requests: Vec<Prepared> = sets
            .iter()
            .map(|set| Prepared::get(&set.plan[index].1))
            .collect();
        let mut latencies: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let mut totals = [-1i64; 2];
        let budget = Instant::now() + settings.run * 2;
        for round in 0.. {
            for side in 0..2 {
                let (status, body, latency_us) = connections[side].send(&requests[side]).await;
                let path = &sets[side].plan[index].1;
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
                if round == 0 {
                    // The first answer warms the caches; its total is checked.
                    let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
                    totals[side] = answer["total"]
                        .as_i64()
                        .or_else(|| answer["total_messages"].as_i64())
                        .expect("a total");
                } else {
                    latencies[side].push(latency_us);
                }
            }
            let samples = latencies[0].len();
            if samples >= 200 || (samples >= 5 && Instant::now() >= budget) {
                break;
            }
        }
        for side in 0..2 {
            latencies[side].sort_unstable();
            let (name, path, expected_total) = sets[side].plan[index].clone();
            let p50_ms = client::percentile_ms(&latencies[side], 50.0);
            eprintln!(
                "{}: {name:<12} p50 {p50_ms:>9.3} ms over {:>3} samples, total {}",
                sets[side].label,
                latencies[side].len(),
                totals[side]
            );
            results[side].push(QueryResult {
                name,
                path,
                p50_ms,
                samples: latencies[side].len(),
                total: totals[side],
                expected_total,
            });
        }
    }
    let mut done = Vec::new();
    for ((set, server), results) in sets.into_iter().zip(servers).zip(results) {
        let ready = server.ready;
        let peak_rss_mb = server.peak_rss_mb();
        server.stop();
        if std::env::var_os("BENCH_KEEP").is_some() {
            let kept = settings.out_dir.join(format!("queries-{}.db", set.label));
            std::fs::rename(&set.database, &kept).expect("the database can be kept");
            eprintln!("{}: kept the database at {}", set.label, kept.display());
        } else {
            let _ = std::fs::remove_file(&set.database);
        }
        done.push(Queries {
            label: set.label,
            rows: set.rows,
            fill: set.fill,
            ready,
            peak_rss_mb,
            results,
        });
    }
    let large = done.pop().expect("two data sets");
    let small = done.pop().expect("two data sets");
    (small, large)
}

/// The median of `values`.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
