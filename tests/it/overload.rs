//! Overload: many kept-alive connections posting at once to the real `app serve`. Past the bound
//! on deliveries handled at once, each one more is answered 503 with `Retry-After` and a JSON
//! body before its body is read, nothing of it is stored, and its connection stays open for the
//! retry; every 200 is stored.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use webhook_receiver::http::DEFAULT_MAX_WEBHOOKS_IN_FLIGHT;

use crate::helpers::{
    PATIENCE, RawHttp, RawResponse, ServerProcess, database_url, signed_post_head,
};

/// More connections than the bound admits, few enough for a default limit of open files.
const CONNECTIONS: usize = 600;

/// The signed request posting message `overload-{n}`.
fn request(n: usize) -> Vec<u8> {
    let body = json!({
        "message_id": format!("overload-{n}"),
        "from": "+919876543210",
        "to": "+14155550100",
        "ts": "2025-01-15T10:00:00Z",
        "text": format!("message {n}"),
    })
    .to_string();
    let mut request = signed_post_head(body.as_bytes()).into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// The stored `message_id`s.
fn stored_ids(db_path: &std::path::Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(db_path).unwrap();
    let mut statement = conn.prepare("SELECT message_id FROM messages").unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// What a response is, for the tally: its status with the headers and body that matter.
fn answer(response: &RawResponse) -> (u16, Option<&str>, Value) {
    (
        response.status,
        response.header("retry-after"),
        response.json(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_bound_deliveries_are_shed_with_503_before_their_body_and_only_200s_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("app.db");
    let url = database_url(&db_path);
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", "testsecret"), ("DATABASE_URL", &url)]);

    // Another connection holds the write lock, so that no delivery completes until every
    // connection has posted: exactly the bound's worth are handled (waiting for the writer), and
    // every one more finds the bound full.
    let blocker = rusqlite::Connection::open(&db_path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(RawHttp::connect(&server.url).await);
    }
    let (answered, mut answers) = mpsc::unbounded_channel();
    let mut posting = Vec::with_capacity(CONNECTIONS);
    for (n, mut connection) in connections.into_iter().enumerate() {
        let answered = answered.clone();
        posting.push(tokio::spawn(async move {
            connection.send(&request(n)).await.unwrap();
            let response = connection.response().await.unwrap();
            answered.send(response.status).unwrap();
            (n, connection, response)
        }));
    }
    drop(answered);

    // The refusals come at once, while the admitted deliveries still wait for the writer.
    let shed_expected = CONNECTIONS - DEFAULT_MAX_WEBHOOKS_IN_FLIGHT;
    let early = tokio::time::timeout(PATIENCE, async {
        let mut early = Vec::new();
        while early.len() < shed_expected {
            early.push(answers.recv().await.unwrap());
        }
        early
    })
    .await
    .expect("the deliveries past the bound are answered while the writer is held");
    assert_eq!(early, vec![503; shed_expected]);
    blocker.execute_batch("ROLLBACK").unwrap();

    let mut created = BTreeSet::new();
    let mut shed = Vec::new();
    for task in posting {
        let (n, connection, response) = task.await.unwrap();
        match answer(&response) {
            (200, None, body) => {
                assert_eq!(body, json!({"status": "ok"}));
                assert_eq!(response.header("x-webhook-result"), Some("created"));
                created.insert(format!("overload-{n}"));
            }
            (503, Some("1"), body) => {
                assert_eq!(body, json!({"detail": "storage unavailable"}));
                shed.push((n, connection));
            }
            other => panic!("delivery {n}: {other:?}"),
        }
    }
    assert_eq!(
        (created.len(), shed.len()),
        (DEFAULT_MAX_WEBHOOKS_IN_FLIGHT, shed_expected)
    );
    // Every 200 is stored, and nothing that was refused.
    assert_eq!(stored_ids(&db_path), created);

    // A refused sender retries on the same connection, kept open, and is stored then.
    for (n, mut connection) in shed {
        connection.send(&request(n)).await.unwrap();
        let response = connection.response().await.unwrap();
        assert_eq!(
            (response.status, response.json()),
            (200, json!({"status": "ok"})),
            "retry of delivery {n}"
        );
    }
    assert_eq!(stored_ids(&db_path).len(), CONNECTIONS);

    // Each refusal was logged and counted as a 503 of the webhook route.
    let (_, metrics) = {
        let mut connection = RawHttp::connect(&server.url).await;
        let response = connection.get("/metrics").await.unwrap();
        (response.status, String::from_utf8(response.body).unwrap())
    };
    assert!(
        metrics.lines().any(|line| line
            == format!(
                "http_requests_total{{method=\"POST\",path=\"/webhook\",status=\"503\"}} {shed_expected}"
            )),
        "{metrics}"
    );
    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success());
    let refusals = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["path"] == "/webhook" && line["status"] == 503)
        .count();
    assert_eq!(refusals, shed_expected);
}
