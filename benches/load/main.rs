//! `make bench`: how much the real `app serve` release binary takes, how fast it answers, and
//! how its cost grows with the data. Prints a table and writes `target/bench/results.json`.
//!
//! The machine is shared and noisy, so every figure is a median, and the headline figures are
//! ratios of measurements taken side by side: ingest over the HTTP floor (the same client at the
//! same concurrency against `GET /health/live`), each ratio taken within a round whose runs are
//! seconds apart; and each query at 1M rows over the same query at 1k rows, the two servers
//! asked in turn, one request each, then the common-word search asked again and again on each
//! while 20,000 new messages are posted to it (its total checked once they are all stored).
//! Server CPU per request (from `/proc`) is reported too: it
//! does not depend on what else the machine is doing. WhatsApp Cloud API deliveries of ten
//! messages each (new ids in every one) are measured on the same server after the rounds:
//! deliveries and messages per second, and the latency of a delivery.
//!
//! Where a new message's cost goes: the CPU of the server's writer thread per message created,
//! during the ingest runs and (deferred work such as indexing) after them until it is idle
//! again, the server's whole CPU per new message with that deferred part, the messages each
//! commit stored (from `/metrics`), the write-ahead log written per message (a short run of
//! its own), and what one `fsync` costs this machine in CPU (see [`disk`]). Then an overload phase: a fresh server under 2,000 kept-alive connections posting
//! new messages, its throughput, tail latency, peak memory, errors and shed requests. A last
//! table says which of the targets each figure meets.
//!
//! Knobs (environment): `BENCH_ROWS` (the large data set, default 1,000,000), `BENCH_SECONDS`
//! (each load run, default 2), `BENCH_ROUNDS` (interleaved floor/ingest/duplicate rounds at
//! concurrency 32, and as many WhatsApp runs, default 3), `BENCH_CLIENT_THREADS` (the load client's threads, default 1),
//! `BENCH_APP` (another build of `app` to run, e.g. one with symbols for a profiler),
//! `BENCH_OVERLOAD_SECONDS` (the overload phase, default 10),
//! `BENCH_KEEP` (set: keep the query databases in `target/bench/` to look into).

mod client;
mod dataset;
mod disk;
mod metrics;
mod report;
mod server;

use std::collections::BTreeMap;
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
/// The name (`comm`) of the server's thread that owns the read-write SQLite connection.
pub const WRITER_THREAD: &str = "sqlite-writer";
/// After a run, the writer's deferred work is done once its CPU has not grown for this long.
const QUIET: Duration = Duration::from_millis(200);
/// The kept-alive connections of the overload phase.
pub const OVERLOAD_CONNECTIONS: usize = 2_000;
/// The histogram of messages per writer commit on `/metrics`.
const COMMIT_BATCH_HISTOGRAM: &str = "storage_commit_batch_messages";

struct Settings {
    rows: u64,
    run: Duration,
    rounds: usize,
    client_threads: usize,
    overload: Duration,
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
            overload: Duration::from_secs(number("BENCH_OVERLOAD_SECONDS", 10).max(1)),
            out_dir: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join("bench"),
        }
    }
}

fn main() {
    // `cargo test --all-targets` builds and runs this target too, without `--bench`: the
    // benchmark only runs under `cargo bench`.
    let benching = std::env::args().any(|arg| arg == "--bench");
    raise_open_files_limit();
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads)
        .enable_all()
        .build()
        .expect("a runtime");
    if benching {
        runtime.block_on(bench(settings));
    } else {
        // What can be checked in a few seconds is: the parsers, the check table, and each new
        // measurement once, small, against the real server.
        metrics::self_check();
        report::self_check();
        runtime.block_on(smoke(&settings));
        println!("the load benchmark runs with `make bench` (cargo bench --bench load)");
    }
}

