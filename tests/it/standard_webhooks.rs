//! Standard Webhooks (standardwebhooks.com, spec v1) on `POST /webhook`: the scheme chosen when no
//! hex signature is sent; `whsec_` and plain secrets, the previous secret, Svix's header names;
//! the known pitfalls of verifiers, each a 401 that stores nothing; replay protection and its
//! setting; and what the log line and the metrics say of a refusal.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::signature::{self, standard};

use crate::helpers::*;

/// The secret of the spec's published vector.
const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// The server's clock is the machine's: deliveries are signed with the time they are sent.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The three Standard Webhooks header values of one delivery.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
}

impl Delivery {
    /// `body` signed with `secret` as the delivery `id` at `timestamp` (Unix seconds).
    fn signed(secret: &str, id: &str, timestamp: i64, body: &str) -> Self {
        Self {
            id: id.to_string(),
            timestamp: timestamp.to_string(),
            signature: standard::sign(secret, id, timestamp, body.as_bytes()),
        }
    }

    /// The headers under the spec's names.
    fn headers(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("webhook-id", self.id.as_str()),
            ("webhook-timestamp", self.timestamp.as_str()),
            ("webhook-signature", self.signature.as_str()),
        ]
    }

    /// The headers under Svix's names.
    fn svix_headers(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("svix-id", self.id.as_str()),
            ("svix-timestamp", self.timestamp.as_str()),
            ("svix-signature", self.signature.as_str()),
        ]
    }

    /// The same delivery with another `webhook-signature` value.
    fn with_signature(&self, signature: &str) -> Self {
        Self {
            signature: signature.to_string(),
            ..self.clone()
        }
    }
}

/// Header names and values, owned, for cases built ahead of the requests.
type Headers = Vec<(&'static str, String)>;

fn owned(headers: Vec<(&'static str, &str)>) -> Headers {
    headers
        .into_iter()
        .map(|(name, value)| (name, value.to_string()))
        .collect()
}

fn borrowed(headers: &Headers) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

fn body(id: &str) -> String {
    message(id, "+919876543210", "2025-01-15T10:00:00Z", Some("Hello")).to_string()
}

/// `/messages`' `total`.
async fn total(app: &TestApp) -> i64 {
    let (status, page) = app.get_json("/messages").await;
    assert_eq!(status, StatusCode::OK);
    page["total"].as_i64().unwrap()
}

async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Posts `body` with `headers` and asserts the one answer every refused signature gets.
async fn assert_refused(app: &TestApp, case: &str, body: &str, headers: &[(&str, &str)]) {
    let response = app.post(body.to_string(), headers).await;
    assert_eq!(
        status_and_json(response).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "invalid signature"})
        ),
        "{case}"
    );
}

/// Posts `body` with `headers` and asserts it is stored now (`created`) or was (`duplicate`).
async fn assert_stored(
    app: &TestApp,
    case: &str,
    body: &str,
    headers: &[(&str, &str)],
    result: &str,
) {
    let response = app.post(body.to_string(), headers).await;
    assert_eq!(response.headers()["x-webhook-result"], result, "{case}");
    assert_eq!(
        status_and_json(response).await,
        (StatusCode::OK, json!({"status": "ok"})),
        "{case}"
    );
}

