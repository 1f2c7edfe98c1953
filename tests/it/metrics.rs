//! `GET /metrics`: the documented series appear after traffic, and unknown paths share one label.
//!
//! Every app in this test binary shares the process's one recorder, so counts are compared
//! before and after, never as absolute numbers.

use reqwest::StatusCode;

use crate::helpers::*;

/// The value of the series line that starts with `series` (name and labels), or 0.
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn requests_and_webhook_outcomes_are_counted() {
    let app = TestApp::spawn().await;
    let (_, before) = app.get_text("/metrics").await;
    let body = message("metrics-1", "+911", "2025-01-15T10:00:00Z", None).to_string();
    app.post_signed(&body).await;
    app.post_signed(&body).await;
    app.post(body, &[("X-Signature", "123")]).await;
    app.post_signed("{}").await;
    let (status, after) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert!(delta(r#"http_requests_total{method="POST",path="/webhook",status="200"}"#) >= 2.0);
    assert!(delta(r#"http_requests_total{method="POST",path="/webhook",status="401"}"#) >= 1.0);
    assert!(delta(r#"http_requests_total{method="POST",path="/webhook",status="422"}"#) >= 1.0);
    for result in [
        "created",
        "duplicate",
        "invalid_signature",
        "validation_error",
    ] {
        assert!(
            delta(&format!(r#"webhook_requests_total{{result="{result}"}}"#)) >= 1.0,
            "{result}"
        );
    }
    assert!(delta("request_latency_ms_count") >= 4.0);
    assert!(
        value(&after, r#"request_latency_ms_bucket{le="+Inf"}"#)
            >= value(&after, "request_latency_ms_count")
    );
    assert!(
        after
            .lines()
            .any(|line| line.starts_with("request_latency_ms_sum"))
    );
    assert!(
        after
            .lines()
            .any(|line| line.starts_with("http_requests_total"))
    );
    assert!(
        after
            .lines()
            .any(|line| line.starts_with("webhook_requests_total"))
    );
}

#[tokio::test]
async fn unknown_paths_share_one_label_and_do_not_grow_the_metrics() {
    let app = TestApp::spawn().await;
    app.get_text("/no-such-path-warmup").await;
    let (_, before) = app.get_text("/metrics").await;
    for n in 0..200 {
        let (status, _) = app.get_text(&format!("/hostile/{n}/x{n}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, after) = app.get_text("/metrics").await;
    assert!(!after.contains("hostile"));
    let unmatched = r#"http_requests_total{method="GET",path="unmatched",status="404"}"#;
    assert!(value(&after, unmatched) - value(&before, unmatched) >= 200.0);
    // Other tests share the recorder and add series meanwhile, so check the label set itself:
    // every path label is a route template or `unmatched`.
    let routes = [
        "/webhook",
        "/webhook/whatsapp",
        "/messages",
        "/stats",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "unmatched",
    ];
    for line in after
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
    {
        let path = line
            .split("path=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        assert!(routes.contains(&path), "unexpected path label in {line}");
    }
}

#[tokio::test]
async fn the_two_families_the_brief_names_come_first() {
    let app = TestApp::spawn().await;
    let body = message("metrics-order", "+911", "2025-01-15T10:00:00Z", None).to_string();
    app.post_signed(&body).await;
    for path in [
        "/health/live",
        "/health/ready",
        "/messages",
        "/stats",
        "/nope",
    ] {
        app.get_text(path).await;
    }
    let (_, text) = app.get_text("/metrics").await;
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
