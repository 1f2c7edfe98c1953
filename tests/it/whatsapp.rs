//! `GET` and `POST /webhook/whatsapp`: Meta's handshake, and deliveries shaped as Meta documents
//! them (`tests/fixtures/whatsapp/`), signed as Meta signs them, stored atomically and exactly
//! once per message, and read back through `/messages`, `/stats` and `app list`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::http::{Settings, Token};
use webhook_receiver::signature;

use crate::helpers::*;

const APP_SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "test-verify-token";

/// Every fixture, by name.
const FIXTURES: [&str; 7] = [
    "text",
    "several_messages",
    "image_with_caption",
    "video_and_document",
    "sticker_and_reaction",
    "status_update",
    "shared_contact",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture with `edit` applied to it.
fn fixture_with(name: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture(name)).unwrap();
    edit(&mut body);
    serde_json::to_vec(&body).unwrap()
}

fn configure(settings: &mut Settings) {
    settings.whatsapp_app_secret = Some(secret(APP_SECRET));
    settings.whatsapp_verify_token = Token::new(VERIFY_TOKEN);
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(configure).await
}

/// `X-Hub-Signature-256` as Meta sends it: `sha256=` and the hex HMAC of the raw body.
fn meta_signature(body: &[u8]) -> String {
    format!("sha256={}", signature::sign(APP_SECRET.as_bytes(), body))
}

