//! The secret stays secret, and the server refuses to start without one. Everything here runs
//! the real binary.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use webhook_receiver::signature;

use crate::helpers::{ServerProcess, app_command, database_url, message};

/// Everything a command printed.
fn output_of(command: &mut std::process::Command) -> (Option<i32>, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_never_appear_in_logs_errors_help_or_metrics() {
    let current = format!("canary-current-{}", uuid::Uuid::new_v4());
    let previous = format!("canary-previous-{}", uuid::Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("app.db");
    let url = database_url(&db_path);
    let env = [
        ("WEBHOOK_SECRET", current.as_str()),
        ("WEBHOOK_SECRET_PREVIOUS", previous.as_str()),
        ("DATABASE_URL", url.as_str()),
        ("LOG_LEVEL", "DEBUG"),
    ];
    // Everything anyone could read: help, refusals, responses, metrics, logs.
    let mut seen = Vec::new();
    for (args, expected_code) in [
        (&["--help"][..], 0),
        (&["serve", "--help"], 0),
        (&["healthcheck", "--help"], 0),
        (&["serve", "--database-url", "postgres://elsewhere"], 2),
        (&["serve", "--port", "not-a-port"], 2),
    ] {
        let (code, stdout, stderr) = output_of(app_command(&env).args(args));
        // Each must have done what it was run for, or there would be nothing to scan.
        assert_eq!(code, Some(expected_code), "{args:?}: {stdout}{stderr}");
        assert!(!(stdout.is_empty() && stderr.is_empty()), "{args:?}");
        seen.extend([stdout, stderr]);
    }

    let server = ServerProcess::start(&env);
    let client = reqwest::Client::new();
    let body = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("hi")).to_string();
    let mut signatures = Vec::new();
    for (key, body, expected) in [
        (current.as_str(), body.as_str(), StatusCode::OK),
        (previous.as_str(), body.as_str(), StatusCode::OK),
        ("a-wrong-key", body.as_str(), StatusCode::UNAUTHORIZED),
        (
            current.as_str(),
            "{\"message_id\": 1}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            current.as_str(),
            "not json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let signature = signature::sign(key.as_bytes(), body.as_bytes());
        let response = client
            .post(format!("{}/webhook", server.url))
            .header("X-Signature", &signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{key} {body}");
        seen.push(format!("{:?}", response.headers()));
        seen.push(response.text().await.unwrap());
        signatures.push(signature);
    }
    // A storage failure's error messages too.
    std::fs::remove_file(&db_path).unwrap();
    for (path, expected) in [
        ("/health/ready", StatusCode::SERVICE_UNAVAILABLE),
        ("/messages", StatusCode::SERVICE_UNAVAILABLE),
        ("/stats", StatusCode::SERVICE_UNAVAILABLE),
        ("/metrics", StatusCode::OK),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{path}");
        seen.push(response.text().await.unwrap());
    }
    let new_message = message("m2", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    let response = client
        .post(format!("{}/webhook", server.url))
        .header(
            "X-Signature",
            signature::sign(current.as_bytes(), new_message.as_bytes()),
        )
        .body(new_message)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    seen.push(response.text().await.unwrap());

    server.signal("TERM");
    let (status, lines, stderr) = server.wait_for_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        lines.iter().any(|line| line.contains("invalid_signature")),
        "the logs were not captured"
    );
    seen.extend(lines);
    seen.push(stderr);

    for text in &seen {
        for secret in [&current, &previous] {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
    }
    // Nor do the signatures clients sent appear in the logs.
    for signature in &signatures {
        assert!(
            !seen.iter().any(|text| text.contains(signature.as_str())),
            "a signature leaked"
        );
    }
}

#[test]
fn without_a_secret_serve_exits_2_with_one_json_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir.path().join("app.db"));
    for secret in [None, Some("")] {
        let mut command = app_command(&[("DATABASE_URL", url.as_str())]);
        if let Some(secret) = secret {
            command.env("WEBHOOK_SECRET", secret);
        }
        let (code, stdout, stderr) = output_of(command.arg("serve"));
        assert_eq!(code, Some(2), "{secret:?}");
        assert_eq!(stderr, "", "{secret:?}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{secret:?}: {stdout}");
        let line: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["variable"], "WEBHOOK_SECRET");
        assert!(line["msg"].as_str().unwrap().contains("WEBHOOK_SECRET"));
        assert!(
            !dir.path().join("app.db").exists(),
            "a database was created before refusing"
        );
    }
}
