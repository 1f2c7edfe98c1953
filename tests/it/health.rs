//! `/health/live` and `/health/ready`, and answers to routes and methods that do not exist.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn liveness_is_ok_whenever_the_process_serves() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get_json("/health/live").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn readiness_is_ok_with_a_migrated_database_and_a_secret() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/health/ready").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ok", "checks": {"database": "ok", "schema": "ok", "writer": "ok", "disk": "ok",
                                    "secret": "ok", "accepting": "ok"}})
    );
}

#[tokio::test]
async fn readiness_is_503_while_draining() {
    let app = TestApp::spawn().await;
    app.state.start_draining();
    let (status, body) = app.get_json("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["detail"], "not ready: accepting");
    assert_eq!(app.get_json("/health/live").await.0, StatusCode::OK);
}

#[tokio::test]
async fn readiness_is_503_when_the_schema_is_behind() {
    let app = TestApp::spawn().await;
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    conn.execute("DELETE FROM refinery_schema_history", [])
        .unwrap();
    let (status, body) = app.get_json("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["detail"], "not ready: schema");
    assert!(
        body["checks"]["schema"]
            .as_str()
            .unwrap()
            .starts_with("at version 0, expected "),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get_json("/nope").await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    assert_eq!(
        app.get_json("/webhook").await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"})
        )
    );
}

#[tokio::test]
async fn an_in_memory_database_serves_the_whole_api() {
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", "sqlite::memory:"),
    ]);
    let client = reqwest::Client::new();
    let body = message("mem", "+911", "2025-01-15T10:00:00Z", Some("in memory")).to_string();
    let signature = webhook_receiver::signature::sign(SECRET.as_bytes(), body.as_bytes());
    let posted = client
        .post(format!("{}/webhook", server.url))
        .header("X-Signature", signature)
        .body(body);
    assert_eq!(posted.send().await.unwrap().status(), StatusCode::OK);
    let ready = client
        .get(format!("{}/health/ready", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let page: serde_json::Value = client
        .get(format!("{}/messages?q=MEMORY", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["message_id"], "mem");
    server.signal("TERM");
    assert!(server.wait_for_exit(PATIENCE).0.success());
}
