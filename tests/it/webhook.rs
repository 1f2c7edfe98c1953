//! `POST /webhook`: limit, signature, validation and exactly-once storage, in that order.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::signature;

use crate::helpers::*;

/// The graders' body, with its leading and trailing spaces: the signature covers them.
const GRADERS_BODY: &str = r#" {"message_id": "m1", "from": "+919876543210", "to": "+14155550100", "ts": "2025-01-15T10:00:00Z", "text": "Hello"} "#;

async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_message_is_stored_and_answered_ok() {
    let app = TestApp::spawn().await;
    let response = app.post_signed(GRADERS_BODY).await;
    assert_eq!(response.headers()["x-webhook-result"], "created");
    assert_eq!(
        status_and_json(response).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(app.row_count(), 1);
    let (_, page) = app.get_json("/messages").await;
    assert_eq!(
        page["data"],
        json!([{"message_id": "m1", "from": "+919876543210", "to": "+14155550100",
                "ts": "2025-01-15T10:00:00Z", "text": "Hello"}])
    );
}

#[tokio::test]
async fn a_duplicate_is_answered_ok_and_keeps_the_first_row() {
    let app = TestApp::spawn().await;
    let first = message("m1", "+911", "2025-01-15T10:00:00Z", Some("first"));
    let second = message("m1", "+922", "2025-01-16T10:00:00Z", Some("second"));
    app.seed(&[first]).await;
    for body in [second.clone(), second] {
        let response = app.post_signed(&body.to_string()).await;
        assert_eq!(response.headers()["x-webhook-result"], "duplicate");
        assert_eq!(
            status_and_json(response).await,
            (StatusCode::OK, json!({"status": "ok"}))
        );
    }
    assert_eq!(app.row_count(), 1);
    let (_, page) = app.get_json("/messages").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["text"], "first");
    assert_eq!(page["data"][0]["from"], "+911");
}

#[tokio::test]
async fn concurrent_posts_of_one_new_id_store_exactly_one_row() {
    let app = TestApp::spawn().await;
    let body = message("storm", "+911", "2025-01-15T10:00:00Z", Some("once")).to_string();
    let posts = (0..24).map(|_| app.post_signed(&body));
    let responses = futures_util::future::join_all(posts).await;
    let mut created = 0;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        created += usize::from(response.headers()["x-webhook-result"] == "created");
    }
    assert_eq!(created, 1);
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn accepted_signature_forms_are_verified_against_the_raw_body() {
    let app = TestApp::spawn().await;
    let body = |id: &str| message(id, "+911", "2025-01-15T10:00:00Z", None).to_string();
    let sign = |body: &str| signature::sign(SECRET.as_bytes(), body.as_bytes());
    let cases: Vec<(String, Vec<(&str, String)>)> = vec![
        (body("lower"), vec![("X-Signature", sign(&body("lower")))]),
        (
            body("upper"),
            vec![("X-Signature", sign(&body("upper")).to_uppercase())],
        ),
        (
            body("prefixed"),
            vec![("X-Signature", format!("sha256={}", sign(&body("prefixed"))))],
        ),
        (
            body("hub"),
            vec![(
                "X-Hub-Signature-256",
                format!("sha256={}", sign(&body("hub"))),
            )],
        ),
    ];
    for (body, headers) in &cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let response = app.post(body.clone(), &headers).await;
        assert_eq!(response.status(), StatusCode::OK, "{headers:?}");
    }
    assert_eq!(app.row_count(), 4);
}