/// The measurements of the writer, the commits, the write-ahead log and the overload phase,
/// each once on a small scale, with exact counts where there are any.
async fn smoke(settings: &Settings) {
    std::fs::create_dir_all(&settings.out_dir).expect("target/bench can be created");
    disk::self_check(&settings.out_dir);
    let scratch = tempfile::Builder::new()
        .prefix("smoke-")
        .tempdir_in(&settings.out_dir)
        .expect("a scratch folder");
    let database = scratch.path().join("smoke.db");
    let server = Server::start_with(&database, &[("SQLITE_AUTOCHECKPOINT_PAGES", "0")]).await;
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    let wal_size = || std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    const MESSAGES: u64 = 300;
    let bodies = live_webhooks("smoke", MESSAGES);
    let page = server.metrics().await.expect("/metrics answers");
    let before = metrics::histogram_sum_count(&page, COMMIT_BATCH_HISTOGRAM)
        .expect("the server publishes the commit histogram");
    let wal_before = wal_size();
    let budget = Duration::from_secs(60);
    let run = timed_run(&server, 8, budget, Arc::new(Source::Each(bodies))).await;
    assert_eq!(run.requests, MESSAGES, "the supply ends the run");
    assert_eq!(run.result("created"), MESSAGES, "{:?}", run.statuses);
    let writer = run.server_cpu_by_thread.get(WRITER_THREAD).copied();
    assert!(
        writer.is_some_and(|cpu| cpu > Duration::ZERO),
        "the writer thread {WRITER_THREAD} is found and works: {:?}",
        run.server_cpu_by_thread
    );
    let (deferred, _) = settle(&server, &run.server_cpu_at_end).await;
    assert!(
        deferred
            .get(WRITER_THREAD)
            .is_some_and(|cpu| *cpu > Duration::ZERO),
        "the new rows are indexed after the run: {deferred:?}"
    );
    let page = server.metrics().await.expect("/metrics answers");
    let after = metrics::histogram_sum_count(&page, COMMIT_BATCH_HISTOGRAM).expect("still there");
    assert_eq!(
        after.0 - before.0,
        MESSAGES as f64,
        "every message committed once"
    );
    assert!(after.1 > before.1, "at least one commit");
    assert!(
        wal_size() >= wal_before + MESSAGES * 100,
        "with no checkpoint the log grows: {wal_before} then {}",
        wal_size()
    );
    // A search asked while more messages are stored: its total once they all are is exact.
    let before = live_matches("smoke", MESSAGES, dataset::COMMON_WORD);
    let path = format!("/messages?q={}", dataset::COMMON_WORD);
    let searched =
        search_while_ingesting(server.address, &path, before, "smoke-ingest", MESSAGES).await;
    assert!(searched.expected_total > before, "new messages match too");
    assert_eq!(searched.total, searched.expected_total);
    server.stop();

    // A small overload: many connections at once, every answer counted.
    let server = Server::start(&database).await;
    let connections = 200;
    let bodies = live_webhooks("crowd", 2 * connections as u64);
    let crowd = timed_run(&server, connections, budget, Arc::new(Source::Each(bodies))).await;
    assert_eq!(crowd.requests, 2 * connections as u64);
    assert_eq!((crowd.failures, crowd.server_errors()), (0, 0));
    assert_eq!(
        crowd.count(200) + crowd.shed,
        crowd.requests,
        "{:?}",
        crowd.statuses
    );
    assert!(
        server
            .max_open_files()
            .is_some_and(|max| max >= connections as u64)
    );
    assert!(server.peak_rss_mb() > 1.0);
    server.stop();
    eprintln!(
        "bench smoke: writer, commits, write-ahead log, a search during ingest and a crowd of {connections} measured"
    );
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
    let fsync = sync_cost(scratch.path()).await;
    let wal = wal_run(&settings, &scratch.path().join("wal.db")).await;
    let overload = overload(&settings, &scratch.path().join("overload.db")).await;
    let small = data_set(scratch.path(), "1k", 1_000);
    let large = data_set(scratch.path(), "1m", settings.rows);
    let (small, large) = queries(&settings, small, large).await;

    let phases = report::Phases {
        throughput: &ingest,
        fsync: &fsync,
        wal: &wal,
        overload: &overload,
        small: &small,
        large: &large,
    };
    let results = report::results(&phases);
    let path = settings.out_dir.join("results.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).expect("JSON") + "\n",
    )
    .expect("results.json can be written");
    report::print(&settings_json(&settings), &phases, &results);
    eprintln!(
        "bench: done in {:.0} s; wrote {}",
        started.elapsed().as_secs_f64(),
        path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
    );
}