#[tokio::test]
async fn a_delivery_signed_with_a_whsec_secret_is_stored_once_and_a_resend_is_a_duplicate() {
    let app = TestApp::spawn_with(|settings| settings.secret = secret(WHSEC)).await;
    let body = body("sw-1");
    let delivery = Delivery::signed(WHSEC, "msg_2mTjWbYmhVDqZq4X0yUaCkBzJ1Q", now(), &body);
    assert_stored(&app, "first", &body, &delivery.headers(), "created").await;
    // A sender's retry carries the same id, a new timestamp and so a new signature.
    let retry = Delivery::signed(WHSEC, &delivery.id, now(), &body);
    assert_stored(&app, "retry", &body, &retry.headers(), "duplicate").await;
    assert_stored(&app, "replay", &body, &delivery.headers(), "duplicate").await;

    let (_, page) = app.get_json("/messages").await;
    assert_eq!(
        page,
        json!({"data": [{"message_id": "sw-1", "from": "+919876543210", "to": "+14155550100",
                          "ts": "2025-01-15T10:00:00Z", "text": "Hello"}],
               "total": 1, "limit": 50, "offset": 0})
    );
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn a_plain_secret_is_the_key_of_both_schemes_and_a_whsec_one_only_of_standard() {
    // The default test secret is plain: its UTF-8 bytes key Standard Webhooks too.
    let plain = TestApp::spawn().await;
    let body = body("plain");
    let delivery = Delivery::signed(SECRET, "msg_plain", now(), &body);
    assert_stored(&plain, "plain", &body, &delivery.headers(), "created").await;
    assert_eq!(total(&plain).await, 1);

    // `X-Signature` keys with a `whsec_` secret as given, not decoded.
    let whsec = TestApp::spawn_with(|settings| settings.secret = secret(WHSEC)).await;
    let as_given = signature::sign(WHSEC.as_bytes(), body.as_bytes());
    let decoded = signature::sign(&standard::key_from_secret(WHSEC), body.as_bytes());
    assert_refused(
        &whsec,
        "hex, decoded key",
        &body,
        &[("X-Signature", &decoded)],
    )
    .await;
    assert_stored(
        &whsec,
        "hex",
        &body,
        &[("X-Signature", &as_given)],
        "created",
    )
    .await;
    // Standard Webhooks keys with it decoded: its text as the key is refused.
    use base64::Engine as _;
    let text_as_key = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(WHSEC)
    );
    let undecoded = Delivery::signed(&text_as_key, "msg_1", now(), &body);
    assert_refused(
        &whsec,
        "standard, undecoded key",
        &body,
        &undecoded.headers(),
    )
    .await;
    assert_eq!(total(&whsec).await, 1);
}

#[tokio::test]
async fn the_previous_secret_is_accepted_during_a_rotation() {
    const NEW: &str = "whsec_bmV3IGtleSBhZnRlciByb3RhdGlvbg==";
    let app = TestApp::spawn_with(|settings| {
        settings.secret = secret(NEW);
        settings.previous_secret = Some(secret(WHSEC));
    })
    .await;
    let (old_body, new_body, other_body) = (body("old"), body("new"), body("other"));
    let old = Delivery::signed(WHSEC, "msg_old", now(), &old_body);
    let new = Delivery::signed(NEW, "msg_new", now(), &new_body);
    let other = Delivery::signed("whsec_b3RoZXI=", "msg_other", now(), &other_body);
    assert_stored(&app, "previous", &old_body, &old.headers(), "created").await;
    assert_stored(&app, "current", &new_body, &new.headers(), "created").await;
    assert_refused(&app, "neither", &other_body, &other.headers()).await;
    assert_eq!(total(&app).await, 2);
}

#[tokio::test]
async fn svix_names_are_read_when_the_spec_names_are_absent_never_mixed() {
    let app = TestApp::spawn().await;
    let body = body("svix");
    let delivery = Delivery::signed(SECRET, "msg_svix", now(), &body);
    let mixed = [
        ("svix-id", delivery.id.as_str()),
        ("svix-timestamp", delivery.timestamp.as_str()),
        ("webhook-signature", delivery.signature.as_str()),
    ];
    assert_refused(&app, "webhook-signature with svix-id", &body, &mixed).await;
    assert_eq!(total(&app).await, 0);
    assert_stored(&app, "svix", &body, &delivery.svix_headers(), "created").await;
    assert_eq!(total(&app).await, 1);
}