/// Posts `body` to `/webhook/whatsapp` with exactly these headers.
async fn post(app: &TestApp, body: &[u8], headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/webhook/whatsapp", app.url))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Posts `body` signed as Meta signs it; returns the status and JSON answer.
async fn deliver(app: &TestApp, body: &[u8]) -> (StatusCode, Value) {
    let signature = meta_signature(body);
    let response = post(app, body, &[("X-Hub-Signature-256", &signature)]).await;
    (response.status(), response.json().await.unwrap())
}

async fn handshake(app: &TestApp, query: &str) -> reqwest::Response {
    let url = format!("{}/webhook/whatsapp{query}", app.url);
    app.client.get(url).send().await.unwrap()
}

/// The value of the series line that starts with `series` (name and labels), or 0.
fn metric(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn row(id: &str, from: &str, ts: &str, text: Option<&str>) -> Value {
    json!({"message_id": id, "from": from, "to": "+15550783881", "ts": ts, "text": text})
}

/// Every message of the fixtures, as `/messages` lists them (in `ts` order).
fn every_fixture_message() -> Vec<Value> {
    vec![
        row(
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            "+16505551234",
            "2025-06-08T20:59:43Z",
            Some("Does it come in another color?"),
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQUZCQjg3RjdFMDBBQTQzQzI3NQA=",
            "+16505551234",
            "2025-06-08T21:00:01Z",
            Some("Hi! Is the store open on Sunday?"),
        ),
        row(
            "wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgUM0E1QzdGOEVDMjE0QjM0NkQ3NjUA",
            "+919876543210",
            "2025-06-08T21:00:02Z",
            Some("Namaste, I would like to order two more."),
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQUU5OTlDNjNCNzg4QjkxMDNDNgA=",
            "+16505551234",
            "2025-06-08T21:00:10Z",
            Some("Thanks, see you then"),
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTg1NkRGNjQ5NDU2RDM0QUIwNQA=",
            "+16505551234",
            "2025-06-08T21:01:40Z",
            Some("This one, in blue?"),
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQjQ0NjZCRDI0QjU3RjVENzE2MgA=",
            "+16505551234",
            "2025-06-08T21:03:20Z",
            None,
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQkI2OEMwQzlFNTZFRTQ4MUQ3RQA=",
            "+16505551234",
            "2025-06-08T21:03:25Z",
            None,
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQjU1RDZFOEFGRTJDNzkzMjQwRgA=",
            "+16505551234",
            "2025-06-08T21:06:40Z",
            None,
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQzE3QjE1RjJEMzVENkY2RjhBOAA=",
            "+16505551234",
            "2025-06-08T21:08:20Z",
            Some("How it looks assembled"),
        ),
        row(
            "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQzIwNTc0OUY2NDZENkQ5NEQ2MgA=",
            "+16505551234",
            "2025-06-08T21:08:25Z",
            Some("The invoice"),
        ),
    ]
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_the_subscribe_mode_and_the_right_token() {
    let app = spawn().await;
    let response = handshake(
        &app,
        "?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.text().await.unwrap(), "1158201444");

    // The challenge comes back decoded, byte for byte.
    let response = handshake(
        &app,
        "?hub.challenge=a%20b%2Bc%26%C3%A9&hub.verify_token=test-verify-token&hub.mode=subscribe",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "a b+c&é");

    for query in [
        "?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1",
        "?hub.mode=subscribe&hub.verify_token=test-verify-tokenX&hub.challenge=1",
        "?hub.mode=subscribe&hub.verify_token=&hub.challenge=1",
        "?hub.mode=subscribe&hub.challenge=1",
        "?hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "?hub.verify_token=test-verify-token&hub.challenge=1",
        "?hub.mode=subscribe&hub.verify_token=test-verify-token",
        "?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=",
        "?hub.mode=subscribe&hub.verify_token=wrong&hub.verify_token=test-verify-token&hub.challenge=1",
        "",
    ] {
        let response = handshake(&app, query).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{query}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "verification failed"}),
            "{query}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn without_a_verify_token_every_handshake_fails() {
    let app = TestApp::spawn_with(|settings| {
        settings.whatsapp_app_secret = Some(secret(APP_SECRET));
    })
    .await;
    for token in ["test-verify-token", ""] {
        let query = format!("?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1");
        let response = handshake(&app, &query).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{token:?}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "verification failed"})
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_fixture_is_stored_and_mapped_exactly() {
    let app = spawn().await;
    for name in FIXTURES {
        assert_eq!(
            deliver(&app, &fixture(name)).await,
            (StatusCode::OK, json!({"status": "ok"})),
            "{name}"
        );
    }
    let (status, page) = app.get_json("/messages?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"], Value::Array(every_fixture_message()));
    assert_eq!(page["total"], 10);
    assert_eq!(app.row_count(), 10);

    // Stored like any other message: filters and search find them.
    let (_, page) = app.get_json("/messages?from=+919876543210").await;
    assert_eq!(page["total"], 1);
    let (_, page) = app.get_json("/messages?q=BLUE").await;
    assert_eq!(page["data"][0]["text"], "This one, in blue?");
    let (_, page) = app
        .get_json("/messages?since=2025-06-08T21:06:40Z&limit=1")
        .await;
    assert_eq!(page["total"], 3);
    app.stop().await;
}

#[tokio::test]
async fn the_messages_of_one_delivery_appear_in_stats_and_app_list() {
    let app = spawn().await;
    assert_eq!(
        deliver(&app, &fixture("several_messages")).await.0,
        StatusCode::OK
    );
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(
        stats,
        json!({
            "total_messages": 3,
            "senders_count": 2,
            "messages_per_sender": [
                {"from": "+16505551234", "count": 2},
                {"from": "+919876543210", "count": 1},
            ],
            "first_message_ts": "2025-06-08T21:00:01Z",
            "last_message_ts": "2025-06-08T21:00:10Z",
        })
    );
    let env = [("DATABASE_URL", app.database_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listed = run_app(&env, &["list", "--json"], None).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    let (_, api) = app.get_json("/messages").await;
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed, api);
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);
    let counted = run_app(&env, &["stats", "--json"], None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&counted.stdout).unwrap(),
        stats
    );
    app.stop().await;
}

#[tokio::test]
async fn a_redelivery_adds_nothing() {
    let app = spawn().await;
    let body = fixture("several_messages");
    assert_eq!(deliver(&app, &body).await.0, StatusCode::OK);
    let (_, stats_before) = app.get_json("/stats").await;
    let (_, page_before) = app.get_json("/messages").await;
    let (_, metrics_before) = app.get_text("/metrics").await;

    for _ in 0..2 {
        assert_eq!(
            deliver(&app, &body).await,
            (StatusCode::OK, json!({"status": "ok"}))
        );
    }
    assert_eq!(app.row_count(), 3);
    assert_eq!(app.get_json("/stats").await.1, stats_before);
    assert_eq!(app.get_json("/messages").await.1, page_before);
    let (_, metrics_after) = app.get_text("/metrics").await;
    let delta = |series: &str| metric(&metrics_after, series) - metric(&metrics_before, series);
    assert!(delta(r#"whatsapp_messages_total{result="duplicate"}"#) >= 6.0);
    assert!(delta(r#"whatsapp_requests_total{result="duplicate"}"#) >= 2.0);

    // A delivery holding stored messages and a new one stores only the new one.
    let mixed = fixture_with("several_messages", |body| {
        let messages = &mut body["entry"][0]["changes"][0]["value"]["messages"];
        messages[2]["id"] = json!("wamid.new");
    });
    assert_eq!(deliver(&app, &mixed).await.0, StatusCode::OK);
    assert_eq!(app.row_count(), 4);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 4);
    assert_eq!(
        stats["messages_per_sender"],
        json!([{"from": "+16505551234", "count": 3}, {"from": "+919876543210", "count": 1}])
    );
    app.stop().await;
}

#[tokio::test]
async fn concurrent_redeliveries_store_each_message_once() {
    let app = spawn().await;
    let body = fixture("several_messages");
    let deliveries = (0..16).map(|_| deliver(&app, &body));
    for answer in futures_util::future::join_all(deliveries).await {
        assert_eq!(answer, (StatusCode::OK, json!({"status": "ok"})));
    }
    assert_eq!(app.row_count(), 3);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 3);
    app.stop().await;
}

#[tokio::test]
async fn one_bad_message_rejects_the_whole_delivery_with_its_place_in_the_body() {
    let app = spawn().await;
    let bad = fixture_with("several_messages", |body| {
        body["entry"][0]["changes"][0]["value"]["messages"][1]["from"] = json!("+919876543210");
    });
    assert_eq!(
        deliver(&app, &bad).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{
                "type": "string_pattern_mismatch",
                "loc": ["body", "entry", 0, "changes", 0, "value", "messages", 1, "from"],
                "msg": "String should match pattern '^[0-9]{1,15}$'",
                "input": "+919876543210",
                "ctx": {"pattern": "^[0-9]{1,15}$"},
            }]})
        )
    );
    // Nothing of it is stored, not even the good messages before the bad one.
    assert_eq!(app.row_count(), 0);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 0);

    let bad_timestamp = fixture_with("text", |body| {
        body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!(1749416383);
    });
    let (status, answer) = deliver(&app, &bad_timestamp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["detail"][0]["type"], "string_type");
    assert_eq!(
        answer["detail"][0]["loc"],
        json!([
            "body",
            "entry",
            0,
            "changes",
            0,
            "value",
            "messages",
            0,
            "timestamp"
        ])
    );
    for (body, loc) in [
        (
            br#"{"object":"page","entry":[]}"#.to_vec(),
            json!(["body", "object"]),
        ),
        (b"[]".to_vec(), json!(["body"])),
        (b"".to_vec(), json!(["body"])),
    ] {
        let (status, answer) = deliver(&app, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer["detail"][0]["loc"], loc);
    }
    assert_eq!(app.row_count(), 0);

    // The same delivery, mended, is stored whole.
    assert_eq!(
        deliver(&app, &fixture("several_messages")).await.0,
        StatusCode::OK
    );
    assert_eq!(app.row_count(), 3);
    app.stop().await;
}