/// What one `fsync` costs here (see [`disk`]), measured in the folder of the databases.
async fn sync_cost(dir: &Path) -> disk::SyncCost {
    let dir = dir.to_path_buf();
    let cost = tokio::task::spawn_blocking(move || disk::fsync_cost(&dir, 1_000, 3))
        .await
        .expect("the measurement does not panic")
        .expect("the bench folder takes a scratch file");
    eprintln!(
        "one fsync after a {} KiB write: {:.1} us of CPU, {:.1} us of wall time (median of 3 passes of {})",
        disk::WRITE_BYTES / 1024,
        cost.cpu_us,
        cost.wall_us,
        cost.syncs
    );
    cost
}

fn settings_json(settings: &Settings) -> Value {
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "run_seconds": settings.run.as_secs(),
        "rounds": settings.rounds,
        "rows_large": settings.rows,
        "client_threads": settings.client_threads,
        "concurrency": CONCURRENCY,
        "overload_seconds": settings.overload.as_secs(),
        "overload_connections": OVERLOAD_CONNECTIONS,
    })
}

/// Everything measured against one server on a fresh database: floor, ingest, duplicates.
pub struct Throughput {
    /// The interleaved rounds at [`CONCURRENCY`]: `(floor, ingest, duplicates)`.
    pub rounds: Vec<(Outcome, Outcome, Outcome)>,
    /// Where each round's ingest run went: the writer, the deferred work, the commits.
    pub costs: Vec<IngestCost>,
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

/// What one ingest run cost beyond its own clock: the writer's share of the server's CPU,
/// the work deferred past the run (until the writer is idle again), and the commits.
pub struct IngestCost {
    /// `created` answers of the run.
    pub created: u64,
    /// CPU of the writer thread during the run.
    pub writer: Duration,
    /// CPU of the writer thread, and of the whole server, after the run until the writer's
    /// CPU stood still for [`QUIET`], and how long that was.
    pub writer_deferred: Duration,
    pub server_deferred: Duration,
    pub deferred_for: Duration,
    /// `storage_commit_batch_messages`' `_sum` and `_count` grown over the run; `None` when
    /// the server does not publish it.
    pub commits: Option<(f64, f64)>,
}

impl IngestCost {
    fn per_message_us(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.created as f64
    }

    /// Writer CPU per new message during the run, in microseconds.
    pub fn writer_us(&self) -> f64 {
        self.per_message_us(self.writer)
    }

    /// Writer CPU per new message deferred past the run, in microseconds.
    pub fn writer_deferred_us(&self) -> f64 {
        self.per_message_us(self.writer_deferred)
    }

    /// The server's whole CPU per new message, the run's and the deferred, in microseconds.
    pub fn total_us(&self, ingest: &Outcome) -> f64 {
        self.per_message_us(ingest.server_cpu + self.server_deferred)
    }