#[tokio::test]
async fn every_known_pitfall_of_verifiers_is_refused_and_stores_nothing() {
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD;
    let app = TestApp::spawn().await;
    let body = body("pitfall");
    let valid = Delivery::signed(SECRET, "msg_1", now(), &body);
    let mac = base64.decode(&valid.signature[3..]).unwrap();
    let with = |signature: String| owned(valid.with_signature(&signature).headers());
    let wrong = Delivery::signed("another secret", "msg_1", now(), &body).signature;
    let without = |missing: &str| {
        let headers = valid.headers().into_iter();
        owned(headers.filter(|(name, _)| *name != missing).collect())
    };
    let twice = |first: &str, second: &str| {
        let mut headers = without("webhook-signature");
        headers.push(("webhook-signature", first.to_string()));
        headers.push(("webhook-signature", second.to_string()));
        headers
    };
    let mut hex_beside = owned(valid.headers());
    hex_beside.push(("X-Signature", "123".to_string()));

    let cases: Vec<(&str, Headers)> = vec![
        ("an empty v1 entry", with("v1,".to_string())),
        ("an empty header", with(String::new())),
        // Cut short: a verifier that compared only the shorter of the two lengths (a past CVE
        // of a reference library) would accept the last two.
        (
            "truncated base64",
            with(valid.signature[..valid.signature.len() - 8].to_string()),
        ),
        (
            "the first half of the MAC",
            with(format!("v1,{}", base64.encode(&mac[..16]))),
        ),
        (
            "the first byte of the MAC",
            with(format!("v1,{}", base64.encode(&mac[..1]))),
        ),
        (
            "another version only",
            with(valid.signature.replacen("v1,", "v2,", 1)),
        ),
        ("the MAC in hex", with(format!("v1,{}", hex::encode(&mac)))),
        ("a wrong key", with(wrong.clone())),
        (
            "made for another id",
            with(Delivery::signed(SECRET, "msg_2", now(), &body).signature),
        ),
        (
            "stale",
            owned(Delivery::signed(SECRET, "msg_1", now() - 600, &body).headers()),
        ),
        (
            "future",
            owned(Delivery::signed(SECRET, "msg_1", now() + 600, &body).headers()),
        ),
        (
            "a non-integer timestamp",
            owned(
                Delivery {
                    timestamp: format!("{}.0", valid.timestamp),
                    ..valid.clone()
                }
                .headers(),
            ),
        ),
        ("no webhook-id", without("webhook-id")),
        ("no webhook-timestamp", without("webhook-timestamp")),
        (
            "two signature headers, right first",
            twice(&valid.signature, &wrong),
        ),
        (
            "two signature headers, right last",
            twice(&wrong, &valid.signature),
        ),
        // A hex header present judges the request, valid Standard Webhooks headers beside it.
        ("a wrong X-Signature beside", hex_beside),
    ];
    for (case, headers) in &cases {
        assert_refused(&app, case, &body, &borrowed(headers)).await;
    }
    let tampered = body.replace("Hello", "Hellp");
    assert_refused(&app, "a tampered body", &tampered, &valid.headers()).await;
    assert_eq!(total(&app).await, 0);
    assert_eq!(app.row_count(), 0);

    // Several entries, another version, a wrong key and an empty one first, the valid one last.
    let several = format!(
        "v2,{} {wrong} v1, {}",
        &valid.signature[3..],
        valid.signature
    );
    assert_stored(&app, "several", &body, &borrowed(&with(several)), "created").await;
    assert_eq!(total(&app).await, 1);
}

#[tokio::test]
async fn two_x_signature_values_are_refused_in_either_order() {
    let app = TestApp::spawn().await;
    let body = body("twice");
    let right = signature::sign(SECRET.as_bytes(), body.as_bytes());
    let wrong = signature::sign(b"not the secret", body.as_bytes());
    for name in ["X-Signature", "X-Hub-Signature-256"] {
        for (order, pair) in [
            ("right, wrong", [&right, &wrong]),
            ("wrong, right", [&wrong, &right]),
        ] {
            let headers = pair.map(|value| (name, value.as_str()));
            assert_refused(&app, &format!("{name}: {order}"), &body, &headers).await;
        }
        assert_refused(
            &app,
            &format!("{name}: same twice"),
            &body,
            &[(name, &right), (name, &right)],
        )
        .await;
    }
    assert_eq!(total(&app).await, 0);
    // Once, it passes; and a second hub header beside X-Signature is not read at all.
    let headers = [
        ("X-Signature", right.as_str()),
        ("X-Hub-Signature-256", "1"),
        ("X-Hub-Signature-256", "2"),
    ];
    assert_stored(&app, "once", &body, &headers, "created").await;
    assert_eq!(total(&app).await, 1);
}