#[tokio::test]
async fn statuses_and_other_fields_are_acknowledged_and_counted_not_stored() {
    let app = spawn().await;
    let (_, before) = app.get_text("/metrics").await;
    assert_eq!(
        deliver(&app, &fixture("status_update")).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let other = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "account_update",
         "value": {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}},
    ]}]});
    assert_eq!(
        deliver(&app, other.to_string().as_bytes()).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let (_, after) = app.get_text("/metrics").await;
    let delta = |series: &str| metric(&after, series) - metric(&before, series);
    assert!(delta(r#"whatsapp_events_total{kind="status"}"#) >= 1.0);
    assert!(delta(r#"whatsapp_events_total{kind="other"}"#) >= 1.0);
    assert!(delta(r#"whatsapp_requests_total{result="acknowledged"}"#) >= 2.0);
    assert_eq!(app.row_count(), 0);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 0);
    app.stop().await;
}

/// Posts `body` signed as Meta signs it; returns the status, `X-Webhook-Result` (when sent) and
/// the JSON answer.
async fn deliver_with_result(app: &TestApp, body: &[u8]) -> (StatusCode, Option<String>, Value) {
    let signature = meta_signature(body);
    let response = post(app, body, &[("X-Hub-Signature-256", &signature)]).await;
    let result = response
        .headers()
        .get("x-webhook-result")
        .map(|value| value.to_str().unwrap().to_string());
    (response.status(), result, response.json().await.unwrap())
}

#[tokio::test]
async fn the_200_says_whether_a_delivery_created_duplicated_or_only_acknowledged() {
    let app = spawn().await;
    let ok = |result: &str| {
        (
            StatusCode::OK,
            Some(result.to_string()),
            json!({"status": "ok"}),
        )
    };
    let several = fixture("several_messages");
    assert_eq!(deliver_with_result(&app, &several).await, ok("created"));
    assert_eq!(app.row_count(), 3);
    // Meta's redelivery: every message was stored before.
    assert_eq!(deliver_with_result(&app, &several).await, ok("duplicate"));
    assert_eq!(app.row_count(), 3);
    // Two stored messages and a new one: the delivery created one.
    let mixed = fixture_with("several_messages", |body| {
        body["entry"][0]["changes"][0]["value"]["messages"][2]["id"] = json!("wamid.new");
    });
    assert_eq!(deliver_with_result(&app, &mixed).await, ok("created"));
    assert_eq!(app.row_count(), 4);
    // No message at all: statuses, or a change of another field.
    let other = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "account_update",
         "value": {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}},
    ]}]});
    for body in [fixture("status_update"), other.to_string().into_bytes()] {
        assert_eq!(deliver_with_result(&app, &body).await, ok("acknowledged"));
    }
    // A delivery of messages stored before and statuses is still a duplicate: a message was
    // carried, and nothing was new.
    let status_update: Value = serde_json::from_slice(&fixture("status_update")).unwrap();
    let with_statuses = fixture_with("several_messages", |body| {
        body["entry"][0]["changes"][0]["value"]["statuses"] =
            status_update["entry"][0]["changes"][0]["value"]["statuses"].clone();
    });
    assert_eq!(
        deliver_with_result(&app, &with_statuses).await,
        ok("duplicate")
    );
    assert_eq!(app.row_count(), 4);

    // A refusal says nothing of a result: nothing was stored.
    let response = post(&app, &several, &[("X-Hub-Signature-256", "sha256=00")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("x-webhook-result").is_none());
    let bad = fixture_with("text", |body| {
        body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = json!("x");
    });
    let (status, result, _) = deliver_with_result(&app, &bad).await;
    assert_eq!((status, result), (StatusCode::UNPROCESSABLE_ENTITY, None));
    assert_eq!(app.row_count(), 4);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_wrong_or_repeated_signature_is_401_and_stores_nothing() {
    let app = spawn().await;
    let body = fixture("text");
    let good = meta_signature(&body);
    let with_webhook_secret = format!("sha256={}", signature::sign(SECRET.as_bytes(), &body));
    let of_another_body = meta_signature(&fixture("several_messages"));
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("X-Hub-Signature-256", "")],
        vec![("X-Hub-Signature-256", "sha256=123")],
        vec![("X-Hub-Signature-256", &of_another_body)],
        // The webhook secret is not the app secret, and `X-Signature` is not Meta's header.
        vec![("X-Hub-Signature-256", &with_webhook_secret)],
        vec![("X-Signature", &good)],
        // Judged by one value only: a second one, even a right one, is refused.
        vec![
            ("X-Hub-Signature-256", &good),
            ("X-Hub-Signature-256", &good),
        ],
    ];
    for headers in cases {
        let response = post(&app, &body, &headers).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "invalid signature"})
        );
    }
    assert_eq!(app.row_count(), 0);
    // Not JSON, wrongly signed: the signature is checked before any parsing.
    let response = post(&app, b"{", &[("X-Hub-Signature-256", "sha256=00")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = post(&app, &body, &[("X-Hub-Signature-256", &good)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn without_an_app_secret_every_delivery_is_401() {
    let app = TestApp::spawn_with(|settings| {
        settings.whatsapp_verify_token = Token::new(VERIFY_TOKEN);
    })
    .await;
    let body = fixture("text");
    for signature in [
        meta_signature(&body),
        format!("sha256={}", signature::sign(b"", &body)),
        format!("sha256={}", signature::sign(SECRET.as_bytes(), &body)),
    ] {
        let response = post(&app, &body, &[("X-Hub-Signature-256", &signature)]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "invalid signature"})
        );
    }
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn an_oversize_delivery_is_413_before_its_signature_is_checked() {
    let app = TestApp::spawn_with(|settings| {
        configure(settings);
        settings.max_body_bytes = 512;
    })
    .await;
    let body = fixture("text");
    assert!(body.len() > 512);
    for signature in [meta_signature(&body), "sha256=00".to_string()] {
        let response = post(&app, &body, &[("X-Hub-Signature-256", &signature)]).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"detail": "payload too large"})
        );
    }
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_delivery_the_database_cannot_commit_is_503_and_stored_whole_when_retried() {
    let app = spawn().await;
    assert_eq!(deliver(&app, &fixture("text")).await.0, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    rusqlite::Connection::open(&app.db_path)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();

    std::fs::remove_file(&app.db_path).unwrap();
    let body = fixture("several_messages");
    assert_eq!(
        deliver(&app, &body).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"detail": "storage unavailable"})
        )
    );

    std::fs::copy(&copy, &app.db_path).unwrap();
    // Meta retries: the whole delivery is stored now, beside what was acknowledged before.
    assert_eq!(deliver(&app, &body).await.0, StatusCode::OK);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 4);
    assert_eq!(app.row_count(), 4);
    app.stop().await;
}