    pub fn messages_per_commit(&self) -> Option<f64> {
        self.commits
            .filter(|&(_, count)| count > 0.0)
            .map(|(sum, count)| sum / count)
    }
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
        live_webhooks(&prefix, count as u64)
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
            let commits_before = serving.metrics().await;
            let ingest = timed(Arc::clone(&bodies)).await;
            // The writer does some work once it is idle (indexing the new rows for search):
            // its CPU is measured until it stops, so that deferring work hides none of it.
            let (deferred, deferred_for) = settle(serving, &ingest.server_cpu_at_end).await;
            let commits_after = serving.metrics().await;
            let commits = commits_before
                .zip(commits_after)
                .and_then(|(before, after)| {
                    let before = metrics::histogram_sum_count(&before, COMMIT_BATCH_HISTOGRAM)?;
                    let after = metrics::histogram_sum_count(&after, COMMIT_BATCH_HISTOGRAM)?;
                    Some((after.0 - before.0, after.1 - before.1))
                });
            let cost = IngestCost {
                created: ingest.result("created"),
                writer: ingest
                    .server_cpu_by_thread
                    .get(WRITER_THREAD)
                    .copied()
                    .unwrap_or_default(),
                writer_deferred: deferred.get(WRITER_THREAD).copied().unwrap_or_default(),
                server_deferred: deferred.values().sum(),
                deferred_for,
                commits,
            };
            // Then every row is indexed for search (this only checks it, as the writer is idle),
            // so that this work does not slow the next run.
            let indexing = wait_for_index(database).await;
            let Source::Each(all) = &*bodies else {
                unreachable!()
            };
            let sent = &all[..usize::try_from(ingest.requests).expect("fits")];
            let again: Vec<Prepared> = sent.iter().cycle().take(supply * 2).cloned().collect();
            let duplicates = timed(Arc::new(Source::Each(again))).await;
            (floor, ingest, duplicates, indexing, cost)
        }
    };

    let mut rounds = Vec::new();
    let mut costs = Vec::new();
    let mut indexed = Vec::new();
    for round in 1..=settings.rounds {
        let bodies = fresh(supply);
        let (floor, ingest, duplicates, indexing, cost) = measure(CONCURRENCY, bodies).await;
        indexed.push(indexing);
        eprintln!(
            "  writer CPU us/new message: {:.1} in the run, {:.1} deferred ({:.0} ms); server CPU us/new message with the deferred part {:.1} = {:.2} x a GET's; messages/commit {}",
            cost.writer_us(),
            cost.writer_deferred_us(),
            cost.deferred_for.as_secs_f64() * 1000.0,
            cost.total_us(&ingest),
            cost.total_us(&ingest) / floor.server_cpu_us(),
            cost.messages_per_commit()
                .map_or("(not published)".to_string(), |n| format!("{n:.1}")),
        );
        costs.push(cost);
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
        let (floor, ingest, duplicates, indexing, _) = measure(concurrency, bodies).await;
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
        costs,
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
    let after = server.cpu_by_thread();
    outcome.server_cpu_by_thread = cpu_used(&before, &after);
    outcome.server_cpu = outcome.server_cpu_by_thread.values().sum();
    outcome.server_cpu_at_end = after;
    outcome
}

/// CPU used by each thread name between two readings.
fn cpu_used(
    before: &BTreeMap<String, Duration>,
    after: &BTreeMap<String, Duration>,
) -> BTreeMap<String, Duration> {
    after
        .iter()
        .map(|(name, after)| {
            let before = before.get(name).copied().unwrap_or_default();
            (name.clone(), after.saturating_sub(before))
        })
        .collect()
}

/// Waits after a run until the server's writer thread has used no CPU for [`QUIET`] (its
/// deferred work is done), and returns the CPU each thread used since `since` (the readings at
/// the end of the run) and how long the writer was busy past the run.
async fn settle(
    server: &Server,
    since: &BTreeMap<String, Duration>,
) -> (BTreeMap<String, Duration>, Duration) {
    let started = Instant::now();
    let mut last = server.thread_cpu(WRITER_THREAD);
    let mut last_change = started;
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = server.thread_cpu(WRITER_THREAD);
        if now != last {
            (last, last_change) = (now, Instant::now());
        } else if last_change.elapsed() >= QUIET {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the writer is still busy 5 minutes after the run"
        );
    }
    let used = cpu_used(since, &server.cpu_by_thread());
    (used, last_change.duration_since(started))
}

/// The write-ahead log's growth per new message: see [`wal_run`].
pub struct WalRun {
    pub created: u64,
    /// Bytes the log grew by during the run, and after it until the writer was idle.
    pub during: u64,
    pub deferred: u64,
    pub no_errors: bool,
}

impl WalRun {
    /// Bytes of log per new message: during the run, and deferred (written after it).
    pub fn bytes_per_message(&self) -> (f64, f64) {
        let per_message = |bytes: u64| bytes as f64 / self.created as f64;
        (per_message(self.during), per_message(self.deferred))
    }
}

