//! The real binary: JSON-only log lines with the contract's keys, start-up refusals, and a clean
//! shutdown on SIGTERM that loses nothing acknowledged.

use reqwest::StatusCode;
use serde_json::Value;
use webhook_receiver::signature;

use crate::helpers::*;

fn parse_all(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &str,
    signature: &str,
    request_id: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(format!("{url}/webhook"))
        .header("X-Signature", signature)
        .body(body.to_string());
    if let Some(id) = request_id {
        request = request.header("X-Request-ID", id);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_line_is_json_with_the_contract_keys_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("app.db").display());
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
    let client = reqwest::Client::new();
    let body = message("log-1", "+911", "2025-01-15T10:00:00Z", Some("hi")).to_string();
    let good = signature::sign(SECRET.as_bytes(), body.as_bytes());
    let created = post(&client, &server.url, &body, &good, Some("req-abc.1")).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["x-webhook-result"], "created");
    assert_eq!(created.headers()["x-request-id"], "req-abc.1");
    let duplicate = post(
        &client,
        &server.url,
        &body,
        &good,
        Some("bad id with spaces"),
    )
    .await;
    assert_eq!(duplicate.status(), StatusCode::OK);
    assert_eq!(duplicate.headers()["x-webhook-result"], "duplicate");
    let rejected = post(&client, &server.url, &body, "123", None).await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let generated = rejected.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let search = client
        .get(format!("{}/messages?q=hi", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), StatusCode::OK);
    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{status:?}");

    let all = lines.join("\n");
    assert!(!all.contains(SECRET), "the secret was logged");
    assert!(!all.contains(&good), "a signature was logged");
    let events = parse_all(&lines);
    let requests: Vec<&Value> = events.iter().filter(|e| e["msg"] == "request").collect();
    assert_eq!(requests.len(), 4, "{all}");
    for event in &requests {
        for key in [
            "ts",
            "level",
            "request_id",
            "method",
            "path",
            "status",
            "latency_ms",
        ] {
            assert!(!event[key].is_null(), "{key} missing in {event}");
        }
    }
    let webhook: Vec<(&str, &str, bool, &str)> = requests
        .iter()
        .filter(|e| e["path"] == "/webhook")
        .inspect(|e| {
            assert!(
                e.get("message_id").is_some(),
                "every webhook line has message_id: {e}"
            )
        })
        .map(|e| {
            (
                e["level"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
                e["dup"].as_bool().unwrap(),
                e["message_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        webhook,
        [
            ("INFO", "created", false, "log-1"),
            ("INFO", "duplicate", true, "log-1"),
            ("ERROR", "invalid_signature", false, "-"),
        ]
    );
    assert_eq!(requests[0]["request_id"], "req-abc.1");
    assert_ne!(requests[1]["request_id"], "bad id with spaces");
    assert_eq!(requests[2]["request_id"], generated.as_str());
    assert_eq!(requests[3]["path"], "/messages");
    assert!(
        events.len() <= requests.len() + 4,
        "start-up and shutdown stay short: {all}"
    );
}

#[test]
fn serve_refuses_to_start_without_a_secret() {
    for env in [vec![], vec![("WEBHOOK_SECRET", "")]] {
        let output = app_command(&env).arg("serve").output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 1, "{stdout}");
        let event = &parse_all(&lines)[0];
        assert_eq!(event["level"], "ERROR");
        assert_eq!(event["variable"], "WEBHOOK_SECRET");
        assert!(event["msg"].as_str().unwrap().contains("WEBHOOK_SECRET"));
    }
}

#[test]
fn serve_refuses_a_database_url_it_cannot_read() {
    let output = app_command(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", "postgres://db/app"),
    ])
    .arg("serve")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let event: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(event["variable"], "DATABASE_URL");
    assert!(
        event["msg"].as_str().unwrap().contains("postgres://db/app"),
        "{event}"
    );
}

#[test]
fn log_level_error_keeps_only_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &url),
        ("LOG_LEVEL", "info"),
    ]);
    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success());
    assert_eq!(
        lines.len(),
        3,
        "listening, shutting down, stopped: {lines:?}"
    );

    // At ERROR nothing announces the port, so pick one and wait until it answers.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let env = [
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &url),
        ("LOG_LEVEL", "error"),
        ("PORT", &port),
    ];
    let mut child = app_command(&env)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let live = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(&live).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited before it listened: {status:?}");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not listen on {live} within {PATIENCE:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "",
        "nothing at INFO is written"
    );
}

#[tokio::test]
async fn sigterm_under_load_finishes_in_flight_requests_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let url = format!("sqlite://{}", db.display());
    let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
    let client = reqwest::Client::new();
    let base = server.url.clone();
    // Each acknowledgement is announced here, so that the signal is sent under load, once
    // enough has been acknowledged, rather than after a guessed delay.
    let (announce, mut announced) = tokio::sync::mpsc::unbounded_channel::<()>();
    let senders: Vec<_> = (0..8)
        .map(|worker| {
            let client = client.clone();
            let base = base.clone();
            let announce = announce.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0..10_000 {
                    let id = format!("w{worker}-{n}");
                    let body = message(&id, "+911", "2025-01-15T10:00:00Z", None).to_string();
                    let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
                    match client
                        .post(format!("{base}/webhook"))
                        .header("X-Signature", signature)
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(response) if response.status() == StatusCode::OK => {
                            acknowledged.push(id);
                            let _ = announce.send(());
                        }
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    drop(announce);
    let before_signal = 200;
    let under_load = async {
        for _ in 0..before_signal {
            announced.recv().await.expect("every sender stopped early");
        }
    };
    tokio::time::timeout(PATIENCE, under_load)
        .await
        .expect("the server acknowledged too few messages in time");
    server.signal("TERM");
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    let (status, lines, _) = tokio::task::spawn_blocking(move || server.wait_for_exit(PATIENCE))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        parse_all(&lines).last().unwrap()["msg"],
        "stopped: every accepted message is committed"
    );
    assert!(
        acknowledged.len() >= before_signal,
        "{} acknowledged, fewer than the {before_signal} seen before the signal",
        acknowledged.len()
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut lookup = conn
        .prepare("SELECT count(*) FROM messages WHERE message_id = ?1")
        .unwrap();
    for id in &acknowledged {
        let count: i64 = lookup.query_row([id], |row| row.get(0)).unwrap();
        assert_eq!(count, 1, "{id} was acknowledged but not stored once");
    }
}