#[tokio::test]
async fn the_tolerance_setting_bounds_the_timestamps_accepted() {
    let app =
        TestApp::spawn_with(|settings| settings.timestamp_tolerance = Duration::from_secs(60))
            .await;
    // Thirty seconds either side of the bound: a slow test run cannot move a case across it.
    for (case, offset) in [
        ("30 s past the bound", -90),
        ("30 s ahead of the bound", 90),
    ] {
        let body = body(case);
        let delivery = Delivery::signed(SECRET, "msg_1", now() + offset, &body);
        assert_refused(&app, case, &body, &delivery.headers()).await;
    }
    assert_eq!(total(&app).await, 0);
    for (case, offset) in [("30 s inside, past", -30), ("30 s inside, ahead", 30)] {
        let body = body(case);
        let delivery = Delivery::signed(SECRET, "msg_1", now() + offset, &body);
        assert_stored(&app, case, &body, &delivery.headers(), "created").await;
    }
    assert_eq!(total(&app).await, 2);
}

/// The series line of `metrics` that starts with `series` (name and labels), as a number, or 0.
fn metric(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_refusal_logs_its_reason_and_counts_it_but_answers_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir.path().join("app.db"));
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", WHSEC), ("DATABASE_URL", &url)]);
    let client = reqwest::Client::new();
    let post = |body: String, headers: Headers| {
        let mut request = client.post(format!("{}/webhook", server.url)).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let spec_body = r#"{"email":"test@example.com","username":"test_user"}"#;
    let body = body("logged");
    let valid = Delivery::signed(WHSEC, "msg_logged", now(), &body);
    let hex = signature::sign(WHSEC.as_bytes(), body.as_bytes());
    let spec_headers = |delivery: &Delivery| owned(delivery.headers());
    let requests: Vec<(String, Headers)> = vec![
        // The spec's published delivery, replayed today.
        (
            spec_body.to_string(),
            vec![
                ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".to_string()),
                ("webhook-timestamp", "1649367553".to_string()),
                (
                    "webhook-signature",
                    "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".to_string(),
                ),
            ],
        ),
        (
            body.clone(),
            spec_headers(&Delivery {
                timestamp: "soon".into(),
                ..valid.clone()
            }),
        ),
        (
            body.clone(),
            spec_headers(&valid.with_signature(&valid.signature.replacen("v1,", "v2,", 1))),
        ),
        (body.clone(), spec_headers(&valid)[1..].to_vec()),
        (body.clone(), {
            let mut twice = spec_headers(&valid);
            twice.push(("webhook-signature", valid.signature.clone()));
            twice
        }),
        (body.clone(), vec![]),
        (body.clone(), vec![("X-Signature", "123".to_string())]),
        (body.clone(), spec_headers(&valid)),
        (body.clone(), vec![("X-Signature", hex.clone())]),
    ];
    let mut answers = Vec::new();
    for (body, headers) in requests {
        let response = post(body, headers).await.unwrap();
        answers.push((response.status().as_u16(), response.text().await.unwrap()));
    }
    let refused = r#"{"detail":"invalid signature"}"#;
    let expected_answers: Vec<(u16, &str)> = [401; 7]
        .into_iter()
        .map(|status| (status, refused))
        .chain([(200, r#"{"status":"ok"}"#), (200, r#"{"status":"ok"}"#)])
        .collect();
    let answers: Vec<(u16, &str)> = answers.iter().map(|(s, b)| (*s, b.as_str())).collect();
    assert_eq!(answers, expected_answers);

    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    let failures = |scheme: &str, reason: &str| {
        let series =
            format!(r#"webhook_signature_failures_total{{scheme="{scheme}",reason="{reason}"}}"#);
        metric(&metrics, &series)
    };
    for (scheme, reason) in [
        ("standard", "timestamp_too_old"),
        ("standard", "invalid_webhook_timestamp"),
        ("standard", "no_matching_signature"),
        ("standard", "missing_webhook_id"),
        ("standard", "multiple_signature_headers"),
        ("hex", "missing_signature"),
        ("hex", "invalid_signature"),
    ] {
        assert_eq!(
            failures(scheme, reason),
            1.0,
            "{scheme} {reason}\n{metrics}"
        );
    }
    assert_eq!(
        metric(
            &metrics,
            r#"webhook_requests_total{result="invalid_signature"}"#
        ),
        7.0
    );
    assert_eq!(
        metric(&metrics, r#"webhook_requests_total{result="created"}"#),
        1.0
    );
    assert_eq!(
        metric(&metrics, r#"webhook_requests_total{result="duplicate"}"#),
        1.0
    );

    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{status:?}");
    let all = lines.join("\n");
    for secret_or_signature in [WHSEC, &valid.signature, &valid.signature[3..], &hex] {
        assert!(
            !all.contains(secret_or_signature),
            "logged: {secret_or_signature}"
        );
    }
    let logged: Vec<(String, Value, Value, Value)> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["msg"] == "request" && event["path"] == "/webhook")
        .map(|event| {
            (
                event["level"].as_str().unwrap().to_string(),
                event["result"].clone(),
                event["scheme"].clone(),
                event.get("reason").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let refusal = |scheme: &str, reason: &str| {
        (
            "ERROR".to_string(),
            json!("invalid_signature"),
            json!(scheme),
            json!(reason),
        )
    };
    assert_eq!(
        logged,
        [
            refusal("standard", "timestamp_too_old"),
            refusal("standard", "invalid_webhook_timestamp"),
            refusal("standard", "no_matching_signature"),
            refusal("standard", "missing_webhook_id"),
            refusal("standard", "multiple_signature_headers"),
            refusal("hex", "missing_signature"),
            refusal("hex", "invalid_signature"),
            (
                "INFO".to_string(),
                json!("created"),
                json!("standard"),
                Value::Null
            ),
            (
                "INFO".to_string(),
                json!("duplicate"),
                json!("hex"),
                Value::Null
            ),
        ]
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_logged_without_a_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir.path().join("app.db"));
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &url),
        ("MAX_BODY_BYTES", "16"),
    ]);
    let response = reqwest::Client::new()
        .post(format!("{}/webhook", server.url))
        .header("webhook-signature", "v1,AAAA")
        .body("x".repeat(17))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.signal("TERM");
    let (_, lines, _) = server.wait_for_exit(PATIENCE);
    let event: Value = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|event| event["path"] == "/webhook")
        .unwrap();
    assert_eq!(
        (&event["result"], &event["scheme"], event.get("reason")),
        (&json!("payload_too_large"), &Value::Null, None)
    );
}

#[test]
fn serve_refuses_a_tolerance_out_of_range_or_not_a_number() {
    let refused = |env: &[(&str, &str)], args: &[&str]| {
        assert_serve_refuses(
            env,
            args,
            "WEBHOOK_TOLERANCE_SECS",
            "whole seconds from 1 to 86400",
        );
    };
    for value in ["0", "86401", "300s", "-1", "1.5", "18446744073709551616"] {
        refused(&[("WEBHOOK_TOLERANCE_SECS", value)], &[]);
    }
    refused(&[], &["--tolerance-secs", "0"]);
}

#[test]
fn serve_starts_with_a_tolerance_at_either_end_of_its_range() {
    for value in ["1", "86400"] {
        let server = ServerProcess::start(&[
            ("WEBHOOK_SECRET", SECRET),
            ("DATABASE_URL", "sqlite::memory:"),
            ("WEBHOOK_TOLERANCE_SECS", value),
        ]);
        server.signal("TERM");
        let (status, _, _) = server.wait_for_exit(PATIENCE);
        assert!(status.success(), "{value}: {status:?}");
    }
}

#[tokio::test]
async fn the_document_shows_the_standard_headers_and_no_required_signature_header() {
    let app = TestApp::spawn().await;
    let (_, document) = app.get_json("/openapi.json").await;
    let parameters = document["paths"]["/webhook"]["post"]["parameters"]
        .as_array()
        .unwrap();
    let header = |name: &str| {
        parameters
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {parameters:?}"))
    };
    for name in [
        "X-Signature",
        "X-Hub-Signature-256",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ] {
        let parameter = header(name);
        assert_eq!(
            (&parameter["in"], &parameter["required"]),
            (&json!("header"), &json!(false)),
            "{name}"
        );
        assert!(
            parameter["description"].as_str().unwrap().len() > 40,
            "{name}"
        );
    }
    for name in ["webhook-id", "webhook-signature"] {
        let description = header(name)["description"].as_str().unwrap();
        assert!(
            description.contains("Standard Webhooks"),
            "{name}: {description}"
        );
    }
    assert!(
        header("webhook-timestamp")["description"]
            .as_str()
            .unwrap()
            .contains("WEBHOOK_TOLERANCE_SECS")
    );
}
