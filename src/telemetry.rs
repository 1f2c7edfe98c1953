//! Observability: the JSON log lines of serve mode and the Prometheus metrics.
//!
//! Logs are one JSON object per line on stdout, keys flat and in a fixed order:
//! `{"ts":"…","level":"INFO","msg":"…", <event fields…>}`. Nothing else is written to stdout in
//! serve mode: library events go through the same format, and panics are logged as events.

use std::fmt::Write as _;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// `http_requests_total{method,path,status}`: every answered request; `path` is the route
/// template, or `unmatched` for every path no route serves.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// `webhook_requests_total{result}`: every `POST /webhook` by outcome.
pub const WEBHOOK_REQUESTS_TOTAL: &str = "webhook_requests_total";
/// `webhook_signature_failures_total{scheme,reason}`: every `POST /webhook` refused 401, by the
/// scheme that judged it (`hex`, `standard`) and why (a fixed set of reasons).
pub const WEBHOOK_SIGNATURE_FAILURES_TOTAL: &str = "webhook_signature_failures_total";
/// `webhook_duplicate_conflicts_total`: duplicates whose content differs from the stored row.
pub const WEBHOOK_DUPLICATE_CONFLICTS_TOTAL: &str = "webhook_duplicate_conflicts_total";
/// `whatsapp_requests_total{result}`: every `/webhook/whatsapp` request (handshakes and
/// deliveries) by outcome.
pub const WHATSAPP_REQUESTS_TOTAL: &str = "whatsapp_requests_total";
/// `whatsapp_messages_total{result}`: messages of acknowledged deliveries, `created` or
/// `duplicate`.
pub const WHATSAPP_MESSAGES_TOTAL: &str = "whatsapp_messages_total";
/// `whatsapp_events_total{kind}`: what acknowledged deliveries carried besides messages:
/// `status` reports and changes of an `other` field. Counted, not stored.
pub const WHATSAPP_EVENTS_TOTAL: &str = "whatsapp_events_total";
/// `messages_pruned_total`: messages the server deleted as older than `RETENTION`.
pub const MESSAGES_PRUNED_TOTAL: &str = "messages_pruned_total";
/// `request_latency_ms`: histogram of request latency in milliseconds.
pub const REQUEST_LATENCY_MS: &str = "request_latency_ms";
/// `http_request_duration_seconds{method,path,status}`: histogram of request latency in
/// seconds, labelled as [`HTTP_REQUESTS_TOTAL`] is (Prometheus' conventional name and unit).
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// `storage_commit_batch_messages`: histogram of the messages each successful writer commit
/// stored (inserted or found duplicate); its `_count` is the number of commits.
pub const STORAGE_COMMIT_BATCH_MESSAGES: &str = "storage_commit_batch_messages";
/// `storage_commit_duration_seconds`: histogram of how long each successful writer commit took,
/// its inserts and its fsync.
pub const STORAGE_COMMIT_DURATION_SECONDS: &str = "storage_commit_duration_seconds";
/// `storage_commit_failures_total`: batches of messages whose commit failed (each of their
/// requests answered 503).
pub const STORAGE_COMMIT_FAILURES_TOTAL: &str = "storage_commit_failures_total";
/// `storage_last_commit_failure_timestamp_seconds`: Unix time of the last failed commit of
/// messages; 0 when none has failed since the server started.
pub const STORAGE_LAST_COMMIT_FAILURE_TIMESTAMP_SECONDS: &str =
    "storage_last_commit_failure_timestamp_seconds";
/// `storage_commit_failing`: 1 while the last commit (or write probe) failed, 0 once one
/// succeeds: readiness's `writer` check, as a number.
pub const STORAGE_COMMIT_FAILING: &str = "storage_commit_failing";
/// `storage_database_bytes`: size of the database file, read when `/metrics` is scraped.
pub const STORAGE_DATABASE_BYTES: &str = "storage_database_bytes";
/// `storage_wal_bytes`: size of its write-ahead log (`-wal`), read when `/metrics` is scraped.
pub const STORAGE_WAL_BYTES: &str = "storage_wal_bytes";
/// The `path` label of every request no route matched, so hostile URLs cannot grow the labels.
pub const UNMATCHED_PATH: &str = "unmatched";

