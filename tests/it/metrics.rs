//! `GET /metrics`: the documented series appear after traffic, and unknown paths share one label.
//!
//! The recorder is process-wide, and every in-process app of this test binary feeds it in
//! parallel, so counts read there could only be bounded from below. Each test here runs the real
//! binary instead: its `/metrics` counts only what that test sent, and the test asserts exact
//! values.

use reqwest::StatusCode;
use tempfile::TempDir;
use webhook_receiver::signature;

use crate::helpers::*;

/// The real `app serve` over a database of its own, with a client for it.
struct MetricsServer {
    server: ServerProcess,
    client: reqwest::Client,
    _dir: TempDir,
}

impl MetricsServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(&dir.path().join("app.db"));
        let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
        Self {
            server,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// GETs `path` and returns its status and text.
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.server.url))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Posts `body` to `/webhook` with `signature` and returns the status.
    async fn post(&self, body: &str, signature: &str) -> StatusCode {
        self.client
            .post(format!("{}/webhook", self.server.url))
            .header("Content-Type", "application/json")
            .header("X-Signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn post_signed(&self, body: &str) -> StatusCode {
        let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
        self.post(body, &signature).await
    }

    /// The `/metrics` text, asserting it is served.
    async fn metrics(&self) -> String {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        text
    }
}

/// The value of the series line that is exactly `series` (name and labels); `None` when absent.
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, number) = line.rsplit_once(' ')?;
        (name == series).then(|| number.parse().unwrap())
    })
}

/// Every series line (name and labels) starting with `family`, with its value.
fn series_of(metrics: &str, family: &str) -> Vec<(String, f64)> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(name, _)| {
            name.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .map(|(name, number)| (name.to_string(), number.parse().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_webhook_outcomes_are_counted_exactly() {
    let server = MetricsServer::start();
    let body = message("metrics-1", "+911", "2025-01-15T10:00:00Z", None).to_string();
    assert_eq!(server.post_signed(&body).await, StatusCode::OK);
    assert_eq!(server.post_signed(&body).await, StatusCode::OK);
    assert_eq!(server.post(&body, "123").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.post_signed("{}").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Only these four requests reached the server before this scrape; a scrape is counted once
    // answered, so it shows only in the next one.
    let text = server.metrics().await;

    let webhook = |status: &str| {
        format!(r#"http_requests_total{{method="POST",path="/webhook",status="{status}"}}"#)
    };
    let mut requests = series_of(&text, "http_requests_total");
    requests.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        requests,
        [
            (webhook("200"), 2.0),
            (webhook("401"), 1.0),
            (webhook("422"), 1.0)
        ],
        "{text}"
    );
    let mut outcomes = series_of(&text, "webhook_requests_total");
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    let outcome = |result: &str| format!(r#"webhook_requests_total{{result="{result}"}}"#);
    assert_eq!(
        outcomes,
        // Every outcome is there, at zero until it happens.
        [
            (outcome("bad_request"), 0.0),
            (outcome("created"), 1.0),
            (outcome("duplicate"), 1.0),
            (outcome("invalid_signature"), 1.0),
            (outcome("payload_too_large"), 0.0),
            (outcome("storage_unavailable"), 0.0),
            (outcome("timeout"), 0.0),
            (outcome("validation_error"), 1.0)
        ],
        "{text}"
    );
    assert_eq!(
        value(&text, "request_latency_ms_count"),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"request_latency_ms_bucket{le="+Inf"}"#),
        Some(4.0),
        "{text}"
    );
    let sum = value(&text, "request_latency_ms_sum").expect("a latency sum");
    assert!(sum > 0.0, "{text}");

    // The second scrape sees the first one, and nothing else new.
    let text = server.metrics().await;
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{method="GET",path="/metrics",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, &webhook("200")), Some(2.0), "{text}");
    assert_eq!(
        value(&text, "request_latency_ms_count"),
        Some(5.0),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_share_one_label_and_do_not_grow_the_metrics() {
    let server = MetricsServer::start();
    for n in 0..200 {
        let (status, _) = server.get(&format!("/hostile/{n}/x{n}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = server.get("/health/live").await;
    assert_eq!(status, StatusCode::OK);
    let text = server.metrics().await;
    assert!(!text.contains("hostile"), "{text}");
    let mut requests = series_of(&text, "http_requests_total");
    requests.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        requests,
        [
            (
                r#"http_requests_total{method="GET",path="/health/live",status="200"}"#.into(),
                1.0
            ),
            (
                r#"http_requests_total{method="GET",path="unmatched",status="404"}"#.into(),
                200.0
            ),
        ],
        "{text}"
    );
    assert_eq!(value(&text, "request_latency_ms_count"), Some(201.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_and_request_families_come_first() {
    let server = MetricsServer::start();
    let body = message("metrics-order", "+911", "2025-01-15T10:00:00Z", None).to_string();
    assert_eq!(server.post_signed(&body).await, StatusCode::OK);
    for (path, expected) in [
        ("/health/live", StatusCode::OK),
        ("/health/ready", StatusCode::OK),
        ("/messages", StatusCode::OK),
        ("/stats", StatusCode::OK),
        ("/nope", StatusCode::NOT_FOUND),
    ] {
        let (status, text) = server.get(path).await;
        assert_eq!(status, expected, "{path}: {text}");
    }
    let text = server.metrics().await;
    let families: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        &families[..3],
        [
            "webhook_requests_total",
            "http_requests_total",
            "request_latency_ms"
        ]
    );
    let webhook_line = text
        .lines()
        .position(|l| l.starts_with("webhook_requests_total"));
    assert!(webhook_line.is_some_and(|at| at < 10), "{text}");
    assert!(text.ends_with('\n') && !text.ends_with("\n\n\n"));
}
