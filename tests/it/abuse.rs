//! Hostile HTTP: bodies too big to buffer, clients that trickle, bytes that are not UTF-8, URIs
//! that go on and on, and floods of unknown paths and methods. Each gets a clear 4xx (JSON
//! wherever a handler answers), never a 500, and leaves the server serving.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::signature;

use crate::helpers::{RawHttp, SECRET, ServerProcess, TestApp, message, signed_post_head};

const TEN_MB: usize = 10 * 1024 * 1024;

/// The server still answers normally.
async fn assert_still_serving(app: &TestApp) {
    let body = message("after", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    assert_eq!(app.post_signed(&body).await.status(), StatusCode::OK);
}

/// A server whose request timeout is one second, so that slow-client tests are quick.
async fn impatient_app() -> TestApp {
    TestApp::spawn_with(|settings| settings.request_timeout = Duration::from_secs(1)).await
}

#[tokio::test]
async fn a_10_mb_body_declared_in_content_length_is_refused_413_without_being_read() {
    let app = TestApp::spawn().await;
    let mut conn = RawHttp::connect(&app.url).await;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         X-Signature: 00\r\nContent-Length: {TEN_MB}\r\n\r\n"
    );
    conn.send(head.as_bytes()).await.unwrap();
    // Only the first 64 KiB of the ten megabytes are ever sent.
    conn.send(&[b' '; 64 * 1024]).await.unwrap();
    let response = conn.response().await.unwrap();
    assert_eq!(response.status, 413);
    assert_eq!(response.json(), json!({"detail": "payload too large"}));
    let closed = tokio::time::timeout(Duration::from_secs(10), conn.closed()).await;
    assert_eq!(
        closed,
        Ok(true),
        "the connection was kept for the rest of the body"
    );
    assert_eq!(app.row_count(), 0);
    assert_still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_10_mb_chunked_body_is_refused_413_once_it_passes_the_limit() {
    let app = TestApp::spawn().await;
    let mut conn = RawHttp::connect(&app.url).await;
    let head = "POST /webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                X-Signature: 00\r\nTransfer-Encoding: chunked\r\n\r\n";
    conn.send(head.as_bytes()).await.unwrap();
    // 128 KiB of what would be 10 MB, in 8 KiB chunks; the last chunk never comes.
    let chunk = [b' '; 8 * 1024];
    for _ in 0..16 {
        conn.send(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        conn.send(&chunk).await.unwrap();
        conn.send(b"\r\n").await.unwrap();
    }
    let response = conn.response().await.unwrap();
    assert_eq!(response.status, 413);
    assert_eq!(response.json(), json!({"detail": "payload too large"}));
    assert_eq!(app.row_count(), 0);
    assert_still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_by_the_header_timeout() {
    let app = impatient_app().await;
    let mut conn = RawHttp::connect(&app.url).await;
    conn.send(b"POST /webhook HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    // One byte every 100 ms for up to 10 s: the server must hang up long before.
    let mut cut_off = false;
    for _ in 0..100 {
        if conn.send(b"a").await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut_off, "a client trickling headers kept its connection");
    assert_still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_a_408_and_nothing_is_stored() {
    let app = impatient_app().await;
    let body = message("slow", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    let mut conn = RawHttp::connect(&app.url).await;
    conn.send(signed_post_head(body.as_bytes()).as_bytes())
        .await
        .unwrap();
    for byte in body.as_bytes().iter().take(5) {
        conn.send(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = conn.response().await.unwrap();
    assert_eq!(response.status, 408);
    assert_eq!(response.json(), json!({"detail": "request timeout"}));
    assert_eq!(app.row_count(), 0);
    assert_still_serving(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn bodies_that_are_not_utf8_are_422_json_invalid() {
    let app = TestApp::spawn().await;
    let bodies: [&[u8]; 3] = [
        b"\xff\xfe\x00{}",
        b"{\"message_id\":\"\xff\",\"from\":\"+1\",\"to\":\"+1\",\"ts\":\"2025-01-15T10:00:00Z\"}",
        br#"{"message_id":"\ud800","from":"+1","to":"+1","ts":"2025-01-15T10:00:00Z"}"#,
    ];
    for body in bodies {
        let signature = signature::sign(SECRET.as_bytes(), body);
        let response = app
            .post(body.to_vec(), &[("X-Signature", signature.as_str())])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["detail"][0]["type"], "json_invalid", "{answer}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body"]), "{answer}");
    }
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn query_values_that_are_not_utf8_are_422_string_unicode() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get_json("/messages?q=%FF%FEab&limit=5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{
            "type": "string_unicode",
            "loc": ["query", "q"],
            "msg": "Input should be a valid string, unable to parse raw data as a unicode string",
            "input": "\u{FFFD}\u{FFFD}ab",
        }]})
    );
    let (status, body) = app.get_json("/messages?from=%2B91%C3").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "from"]));
    // Raw bytes above ASCII in the request line are not a URI at all: the HTTP layer refuses.
    let mut conn = RawHttp::connect(&app.url).await;
    conn.send(b"GET /messages?q=\xff\xfe HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let response = conn.response().await.unwrap();
    assert_eq!(response.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn huge_query_strings_are_refused_414_json_or_431_by_the_http_layer() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .get_json(&format!("/messages?q={}", "a".repeat(16 * 1024)))
        .await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(body, json!({"detail": "URI too long"}));
    // Past the 64 KiB head limit the HTTP layer answers before any of it is parsed.
    let mut conn = RawHttp::connect(&app.url).await;
    let request = format!(
        "GET /messages?q={} HTTP/1.1\r\nHost: test\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let _ = conn.send(request.as_bytes()).await;
    let response = conn.response().await.unwrap();
    assert_eq!(response.status, 431);
    assert_still_serving(&app).await;
    app.stop().await;
}

/// The series `/metrics` shows: every sample line with its labels, values left out.
fn series(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| line.rsplit_once(' ').map_or(line, |(series, _)| series))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_unknown_paths_and_methods_add_no_metric_series() {
    // The real binary: its metrics are its own, not shared with the other tests here.
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::database_url(&dir.path().join("app.db"));
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{}{path}", server.url)).send();
    let odd_method = |n: usize, path: &str| {
        let method = reqwest::Method::from_bytes(format!("PROBE{n}").as_bytes()).unwrap();
        client
            .request(method, format!("{}{path}", server.url))
            .send()
    };
    // One of each kind first, so that their series exist.
    assert_eq!(get("/warm-up".into()).await.unwrap().status(), 404);
    assert_eq!(odd_method(0, "/warm-up").await.unwrap().status(), 404);
    assert_eq!(odd_method(0, "/webhook").await.unwrap().status(), 405);
    let metrics = || async { get("/metrics".into()).await.unwrap().text().await.unwrap() };
    metrics().await;
    let before = series(&metrics().await);

    for n in 0..2000 {
        let response = get(format!("/unknown/{n}/{}?x={n}", "z".repeat(n % 50)))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Not Found"}));
    }
    for n in 1..=200 {
        assert_eq!(
            odd_method(n, &format!("/x{n}")).await.unwrap().status(),
            404
        );
        assert_eq!(odd_method(n, "/webhook").await.unwrap().status(), 405);
    }

    let after = series(&metrics().await);
    let added: Vec<_> = after.difference(&before).collect();
    assert!(
        added.is_empty(),
        "{} series added, e.g. {:?}",
        added.len(),
        &added[..added.len().min(3)]
    );
    assert!(after.contains(r#"http_requests_total{method="other",path="unmatched",status="404"}"#));
    server.signal("TERM");
    let (status, _, _) = server.wait_for_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}