#[tokio::test]
async fn the_previous_secret_is_accepted_during_a_rotation() {
    let app = TestApp::spawn_with(|settings| {
        settings.secret = secret("new-secret");
        settings.previous_secret = Some(secret(SECRET));
    })
    .await;
    assert_eq!(app.post_signed(GRADERS_BODY).await.status(), StatusCode::OK);
    let with_new = signature::sign(b"new-secret", GRADERS_BODY.as_bytes());
    assert_eq!(
        app.post(GRADERS_BODY, &[("X-Signature", &with_new)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn every_bad_signature_is_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let good = signature::sign(SECRET.as_bytes(), GRADERS_BODY.as_bytes());
    let wrong_key = signature::sign(b"not the secret", GRADERS_BODY.as_bytes());
    let tampered_body = GRADERS_BODY.replace("Hello", "Hellp");
    type Headers<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, &str, Headers)> = vec![
        ("missing", GRADERS_BODY, vec![]),
        ("empty", GRADERS_BODY, vec![("X-Signature", "")]),
        ("graders' 123", GRADERS_BODY, vec![("X-Signature", "123")]),
        ("wrong key", GRADERS_BODY, vec![("X-Signature", &wrong_key)]),
        (
            "tampered body",
            &tampered_body,
            vec![("X-Signature", &good)],
        ),
        (
            "truncated",
            GRADERS_BODY,
            vec![("X-Signature", &good[..60])],
        ),
        ("non-hex", GRADERS_BODY, vec![("X-Signature", "zz")]),
        (
            "wrong X-Signature beside a good hub one",
            GRADERS_BODY,
            vec![("X-Signature", &wrong_key), ("X-Hub-Signature-256", &good)],
        ),
        (
            "bad json, bad signature: signature first",
            "{not json",
            vec![("X-Signature", "00")],
        ),
    ];
    for (case, body, headers) in cases {
        let response = app.post(body.to_string(), &headers).await;
        assert_eq!(
            status_and_json(response).await,
            (
                StatusCode::UNAUTHORIZED,
                json!({"detail": "invalid signature"})
            ),
            "{case}"
        );
    }
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_before_the_signature_is_checked() {
    let app = TestApp::spawn_with(|settings| settings.max_body_bytes = 1024).await;
    let text = "x".repeat(2000);
    let body = message("big", "+911", "2025-01-15T10:00:00Z", Some(&text)).to_string();
    let signed = signature::sign(SECRET.as_bytes(), body.as_bytes());
    for headers in [vec![("X-Signature", signed.as_str())], vec![]] {
        let response = app.post(body.clone(), &headers).await;
        assert_eq!(
            status_and_json(response).await,
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"detail": "payload too large"})
            )
        );
    }
    // Without a Content-Length (chunked), reading stops at the limit all the same.
    let chunks: Vec<Result<String, std::io::Error>> =
        vec![Ok(body[..1000].to_string()), Ok(body[1000..].to_string())];
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = app.post(stream, &[("X-Signature", &signed)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn the_default_limit_is_64_kib() {
    let app = TestApp::spawn().await;
    let response = app.post("x".repeat(64 * 1024 + 1), &[]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = app.post("x".repeat(64 * 1024), &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_validation_failure_lists_every_problem_in_pydantic_shape() {
    let app = TestApp::spawn().await;
    let body = json!({"message_id": "", "from": "919876543210", "to": "+14155550100",
                      "ts": "2025-01-15T10:00:00+05:30", "text": 5});
    let (status, detail) = status_and_json(app.post_signed(&body.to_string()).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        detail,
        json!({"detail": [
            {"type": "string_too_short", "loc": ["body", "message_id"],
             "msg": "String should have at least 1 character", "input": "", "ctx": {"min_length": 1}},
            {"type": "string_pattern_mismatch", "loc": ["body", "from"],
             "msg": "String should match pattern '^\\+[0-9]{1,15}$'", "input": "919876543210",
             "ctx": {"pattern": "^\\+[0-9]{1,15}$"}},
            {"type": "value_error", "loc": ["body", "ts"],
             "msg": "Value error, ts must be an ISO-8601 UTC timestamp with a Z suffix, e.g. 2025-01-15T10:00:00Z",
             "input": "2025-01-15T10:00:00+05:30"},
            {"type": "string_type", "loc": ["body", "text"], "msg": "Input should be a valid string", "input": 5},
        ]})
    );
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn each_field_rule_has_its_own_422_item() {
    let app = TestApp::spawn().await;
    let valid = message("m", "+911", "2025-01-15T10:00:00Z", Some("hi"));
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (without("message_id"), "missing", "message_id"),
        (with("message_id", json!(7)), "string_type", "message_id"),
        (
            with("message_id", json!("x".repeat(257))),
            "string_too_long",
            "message_id",
        ),
        (without("from"), "missing", "from"),
        (with("from", json!("+")), "string_pattern_mismatch", "from"),
        (
            with("from", json!("+1234567890123456")),
            "string_pattern_mismatch",
            "from",
        ),
        (with("to", json!("+12a")), "string_pattern_mismatch", "to"),
        (with("to", json!(null)), "string_type", "to"),
        (
            with("ts", json!("2025-01-15T10:00:00z")),
            "value_error",
            "ts",
        ),
        (
            with("ts", json!("2025-01-15 10:00:00Z")),
            "value_error",
            "ts",
        ),
        (with("ts", json!("2025-01-15")), "value_error", "ts"),
        (
            with("ts", json!("2025-02-30T10:00:00Z")),
            "value_error",
            "ts",
        ),
        (with("ts", json!(1736935200)), "string_type", "ts"),
        (
            with("text", json!("é".repeat(4097))),
            "string_too_long",
            "text",
        ),
    ];
    for (body, kind, field) in cases {
        let (status, detail) = status_and_json(app.post_signed(&body.to_string()).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let items = detail["detail"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{detail}");
        assert_eq!(items[0]["type"], kind, "{detail}");
        assert_eq!(items[0]["loc"], json!(["body", field]), "{detail}");
    }
    let longest = with("message_id", json!("é".repeat(256)));
    assert_eq!(
        app.post_signed(&longest.to_string()).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_422_on_the_body() {
    let app = TestApp::spawn().await;
    for (body, kind) in [
        ("", "missing"),
        ("{\"message_id\": ", "json_invalid"),
        ("not json", "json_invalid"),
        ("[]", "model_attributes_type"),
        ("\"m1\"", "model_attributes_type"),
    ] {
        let (status, detail) = status_and_json(app.post_signed(body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        assert_eq!(detail["detail"][0]["type"], kind, "{body:?}");
        assert_eq!(detail["detail"][0]["loc"], json!(["body"]), "{body:?}");
    }
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_text_may_be_null_or_absent() {
    let app = TestApp::spawn().await;
    let mut with_extra = message("a", "+911", "2025-01-15T10:00:00Z", Some("hi"));
    with_extra["channel"] = json!("whatsapp");
    let null_text = message("b", "+911", "2025-01-15T10:00:01Z", None);
    let mut no_text = message("c", "+911", "2025-01-15T10:00:02Z", None);
    no_text.as_object_mut().unwrap().remove("text");
    app.seed(&[with_extra, null_text, no_text]).await;
    let (_, page) = app.get_json("/messages").await;
    let texts: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("hi"), &Value::Null, &Value::Null]);
}