/// Upper bounds of the latency buckets, in milliseconds.
const LATENCY_BUCKETS_MS: [f64; 12] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
];
/// The same bounds in seconds, with one below (a duplicate or a probe answers in well under a
/// millisecond) and one above (the request timeout goes up to minutes; 10 s is its default).
const DURATION_BUCKETS_SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// A commit is an fsync: a fraction of a millisecond on fast storage, tens on slow disks.
const COMMIT_BUCKETS_SECONDS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// Messages per commit: one alone, up to the writer's 512 requests of a few messages each.
const BATCH_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// The process's Prometheus recorder, installed on first use. Every app built in this process
/// (tests build many) shares it, as the `metrics` facade has one global recorder.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                (REQUEST_LATENCY_MS, &LATENCY_BUCKETS_MS[..]),
                (HTTP_REQUEST_DURATION_SECONDS, &DURATION_BUCKETS_SECONDS[..]),
                (STORAGE_COMMIT_DURATION_SECONDS, &COMMIT_BUCKETS_SECONDS[..]),
                (STORAGE_COMMIT_BATCH_MESSAGES, &BATCH_BUCKETS[..]),
            ];
            let recorder = buckets
                .into_iter()
                .try_fold(PrometheusBuilder::new(), |builder, (name, bounds)| {
                    builder.set_buckets_for_metric(Matcher::Full(name.into()), bounds)
                })
                .expect("no bucket list is empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test harness's): ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            register_unlabelled();
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// The exposition text with its families in a fixed order, the webhook and HTTP request counts
/// first, then the rest by name, and no blank lines between them: an operator's
/// `curl /metrics | head` shows both. (The exporter's own order follows its hash maps and
/// changes from run to run.)
pub fn render(handle: &PrometheusHandle) -> String {
    const FIRST: [&str; 3] = [
        WEBHOOK_REQUESTS_TOTAL,
        HTTP_REQUESTS_TOTAL,
        REQUEST_LATENCY_MS,
    ];
    let rendered = handle.render();
    let mut families: Vec<&str> = rendered
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .collect();
    let name = |family: &str| {
        let line = family
            .lines()
            .find(|line| !line.starts_with('#'))
            .unwrap_or(family);
        line.split(['{', ' '])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    families.sort_by_cached_key(|family| {
        let name = name(family);
        let rank = FIRST.iter().position(|first| name.starts_with(first));
        (rank.unwrap_or(FIRST.len()), name)
    });
    let mut text = families
        .iter()
        .map(|family| family.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_counter!(WEBHOOK_REQUESTS_TOTAL, "POST /webhook requests, by outcome");
    metrics::describe_counter!(
        WEBHOOK_SIGNATURE_FAILURES_TOTAL,
        "POST /webhook signatures refused, by scheme and reason"
    );
    metrics::describe_counter!(
        WEBHOOK_DUPLICATE_CONFLICTS_TOTAL,
        "Duplicate message_ids whose content differs from the stored message"
    );
    metrics::describe_counter!(
        WHATSAPP_REQUESTS_TOTAL,
        "GET and POST /webhook/whatsapp requests, by outcome"
    );
    metrics::describe_counter!(
        WHATSAPP_MESSAGES_TOTAL,
        "Messages of acknowledged WhatsApp deliveries: created or duplicate"
    );
    metrics::describe_counter!(
        WHATSAPP_EVENTS_TOTAL,
        "Status reports and other changes in acknowledged WhatsApp deliveries, not stored"
    );
    metrics::describe_counter!(
        MESSAGES_PRUNED_TOTAL,
        "Messages deleted by the server as older than RETENTION"
    );
    metrics::describe_histogram!(
        REQUEST_LATENCY_MS,
        metrics::Unit::Milliseconds,
        "Request latency"
    );
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "HTTP request latency, by method, route and status"
    );
    metrics::describe_histogram!(
        STORAGE_COMMIT_BATCH_MESSAGES,
        metrics::Unit::Count,
        "Messages stored by each successful writer commit"
    );
    metrics::describe_histogram!(
        STORAGE_COMMIT_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Duration of each successful writer commit, inserts and fsync"
    );
    metrics::describe_counter!(
        STORAGE_COMMIT_FAILURES_TOTAL,
        "Batches of messages whose commit failed, each request answered 503"
    );
    metrics::describe_gauge!(
        STORAGE_LAST_COMMIT_FAILURE_TIMESTAMP_SECONDS,
        metrics::Unit::Seconds,
        "Unix time of the last failed commit of messages, 0 when none since start"
    );
    metrics::describe_gauge!(
        STORAGE_COMMIT_FAILING,
        "1 while the last commit or write probe failed, else 0"
    );
    metrics::describe_gauge!(
        STORAGE_DATABASE_BYTES,
        metrics::Unit::Bytes,
        "Size of the database file"
    );
    metrics::describe_gauge!(
        STORAGE_WAL_BYTES,
        metrics::Unit::Bytes,
        "Size of the database's write-ahead log file"
    );
    process_collector().describe();
}

/// The series without labels start at zero, so that they are there from the first scrape
/// (`rate()` and `absent()` alerts work before the first event). Labelled series whose label
/// values are a fixed set are registered where those values are defined (the HTTP layer).
fn register_unlabelled() {
    for counter in [
        WEBHOOK_DUPLICATE_CONFLICTS_TOTAL,
        MESSAGES_PRUNED_TOTAL,
        STORAGE_COMMIT_FAILURES_TOTAL,
    ] {
        metrics::counter!(counter).increment(0);
    }
    for gauge in [
        STORAGE_LAST_COMMIT_FAILURE_TIMESTAMP_SECONDS,
        STORAGE_COMMIT_FAILING,
        STORAGE_DATABASE_BYTES,
        STORAGE_WAL_BYTES,
    ] {
        metrics::gauge!(gauge).set(0.0);
    }
    // A histogram registered without a sample renders its buckets at zero.
    for histogram in [
        REQUEST_LATENCY_MS,
        STORAGE_COMMIT_BATCH_MESSAGES,
        STORAGE_COMMIT_DURATION_SECONDS,
    ] {
        let _ = metrics::histogram!(histogram);
    }
}

/// The process's CPU time, memory, file descriptors and start time (`process_*`, the names
/// Prometheus' client libraries use), read by `metrics-process`.
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Reads the process metrics now: `/metrics` calls this before it renders, so that they are as
/// of the scrape. It reads `/proc`: call it off the async threads.
pub fn collect_process_metrics() {
    process_collector().collect();
}

/// Drains histogram samples into their buckets even when nobody scrapes, so memory stays flat.
fn spawn_upkeep(handle: PrometheusHandle) {
    let _ = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
}

/// Log lines that may wait for stdout before a request that logs waits too.
const LOG_LINES_IN_FLIGHT: usize = 8192;

/// Keeps the log writer thread alive; dropping it writes out every line still queued.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// Installs the JSON log format on stdout at `level` (other crates' events from WARN up), and
/// routes panics into it. Lines are handed to a writer thread that writes whatever has queued
/// up in one go: a request costs no `write` system call of its own, and a slow reader of stdout
/// does not stall the request that logs (until `LOG_LINES_IN_FLIGHT` lines wait; none is ever
/// dropped). Keep the guard until the process ends.
pub fn init_json_logs(level: Level) -> LogGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_LINES_IN_FLIGHT)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stdout()));
    let ours = LevelFilter::from_level(level);
    let filter = Targets::new()
        .with_default(ours.min(LevelFilter::WARN))
        .with_target(env!("CARGO_CRATE_NAME"), ours);
    let format = tracing_subscriber::fmt::layer()
        .event_format(JsonLines)
        .with_writer(writer);
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init();
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(ToString::to_string).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %payload, location = %location, "panic");
    }));
    guard
}

