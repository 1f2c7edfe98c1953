//! The operator CLI, run as the real binary: sign, migrate, send, list, stats, completions,
//! healthcheck, and every error they promise to answer in one line.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::{Value, json};

use webhook_receiver::signature;
use webhook_receiver::storage::latest_schema_version;

use crate::helpers::{Run, SECRET, ServerProcess, TestApp, app_command, message, run_app, secret};

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_BODY: &str = "Hello, World!";
const GITHUB_HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// Asserts a failed run: `code`, nothing on stdout, and exactly one `app: …` line on stderr
/// containing `needle`.
fn assert_one_line_error(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, Some(code), "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with("app: "), "{run:?}");
    assert!(run.stderr.contains(needle), "{needle:?} not in {run:?}");
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// Runs `app send` against `app` with the test secret.
async fn send(app: &TestApp, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut all = vec!["send", "--url", &app.url];
    all.extend_from_slice(args);
    run_app(&[("WEBHOOK_SECRET", SECRET)], &all, stdin).await
}

/// Runs a command that reads `app`'s database.
async fn read_db(app: &TestApp, args: &[&str]) -> Run {
    run_app(&[("DATABASE_URL", &app.database_url())], args, None).await
}

/// A small data set whose listing is known exactly: out of order, a fractional second, a
/// missing text.
async fn seeded_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed(&[
        message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello")),
        message(
            "m2",
            "+14155550123",
            "2025-01-15T09:00:00Z",
            Some("Earlier\nline"),
        ),
        message("m3", "+919876543210", "2025-01-15T10:00:00.5Z", None),
    ])
    .await;
    app
}