/// A short run of its own for the bytes of write-ahead log a new message costs: a fresh
/// database, a server started with automatic checkpoints off (`SQLITE_AUTOCHECKPOINT_PAGES=0`).
/// With no checkpoint the log is never restarted, so its file only grows, by every page each
/// commit dirtied (a frame each): its growth over the messages created is exactly what the
/// ingest path writes (and then copies again into the database at a checkpoint). With the
/// default checkpoints the file is reused from the start and its size says nothing, so the
/// other runs cannot tell.
async fn wal_run(settings: &Settings, database: &Path) -> WalRun {
    let server = Server::start_with(database, &[("SQLITE_AUTOCHECKPOINT_PAGES", "0")]).await;
    let budget = settings.run.min(Duration::from_secs(2));
    let bodies = live_webhooks("wal", (MAX_INGEST_RPS * budget.as_secs_f64()) as u64);
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    let size = || std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    let before = size();
    let outcome = timed_run(&server, CONCURRENCY, budget, Arc::new(Source::Each(bodies))).await;
    let at_end = size();
    settle(&server, &outcome.server_cpu_at_end).await;
    let after = size();
    server.stop();
    let _ = std::fs::remove_file(database);
    let _ = std::fs::remove_file(&wal);
    let run = WalRun {
        created: outcome.result("created"),
        during: at_end.saturating_sub(before),
        deferred: after.saturating_sub(at_end),
        no_errors: outcome.all_ok() && outcome.result("created") == outcome.requests,
    };
    eprintln!(
        "write-ahead log (no checkpoints): {} new messages, {:.0} bytes each during the run, {:.0} more after it",
        run.created,
        run.during as f64 / run.created as f64,
        run.deferred as f64 / run.created as f64,
    );
    run
}

/// The overload phase's figures.
pub struct Overload {
    pub outcome: Outcome,
    pub peak_rss_mb: f64,
    /// The server's soft limit on open files.
    pub max_open_files: Option<u64>,
}

/// A freshly started server under [`OVERLOAD_CONNECTIONS`] kept-alive connections posting new
/// messages for `BENCH_OVERLOAD_SECONDS`: what it serves, how late, in how much memory, and
/// whether it fails (connection errors, 5xx) or sheds load (503 with `Retry-After`).
async fn overload(settings: &Settings, database: &Path) -> Overload {
    let server = Server::start(database).await;
    let max_open_files = server.max_open_files();
    // Each connection is a socket in the server; its database, log and listener need a few more.
    let needed = OVERLOAD_CONNECTIONS as u64 + 64;
    assert!(
        max_open_files.is_none_or(|max| max >= needed),
        "the server may open {max_open_files:?} files, the overload phase needs {needed}: raise `ulimit -n`"
    );
    let bodies = live_webhooks(
        "overload",
        (MAX_INGEST_RPS * settings.overload.as_secs_f64()) as u64,
    );
    let outcome = timed_run(
        &server,
        OVERLOAD_CONNECTIONS,
        settings.overload,
        Arc::new(Source::Each(bodies)),
    )
    .await;
    let peak_rss_mb = server.peak_rss_mb();
    server.stop();
    let _ = std::fs::remove_file(database);
    eprintln!(
        "overload, {OVERLOAD_CONNECTIONS} connections: {:.0} stored/s, p99 {:.2} ms (of 200s {:.2} ms), peak RSS {peak_rss_mb:.1} MiB, statuses {:?}, {} shed (503 + Retry-After), {} connection errors",
        outcome.count(200) as f64 / outcome.elapsed.as_secs_f64(),
        outcome.percentile_ms(99.0),
        outcome.ok_percentile_ms(99.0),
        outcome.statuses,
        outcome.shed,
        outcome.failures,
    );
    Overload {
        outcome,
        peak_rss_mb,
        max_open_files,
    }
}

/// Raises this process's soft limit on open files to its hard limit: the overload phase holds
/// [`OVERLOAD_CONNECTIONS`] sockets here, and the server, a child, inherits the limit.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => eprintln!("bench: open files limit {limit}"),
        Err(error) => eprintln!("bench: the open files limit could not be raised: {error}"),
    }
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
    /// The first request's time, on a freshly started server before any repeat (caches cold).
    pub first_ms: f64,
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

impl QueryResult {
    /// One line on stderr as the result comes, the data set named by `label`.
    fn report(&self, label: &str) {
        eprintln!(
            "{label}: {:<12} p50 {:>9.3} ms over {:>3} samples, first {:>9.3} ms, total {}",
            self.name, self.p50_ms, self.samples, self.first_ms, self.total
        );
    }
}

impl Queries {
    pub fn p50(&self, name: &str) -> f64 {
        self.results
            .iter()
            .find(|result| result.name == name)
            .map_or(f64::NAN, |result| result.p50_ms)
    }