#[tokio::test]
async fn the_real_server_logs_each_result_and_message_count_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &url),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
    ]);
    let client = reqwest::Client::new();
    let endpoint = format!("{}/webhook/whatsapp", server.url);
    let body = fixture("several_messages");
    let signature = meta_signature(&body);
    let post = |body: Vec<u8>, signature: String| {
        client
            .post(&endpoint)
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
    };
    for (body, signature, expected) in [
        (body.clone(), signature.clone(), StatusCode::OK),
        (body.clone(), signature.clone(), StatusCode::OK),
        (
            body.clone(),
            "sha256=00".to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            fixture("status_update"),
            meta_signature(&fixture("status_update")),
            StatusCode::OK,
        ),
    ] {
        assert_eq!(post(body, signature).await.unwrap().status(), expected);
    }
    let challenge = client
        .get(format!(
            "{endpoint}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.text().await.unwrap(), "42");
    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{status:?}");

    let all = lines.join("\n");
    for secret in [APP_SECRET, VERIFY_TOKEN, SECRET, &signature[7..]] {
        assert!(!all.contains(secret), "{secret} was logged:\n{all}");
    }
    let whatsapp: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["path"] == "/webhook/whatsapp")
        .collect();
    let summary: Vec<(&str, &str, &str, Value, Value, Value)> = whatsapp
        .iter()
        .map(|line| {
            (
                line["level"].as_str().unwrap(),
                line["method"].as_str().unwrap(),
                line["result"].as_str().unwrap(),
                line["messages"].clone(),
                line["created"].clone(),
                line["duplicates"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("INFO", "POST", "created", json!(3), json!(3), json!(0)),
            ("INFO", "POST", "duplicate", json!(3), json!(0), json!(3)),
            (
                "ERROR",
                "POST",
                "invalid_signature",
                Value::Null,
                Value::Null,
                Value::Null
            ),
            ("INFO", "POST", "acknowledged", json!(0), json!(0), json!(0)),
            (
                "INFO",
                "GET",
                "verified",
                Value::Null,
                Value::Null,
                Value::Null
            ),
        ]
    );
    assert_eq!(whatsapp[3]["statuses"], 1);
    assert_eq!(whatsapp[2]["reason"], "signature differs");
}

#[tokio::test]
async fn both_operations_are_documented_with_their_parameters_and_bodies() {
    let app = spawn().await;
    let (_, document) = app.get_json("/openapi.json").await;
    let resolve = |value: &Value| -> Value {
        match value["$ref"].as_str() {
            Some(reference) => document
                .pointer(reference.trim_start_matches('#'))
                .unwrap()
                .clone(),
            None => value.clone(),
        }
    };
    let item = &document["paths"]["/webhook/whatsapp"];
    let parameters = |method: &str| -> Vec<(String, String, bool)> {
        item[method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(resolve)
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["in"].as_str().unwrap().to_string(),
                    p["required"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    };
    let get = parameters("get");
    for name in ["hub.mode", "hub.verify_token", "hub.challenge"] {
        assert!(
            get.contains(&(name.to_string(), "query".to_string(), false)),
            "{get:?}"
        );
    }
    assert!(parameters("post").contains(&("X-Hub-Signature-256".into(), "header".into(), true)));
    assert!(item["get"]["responses"]["200"]["content"]["text/plain"].is_object());
    for status in ["200", "401", "413", "422", "503"] {
        assert!(item["post"]["responses"][status].is_object(), "{status}");
    }
    let body = resolve(&item["post"]["requestBody"]["content"]["application/json"]["schema"]);
    assert_eq!(body["required"], json!(["object", "entry"]));
    let message = &document["components"]["schemas"]["WhatsAppMessage"];
    assert_eq!(
        message["required"],
        json!(["id", "from", "timestamp", "type"])
    );
    assert_eq!(message["properties"]["from"]["pattern"], "^[0-9]{1,15}$");
    app.stop().await;
}