#[tokio::test]
async fn sign_matches_githubs_published_vector_from_stdin_body_and_file() {
    let env = [("WEBHOOK_SECRET", GITHUB_SECRET)];
    let from_stdin = run_app(&env, &["sign"], Some(GITHUB_BODY.as_bytes())).await;
    assert_eq!(
        from_stdin.stdout,
        format!("{GITHUB_HEX}\n"),
        "{from_stdin:?}"
    );
    assert_eq!(from_stdin.code, Some(0));

    let from_flag = run_app(
        &[],
        &["sign", "--secret", GITHUB_SECRET, "--body", GITHUB_BODY],
        None,
    )
    .await;
    assert_eq!(from_flag.stdout, format!("{GITHUB_HEX}\n"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.txt");
    std::fs::write(&path, GITHUB_BODY).unwrap();
    let from_file = run_app(
        &env,
        &["sign", "--header", "--file", path.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(from_file.stdout, format!("X-Signature: {GITHUB_HEX}\n"));
}

#[tokio::test]
async fn sign_adds_and_strips_nothing_so_a_trailing_newline_changes_the_signature() {
    let env = [("WEBHOOK_SECRET", GITHUB_SECRET)];
    let with_newline = run_app(&env, &["sign"], Some(b"Hello, World!\n")).await;
    assert_eq!(with_newline.code, Some(0));
    assert_ne!(with_newline.stdout, format!("{GITHUB_HEX}\n"));
}

#[tokio::test]
async fn a_body_signed_by_the_binary_is_accepted_by_the_server() {
    let app = TestApp::spawn().await;
    let body = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello")).to_string();
    let signed = run_app(
        &[("WEBHOOK_SECRET", SECRET)],
        &["sign"],
        Some(body.as_bytes()),
    )
    .await;
    let signature = signed.stdout.trim_end();
    let response = app.post(body.clone(), &[("X-Signature", signature)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-webhook-result"], "created");
    assert_eq!(app.row_count(), 1);
    app.stop().await;
}

// The Standard Webhooks spec's published vector.
const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const STANDARD_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const STANDARD_TIMESTAMP: &str = "1649367553";
const STANDARD_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
const STANDARD_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

// Computed with Python: hmac.new(b"meta-app-secret", body, hashlib.sha256).hexdigest().
const APP_SECRET: &str = "meta-app-secret";
const WHATSAPP_BODY: &str = r#"{"object":"whatsapp_business_account","entry":[]}"#;
const WHATSAPP_HEX: &str = "ee9f05f989bc0aa2693d85691a477f8b8403933cde7959a1c5c6be7ea85e8d3d";

#[tokio::test]
async fn sign_standard_matches_the_specs_published_vector() {
    let env = [("WEBHOOK_SECRET", STANDARD_SECRET)];
    let fixed = [
        "sign",
        "--scheme",
        "standard",
        "--id",
        STANDARD_ID,
        "--timestamp",
        STANDARD_TIMESTAMP,
    ];
    let alone = run_app(&env, &fixed, Some(STANDARD_BODY.as_bytes())).await;
    assert_eq!(
        (alone.code, alone.stdout.as_str()),
        (Some(0), format!("{STANDARD_SIGNATURE}\n").as_str()),
        "{alone:?}"
    );
    let mut with_header = fixed.to_vec();
    with_header.extend(["--header", "--body", STANDARD_BODY]);
    let lines = run_app(&env, &with_header, None).await;
    assert_eq!(
        lines.stdout,
        format!(
            "webhook-id: {STANDARD_ID}\nwebhook-timestamp: {STANDARD_TIMESTAMP}\n\
             webhook-signature: {STANDARD_SIGNATURE}\n"
        )
    );
}

#[tokio::test]
async fn sign_standard_without_an_id_or_timestamp_signs_a_new_id_at_the_time_it_prints() {
    let env = [("WEBHOOK_SECRET", STANDARD_SECRET)];
    let args = [
        "sign",
        "--scheme",
        "standard",
        "--header",
        "--body",
        STANDARD_BODY,
    ];
    let first = run_app(&env, &args, None).await;
    let second = run_app(&env, &args, None).await;
    let headers = |run: &Run| -> Vec<(String, String)> {
        assert_eq!(run.code, Some(0), "{run:?}");
        run.stdout
            .lines()
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_string(), value.to_string())
            })
            .collect()
    };
    let (first, second) = (headers(&first), headers(&second));
    let names: Vec<&str> = first.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    );
    assert!(first[0].1.starts_with("msg_"), "{first:?}");
    assert_ne!(first[0].1, second[0].1, "ids repeat");
    // The signature covers exactly the printed id and timestamp.
    let timestamp: i64 = first[1].1.parse().unwrap();
    let verified = signature::standard::Verifier::new(STANDARD_SECRET, None, 0).verify(
        signature::standard::Headers {
            id: Some(first[0].1.as_bytes()),
            timestamp: Some(first[1].1.as_bytes()),
            signature: first[2].1.as_bytes(),
        },
        STANDARD_BODY.as_bytes(),
        timestamp,
    );
    assert_eq!(verified, Ok(()));
}

#[tokio::test]
async fn sign_whatsapp_prints_the_sha256_prefixed_hex_of_the_app_secret() {
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let alone = run_app(
        &env,
        &["sign", "--scheme", "whatsapp"],
        Some(WHATSAPP_BODY.as_bytes()),
    )
    .await;
    assert_eq!(
        (alone.code, alone.stdout.as_str()),
        (Some(0), format!("sha256={WHATSAPP_HEX}\n").as_str()),
        "{alone:?}"
    );
    let line = run_app(
        &[],
        &[
            "sign",
            "--scheme",
            "whatsapp",
            "--whatsapp-app-secret",
            APP_SECRET,
            "--header",
            "--body",
            WHATSAPP_BODY,
        ],
        None,
    )
    .await;
    assert_eq!(
        line.stdout,
        format!("X-Hub-Signature-256: sha256={WHATSAPP_HEX}\n")
    );
    // WEBHOOK_SECRET is not the key of this scheme.
    let wrong_key = run_app(
        &[("WEBHOOK_SECRET", APP_SECRET)],
        &["sign", "--scheme", "whatsapp", "--body", WHATSAPP_BODY],
        None,
    )
    .await;
    assert_one_line_error(&wrong_key, 2, "WHATSAPP_APP_SECRET");
}

#[tokio::test]
async fn sign_refuses_flags_its_scheme_does_not_sign() {
    let env = [("WEBHOOK_SECRET", STANDARD_SECRET)];
    let hex_with_id = run_app(&env, &["sign", "--id", "msg_1", "--body", "x"], None).await;
    assert_one_line_error(&hex_with_id, 2, "--scheme standard only");
    let alone_without_id = run_app(
        &env,
        &[
            "sign",
            "--scheme",
            "standard",
            "--timestamp",
            "1",
            "--body",
            "x",
        ],
        None,
    )
    .await;
    assert_one_line_error(&alone_without_id, 2, "pass --header");
    let spaced_id = run_app(
        &env,
        &[
            "sign", "--scheme", "standard", "--header", "--id", "msg 1", "--body", "x",
        ],
        None,
    )
    .await;
    assert_one_line_error(&spaced_id, 2, "invalid --id");
    let negative = run_app(
        &env,
        &[
            "sign",
            "--scheme",
            "standard",
            "--header",
            "--timestamp",
            "-1",
            "--body",
            "x",
        ],
        None,
    )
    .await;
    assert_eq!(negative.code, Some(2), "{negative:?}");
    let unknown = run_app(&env, &["sign", "--scheme", "github", "--body", "x"], None).await;
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(
        unknown.stderr.contains("hex, standard, whatsapp"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn sign_and_send_without_a_secret_are_usage_errors() {
    let sign = run_app(&[], &["sign", "--body", "x"], None).await;
    assert_one_line_error(&sign, 2, "WEBHOOK_SECRET");
    let empty = run_app(&[("WEBHOOK_SECRET", "")], &["sign", "--body", "x"], None).await;
    assert_one_line_error(&empty, 2, "WEBHOOK_SECRET");
    let send = run_app(&[], &["send", "--generate", "1"], None).await;
    assert_one_line_error(&send, 2, "WEBHOOK_SECRET");
}

#[tokio::test]
async fn secret_values_never_appear_in_help() {
    let env = [
        ("WEBHOOK_SECRET", "value-of-the-secret"),
        ("WEBHOOK_SECRET_PREVIOUS", "value-of-the-previous"),
        ("WHATSAPP_APP_SECRET", "value-of-the-app-secret"),
    ];
    for command in ["sign", "send", "serve"] {
        let help = run_app(&env, &[command, "--help"], None).await;
        assert_eq!(help.code, Some(0), "{help:?}");
        assert!(
            help.stdout.contains("WEBHOOK_SECRET"),
            "{command}: {help:?}"
        );
        assert!(!help.stdout.contains("value-of-the"), "{command}: {help:?}");
    }
}

#[tokio::test]
async fn migrate_applies_once_then_nothing_and_status_lists_versions() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/app.db").display());
    let env = [("DATABASE_URL", url.as_str())];
    let shown = dir.path().join("nested/app.db").display().to_string();

    let before = run_app(&env, &["migrate", "--status"], None).await;
    assert_eq!(
        before.stdout,
        format!(
            "version  name                  state    applied_on\n\
             1        messages              pending\n\
             2        search_index          pending\n\
             3        aggregates_per_batch  pending\n\
             4        listed_later          pending\n\
             5        deletions             pending\n\
             {shown} does not exist yet: 5 pending (run `app migrate`)\n"
        )
    );
    assert!(
        !dir.path().join("nested").exists(),
        "--status created files"
    );

    let first = run_app(&env, &["migrate"], None).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    assert_eq!(
        first.stdout,
        format!(
            "applied V1__messages to {shown}\n\
             applied V2__search_index to {shown}\n\
             applied V3__aggregates_per_batch to {shown}\n\
             applied V4__listed_later to {shown}\n\
             applied V5__deletions to {shown}\n\
             {shown} is at version 5, the latest\n"
        )
    );
    let second = run_app(&env, &["migrate"], None).await;
    assert_eq!(
        second.stdout,
        format!("nothing to apply: {shown} is at version 5, the latest\n")
    );

    let after = run_app(&env, &["migrate", "--status"], None).await;
    let lines: Vec<&str> = after.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{after:?}");
    // When each was applied, as a person reads it: UTC, to the second.
    let applied = regex::Regex::new(
        r"^(1        messages            |3        aggregates_per_batch)  applied  \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$",
    )
    .unwrap();
    assert!(applied.is_match(lines[1]), "{after:?}");
    assert!(applied.is_match(lines[3]), "{after:?}");
    assert_eq!(
        lines[0],
        "version  name                  state    applied_on"
    );
    assert_eq!(lines[6], format!("{shown}: 5 applied, 0 pending"));
}

#[tokio::test]
async fn send_one_message_from_flags_then_again_counts_created_then_duplicate() {
    let app = TestApp::spawn().await;
    let args = [
        "--message-id",
        "m1",
        "--from",
        "+919876543210",
        "--to",
        "+14155550100",
        "--ts",
        "2025-01-15T10:00:00Z",
        "--text",
        "Hello",
        "--json",
    ];
    let first = send(&app, &args, None).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let summary = json_of(&first);
    assert_eq!(
        (&summary["sent"], &summary["created"], &summary["duplicate"]),
        (&json!(1), &json!(1), &json!(0))
    );
    let again = json_of(&send(&app, &args, None).await);
    assert_eq!(
        (&again["created"], &again["duplicate"]),
        (&json!(0), &json!(1))
    );

    let (_, page) = app.get_json("/messages").await;
    assert_eq!(
        page["data"],
        json!([{"message_id":"m1","from":"+919876543210","to":"+14155550100",
                "ts":"2025-01-15T10:00:00Z","text":"Hello"}])
    );
    app.stop().await;
}

#[tokio::test]
async fn send_in_the_default_style_prints_its_summary_as_it_always_has() {
    let app = TestApp::spawn().await;
    let args = [
        "--message-id",
        "m1",
        "--from",
        "+919876543210",
        "--to",
        "+14155550100",
        "--text",
        "Hello",
    ];
    let table = send(&app, &args, None).await;
    assert_eq!(table.code, Some(0), "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "messages    1",
            "sent        1",
            "accepted    1 (created 1, duplicate 0)",
            "rejected    0",
            "failed      0",
        ],
        "{table:?}"
    );
    // The rest are timings: only their shape is known.
    assert_eq!(lines.len(), 8, "{table:?}");
    assert!(lines[5].starts_with("elapsed     "), "{table:?}");
    assert!(lines[6].starts_with("throughput  ") && lines[6].ends_with(" messages/s"));
    assert!(lines[7].starts_with("latency     p50 "), "{table:?}");

    let mut again = args.to_vec();
    again.push("--json");
    let json = send(&app, &again, None).await;
    assert_eq!(json.code, Some(0), "{json:?}");
    assert!(
        json.stdout.starts_with(
            r#"{"messages":1,"sent":1,"accepted":1,"created":0,"duplicate":1,"rejected":{},"failed":0,"elapsed_s":"#
        ),
        "{json:?}"
    );
    let summary = json_of(&json);
    let keys: Vec<&str> = summary
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 10, "{summary}");
    assert!(summary["throughput_per_s"].is_number(), "{summary}");
    assert!(summary["latency_ms"]["p50"].is_number(), "{summary}");
    app.stop().await;
}

/// Checks one listing page against what is known of it by hand.
type CheckPage = fn(&Value);

/// The ids of a listing page, in order.
fn listed_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["message_id"].as_str().unwrap().to_string())
        .collect()
}

