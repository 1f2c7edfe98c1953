//! Limits that hold: numeric settings outside their documented range, heads over the limit, a
//! full writer queue, a flood of reads and the size of a 422. Each is refused or answered at
//! once, in JSON, and counted.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use webhook_receiver::config::Location;
use webhook_receiver::http::{self, AppState, Settings};
use webhook_receiver::signature;
use webhook_receiver::storage::{AutoCheckpoint, Bounds, Storage};

use crate::helpers::{
    PATIENCE, RawHttp, SECRET, ServerProcess, TestApp, assert_serve_refuses, message, secret,
    signed_post_head,
};

/// A server like `TestApp`'s whose storage has these `bounds`: its URL and database file.
async fn bounded_server(bounds: Bounds) -> (String, PathBuf, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("app.db");
    let location = Location::File(db_path.clone());
    let storage =
        Storage::open_bounded(&location, AutoCheckpoint::default(), None, bounds).unwrap();
    let state = AppState::new(storage, &Settings::new(secret(SECRET)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(http::serve(listener, state, std::future::pending()));
    (url, db_path, dir)
}

/// Posts message `id`, signed, to `/webhook`: its status, `Retry-After` and JSON body.
async fn post_message(url: &str, id: &str) -> (StatusCode, Option<String>, Value) {
    let body = message(id, "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    let response = reqwest::Client::new()
        .post(format!("{url}/webhook"))
        .header("Content-Type", "application/json")
        .header(
            "X-Signature",
            signature::sign(SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    (status, retry_after, response.json().await.unwrap())
}

fn row_count(db_path: &PathBuf) -> i64 {
    let conn = rusqlite::Connection::open(db_path).unwrap();
    conn.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_full_writer_queue_is_answered_503_at_once_and_nothing_refused_is_committed() {
    let bounds = Bounds {
        writer_queue: 1,
        ..Bounds::default()
    };
    let (url, db_path, _dir) = bounded_server(bounds).await;
    // Another connection holds the write lock: the writer waits on its first batch (for less
    // than its busy timeout), one request waits in the queue, and there is room for no more.
    let blocker = rusqlite::Connection::open(&db_path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut waiting = Vec::new();
    for n in 0..2 {
        let url = url.clone();
        waiting.push(tokio::spawn(async move {
            post_message(&url, &format!("queued-{n}")).await
        }));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut refused = 0;
    for n in 0..3 {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            post_message(&url, &format!("shed-{n}")),
        )
        .await
        .expect("a full queue is answered at once, not at the request's deadline");
        assert_eq!(
            answer,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("1".to_string()),
                json!({"detail": "storage unavailable"})
            )
        );
        refused += 1;
    }
    blocker.execute_batch("ROLLBACK").unwrap();
    let mut committed = 0;
    for request in waiting {
        let (status, _, body) = request.await.unwrap();
        assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
        committed += 1;
    }
    assert_eq!((committed, refused), (2, 3));
    // Only what was acknowledged is stored: none of the refused messages.
    assert_eq!(row_count(&db_path), 2);
}

#[tokio::test]
async fn reads_beyond_their_bound_are_answered_503_and_ingest_goes_on() {
    // No read may run: every read is beyond the bound, as under a flood of them.
    let bounds = Bounds {
        concurrent_reads: 0,
        ..Bounds::default()
    };
    let (url, db_path, _dir) = bounded_server(bounds).await;
    let client = reqwest::Client::new();
    for path in ["/messages", "/stats"] {
        let response = client.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(
            (
                response.status(),
                response
                    .headers()
                    .get("retry-after")
                    .map(|value| value.to_str().unwrap().to_string())
            ),
            (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_string())),
            "{path}"
        );
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "storage unavailable"}),
            "{path}"
        );
    }
    let (status, _, body) = post_message(&url, "ingest").await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
    assert_eq!(row_count(&db_path), 1);
    // Readiness's one read is not shed: a read flood does not take the server out of rotation.
    let ready = client
        .get(format!("{url}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[test]
fn serve_refuses_numeric_settings_out_of_range_or_not_a_number() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "PORT",
            &["65536", "-1", "80a", ""],
            "a whole number from 0 to 65535",
        ),
        (
            "MAX_BODY_BYTES",
            &["0", "16777217", "64KiB", "18446744073709551616"],
            "whole bytes from 1 to 16777216",
        ),
        (
            "REQUEST_TIMEOUT_SECS",
            &["0", "3601", "18446744073709551615", "1.5", "10s"],
            "whole seconds from 1 to 3600",
        ),
        (
            "SHUTDOWN_DRAIN_SECS",
            &["3601", "-1", "18446744073709551615", "5m"],
            "whole seconds from 0 to 3600",
        ),
    ];
    for (variable, values, says) in cases {
        for value in *values {
            assert_serve_refuses(&[(variable, value)], &[], variable, says);
        }
    }
    assert_serve_refuses(
        &[],
        &["--request-timeout-secs", "0"],
        "REQUEST_TIMEOUT_SECS",
        "whole seconds from 1 to 3600",
    );
}

#[tokio::test]
async fn a_422_echoes_a_large_body_once_however_many_fields_it_misses() {
    let app = TestApp::spawn().await;
    // Every required field missing, and 60 KB of something else.
    let body = json!({"padding": "x".repeat(60_000)}).to_string();
    let response = app.post_signed(&body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer = response.bytes().await.unwrap();
    assert!(
        answer.len() < body.len() + 1_024,
        "{} bytes answer a {} byte body",
        answer.len(),
        body.len()
    );
    let detail: Value = serde_json::from_slice(&answer).unwrap();
    let echoed: Vec<(&Value, Value)> = detail["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| (&problem["loc"][1], problem["input"].clone()))
        .collect();
    let object: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        echoed,
        vec![
            (&json!("message_id"), object),
            (&json!("from"), json!({})),
            (&json!("to"), json!({})),
            (&json!("ts"), json!({})),
        ]
    );
}

#[tokio::test]
async fn a_100_kb_head_is_refused_431_logged_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::database_url(&dir.path().join("app.db"));
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
    // A signed delivery, valid but for a head of 100 KB: one long header.
    let body = message("big-head", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    let head = signed_post_head(body.as_bytes()).replacen(
        "\r\n",
        &format!("\r\nX-Padding: {}\r\n", "p".repeat(100 * 1024)),
        1,
    );
    let mut conn = RawHttp::connect(&server.url).await;
    let _ = conn.send(head.as_bytes()).await;
    let _ = conn.send(body.as_bytes()).await;
    assert_eq!(conn.response().await.unwrap().status, 431);
    drop(conn);
    // Counted where the connection ends, a moment after the answer.
    let mut refused = Vec::new();
    for _ in 0..50 {
        let metrics = reqwest::get(format!("{}/metrics", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        refused = metrics
            .lines()
            .filter(|line| line.starts_with("http_requests_total{") && line.contains("\"431\""))
            .map(str::to_string)
            .collect();
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused,
        vec![r#"http_requests_total{method="other",path="unmatched",status="431"} 1"#]
    );
    server.signal("TERM");
    let (_, lines, _) = server.wait_for_exit(PATIENCE);
    let refusals: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["status"] == 431)
        .collect();
    assert_eq!(refusals.len(), 1, "{lines:?}");
    assert_eq!(
        (&refusals[0]["level"], &refusals[0]["msg"]),
        (&json!("WARN"), &json!("request refused by the HTTP layer"))
    );
    // Nothing of the refused delivery was stored.
    let db_path = dir.path().join("app.db");
    assert_eq!(row_count(&db_path), 0);
}

#[tokio::test]
async fn past_the_bound_on_deliveries_in_flight_both_webhook_routes_are_shed_and_reads_pass() {
    const APP_SECRET: &str = "test-app-secret";
    let app = TestApp::spawn_with(|settings| {
        settings.max_webhooks_in_flight = 1;
        settings.whatsapp_app_secret = Some(secret(APP_SECRET));
    })
    .await;
    // The one delivery admitted waits for the writer, which another connection holds.
    let blocker = rusqlite::Connection::open(&app.db_path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let admitted = {
        let url = app.url.clone();
        tokio::spawn(async move { post_message(&url, "admitted").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(
        post_message(&app.url, "shed").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("1".to_string()),
            json!({"detail": "storage unavailable"})
        )
    );
    let delivery = std::fs::read("tests/fixtures/whatsapp/several_messages.json").unwrap();
    let meta_signature = format!(
        "sha256={}",
        signature::sign(APP_SECRET.as_bytes(), &delivery)
    );
    let response = app
        .client
        .post(format!("{}/webhook/whatsapp", app.url))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", &meta_signature)
        .body(delivery.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            response.status(),
            response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_string()),
        ),
        (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_string()))
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "storage unavailable"})
    );
    // Other routes are not bounded by it.
    let (status, _) = app.get_json("/health/live").await;
    assert_eq!(status, StatusCode::OK);

    blocker.execute_batch("ROLLBACK").unwrap();
    let (status, _, body) = admitted.await.unwrap();
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(app.row_count(), 1);
    // With the bound free again, the delivery refused is taken whole.
    let response = app
        .client
        .post(format!("{}/webhook/whatsapp", app.url))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", &meta_signature)
        .body(delivery)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.row_count(), 4);
}