    pub fn first(&self, name: &str) -> f64 {
        self.results
            .iter()
            .find(|result| result.name == name)
            .map_or(f64::NAN, |result| result.first_ms)
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
        let mut first_ms = [f64::NAN; 2];
        let budget = Instant::now() + settings.run * 2;
        for round in 0.. {
            for side in 0..2 {
                let (status, body, latency_us) = connections[side].send(&requests[side]).await;
                let path = &sets[side].plan[index].1;
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
                if round == 0 {
                    // The first answer warms the caches; its total is checked, its time kept
                    // apart (what the first user of a freshly started server waits).
                    first_ms[side] = f64::from(latency_us) / 1000.0;
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
            let result = QueryResult {
                name,
                path,
                p50_ms: client::percentile_ms(&latencies[side], 50.0),
                first_ms: first_ms[side],
                samples: latencies[side].len(),
                total: totals[side],
                expected_total,
            };
            result.report(sets[side].label);
            results[side].push(result);
        }
    }
    // The common-word search again, on each server in turn, while new messages are stored.
    for side in 0..2 {
        let set = &sets[side];
        let (_, path, before) = set
            .plan
            .iter()
            .find(|(name, _, _)| *name == "q_common")
            .cloned()
            .expect("the plan has q_common");
        let searched = search_while_ingesting(
            servers[side].address,
            &path,
            before,
            &format!("ingest{}", set.label),
            SEARCH_INGEST_MESSAGES,
        )
        .await;
        searched.report(set.label);
        results[side].push(searched);
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

/// How many new messages are posted while a search is asked again and again.
const SEARCH_INGEST_MESSAGES: u64 = 20_000;

/// How many of the live messages `0..count` (ids under `prefix`) a search for `needle` finds.
fn live_matches(prefix: &str, count: u64, needle: &str) -> i64 {
    let found = (0..count)
        .filter_map(|i| dataset::live_message(prefix, i).text)
        .filter(|text| search_matches(text, needle))
        .count();
    i64::try_from(found).expect("small")
}

/// A search (`path`, `GET /messages?q=…`, whose total is `before`) asked again and again on
/// one connection while `messages` new live messages (ids under `prefix`) are posted over four
/// others: its latency while they are stored, and its `total` once they all are, against
/// `before` plus the new messages it matches.
async fn search_while_ingesting(
    address: std::net::SocketAddr,
    path: &str,
    before: i64,
    prefix: &str,
    messages: u64,
) -> QueryResult {
    let needle = path.split_once("q=").expect("a search").1;
    let bodies = Arc::new(Source::Each(live_webhooks(prefix, messages)));
    let ingest = tokio::spawn(client::run(address, 4, Duration::from_secs(120), bodies));
    let search = Prepared::get(path);
    let mut connection = client::Connection::open(address).await;
    let mut latencies = Vec::new();
    loop {
        let (status, body, latency_us) = connection.send(&search).await;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        latencies.push(latency_us);
        if ingest.is_finished() {
            break;
        }
    }
    let ingested = ingest.await.expect("the load does not panic");
    assert_eq!(
        ingested.result("created"),
        messages,
        "every message stored: {:?}",
        ingested.statuses
    );
    let (status, body, _) = connection.send(&search).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
    let first_ms = latencies
        .first()
        .map_or(f64::NAN, |us| f64::from(*us) / 1000.0);
    latencies.sort_unstable();
    QueryResult {
        name: "q_common_ingest",
        path: path.to_string(),
        p50_ms: client::percentile_ms(&latencies, 50.0),
        first_ms,
        samples: latencies.len(),
        total: answer["total"].as_i64().expect("a total"),
        expected_total: before + live_matches(prefix, messages, needle),
    }
}

/// The time a thread has spent on a CPU, from its `/proc/…/schedstat` (the first field, in
/// nanoseconds); `None` for text of another shape.
pub fn on_cpu(schedstat: &str) -> Option<Duration> {
    let nanos = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// `POST /webhook` of live messages `0..count` (ids under `prefix`), each signed.
fn live_webhooks(prefix: &str, count: u64) -> Vec<Prepared> {
    (0..count)
        .map(|i| {
            let body = dataset::body(&dataset::live_message(prefix, i));
            let signature = signature::sign(server::SECRET.as_bytes(), body.as_bytes());
            Prepared::webhook(Bytes::from(body), &signature)
        })
        .collect()
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