/// `ids` all appear on the page, in this order (other rows may come between them).
fn assert_in_order(page: &Value, ids: &[&str]) {
    let listed = listed_ids(page);
    let positions: Vec<Option<usize>> = ids
        .iter()
        .map(|id| listed.iter().position(|listed| listed == id))
        .collect();
    assert!(
        positions.iter().all(Option::is_some),
        "{ids:?} in {listed:?}"
    );
    assert!(positions.is_sorted(), "{ids:?} out of order in {listed:?}");
}

#[tokio::test]
async fn send_then_list_and_stats_agree_exactly_with_the_api() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.ndjson");
    std::fs::write(
        &file,
        "{\"message_id\":\"f1\",\"from\":\"+919876543210\",\"to\":\"+14155550100\",\"ts\":\"2025-01-15T10:00:00Z\",\"text\":\"Hello\"}\n\
         {\"message_id\":\"f2\",\"from\":\"+14155550123\",\"to\":\"+14155550100\",\"ts\":\"2025-01-15T09:00:00+00:00\"}\n",
    )
    .unwrap();
    let from_file = send(&app, &["--file", file.to_str().unwrap(), "--json"], None).await;
    // f2's offset timestamp is refused: the run says so and fails.
    assert_eq!(from_file.code, Some(1), "{from_file:?}");
    let summary = json_of(&from_file);
    assert_eq!(
        (&summary["created"], &summary["rejected"]),
        (&json!(1), &json!({"422": 1}))
    );
    assert!(from_file.stderr.contains("body.ts"), "{from_file:?}");

    let array = r#"[{"message_id":"s1","from":"+14155550123","to":"+14155550100","ts":"2025-01-15T09:00:00Z","text":"Café"},
                    {"message_id":"s2","from":"+14155550123","to":"+14155550100","ts":"2025-01-15T09:30:00.25Z","text":null}]"#;
    let from_stdin = send(&app, &["--file", "-", "--json"], Some(array.as_bytes())).await;
    assert_eq!(from_stdin.code, Some(0), "{from_stdin:?}");
    assert_eq!(json_of(&from_stdin)["created"], json!(2));

    let generated = send(
        &app,
        // Seeded, so that the queries below see the same generated rows on every run.
        &[
            "--generate",
            "25",
            "--seed",
            "15",
            "--concurrency",
            "4",
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(generated.code, Some(0), "{generated:?}");
    let summary = json_of(&generated);
    assert_eq!(
        (&summary["sent"], &summary["created"]),
        (&json!(25), &json!(25))
    );
    assert!(summary["latency_ms"]["p50"].is_number(), "{summary}");
    assert_eq!(app.row_count(), 28);

    // The CLI and the API share their queries, so beside agreeing with each other each answer
    // is held to what is known by hand of the three rows stored above (the generated ones are
    // in the week before 2025-01-15T10:00:00Z, from other senders): `s1` at 09:00 and `s2` at
    // 09:30:00.25 from +14155550123, `f1` at 10:00 from +919876543210; of the three, `s1`
    // alone says "Café".
    let expectations: [(Vec<&str>, CheckPage); 7] = [
        (vec![], |page| {
            assert_eq!(page["total"], 28);
            assert_eq!(page["data"].as_array().unwrap().len(), 28);
            assert_in_order(page, &["s1", "s2", "f1"]);
        }),
        (vec!["--limit", "7", "--offset", "3"], |page| {
            assert_eq!((&page["total"], &page["limit"]), (&json!(28), &json!(7)));
            assert_eq!(page["data"].as_array().unwrap().len(), 7);
        }),
        (vec!["--from", "+14155550123"], |page| {
            assert_eq!(listed_ids(page), ["s1", "s2"]);
            assert_eq!(page["total"], 2);
        }),
        (vec!["--from", "14155550123"], |page| {
            assert_eq!(listed_ids(page), ["s1", "s2"]);
            assert_eq!(page["total"], 2);
        }),
        (
            vec!["--from", "+14155550123", "--since", "2025-01-15T09:15:00Z"],
            |page| {
                assert_eq!(listed_ids(page), ["s2"]);
                assert_eq!(page["total"], 1);
            },
        ),
        (vec!["--q", "CAFÉ"], |page| {
            assert_in_order(page, &["s1"]);
            // Beside `s1`, only the generator's one French text says "café".
            for row in page["data"].as_array().unwrap() {
                let text = row["text"].as_str().unwrap();
                assert!(
                    ["Café", "Café à quelle heure demain ?"].contains(&text),
                    "{row}"
                );
            }
        }),
        (
            vec!["--since", "2025-01-15T15:00:00+05:30", "--limit", "100"],
            |page| {
                // 15:00 at +05:30 is 09:30 UTC: after `s1`, before `s2` and `f1`.
                assert_in_order(page, &["s2", "f1"]);
                assert!(!listed_ids(page).contains(&"s1".to_string()), "{page}");
            },
        ),
    ];
    for (query, expect) in expectations {
        let mut args = vec!["list", "--json"];
        args.extend(&query);
        let listed = read_db(&app, &args).await;
        assert_eq!(listed.code, Some(0), "{listed:?}");
        let params: Vec<String> = query
            .chunks(2)
            .map(|pair| {
                let value: String = form_urlencoded::byte_serialize(pair[1].as_bytes()).collect();
                format!("{}={value}", pair[0].trim_start_matches("--"))
            })
            .collect();
        let (status, api) = app
            .get_text(&format!("/messages?{}", params.join("&")))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed.stdout, format!("{api}\n"), "{query:?}");
        expect(&json_of(&listed));
    }
    let stats = read_db(&app, &["stats", "--json"]).await;
    let (status, api) = app.get_text("/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats.stdout, format!("{api}\n"));
    let stats = json_of(&stats);
    assert_eq!(stats["total_messages"], json!(28));
    let per_sender = stats["messages_per_sender"].as_array().unwrap();
    assert!(
        per_sender.contains(&json!({"from": "+14155550123", "count": 2})),
        "{stats}"
    );
    app.stop().await;
}

#[tokio::test]
async fn send_standard_signs_each_delivery_afresh_and_a_whsec_secret_verifies_them() {
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = TestApp::spawn_with(|settings| settings.secret = secret(whsec)).await;
    let env = [("WEBHOOK_SECRET", whsec)];
    let generate = [
        "send",
        "--url",
        &app.url,
        "--scheme",
        "standard",
        "--generate",
        "30",
        "--seed",
        "11",
        "--json",
    ];
    let first = run_app(&env, &generate, None).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let summary = json_of(&first);
    assert_eq!(
        (
            &summary["messages"],
            &summary["created"],
            &summary["duplicate"]
        ),
        (&json!(30), &json!(30), &json!(0))
    );
    // New webhook-ids do not make the same messages new: the body's message_id decides.
    let again = json_of(&run_app(&env, &generate, None).await);
    assert_eq!(
        (&again["created"], &again["duplicate"]),
        (&json!(0), &json!(30))
    );
    let one = [
        "send",
        "--url",
        &app.url,
        "--scheme",
        "standard",
        "--message-id",
        "std-1",
        "--from",
        "+919876543210",
        "--to",
        "+14155550100",
        "--ts",
        "2025-01-15T10:00:00Z",
        "--text",
        "Hello",
    ];
    let single = run_app(&env, &one, None).await;
    assert_eq!(single.code, Some(0), "{single:?}");
    assert!(single.stdout.starts_with("messages    1\n"), "{single:?}");
    assert_eq!(app.row_count(), 31);
    let (_, page) = app.get_json("/messages?q=hello&from=%2B919876543210").await;
    assert_eq!(
        page["data"],
        json!([{"message_id":"std-1","from":"+919876543210","to":"+14155550100",
                "ts":"2025-01-15T10:00:00Z","text":"Hello"}])
    );

    // Signed with the string as a key rather than the decoded whsec_ bytes: refused, stopped.
    let wrong = run_app(
        &[("WEBHOOK_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
        &generate,
        None,
    )
    .await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(
        wrong.stderr.contains("answered 401 (invalid signature)"),
        "{wrong:?}"
    );
    assert_eq!(app.row_count(), 31);
    app.stop().await;
}

#[tokio::test]
async fn standard_headers_printed_by_sign_are_accepted_by_the_server() {
    let app = TestApp::spawn().await;
    let body = message("std-2", "+14155550123", "2025-01-15T11:00:00Z", Some("Hi")).to_string();
    let signed = run_app(
        &[("WEBHOOK_SECRET", SECRET)],
        &["sign", "--scheme", "standard", "--header", "--body", &body],
        None,
    )
    .await;
    let headers: Vec<(&str, &str)> = signed
        .stdout
        .lines()
        .map(|line| line.split_once(": ").unwrap())
        .collect();
    assert_eq!(headers.len(), 3, "{signed:?}");
    let response = app.post(body, &headers).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-webhook-result"], "created");
    assert_eq!(app.row_count(), 1);
    app.stop().await;
}

/// The real server with a WhatsApp app secret, over a database in `dir`.
fn whatsapp_server(dir: &tempfile::TempDir) -> ServerProcess {
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("DATABASE_URL", &url),
    ])
}

async fn total_messages(url: &str) -> Value {
    let stats: Value = reqwest::get(format!("{url}/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["total_messages"].clone()
}

/// How many of the first 40 deliveries `--scheme whatsapp --generate` makes for seed 3 carry
/// statuses and no message.
const SEED3_STATUS_ONLY: u64 = 8;

#[tokio::test]
async fn send_whatsapp_stores_every_message_of_generated_deliveries_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = whatsapp_server(&dir);
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let args = [
        "send",
        "--url",
        &server.url,
        "--scheme",
        "whatsapp",
        "--generate",
        "40",
        "--seed",
        "3",
        "--json",
    ];
    let first = run_app(&env, &args, None).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let summary = json_of(&first);
    assert_eq!(
        (
            &summary["deliveries"],
            &summary["sent"],
            &summary["accepted"]
        ),
        (&json!(40), &json!(40), &json!(40))
    );
    let messages = summary["messages"].as_u64().unwrap();
    // Several messages a delivery on average, and some deliveries of statuses only.
    assert!(messages > 60, "{summary}");
    assert!(summary["statuses"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["messages_accepted"], json!(messages));
    assert!(summary["messages_per_s"].is_number(), "{summary}");
    assert_eq!(total_messages(&server.url).await, json!(messages));
    // Seed 3's 40 deliveries: SEED3_STATUS_ONLY carry statuses only, the rest new messages.
    let counts = |summary: &Value| {
        (
            summary["created"].clone(),
            summary["duplicate"].clone(),
            summary["acknowledged"].clone(),
        )
    };
    assert_eq!(
        counts(&summary),
        (
            json!(40 - SEED3_STATUS_ONLY),
            json!(0),
            json!(SEED3_STATUS_ONLY)
        ),
        "{summary}"
    );

    // Meta's redeliveries add nothing: every delivery of messages is a duplicate now.
    let again = run_app(&env, &args, None).await;
    assert_eq!(again.code, Some(0), "{again:?}");
    let again = json_of(&again);
    assert_eq!(again["messages_accepted"], json!(messages));
    assert_eq!(
        counts(&again),
        (
            json!(0),
            json!(40 - SEED3_STATUS_ONLY),
            json!(SEED3_STATUS_ONLY)
        ),
        "{again}"
    );
    assert_eq!(total_messages(&server.url).await, json!(messages));
    server.signal("TERM");
    let (status, _, _) = server.wait_for_exit(crate::helpers::PATIENCE);
    assert!(status.success());
}

#[tokio::test]
async fn send_whatsapp_posts_a_fixture_as_is_and_one_message_from_flags() {
    let dir = tempfile::tempdir().unwrap();
    let server = whatsapp_server(&dir);
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/whatsapp/several_messages.json"
    );
    let sent = run_app(
        &env,
        &[
            "send",
            "--url",
            &server.url,
            "--scheme",
            "whatsapp",
            "--file",
            fixture,
        ],
        None,
    )
    .await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    assert!(sent.stdout.starts_with("deliveries  1\n"), "{sent:?}");
    assert!(
        sent.stdout
            .contains("accepted    1 (created 1, duplicate 0, acknowledged 0)\n"),
        "{sent:?}"
    );
    assert!(
        sent.stdout
            .contains("messages    3 in the deliveries, 3 in accepted ones; 0 statuses\n"),
        "{sent:?}"
    );
    // Meta's redelivery of it: a duplicate, in the table and in --json.
    let resent = run_app(
        &env,
        &[
            "send",
            "--url",
            &server.url,
            "--scheme",
            "whatsapp",
            "--file",
            fixture,
        ],
        None,
    )
    .await;
    assert_eq!(resent.code, Some(0), "{resent:?}");
    assert!(
        resent
            .stdout
            .contains("accepted    1 (created 0, duplicate 1, acknowledged 0)\n"),
        "{resent:?}"
    );
    let status_only = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/whatsapp/status_update.json"
    );
    let statuses = run_app(
        &env,
        &[
            "send",
            "--url",
            &server.url,
            "--scheme",
            "whatsapp",
            "--file",
            status_only,
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(statuses.code, Some(0), "{statuses:?}");
    let summary = json_of(&statuses);
    assert_eq!(
        (
            &summary["accepted"],
            &summary["messages"],
            &summary["statuses"]
        ),
        (&json!(1), &json!(0), &json!(1))
    );
    assert_eq!(
        (
            &summary["created"],
            &summary["duplicate"],
            &summary["acknowledged"]
        ),
        (&json!(0), &json!(0), &json!(1))
    );

    let one = run_app(
        &env,
        &[
            "send",
            "--url",
            &server.url,
            "--scheme",
            "whatsapp",
            "--message-id",
            "wamid.flags1",
            "--from",
            "+919876543210",
            "--to",
            "+15550783881",
            "--ts",
            "2025-06-08T21:00:05Z",
            "--text",
            "And one more",
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(one.code, Some(0), "{one:?}");
    let summary = json_of(&one);
    assert_eq!(
        (
            &summary["created"],
            &summary["duplicate"],
            &summary["acknowledged"],
            &summary["messages_accepted"]
        ),
        (&json!(1), &json!(0), &json!(0), &json!(1))
    );
    let page: Value = reqwest::get(format!("{}/messages?from=%2B919876543210", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["data"],
        json!([
            {"message_id":"wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgUM0E1QzdGOEVDMjE0QjM0NkQ3NjUA",
             "from":"+919876543210","to":"+15550783881","ts":"2025-06-08T21:00:02Z",
             "text":"Namaste, I would like to order two more."},
            {"message_id":"wamid.flags1","from":"+919876543210","to":"+15550783881",
             "ts":"2025-06-08T21:00:05Z","text":"And one more"}
        ])
    );
    assert_eq!(total_messages(&server.url).await, json!(4));

    let wrong = run_app(
        &[("WHATSAPP_APP_SECRET", "not-the-apps")],
        &[
            "send",
            "--url",
            &server.url,
            "--scheme",
            "whatsapp",
            "--generate",
            "5",
        ],
        None,
    )
    .await;
    assert_one_line_error(
        &wrong,
        1,
        "/webhook/whatsapp answered 401 (invalid signature): the app secret is not the \
         server's WHATSAPP_APP_SECRET",
    );
    assert_eq!(total_messages(&server.url).await, json!(4));
    server.signal("TERM");
    let (status, _, _) = server.wait_for_exit(crate::helpers::PATIENCE);
    assert!(status.success());
}

#[tokio::test]
async fn send_with_a_wrong_secret_stops_and_exits_1_with_one_line() {
    let app = TestApp::spawn().await;
    let run = run_app(
        &[("WEBHOOK_SECRET", "not-the-servers")],
        &["send", "--url", &app.url, "--generate", "20"],
        None,
    )
    .await;
    assert_one_line_error(&run, 1, "answered 401 (invalid signature)");
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn send_to_an_unreachable_server_exits_1_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = run_app(
        &[("WEBHOOK_SECRET", SECRET), ("APP_URL", &url)],
        &["send", "--generate", "3"],
        None,
    )
    .await;
    assert_one_line_error(&run, 1, &format!("cannot reach {url}/webhook"));
}

#[tokio::test]
async fn send_of_an_invalid_message_exits_1_naming_the_problem() {
    let app = TestApp::spawn().await;
    let run = send(
        &app,
        &[
            "--message-id",
            "m1",
            "--from",
            "919876543210",
            "--to",
            "+14155550100",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains("rejected    1 (422: 1)"), "{run:?}");
    assert_eq!(
        run.stderr,
        "app: 1 of 1 messages not accepted: 422 × 1 (first: body.from: String should match \
         pattern '^\\+[0-9]{1,15}$')\n"
    );
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn send_refuses_bad_input_before_sending_anything() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"message_id\":\"a\"}\n{\"message_id\":").unwrap();
    let run = send(&app, &["--file", broken.to_str().unwrap()], None).await;
    assert_one_line_error(&run, 2, "broken.json: line 2: not JSON");

    let missing = dir.path().join("missing.json");
    let run = send(&app, &["--file", missing.to_str().unwrap()], None).await;
    assert_one_line_error(&run, 2, "cannot read");

    let run = send(&app, &["--file", "-"], Some(b"  \n")).await;
    assert_one_line_error(&run, 2, "stdin holds no messages");

    let run = send(&app, &["--file", "-"], Some(b"[1]")).await;
    assert_one_line_error(&run, 2, "line 1: item 1 of the array");

    let run = run_app(
        &[("WEBHOOK_SECRET", SECRET)],
        &["send", "--url", "ftp://example", "--generate", "1"],
        None,
    )
    .await;
    assert_one_line_error(&run, 2, "only http:// is supported");

    // Clap's own usage errors: a mode's flags mixed with another's, a zero count.
    let mixed = send(&app, &["--generate", "2", "--message-id", "m1"], None).await;
    assert_eq!(mixed.code, Some(2), "{mixed:?}");
    let zero = send(&app, &["--generate", "0"], None).await;
    assert_eq!(zero.code, Some(2), "{zero:?}");
    let incomplete = send(&app, &["--message-id", "m1"], None).await;
    assert_eq!(incomplete.code, Some(2), "{incomplete:?}");
    assert_eq!(app.row_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn list_and_stats_print_plain_stable_tables_when_piped() {
    let app = seeded_app().await;
    let listed = read_db(&app, &["list"]).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    assert_eq!(
        listed.stdout,
        "message_id  from           to            ts                      text\n\
         m2          +14155550123   +14155550100  2025-01-15T09:00:00Z    Earlier\\nline\n\
         m1          +919876543210  +14155550100  2025-01-15T10:00:00Z    Hello\n\
         m3          +919876543210  +14155550100  2025-01-15T10:00:00.5Z\n\
         3 of 3 messages (offset 0, limit 50)\n"
    );
    let page = read_db(
        &app,
        &[
            "list",
            "--from",
            "+919876543210",
            "--limit",
            "1",
            "--offset",
            "1",
        ],
    )
    .await;
    assert_eq!(
        page.stdout,
        "message_id  from           to            ts                      text\n\
         m3          +919876543210  +14155550100  2025-01-15T10:00:00.5Z\n\
         1 of 2 messages (offset 1, limit 1)\n"
    );
    let stats = read_db(&app, &["stats"]).await;
    assert_eq!(
        stats.stdout,
        "messages       3\n\
         senders        2\n\
         first message  2025-01-15T09:00:00Z\n\
         last message   2025-01-15T10:00:00.5Z\n\
         \n\
         top senders\n\
         from           count\n\
         +919876543210      2\n\
         +14155550123       1\n"
    );
    app.stop().await;
}

#[tokio::test]
async fn list_and_stats_of_an_empty_database_say_so() {
    let app = TestApp::spawn().await;
    let listed = read_db(&app, &["list"]).await;
    assert_eq!(
        listed.stdout,
        "message_id  from  to  ts  text\n0 of 0 messages (offset 0, limit 50)\n"
    );
    let stats = read_db(&app, &["stats", "--json"]).await;
    assert_eq!(
        json_of(&stats),
        json!({"total_messages":0,"senders_count":0,"messages_per_sender":[],
               "first_message_ts":null,"last_message_ts":null})
    );
    app.stop().await;
}

#[tokio::test]
async fn list_rejects_invalid_flags_like_the_api_in_one_line() {
    let app = seeded_app().await;
    let run = read_db(
        &app,
        &["list", "--limit", "0", "--offset", "-1", "--since", "soon"],
    )
    .await;
    assert_one_line_error(&run, 2, "");
    assert_eq!(
        run.stderr,
        "app: invalid --limit \"0\": Input should be greater than or equal to 1; \
         invalid --offset \"-1\": Input should be greater than or equal to 0; \
         invalid --since \"soon\": Input should be a valid datetime: an RFC 3339 instant such \
         as 2025-01-15T09:30:00Z\n"
    );
    let run = read_db(&app, &["list", "--limit", "101"]).await;
    assert_one_line_error(
        &run,
        2,
        "invalid --limit \"101\": Input should be less than or equal to 100",
    );
    let run = read_db(&app, &["list", "--limit", "ten"]).await;
    assert_one_line_error(&run, 2, "Input should be a valid integer");
    app.stop().await;
}

#[tokio::test]
async fn list_and_stats_refuse_a_missing_database_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent/app.db");
    let url = format!("sqlite://{}", path.display());
    for command in ["list", "stats"] {
        let run = run_app(&[("DATABASE_URL", &url)], &[command], None).await;
        assert_one_line_error(&run, 2, &format!("no database at {}", path.display()));
    }
    assert!(!dir.path().join("absent").exists());
}

#[tokio::test]
async fn list_and_stats_refuse_bad_database_urls_and_foreign_files() {
    for (url, needle) in [
        (
            "postgres://localhost/app",
            "DATABASE_URL must start with sqlite:",
        ),
        ("sqlite://", "DATABASE_URL names no database file"),
        ("sqlite::memory:", "in memory"),
    ] {
        for command in ["list", "stats", "migrate"] {
            let run = run_app(&[("DATABASE_URL", url)], &[command], None).await;
            assert_one_line_error(&run, 2, needle);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let url = format!("sqlite://{}", empty.display());
    let run = run_app(&[("DATABASE_URL", &url)], &["list"], None).await;
    assert_one_line_error(&run, 2, "has no schema yet: run `app migrate`");

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database, but long enough to have a header page of its own",
    )
    .unwrap();
    let url = format!("sqlite://{}", text.display());
    let run = run_app(&[("DATABASE_URL", &url)], &["stats"], None).await;
    assert_one_line_error(&run, 1, "cannot read");
}

#[tokio::test]
async fn list_and_stats_read_only_this_binarys_schema_version_and_backup_copies_any() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let url = format!("sqlite://{}", db.display());
    let env = [("DATABASE_URL", url.as_str())];
    assert_eq!(run_app(&env, &["migrate"], None).await.code, Some(0));
    // The file as the binary before the newest migration left it.
    let latest = latest_schema_version();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "DROP TABLE deletions;
             DELETE FROM refinery_schema_history WHERE version = {latest};"
        ))
        .unwrap();
    for command in [&["list", "--q", "hello"][..], &["stats"]] {
        let run = run_app(&env, command, None).await;
        assert_one_line_error(
            &run,
            2,
            &format!(
                "{} is at schema version {}, this binary's is {latest}: run `app migrate`",
                db.display(),
                latest - 1
            ),
        );
    }
    let copy = dir.path().join("copy.db");
    let backup = run_app(&env, &["backup", copy.to_str().unwrap()], None).await;
    assert_eq!(backup.code, Some(0), "{backup:?}");
    assert_eq!(run_app(&env, &["migrate"], None).await.code, Some(0));
    let listed = run_app(&env, &["list", "--q", "hello", "--json"], None).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    assert_eq!(json_of(&listed)["total"], 0);
    // A file a newer binary migrated further.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (?1, 'from_the_future', '', '0')",
            [latest + 1],
        )
        .unwrap();
    let run = run_app(&env, &["stats"], None).await;
    assert_one_line_error(
        &run,
        2,
        &format!(
            "is at schema version {}, this binary's is {latest}: read it with the binary that \
             wrote it",
            latest + 1
        ),
    );
}

#[tokio::test]
async fn a_closed_stdout_ends_list_quietly_with_success() {
    let app = TestApp::spawn().await;
    // More than a pipe buffer of rows, so that the write meets the closed pipe.
    let long = "x".repeat(4000);
    let messages: Vec<Value> = (0..40)
        .map(|i| {
            message(
                &format!("m{i:02}"),
                "+1",
                "2025-01-15T10:00:00Z",
                Some(&long),
            )
        })
        .collect();
    app.seed(&messages).await;
    let mut command = app_command(&[("DATABASE_URL", &app.database_url())]);
    command
        .args(["list", "--limit", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (status, first_line, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        (output.status, first_line, output.stderr)
    })
    .await
    .unwrap();
    assert!(first_line.starts_with("message_id"), "{first_line}");
    assert_eq!(status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&stderr), "");
    app.stop().await;
}

#[tokio::test]
async fn committed_completions_match_the_cli() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in [
        ("bash", "app.bash"),
        ("zsh", "_app"),
        ("fish", "app.fish"),
        ("elvish", "app.elv"),
        ("powershell", "_app.ps1"),
    ] {
        let generated = run_app(&[], &["completions", shell], None).await;
        assert_eq!(generated.code, Some(0), "{generated:?}");
        let committed =
            std::fs::read_to_string(root.join("completions").join(file)).unwrap_or_default();
        assert!(
            generated.stdout == committed,
            "completions/{file} is out of date with the CLI: run `make completions` and commit \
             the result"
        );
    }
}

#[tokio::test]
async fn healthcheck_asks_the_server_that_host_and_port_name() {
    let app = TestApp::spawn().await;
    let port = app.url.rsplit(':').next().unwrap().to_string();
    // 0.0.0.0 (every interface, serve's default) is asked on loopback.
    for host in ["127.0.0.1", "0.0.0.0"] {
        let ready = run_app(&[("HOST", host), ("PORT", &port)], &["healthcheck"], None).await;
        assert_eq!(
            (ready.code, ready.stderr.as_str()),
            (Some(0), ""),
            "{host}: {ready:?}"
        );
    }
    // An explicit URL still wins over HOST and PORT.
    let ready = run_app(&[("PORT", "1")], &["healthcheck", "--url", &app.url], None).await;
    assert_eq!(
        (ready.code, ready.stderr.as_str()),
        (Some(0), ""),
        "{ready:?}"
    );

    app.state.start_draining();
    let draining = run_app(&[("PORT", &port)], &["healthcheck"], None).await;
    assert_one_line_error(&draining, 1, "");
    assert_eq!(
        draining.stderr,
        format!(
            "app: {}/health/ready answered 503 Service Unavailable: not ready: accepting \
             (shutting down)\n",
            app.url
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn healthcheck_names_why_it_failed_in_one_line() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let refused = run_app(&[("PORT", &free_port)], &["healthcheck"], None).await;
    assert_one_line_error(&refused, 1, "");
    assert_eq!(
        refused.stderr,
        format!(
            "app: http://127.0.0.1:{free_port}/health/ready: connection refused (is `app serve` \
             running there?)\n"
        )
    );
    let url = format!("http://127.0.0.1:{free_port}");
    let refused = run_app(&[("HEALTHCHECK_URL", &url)], &["healthcheck"], None).await;
    assert_one_line_error(&refused, 1, "connection refused");

    // A listener that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let late = run_app(
        &[("PORT", &port)],
        &["healthcheck", "--timeout-secs", "1"],
        None,
    )
    .await;
    assert_one_line_error(&late, 1, "");
    assert_eq!(
        late.stderr,
        format!("app: http://127.0.0.1:{port}/health/ready: timed out after 1 s\n")
    );
    drop(silent);

    let nonsense = run_app(&[], &["healthcheck", "--url", "nonsense"], None).await;
    assert_one_line_error(&nonsense, 2, "");
    assert_eq!(
        nonsense.stderr,
        "app: invalid --url \"nonsense\": not an absolute URL: give the scheme and host, e.g. \
         http://127.0.0.1:8000\n"
    );
    let any_port = run_app(&[("PORT", "0")], &["healthcheck"], None).await;
    assert_one_line_error(&any_port, 2, "PORT is 0");
    let bad_port = run_app(&[("PORT", "eighty")], &["healthcheck"], None).await;
    assert_one_line_error(
        &bad_port,
        2,
        "PORT must be a port from 1 to 65535, not \"eighty\"",
    );
}

#[tokio::test]
async fn errors_say_each_cause_once_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let shown = |name: &str| dir.path().join(name).display().to_string();
    let url = |name: &str| format!("sqlite://{}", shown(name));

    let missing = run_app(&[("DATABASE_URL", &url("absent.db"))], &["list"], None).await;
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert_eq!(
        missing.stderr,
        format!(
            "app: no database at {} (run `app migrate` or start `app serve` first)\n",
            shown("absent.db")
        )
    );

    std::fs::write(
        dir.path().join("notes.txt"),
        "not a database, but long enough to have a header page of its own",
    )
    .unwrap();
    let foreign = run_app(&[("DATABASE_URL", &url("notes.txt"))], &["list"], None).await;
    assert_eq!(foreign.code, Some(1), "{foreign:?}");
    assert_eq!(
        foreign.stderr,
        format!(
            "app: cannot read {}: database error: file is not a database\n",
            shown("notes.txt")
        )
    );

    // A folder that cannot be made: the system's reason once, not twice.
    let file = run_app(
        &[("DATABASE_URL", &url("notes.txt/x/app.db"))],
        &["migrate"],
        None,
    )
    .await;
    assert_eq!(file.code, Some(1), "{file:?}");
    assert_eq!(
        file.stderr,
        format!(
            "app: cannot create the database folder {}: Not a directory (os error 20)\n",
            shown("notes.txt/x")
        )
    );

    let unread = run_app(
        &[("WEBHOOK_SECRET", SECRET)],
        &["send", "--file", &shown("absent.json")],
        None,
    )
    .await;
    assert_eq!(
        unread.stderr,
        format!(
            "app: cannot read {}: No such file or directory (os error 2)\n",
            shown("absent.json")
        )
    );
}

#[tokio::test]
async fn a_database_url_password_is_never_printed() {
    const PASSWORD: &str = "pa55-never-shown";
    let dir = tempfile::tempdir().unwrap();
    for url in [
        format!("sqlite://user:{PASSWORD}@/{}/x.db", dir.path().display()),
        format!(
            "sqlite://user:{PASSWORD}@localhost/{}/x.db",
            dir.path().display()
        ),
        format!("postgres://user:{PASSWORD}@localhost/app"),
    ] {
        let env = [("DATABASE_URL", url.as_str()), ("WEBHOOK_SECRET", SECRET)];
        for args in [
            &["serve"][..],
            &["migrate"],
            &["migrate", "--status"],
            &["list"],
        ] {
            // In the temp folder, and stopped if it runs on: a URL taken for a relative path
            // would create folders, and `serve` would start.
            let mut command = app_command(&env);
            command.args(args).current_dir(dir.path());
            let run = tokio::task::spawn_blocking(move || run_for_at_most(command, 10))
                .await
                .unwrap();
            assert_eq!(run.code, Some(2), "{args:?} {run:?}");
            let said = format!("{}{}", run.stdout, run.stderr);
            assert!(said.contains("user:***@"), "{args:?} {run:?}");
            assert!(!said.contains(PASSWORD), "{args:?} {run:?}");
        }
        let help = run_app(&env, &["serve", "--help"], None).await;
        assert!(!help.stdout.contains(PASSWORD), "{help:?}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Runs `command` with its output captured, killing it (and failing) after `seconds`.
fn run_for_at_most(mut command: std::process::Command, seconds: u64) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "still running after {seconds} s: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[tokio::test]
async fn send_says_how_to_give_messages_and_where_a_file_or_url_is_wrong() {
    let app = TestApp::spawn().await;
    let nothing = send(&app, &[], None).await;
    assert_one_line_error(&nothing, 2, "");
    assert_eq!(
        nothing.stderr,
        "app: nothing to send: give one message (--message-id, --from, --to), a file of them \
         (--file PATH, or - for stdin), or --generate N synthetic ones\n"
    );
    let partial = send(&app, &["--message-id", "m1", "--text", "hi"], None).await;
    assert_eq!(
        partial.stderr,
        "app: one message needs --message-id, --from and --to: --from, --to missing\n"
    );

    // The third line is cut short: named as line 3, not as where the parser gave up.
    let ndjson = b"{\"message_id\":\"a\"}\n{\"message_id\":\"b\"}\n{\"message_id\":\n\
                   {\"message_id\":\"d\"}\n";
    let bad = send(&app, &["--file", "-"], Some(ndjson)).await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(
        bad.stderr.starts_with("app: stdin: line 3: not JSON: "),
        "{bad:?}"
    );
    let bad = send(
        &app,
        &["--file", "-"],
        Some(b"{\"a\":1}\n{\"b\":2}\n{\"c\" 3}\n"),
    )
    .await;
    assert_eq!(
        bad.stderr,
        "app: stdin: line 3: not JSON: expected `:` (column 6)\n"
    );

    // A file that starts with a UTF-8 byte order mark, as some editors save it.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(
        message("bom-1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hi"))
            .to_string()
            .as_bytes(),
    );
    let sent = send(&app, &["--file", "-", "--json"], Some(&with_bom)).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    assert_eq!(json_of(&sent)["created"], 1);

    let nonsense = send(&app, &["--generate", "1"], None).await;
    assert_eq!(nonsense.code, Some(0), "{nonsense:?}");
    for (url, why) in [
        (
            "nonsense",
            "not an absolute URL: give the scheme and host, e.g. http://127.0.0.1:8000",
        ),
        ("http://:8000", "empty host"),
        ("http://127.0.0.1:99999", "invalid port number"),
    ] {
        let run = run_app(
            &[("WEBHOOK_SECRET", SECRET)],
            &["send", "--url", url, "--generate", "1"],
            None,
        )
        .await;
        assert_one_line_error(&run, 2, "");
        assert_eq!(run.stderr, format!("app: invalid --url {url:?}: {why}\n"));
    }
    assert_eq!(app.row_count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn ctrl_c_stops_send_with_the_summary_so_far_and_exit_130() {
    const COUNT: usize = 50_000;
    let app = TestApp::spawn().await;
    let mut command = app_command(&[("WEBHOOK_SECRET", SECRET)]);
    command
        .args(["send", "--url", &app.url, "--concurrency", "2"])
        .args(["--generate", &COUNT.to_string(), "--seed", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    // Interrupted once the server has stored some of them, long before the last: a few, so
    // that the client has had the answers to some (a row is visible a moment before its 200
    // reaches the client).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.row_count() < 10 {
        assert!(std::time::Instant::now() < deadline, "nothing was stored");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(130), "{stdout}{stderr}");
    let said = regex::Regex::new(&format!(
        r"^app: interrupted: (\d+) of {COUNT} messages sent\n$"
    ))
    .unwrap();
    let sent: usize = said
        .captures(&stderr)
        .unwrap_or_else(|| panic!("{stderr:?}"))[1]
        .parse()
        .unwrap();
    assert!(sent > 0 && sent < COUNT, "{sent}");
    // The summary of what was sent, as a finished run prints it (no progress bar: not a tty).
    assert!(
        stdout.starts_with(&format!(
            "messages    {COUNT}\nsent        {sent}\naccepted    "
        )),
        "{stdout}"
    );
    let stored = usize::try_from(app.row_count()).unwrap();
    assert!(
        stored + 2 >= sent && stored <= sent + 2,
        "{stored} stored, {sent} sent"
    );
    app.stop().await;
}
