//! What a Prometheus user and a log reader expect of the real `app serve`: every documented
//! series from the first scrape, the conventional duration histogram, process and storage
//! metrics, and request lines that say who asked (client, user agent, trace id), a conflict at
//! WARN, and DEBUG lines for each commit and readiness probe.
//!
//! Each test runs the real binary, so that its `/metrics` and its log hold only what the test
//! sent (the in-process apps of this binary share one recorder and one log).

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use webhook_receiver::signature;

use crate::helpers::*;

const APP_SECRET: &str = "observability-app-secret";

/// The real `app serve` over a database of its own.
struct Server {
    process: ServerProcess,
    client: reqwest::Client,
    db_path: std::path::PathBuf,
    _dir: TempDir,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("app.db");
        let url = database_url(&db_path);
        let mut env = env.to_vec();
        env.extend([
            ("WEBHOOK_SECRET", SECRET),
            ("DATABASE_URL", url.as_str()),
            ("WHATSAPP_APP_SECRET", APP_SECRET),
        ]);
        Self {
            process: ServerProcess::start(&env),
            client: reqwest::Client::new(),
            db_path,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.process.url)
    }

    /// Posts `body` to `/webhook`, signed unless `signature` is given; returns the status and
    /// `X-Webhook-Result`.
    async fn post(&self, body: &str, signature: Option<&str>) -> (StatusCode, Option<String>) {
        let signature = signature.map_or_else(
            || signature::sign(SECRET.as_bytes(), body.as_bytes()),
            str::to_string,
        );
        let response = self
            .client
            .post(self.url("/webhook"))
            .header("Content-Type", "application/json")
            .header("X-Signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let result = response
            .headers()
            .get("x-webhook-result")
            .map(|value| value.to_str().unwrap().to_string());
        (response.status(), result)
    }

    /// Posts a WhatsApp delivery signed with the app secret; returns the status.
    async fn deliver(&self, body: &[u8]) -> StatusCode {
        let signature = format!("sha256={}", signature::sign(APP_SECRET.as_bytes(), body));
        self.client
            .post(self.url("/webhook/whatsapp"))
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn get(&self, path: &str) -> StatusCode {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// The `/metrics` text, parsed: every sample by its series (name and labels as rendered).
    async fn metrics(&self) -> Metrics {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Metrics(response.text().await.unwrap())
    }

    /// Stops the server with SIGTERM; returns its log lines, parsed.
    fn stop(self) -> Vec<Value> {
        self.process.signal("TERM");
        let (status, lines, _) = self.process.wait_for_exit(PATIENCE);
        assert!(status.success(), "{status:?}");
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// A scrape.
struct Metrics(String);

impl Metrics {
    /// The value of the sample that is exactly `series`; `None` when absent.
    fn value(&self, series: &str) -> Option<f64> {
        self.0.lines().find_map(|line| {
            let (name, number) = line.rsplit_once(' ')?;
            (name == series).then(|| number.parse().unwrap())
        })
    }

    /// The value of `series`, which must be there.
    fn get(&self, series: &str) -> f64 {
        self.value(series)
            .unwrap_or_else(|| panic!("no {series} in\n{}", self.0))
    }

    /// Every sample of the family `name` (its own lines, not a histogram's `_bucket`…).
    fn family(&self, name: &str) -> BTreeMap<String, f64> {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| {
                series
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
            })
            .map(|(series, value)| (series.to_string(), value.parse().unwrap()))
            .collect()
    }

    /// The `# TYPE` of the family `name`.
    fn kind(&self, name: &str) -> Option<&str> {
        let prefix = format!("# TYPE {name} ");
        self.0.lines().find_map(|line| line.strip_prefix(&prefix))
    }
}

/// `name{label="value"}` for each value, all at `value`.
fn each(name: &str, label: &str, values: &[&str], value: f64) -> BTreeMap<String, f64> {
    values
        .iter()
        .map(|v| (format!(r#"{name}{{{label}="{v}"}}"#), value))
        .collect()
}

fn webhook_body(id: &str, text: &str) -> String {
    message(id, "+919876543210", "2025-01-15T10:00:00Z", Some(text)).to_string()
}

fn whatsapp_fixture() -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/several_messages.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The request lines of a log, in order.
fn requests(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["msg"] == "request").collect()
}

const WEBHOOK_RESULTS: [&str; 8] = [
    "created",
    "duplicate",
    "invalid_signature",
    "validation_error",
    "payload_too_large",
    "storage_unavailable",
    "bad_request",
    "timeout",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_series_is_there_at_zero_on_the_first_scrape() {
    let server = Server::start(&[]);
    let metrics = server.metrics().await;

    assert_eq!(
        metrics.family("webhook_requests_total"),
        each("webhook_requests_total", "result", &WEBHOOK_RESULTS, 0.0)
    );
    let failures: BTreeMap<String, f64> = [
        ("hex", "missing_signature"),
        ("hex", "invalid_signature"),
        ("hex", "multiple_signature_headers"),
        ("standard", "multiple_signature_headers"),
        ("standard", "missing_webhook_id"),
        ("standard", "missing_webhook_timestamp"),
        ("standard", "invalid_webhook_timestamp"),
        ("standard", "timestamp_too_old"),
        ("standard", "timestamp_too_new"),
        ("standard", "no_matching_signature"),
    ]
    .into_iter()
    .map(|(scheme, reason)| {
        let series =
            format!(r#"webhook_signature_failures_total{{scheme="{scheme}",reason="{reason}"}}"#);
        (series, 0.0)
    })
    .collect();
    assert_eq!(metrics.family("webhook_signature_failures_total"), failures);
    let whatsapp_results: Vec<&str> = ["verified", "verification_failed", "acknowledged"]
        .into_iter()
        .chain(WEBHOOK_RESULTS)
        .collect();
    assert_eq!(
        metrics.family("whatsapp_requests_total"),
        each("whatsapp_requests_total", "result", &whatsapp_results, 0.0)
    );
    assert_eq!(
        metrics.family("whatsapp_messages_total"),
        each(
            "whatsapp_messages_total",
            "result",
            &["created", "duplicate"],
            0.0
        )
    );
    assert_eq!(
        metrics.family("whatsapp_events_total"),
        each("whatsapp_events_total", "kind", &["status", "other"], 0.0)
    );
    for series in [
        "webhook_duplicate_conflicts_total",
        "messages_pruned_total",
        "storage_commit_failures_total",
        "storage_commit_failing",
        "storage_last_commit_failure_timestamp_seconds",
        "request_latency_ms_count",
        "storage_commit_batch_messages_count",
        "storage_commit_duration_seconds_count",
    ] {
        assert_eq!(metrics.get(series), 0.0, "{series}");
    }
    for (family, kind) in [
        ("webhook_duplicate_conflicts_total", "counter"),
        ("messages_pruned_total", "counter"),
        ("storage_commit_failures_total", "counter"),
        ("storage_commit_failing", "gauge"),
        ("storage_last_commit_failure_timestamp_seconds", "gauge"),
        ("storage_database_bytes", "gauge"),
        ("storage_wal_bytes", "gauge"),
        ("storage_commit_batch_messages", "histogram"),
        ("storage_commit_duration_seconds", "histogram"),
        ("request_latency_ms", "histogram"),
    ] {
        assert_eq!(metrics.kind(family), Some(kind), "{family}");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_request_duration_seconds_counts_each_route_and_status() {
    let server = Server::start(&[]);
    for n in 0..3 {
        let body = webhook_body(&format!("duration-{n}"), "hi");
        assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
    }
    for _ in 0..2 {
        let body = webhook_body("duration-x", "hi");
        assert_eq!(
            server.post(&body, Some("00")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    for _ in 0..4 {
        assert_eq!(server.get("/stats").await, StatusCode::OK);
    }
    assert_eq!(server.get("/no/such/thing").await, StatusCode::NOT_FOUND);
    let metrics = server.metrics().await;

    let counts = metrics.family("http_request_duration_seconds_count");
    let series = |method: &str, path: &str, status: &str| {
        format!(
            r#"http_request_duration_seconds_count{{method="{method}",path="{path}",status="{status}"}}"#
        )
    };
    assert_eq!(
        counts,
        BTreeMap::from([
            (series("POST", "/webhook", "200"), 3.0),
            (series("POST", "/webhook", "401"), 2.0),
            (series("GET", "/stats", "200"), 4.0),
            (series("GET", "unmatched", "404"), 1.0),
        ])
    );
    // The same label sets as http_requests_total, with the same counts.
    for (series, count) in &counts {
        let requests = series.replace("http_request_duration_seconds_count", "http_requests_total");
        assert_eq!(metrics.get(&requests), *count, "{requests}");
    }
    // Buckets in seconds, cumulative, ending in +Inf at the count.
    let labels = r#"method="GET",path="/stats",status="200""#;
    let bounds: Vec<String> = metrics
        .family("http_request_duration_seconds_bucket")
        .keys()
        .filter(|series| series.contains(labels))
        .map(|series| {
            series
                .rsplit_once("le=\"")
                .unwrap()
                .1
                .trim_end_matches("\"}")
                .to_string()
        })
        .collect();
    let mut bounds: Vec<f64> = bounds.iter().map(|le| le.parse().unwrap()).collect();
    bounds.sort_by(f64::total_cmp);
    assert_eq!(
        bounds,
        [
            0.0005,
            0.001,
            0.0025,
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY
        ]
    );
    assert_eq!(
        metrics.get(&format!(
            "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}"
        )),
        4.0
    );
    assert!(metrics.get(&format!("http_request_duration_seconds_sum{{{labels}}}")) > 0.0);
    assert_eq!(
        metrics.kind("http_request_duration_seconds"),
        Some("histogram")
    );
    // The brief's histogram is still there, with every request.
    assert_eq!(metrics.get("request_latency_ms_count"), 10.0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_metrics_are_there_on_every_scrape() {
    let server = Server::start(&[]);
    let metrics = server.metrics().await;
    for (family, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert_eq!(metrics.kind(family), Some(kind), "{family}");
        assert!(metrics.value(family).is_some(), "{family}");
    }
    assert!(metrics.get("process_resident_memory_bytes") > 0.0);
    // At least stdin, stdout, stderr, the listener and the database.
    assert!(metrics.get("process_open_fds") >= 5.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = metrics.get("process_start_time_seconds");
    assert!(started > 0.0 && started <= now, "{started}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_metrics_count_each_commit_and_read_the_file_sizes() {
    let server = Server::start(&[]);
    // One at a time, so that each is a commit of its own: 4 new, 1 duplicate, then a WhatsApp
    // delivery of 3 messages in one transaction.
    for n in 0..4 {
        let body = webhook_body(&format!("storage-{n}"), "hi");
        assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
    }
    let again = webhook_body("storage-0", "hi");
    assert_eq!(
        server.post(&again, None).await,
        (StatusCode::OK, Some("duplicate".to_string()))
    );
    assert_eq!(server.deliver(&whatsapp_fixture()).await, StatusCode::OK);
    let metrics = server.metrics().await;

    assert_eq!(metrics.get("storage_commit_batch_messages_count"), 6.0);
    assert_eq!(metrics.get("storage_commit_batch_messages_sum"), 8.0);
    for (le, count) in [("1", 5.0), ("2", 5.0), ("4", 6.0), ("+Inf", 6.0)] {
        let series = format!(r#"storage_commit_batch_messages_bucket{{le="{le}"}}"#);
        assert_eq!(metrics.get(&series), count, "{series}");
    }
    assert_eq!(metrics.get("storage_commit_duration_seconds_count"), 6.0);
    assert!(metrics.get("storage_commit_duration_seconds_sum") > 0.0);
    assert_eq!(metrics.get("storage_commit_failures_total"), 0.0);
    assert_eq!(metrics.get("storage_commit_failing"), 0.0);
    assert_eq!(
        metrics.get("storage_last_commit_failure_timestamp_seconds"),
        0.0
    );
    // Nothing has checkpointed the log yet (1000 pages are far off): the file keeps its size.
    let database = std::fs::metadata(&server.db_path).unwrap().len();
    assert!(database > 0);
    assert_eq!(metrics.get("storage_database_bytes"), database as f64);
    assert!(metrics.get("storage_wal_bytes") > 0.0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_shows_in_the_storage_metrics_and_the_debug_readiness_line() {
    let server = Server::start(&[("LOG_LEVEL", "DEBUG")]);
    let body = webhook_body("fault-1", "hi");
    assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
    // Moved away, the file can take no commit (the server will not commit into a file that is
    // no longer at its path); moved back, it can.
    let aside = server.db_path.with_extension("moved");
    std::fs::rename(&server.db_path, &aside).unwrap();
    let body = webhook_body("fault-2", "hi");
    assert_eq!(
        server.post(&body, None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let failing = server.metrics().await;
    assert_eq!(
        server.get("/health/ready").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    std::fs::rename(&aside, &server.db_path).unwrap();
    assert_eq!(server.get("/health/ready").await, StatusCode::OK);
    assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
    let recovered = server.metrics().await;
    let events = server.stop();

    assert_eq!(failing.get("storage_commit_failures_total"), 1.0);
    assert_eq!(failing.get("storage_commit_failing"), 1.0);
    assert_eq!(failing.get("storage_database_bytes"), 0.0);
    let failed_at = failing.get("storage_last_commit_failure_timestamp_seconds");
    assert!(failed_at > 0.0);
    assert_eq!(failing.get("storage_commit_batch_messages_count"), 1.0);

    assert_eq!(recovered.get("storage_commit_failures_total"), 1.0);
    assert_eq!(recovered.get("storage_commit_failing"), 0.0);
    assert_eq!(
        recovered.get("storage_last_commit_failure_timestamp_seconds"),
        failed_at
    );
    assert_eq!(recovered.get("storage_commit_batch_messages_count"), 2.0);

    let probes: Vec<&Value> = events
        .iter()
        .filter(|e| e["msg"] == "readiness checks")
        .collect();
    assert_eq!(probes.len(), 2, "{events:?}");
    let not_ready = probes[0];
    assert_eq!(
        (&not_ready["level"], &not_ready["ready"]),
        (&json!("DEBUG"), &json!(false))
    );
    for check in ["database", "writer"] {
        let outcome = not_ready[check].as_str().unwrap();
        assert_ne!(outcome, "ok", "{check}: {not_ready}");
    }
    for check in ["schema", "disk", "secret", "accepting"] {
        let outcome = &not_ready[check];
        assert!(outcome.is_string(), "{check}: {not_ready}");
    }
    let ready = probes[1];
    assert_eq!(ready["ready"], true);
    for check in [
        "database",
        "schema",
        "writer",
        "disk",
        "secret",
        "accepting",
    ] {
        assert_eq!(ready[check], "ok", "{check}: {ready}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_lines_say_the_client_the_user_agent_and_the_trace_id() {
    let server = Server::start(&[]);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traced = server
        .client
        .get(server.url("/health/live"))
        .header("User-Agent", "probe/1.0 (observability test)")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(traced.status(), StatusCode::OK);
    let malformed = server
        .client
        .get(server.url("/health/live"))
        .header("User-Agent", "x".repeat(1000))
        .header(
            "traceparent",
            format!("00-{}-00f067aa0ba902b7-01", trace.to_uppercase()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::OK);
    // reqwest sends no User-Agent of its own.
    let body = webhook_body("caller-1", "hi");
    assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
    let delivered = server
        .client
        .post(server.url("/webhook/whatsapp"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-00"))
        .header("User-Agent", "facebookexternalua")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::UNAUTHORIZED);
    let events = server.stop();

    let lines = requests(&events);
    assert_eq!(lines.len(), 4, "{events:?}");
    for line in &lines {
        let client = line["client"].as_str().unwrap_or_else(|| panic!("{line}"));
        let (ip, port) = client.rsplit_once(':').unwrap();
        assert_eq!(ip, "127.0.0.1", "{line}");
        assert!(port.parse::<u16>().unwrap() > 0, "{line}");
    }
    let said = |line: &Value| (line["user_agent"].clone(), line.get("trace_id").cloned());
    assert_eq!(
        said(lines[0]),
        (json!("probe/1.0 (observability test)"), Some(json!(trace)))
    );
    assert_eq!(said(lines[1]), (json!("x".repeat(256)), None));
    assert_eq!(said(lines[2]), (Value::Null, None));
    assert_eq!(
        said(lines[3]),
        (json!("facebookexternalua"), Some(json!(trace)))
    );
    assert_eq!(lines[3]["path"], "/webhook/whatsapp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_whose_content_differs_is_logged_at_warn() {
    let server = Server::start(&[]);
    let first = webhook_body("conflict-1", "hello");
    assert_eq!(
        server.post(&first, None).await,
        (StatusCode::OK, Some("created".to_string()))
    );
    assert_eq!(
        server.post(&first, None).await,
        (StatusCode::OK, Some("duplicate".to_string()))
    );
    let changed = webhook_body("conflict-1", "changed");
    assert_eq!(
        server.post(&changed, None).await,
        (StatusCode::OK, Some("duplicate".to_string()))
    );
    // A WhatsApp redelivery whose text changed is a conflict too.
    let delivery = whatsapp_fixture();
    assert_eq!(server.deliver(&delivery).await, StatusCode::OK);
    let mut edited: Value = serde_json::from_slice(&delivery).unwrap();
    edited["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = json!("edited");
    assert_eq!(
        server.deliver(&serde_json::to_vec(&edited).unwrap()).await,
        StatusCode::OK
    );
    let metrics = server.metrics().await;
    let events = server.stop();

    assert_eq!(metrics.get("webhook_duplicate_conflicts_total"), 2.0);
    let levels: Vec<(&str, &str, Option<bool>)> = requests(&events)
        .iter()
        .filter(|e| e["method"] == "POST")
        .map(|e| {
            (
                e["level"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
                e["conflict"].as_bool(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("INFO", "created", None),
            ("INFO", "duplicate", None),
            ("WARN", "duplicate", Some(true)),
            ("INFO", "created", None),
            ("WARN", "duplicate", Some(true)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_one_line_per_commit_and_per_readiness_probe_and_info_does_not() {
    for level in ["DEBUG", "INFO"] {
        let server = Server::start(&[("LOG_LEVEL", level)]);
        let body = webhook_body("debug-1", "hi");
        assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
        assert_eq!(server.post(&body, None).await.0, StatusCode::OK);
        assert_eq!(server.deliver(&whatsapp_fixture()).await, StatusCode::OK);
        assert_eq!(server.get("/health/ready").await, StatusCode::OK);
        let events = server.stop();

        let commits: Vec<Value> = events
            .iter()
            .filter(|e| e["msg"] == "commit")
            .map(|e| {
                let mut e = e.clone();
                let took = e.as_object_mut().unwrap().remove("commit_ms").unwrap();
                assert!(took.as_f64().is_some_and(|ms| ms >= 0.0), "{e}");
                e.as_object_mut().unwrap().remove("ts");
                e
            })
            .collect();
        let probes = events
            .iter()
            .filter(|e| e["msg"] == "readiness checks")
            .count();
        if level == "INFO" {
            assert_eq!((commits.len(), probes), (0, 0), "{events:?}");
            assert!(events.iter().all(|e| e["level"] != "DEBUG"), "{events:?}");
            continue;
        }
        let commit = |messages: u64, created: u64| {
            json!({"level": "DEBUG", "msg": "commit", "messages": messages, "requests": 1,
                   "created": created, "duplicates": messages - created})
        };
        assert_eq!(commits, [commit(1, 1), commit(1, 0), commit(3, 3)]);
        assert_eq!(probes, 1, "{events:?}");
    }
}