/// A log field that is a JSON string when `Some` and JSON `null` when `None`; record it with `?`.
/// (`tracing` skips a `None` field altogether, and its value trait is sealed.)
pub struct OrNull<'a>(pub Option<&'a str>);

/// What [`OrNull`] formats as for `None`, read back as `null` (a NUL-led marker no real id has).
const NULL_MARKER: &str = "\u{0}null";

impl std::fmt::Debug for OrNull<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.unwrap_or(NULL_MARKER))
    }
}

/// The JSON line format.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = String::with_capacity(256);
        line.push_str("{\"ts\":");
        push_json(&mut line, &crate::timestamp::now_iso());
        line.push_str(",\"level\":");
        push_json(&mut line, meta.level().as_str());
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        if let Some(message) = fields.message {
            line.push_str(",\"msg\":");
            push_json(&mut line, &message);
        }
        if !meta.target().starts_with(env!("CARGO_CRATE_NAME")) {
            line.push_str(",\"target\":");
            push_json(&mut line, meta.target());
        }
        line.push_str(&fields.pairs);
        line.push('}');
        writeln!(writer, "{line}")
    }
}

fn push_json(out: &mut String, value: &str) {
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
}

/// Collects an event's fields as `,"key":value` pairs, keeping numbers and booleans typed.
#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    pairs: String,
}

impl JsonFields {
    fn key(&mut self, field: &Field) {
        self.pairs.push(',');
        push_json(&mut self.pairs, field.name());
        self.pairs.push(':');
    }
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else if text == NULL_MARKER {
            self.key(field);
            self.pairs.push_str("null");
        } else {
            self.key(field);
            push_json(&mut self.pairs, &text);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.key(field);
            push_json(&mut self.pairs, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.pairs, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.pairs, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.pairs, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        let _ = write!(self.pairs, "{}", serde_json::Value::from(value));
    }
}
