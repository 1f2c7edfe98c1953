//! Who may read: `READ_TOKEN` closes `GET /messages` and `GET /stats`, `METRICS_TOKEN` closes
//! `GET /metrics`, every other route stays as it is; every secret and token can come from a
//! `_FILE`; none of them ever reaches a log line or `--help`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    PATIENCE, SECRET, ServerProcess, TestApp, app_command, assert_serve_refuses, message, run_app,
};
use webhook_receiver::http::{self, Token};
use webhook_receiver::signature;

const READ_TOKEN: &str = "read-token-7f3a9c";
const METRICS_TOKEN: &str = "metrics-token-2b8e41";

async fn spawn_with_tokens() -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.read_token = Token::new(READ_TOKEN);
        settings.metrics_token = Token::new(METRICS_TOKEN);
    })
    .await
}

/// GETs `path` on `url`, with `Authorization: Bearer <token>` when a token is given.
async fn get(url: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{url}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Asserts the exact 401 of a missing or wrong token.
async fn assert_not_authenticated(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"detail": "not authenticated"}), "{case}");
}

#[tokio::test]
async fn each_protected_route_needs_its_own_token() {
    let app = spawn_with_tokens().await;
    app.seed(&[message(
        "m1",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("Hi"),
    )])
    .await;
    for (path, right, wrong) in [
        ("/messages", READ_TOKEN, METRICS_TOKEN),
        ("/stats", READ_TOKEN, METRICS_TOKEN),
        ("/metrics", METRICS_TOKEN, READ_TOKEN),
    ] {
        assert_not_authenticated(get(&app.url, path, None).await, path).await;
        assert_not_authenticated(get(&app.url, path, Some(wrong)).await, path).await;
        let near_miss = format!("{right}x");
        assert_not_authenticated(get(&app.url, path, Some(&near_miss)).await, path).await;
        let basic = reqwest::Client::new()
            .get(format!("{}{path}", app.url))
            .header("Authorization", format!("Basic {right}"))
            .send()
            .await
            .unwrap();
        assert_not_authenticated(basic, path).await;
        assert_eq!(
            get(&app.url, path, Some(right)).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }

    let messages: Value = get(&app.url, "/messages", Some(READ_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(messages["total"], 1);
    assert_eq!(messages["data"][0]["message_id"], "m1");
    let stats: Value = get(&app.url, "/stats", Some(READ_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total_messages"], 1);
    let metrics = get(&app.url, "/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("webhook_requests_total"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn the_unprotected_routes_are_unchanged_with_tokens_set() {
    let app = spawn_with_tokens().await;
    let body = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hi")).to_string();
    let response = app.post_signed(&body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-webhook-result"], "created");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let (status, live) = app.get_json("/health/live").await;
    assert_eq!((status, live), (StatusCode::OK, json!({"status": "ok"})));
    let (status, ready) = app.get_json("/health/ready").await;
    assert_eq!((status, &ready["status"]), (StatusCode::OK, &json!("ok")));
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let healthcheck = run_app(&[], &["healthcheck", "--url", &app.url], None).await;
    assert_eq!(healthcheck.code, Some(0), "{}", healthcheck.stderr);
    app.stop().await;
}

#[tokio::test]
async fn each_token_closes_only_its_own_routes() {
    let reads_closed = TestApp::spawn_with(|settings| {
        settings.read_token = Token::new(READ_TOKEN);
    })
    .await;
    assert_eq!(
        get(&reads_closed.url, "/metrics", None).await.status(),
        StatusCode::OK
    );
    assert_not_authenticated(get(&reads_closed.url, "/stats", None).await, "stats").await;
    reads_closed.stop().await;

    let metrics_closed = TestApp::spawn_with(|settings| {
        settings.metrics_token = Token::new(METRICS_TOKEN);
    })
    .await;
    let (status, stats) = metrics_closed.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["total_messages"], 0);
    let (status, messages) = metrics_closed.get_json("/messages").await;
    assert_eq!((status, &messages["total"]), (StatusCode::OK, &json!(0)));
    assert_not_authenticated(get(&metrics_closed.url, "/metrics", None).await, "metrics").await;
    metrics_closed.stop().await;
}

#[test]
fn the_document_declares_the_bearer_scheme_on_exactly_the_closable_operations() {
    let document = serde_json::to_value(http::openapi::document()).unwrap();
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    let mut secured = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_some() {
                assert_eq!(operation["security"], json!([{"bearer": []}]), "{path}");
                assert!(operation["responses"]["401"].is_object(), "{path}");
                secured.push(format!("{method} {path}"));
            }
        }
    }
    secured.sort();
    assert_eq!(secured, ["get /messages", "get /metrics", "get /stats"]);
}

/// A file in a temporary folder holding `content`; the folder goes with the returned guard.
fn secret_file(content: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, content).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

#[tokio::test]
async fn every_secret_and_token_is_read_from_its_file_without_its_trailing_newline() {
    let (_webhook_dir, webhook_file) = secret_file("file-secret\n");
    let (_previous_dir, previous_file) = secret_file("file-previous\r\n");
    let (_app_dir, app_file) = secret_file("file-app-secret\n");
    let (_verify_dir, verify_file) = secret_file("file-verify\n");
    let (_read_dir, read_file) = secret_file("file-read\n");
    let (_metrics_dir, metrics_file) = secret_file("file-metrics\n");
    let server = ServerProcess::start(&[
        ("DATABASE_URL", "sqlite::memory:"),
        ("WEBHOOK_SECRET_FILE", &webhook_file),
        ("WEBHOOK_SECRET_PREVIOUS_FILE", &previous_file),
        ("WHATSAPP_APP_SECRET_FILE", &app_file),
        ("WHATSAPP_VERIFY_TOKEN_FILE", &verify_file),
        ("READ_TOKEN_FILE", &read_file),
        ("METRICS_TOKEN_FILE", &metrics_file),
    ]);
    let client = reqwest::Client::new();
    for (id, key) in [("m1", "file-secret"), ("m2", "file-previous")] {
        let body = message(id, "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
        let response = client
            .post(format!("{}/webhook", server.url))
            .header("Content-Type", "application/json")
            .header(
                "X-Signature",
                signature::sign(key.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{key}");
    }
    let delivery = std::fs::read(format!(
        "{}/tests/fixtures/whatsapp/text.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let meta = format!("sha256={}", signature::sign(b"file-app-secret", &delivery));
    let response = client
        .post(format!("{}/webhook/whatsapp", server.url))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", meta)
        .body(delivery)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let handshake = client
        .get(format!(
            "{}/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=file-verify&hub.challenge=42",
            server.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), StatusCode::OK);
    assert_eq!(handshake.text().await.unwrap(), "42");
    assert_not_authenticated(get(&server.url, "/stats", None).await, "stats").await;
    let stats: Value = get(&server.url, "/stats", Some("file-read"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["total_messages"], 3,
        "two signed and one WhatsApp: {stats}"
    );
    assert_not_authenticated(get(&server.url, "/metrics", Some("file-read")).await, "m").await;
    let metrics = get(&server.url, "/metrics", Some("file-metrics")).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    server.signal("TERM");
    let (status, _, _) = tokio::task::spawn_blocking(move || server.wait_for_exit(PATIENCE))
        .await
        .unwrap();
    assert!(status.success());
}

const SECRET_VARIABLES: [&str; 6] = [
    "WEBHOOK_SECRET",
    "WEBHOOK_SECRET_PREVIOUS",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "READ_TOKEN",
    "METRICS_TOKEN",
];

#[test]
fn a_variable_and_its_file_together_or_a_missing_file_refuse_to_start() {
    let (_dir, file) = secret_file("from-the-file-9d2c\n");
    for variable in SECRET_VARIABLES {
        let file_variable = format!("{variable}_FILE");
        let mut both = vec![(file_variable.as_str(), file.as_str())];
        if variable != "WEBHOOK_SECRET" {
            // The helper sets WEBHOOK_SECRET itself.
            both.push((variable, "from-the-variable-5e1f"));
        }
        assert_serve_refuses(
            &both,
            &[],
            variable,
            &format!("{variable} and {variable}_FILE are both set"),
        );
        if variable != "WEBHOOK_SECRET" {
            let missing = [(file_variable.as_str(), "/nonexistent/secret-file")];
            assert_serve_refuses(
                &missing,
                &[],
                variable,
                &format!("{variable}_FILE: cannot read"),
            );
        }
    }
    // WEBHOOK_SECRET's own file, missing, with no WEBHOOK_SECRET beside it.
    let output = app_command(&[
        ("DATABASE_URL", "sqlite::memory:"),
        ("WEBHOOK_SECRET_FILE", "/nonexistent/secret-file"),
    ])
    .arg("serve")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let event: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(event["variable"], "WEBHOOK_SECRET", "{event}");
    assert!(
        event["msg"]
            .as_str()
            .unwrap()
            .starts_with("WEBHOOK_SECRET_FILE: cannot read /nonexistent/secret-file"),
        "{event}"
    );
}

#[test]
fn a_refusal_never_shows_what_the_variable_or_the_file_holds() {
    let (_dir, file) = secret_file("from-the-file-9d2c\n");
    let output = app_command(&[
        ("DATABASE_URL", "sqlite::memory:"),
        ("WEBHOOK_SECRET", SECRET),
        ("READ_TOKEN", "from-the-variable-5e1f"),
        ("READ_TOKEN_FILE", &file),
    ])
    .arg("serve")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(all.contains("READ_TOKEN_FILE"), "{all}");
    for value in ["from-the-file", "from-the-variable", SECRET] {
        assert!(!all.contains(value), "{value} in {all}");
    }
}

#[tokio::test]
async fn sign_reads_its_keys_from_files_as_serve_does() {
    let body = "Hello, World!";
    let (_dir, file) = secret_file("file-secret\n");
    let from_file = run_app(
        &[("WEBHOOK_SECRET_FILE", &file)],
        &["sign", "--body", body],
        None,
    )
    .await;
    assert_eq!(from_file.code, Some(0), "{}", from_file.stderr);
    assert_eq!(
        from_file.stdout,
        format!("{}\n", signature::sign(b"file-secret", body.as_bytes()))
    );
    let whatsapp = run_app(
        &[("WHATSAPP_APP_SECRET_FILE", &file)],
        &["sign", "--scheme", "whatsapp", "--body", body],
        None,
    )
    .await;
    assert_eq!(whatsapp.code, Some(0), "{}", whatsapp.stderr);
    assert!(
        whatsapp
            .stdout
            .contains(&signature::sign(b"file-secret", body.as_bytes())),
        "{}",
        whatsapp.stdout
    );
    let both = run_app(
        &[("WEBHOOK_SECRET_FILE", &file), ("WEBHOOK_SECRET", "other")],
        &["sign", "--body", body],
        None,
    )
    .await;
    assert_eq!(both.code, Some(2));
    assert!(
        both.stderr
            .contains("WEBHOOK_SECRET and WEBHOOK_SECRET_FILE"),
        "{}",
        both.stderr
    );
    assert!(!both.stderr.contains("file-secret\n") && !both.stderr.contains("other"));
}

#[tokio::test]
async fn send_signs_with_the_key_from_its_file_and_reads_stay_closed_to_it() {
    let app = spawn_with_tokens().await;
    let (_dir, file) = secret_file(&format!("{SECRET}\n"));
    let send = run_app(
        &[("WEBHOOK_SECRET_FILE", &file)],
        &["send", "--url", &app.url, "--generate", "3", "--seed", "7"],
        None,
    )
    .await;
    assert_eq!(send.code, Some(0), "{} {}", send.stdout, send.stderr);
    assert_eq!(app.row_count(), 3);
    assert_not_authenticated(get(&app.url, "/messages", None).await, "messages").await;
    let page: Value = get(&app.url, "/messages", Some(READ_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    app.stop().await;
}

#[tokio::test]
async fn no_token_or_secret_reaches_a_log_line_or_the_help() {
    let (_dir, file) = secret_file("app-secret-from-file-31c7\n");
    let env = [
        ("DATABASE_URL", "sqlite::memory:"),
        ("LOG_LEVEL", "DEBUG"),
        ("WEBHOOK_SECRET", SECRET),
        ("WHATSAPP_APP_SECRET_FILE", file.as_str()),
        ("READ_TOKEN", READ_TOKEN),
        ("METRICS_TOKEN", METRICS_TOKEN),
    ];
    let server = ServerProcess::start(&env);
    let body = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hi")).to_string();
    let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/webhook", server.url))
        .header("Content-Type", "application/json")
        .header("X-Signature", &signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for token in [READ_TOKEN, METRICS_TOKEN, "wrong-token-a1b2"] {
        for path in ["/messages", "/stats", "/metrics"] {
            let _ = get(&server.url, path, Some(token)).await;
        }
    }
    server.signal("TERM");
    let (status, lines, stderr) =
        tokio::task::spawn_blocking(move || server.wait_for_exit(PATIENCE))
            .await
            .unwrap();
    assert!(status.success());
    assert!(
        lines.len() >= 10,
        "one line per request at least: {lines:?}"
    );
    let all = format!("{}\n{stderr}", lines.join("\n"));
    for value in [
        READ_TOKEN,
        METRICS_TOKEN,
        "wrong-token-a1b2",
        SECRET,
        "app-secret-from-file",
        signature.as_str(),
    ] {
        assert!(!all.contains(value), "{value} logged: {all}");
    }

    let help = app_command(&env)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("READ_TOKEN_FILE"), "{help}");
    for value in [READ_TOKEN, METRICS_TOKEN, SECRET] {
        assert!(!help.contains(value), "{value} in --help");
    }
}

#[test]
fn open_reads_beyond_loopback_are_warned_about_once_at_start_up() {
    let warnings = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.extend([
            ("DATABASE_URL", "sqlite::memory:"),
            ("WEBHOOK_SECRET", SECRET),
        ]);
        let server = ServerProcess::start(&env);
        server.signal("TERM");
        let (status, lines, _) = server.wait_for_exit(PATIENCE);
        assert!(status.success());
        lines
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|event| event["level"] == "WARN")
            .map(|event| event["msg"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let open = warnings(&[("HOST", "0.0.0.0")]);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].starts_with("READ_TOKEN is not set"), "{open:?}");
    assert_eq!(
        warnings(&[("HOST", "0.0.0.0"), ("READ_TOKEN", READ_TOKEN)]),
        Vec::<String>::new()
    );
    assert_eq!(warnings(&[("HOST", "127.0.0.1")]), Vec::<String>::new());
}

#[test]
fn the_readme_configuration_table_lists_every_new_variable() {
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table: Vec<&str> = readme
        .split("## Configuration")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter(|line| line.starts_with("| `"))
        .collect();
    let mut variables = vec!["READ_TOKEN", "METRICS_TOKEN"];
    let files: Vec<String> = SECRET_VARIABLES
        .iter()
        .map(|v| format!("{v}_FILE"))
        .collect();
    variables.extend(files.iter().map(String::as_str));
    for variable in variables {
        assert!(
            table
                .iter()
                .any(|row| row.contains(&format!("`{variable}`"))),
            "{variable} is not in the README's Configuration table"
        );
    }
}
