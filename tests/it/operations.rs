//! Operating the store over time: `app backup` and `app prune` run as the real binary beside
//! real servers taking writes, and `RETENTION` in the real `app serve`. After every prune, what
//! the API and the CLI say is checked against the rows that remain, counted by hand.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::config::Location;
use webhook_receiver::message::NewMessage;
use webhook_receiver::signature;
use webhook_receiver::storage::{BulkLoad, ReadOnlyStorage, latest_schema_version};

use crate::helpers::{
    PATIENCE, Run, SECRET, ServerProcess, TestApp, app_command, assert_serve_refuses, database_url,
    message, run_app,
};

/// Runs `app` on the database file at `path`.
async fn app_on(path: &Path, args: &[&str]) -> Run {
    run_app(&[("DATABASE_URL", &database_url(path))], args, None).await
}

fn json_of(run: &Run) -> Value {
    assert_eq!(run.code, Some(0), "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// Asserts a refusal: `code`, nothing on stdout, one `app: …` line on stderr holding `needle`.
fn assert_one_line_error(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, Some(code), "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with("app: "), "{run:?}");
    assert!(run.stderr.contains(needle), "{needle:?} not in {run:?}");
}

/// Waits until the server's writer has moved every stored row into the search index, so that a
/// prune afterwards has index entries to remove.
async fn wait_until_indexed(db: &Path) {
    let storage = ReadOnlyStorage::open_existing(&Location::File(db.to_path_buf())).unwrap();
    for _ in 0..1000 {
        if storage.unindexed_rows().unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the writer left rows unindexed");
}

/// Every message id in the database file, read straight from it.
fn stored_ids(db: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn.prepare("SELECT message_id FROM messages").unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The kept sums of a database file beside the same figures counted from its listed rows: totals,
/// messages per sender, and messages per day.
fn sums_and_counts(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let text = |sql: &str| -> String {
        let mut statement = conn.prepare(sql).unwrap();
        let rows: Vec<String> = statement
            .query_map([], |row| {
                Ok(format!("{:?} {:?}", row.get_ref(0)?, row.get_ref(1)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join("\n")
    };
    [
        (
            "SELECT messages, senders FROM totals",
            "SELECT count(*), count(DISTINCT from_msisdn) FROM messages WHERE listed",
        ),
        (
            "SELECT from_msisdn, message_count FROM sender_counts ORDER BY 1",
            "SELECT from_msisdn, count(*) FROM messages WHERE listed GROUP BY 1 ORDER BY 1",
        ),
        (
            "SELECT prefix, message_count FROM time_counts WHERE prefix_length = 10 ORDER BY 1",
            "SELECT substr(ts_key, 1, 10), count(*) FROM messages WHERE listed GROUP BY 1 ORDER BY 1",
        ),
    ]
    .into_iter()
    .map(|(kept, counted)| (text(kept), text(counted)))
    .collect()
}

fn assert_sums_equal_counts(db: &Path) {
    for (kept, counted) in sums_and_counts(db) {
        assert_eq!(kept, counted);
    }
}

/// Posts distinct messages to `app` from a few tasks until `stop`, each one required to be
/// acknowledged; returns the ids acknowledged.
fn keep_posting(
    url: &str,
    prefix: &'static str,
    ts: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    let url = format!("{url}/webhook");
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let tasks: Vec<_> = (0..4)
            .map(|task| {
                let (client, url, stop) = (client.clone(), url.clone(), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut acknowledged = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("{prefix}-{task}-{i}");
                        let text = format!("load {i}");
                        let body = message(&id, "+14155550123", ts, Some(&text)).to_string();
                        let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
                        let response = client
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .header("X-Signature", signature)
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), StatusCode::OK, "{id}");
                        acknowledged.push(id);
                        i += 1;
                    }
                    acknowledged
                })
            })
            .collect();
        let mut acknowledged = Vec::new();
        for task in tasks {
            acknowledged.extend(task.await.unwrap());
        }
        acknowledged
    })
}

/// Runs `app` with `env` and `args` off the async threads, and fails (killing it) if it has not
/// ended after [`PATIENCE`]: for a command that, broken, would never end.
async fn run_with_patience(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = app_command(env);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let label = format!("{args:?}");
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let deadline = std::time::Instant::now() + PATIENCE;
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("app {label} did not end within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_messages_arrive_is_one_checked_snapshot_that_list_and_stats_read() {
    // Large enough to take several steps of the backup: a commit between two steps would make
    // SQLite start the copy again, and under steady traffic it would never end, unless the copy
    // reads one snapshot throughout.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    load_earlier_messages(&db, PRELOADED);
    let app = TestApp::spawn_at(dir, db, |_| {}).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = keep_posting(&app.url, "load", "2025-01-15T10:00:00Z", Arc::clone(&stop));
    while app.row_count() < PRELOADED + 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");

    let before = app.row_count();
    let backup = run_with_patience(
        &[("DATABASE_URL", &app.database_url())],
        &["backup", copy.to_str().unwrap(), "--json"],
    )
    .await;
    let after = app.row_count();
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.unwrap();

    let report = json_of(&backup);
    let messages = report["messages"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&messages),
        "{before} <= {messages} <= {after}: {report}"
    );
    assert!(
        report["bytes"].as_u64().unwrap() > 2 * 4 * 1024 * 1024,
        "the copy took at least nine steps of 1 MiB: {report}"
    );
    assert_eq!(report["integrity_check"], "ok", "{report}");
    assert_eq!(
        report["schema_version"],
        latest_schema_version(),
        "{report}"
    );
    assert_eq!(report["path"], copy.to_str().unwrap(), "{report}");
    assert_eq!(
        report["bytes"],
        std::fs::metadata(&copy).unwrap().len(),
        "{report}"
    );
    assert!(
        !dir.path().join("copy.db-wal").exists(),
        "the copy is one self-contained file"
    );

    // One snapshot: its kept sums agree with its rows, and every row of it was stored before
    // (preloaded) or acknowledged.
    assert_sums_equal_counts(&copy);
    let in_copy = stored_ids(&copy);
    assert_eq!(in_copy.len() as i64, messages);
    let acknowledged: BTreeSet<String> = acknowledged.into_iter().collect();
    let loaded: BTreeSet<String> = in_copy
        .iter()
        .filter(|id| id.starts_with("load-"))
        .cloned()
        .collect();
    assert_eq!(loaded.len() as i64, messages - PRELOADED);
    assert!(loaded.is_subset(&acknowledged));
    assert_eq!(
        stored_ids(&app.db_path).len(),
        PRELOADED as usize + acknowledged.len()
    );

    let stats = json_of(&app_on(&copy, &["stats", "--json"]).await);
    assert_eq!(stats["total_messages"], messages, "{stats}");
    assert_eq!(stats["senders_count"], 51, "{stats}");
    let listed = json_of(&app_on(&copy, &["list", "--json", "--limit", "1"]).await);
    assert_eq!(listed["total"], messages, "{listed}");
    let args = ["list", "--json", "--from", "+14155550123"];
    let listed = json_of(&app_on(&copy, &args).await);
    assert_eq!(listed["total"], messages - PRELOADED, "{listed}");
    let searched = json_of(&app_on(&copy, &["list", "--json", "--q", "LOAD 1"]).await);
    let expected = loaded
        .iter()
        .filter(|id| id.rsplit('-').next().unwrap().starts_with('1'))
        .count();
    assert_eq!(searched["total"], expected, "{searched}");
}

#[tokio::test]
async fn a_backup_refuses_an_existing_file_and_leaves_it_as_it_was() {
    let app = TestApp::spawn().await;
    app.seed(&[message("m1", "+911", "2025-01-15T10:00:00Z", Some("hi"))])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, "not to be overwritten").unwrap();

    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["backup", existing.to_str().unwrap()],
        None,
    )
    .await;
    assert_one_line_error(&run, 2, "already exists");
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "not to be overwritten"
    );

    let copy = dir.path().join("nested").join("copy.db");
    let missing = dir.path().join("missing.db");
    let run = app_on(&missing, &["backup", copy.to_str().unwrap()]).await;
    assert_one_line_error(&run, 2, "no database at");
    assert!(!copy.exists() && !missing.exists());

    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["backup", copy.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "backed up {} to {}: 1 messages, {} bytes, integrity_check ok\n",
            app.db_path.display(),
            copy.display(),
            std::fs::metadata(&copy).unwrap().len()
        )
    );
}

/// Messages stored in the database before the backup's server starts.
const PRELOADED: i64 = 40_000;

/// Stores `count` messages from 2020 (`old-0`, `old-1`, …, from fifty senders, most without
/// text) straight into a new database file at `db`, and indexes them for search.
fn load_earlier_messages(db: &Path, count: i64) {
    let messages: Vec<NewMessage> = (0..count)
        .map(|i| {
            let ts = format!("2020-01-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60);
            let text = (i % 10 == 0).then_some("old");
            let body = message(&format!("old-{i}"), &format!("+4{}", i % 50), &ts, text);
            NewMessage::from_json(body.to_string().as_bytes()).unwrap()
        })
        .collect();
    let mut load = BulkLoad::open(db).unwrap();
    load.insert(&messages).unwrap();
    load.index_for_search(usize::MAX).unwrap();
    load.finish().unwrap();
}

/// The senders of the known data set: `+10001` to `+10013`.
fn sender(n: u32) -> String {
    format!("+100{n:02}")
}

/// The prune bound of the known data set, and the same instant written with an offset.
const BOUND: &str = "2025-01-10T12:30:00Z";
const BOUND_WITH_OFFSET: &str = "2025-01-10T14:30:00+02:00";

/// A data set whose state after a prune before [`BOUND`] is known by hand. Sender 1 leads the top
/// ten with six messages, all older than the bound, so it leaves; sender 13, outside the top ten,
/// has one old message and leaves too; sender 11, outside the top ten before, enters it after.
/// The old messages share the bound's day and minute with kept ones, and hold search words the
/// kept ones also have.
fn known_data_set() -> (Vec<Value>, Vec<Value>) {
    let old = vec![
        message(
            "o1",
            &sender(1),
            "2025-01-08T09:00:00Z",
            Some("invoice 1 overdue"),
        ),
        message("o2", &sender(1), "2025-01-08T09:00:30Z", Some("Café order")),
        message("o3", &sender(1), "2025-01-09T23:59:59.5Z", None),
        message("o4", &sender(1), "2025-01-10T00:00:00Z", Some("ok")),
        message("o5", &sender(1), "2025-01-10T12:29:00Z", Some("invoice 2")),
        message(
            "o6",
            &sender(1),
            "2025-01-10T12:29:59.999Z",
            Some("see you"),
        ),
        message("o7", &sender(3), "2025-01-09T10:00:00Z", Some("invoice 3")),
        message(
            "o8",
            &sender(3),
            "2025-01-10T12:29:30Z",
            Some("INVOICE four"),
        ),
        message(
            "o9",
            &sender(13),
            "2025-01-05T00:00:00Z",
            Some("zanzibar old"),
        ),
    ];
    let mut kept = vec![
        message("n1", &sender(2), "2025-01-10T12:30:00Z", Some("invoice 5")),
        message(
            "n2",
            &sender(2),
            "2025-01-10T12:30:00.001Z",
            Some("café au lait"),
        ),
        message("n3", &sender(2), "2025-01-11T08:00:00Z", None),
        message("n4", &sender(3), "2025-01-10T12:31:00Z", Some("ok then")),
        message(
            "n5",
            &sender(3),
            "2025-01-12T00:00:00Z",
            Some("Invoice six"),
        ),
    ];
    for k in 0..9 {
        let ts = format!("2025-01-13T10:0{k}:00Z");
        let text = format!("hello {k}");
        kept.push(message(&format!("h{k}"), &sender(4 + k), &ts, Some(&text)));
    }
    (old, kept)
}

/// A server holding the known data set, old and kept messages interleaved, every row indexed.
async fn app_with_known_data_set() -> TestApp {
    let app = TestApp::spawn().await;
    let (old, kept) = known_data_set();
    let mut all = Vec::new();
    for i in 0..old.len().max(kept.len()) {
        all.extend(kept.get(i).cloned());
        all.extend(old.get(i).cloned());
    }
    app.seed(&all).await;
    wait_until_indexed(&app.db_path).await;
    app
}

fn top(senders: &[(u32, i64)]) -> Value {
    senders
        .iter()
        .map(|(n, count)| json!({"from": sender(*n), "count": count}))
        .collect()
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn a_dry_run_counts_what_a_prune_would_delete_and_deletes_nothing() {
    let app = app_with_known_data_set().await;
    let (_, stats_before) = app.get_json("/stats").await;

    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &[
            "prune",
            "--before",
            BOUND_WITH_OFFSET,
            "--dry-run",
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(
        json_of(&run),
        json!({"before": BOUND, "dry_run": true, "deleted": 9, "remaining": 14})
    );
    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["prune", "--before", BOUND, "--dry-run"],
        None,
    )
    .await;
    assert_eq!(
        run.stdout,
        format!(
            "would delete  9 messages older than {BOUND}\nwould remain  14\n\
             dry run: nothing was deleted\n"
        ),
        "{run:?}"
    );
    assert_eq!(app.row_count(), 23);
    assert_eq!(app.get_json("/stats").await.1, stats_before);
}

#[tokio::test]
async fn after_a_prune_stats_totals_searches_and_the_cli_agree_with_the_rows_left() {
    let app = app_with_known_data_set().await;
    let (_, before) = app.get_json("/stats").await;
    assert_eq!(
        before["messages_per_sender"],
        top(&[
            (1, 6),
            (3, 4),
            (2, 3),
            (4, 1),
            (5, 1),
            (6, 1),
            (7, 1),
            (8, 1),
            (9, 1),
            (10, 1)
        ])
    );

    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["prune", "--before", BOUND_WITH_OFFSET, "--json"],
        None,
    )
    .await;
    assert_eq!(
        json_of(&run),
        json!({"before": BOUND, "dry_run": false, "deleted": 9, "remaining": 14})
    );

    let expected_stats = json!({
        "total_messages": 14,
        "senders_count": 11,
        "messages_per_sender": top(&[
            (2, 3), (3, 2), (4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (9, 1), (10, 1), (11, 1)
        ]),
        "first_message_ts": "2025-01-10T12:30:00Z",
        "last_message_ts": "2025-01-13T10:08:00Z",
    });
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!((status, &stats), (StatusCode::OK, &expected_stats));
    let cli_stats = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["stats", "--json"],
        None,
    )
    .await;
    assert_eq!(json_of(&cli_stats), expected_stats);

    // Each total counted by hand from the fourteen rows left (n1 to n5, h0 to h8).
    let totals: &[(&[(&str, &str)], usize)] = &[
        (&[], 14),
        (&[("since", BOUND)], 14),
        (&[("since", "2025-01-01T00:00:00Z")], 14),
        (&[("since", "2025-01-10T00:00:00Z")], 14),
        (&[("since", "2025-01-10T12:29:30Z")], 14),
        (&[("since", "2025-01-10T12:30:00.0005Z")], 13),
        (&[("since", "2025-01-10T12:31:00Z")], 12),
        (&[("since", "2025-01-11T00:00:00Z")], 11),
        (&[("since", "2025-01-13T10:05:00Z")], 4),
        (&[("from", "+10001")], 0),
        (&[("from", "+10013")], 0),
        (&[("from", "+10003")], 2),
        (&[("from", "+10003"), ("since", "2025-01-11T00:00:00Z")], 1),
        (&[("q", "invoice")], 2),
        (&[("q", "invoice"), ("since", "2025-01-11T00:00:00Z")], 1),
        (&[("q", "CAFÉ")], 1),
        (&[("q", "ok")], 1),
        (&[("q", "zanzibar")], 0),
        (&[("q", "see you")], 0),
        (&[("q", "hello")], 9),
        (&[("q", "hello"), ("from", "+10012")], 1),
    ];
    for (filters, expected) in totals {
        let query: String = filters
            .iter()
            .map(|(name, value)| format!("&{name}={}", encode(value)))
            .collect();
        let (status, page) = app.get_json(&format!("/messages?limit=100{query}")).await;
        assert_eq!(status, StatusCode::OK, "{filters:?}: {page}");
        assert_eq!(page["total"], *expected, "{filters:?}: {page}");
        assert_eq!(
            page["data"].as_array().unwrap().len(),
            *expected,
            "{filters:?}"
        );
        let mut args = vec!["list", "--json", "--limit", "100"];
        for (name, value) in filters.iter() {
            args.push(match *name {
                "since" => "--since",
                "from" => "--from",
                _ => "--q",
            });
            args.push(value);
        }
        let listed = run_app(&[("DATABASE_URL", &app.database_url())], &args, None).await;
        assert_eq!(json_of(&listed), page, "app list {filters:?}");
    }
    assert_sums_equal_counts(&app.db_path);
}

#[tokio::test]
async fn a_message_stored_after_the_newest_row_was_pruned_is_found_by_search() {
    let app = TestApp::spawn().await;
    // The last row stored, so the one with the highest rowid, is the oldest message.
    app.seed(&[
        message("kept", "+911", "2025-06-01T00:00:00Z", Some("kept text")),
        message("old", "+911", "2020-01-01T00:00:00Z", Some("zanzibar old")),
    ])
    .await;
    wait_until_indexed(&app.db_path).await;
    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["prune", "--before", "2021-01-01T00:00:00Z", "--json"],
        None,
    )
    .await;
    assert_eq!(json_of(&run)["deleted"], 1);

    // SQLite hands the freed rowid to the next row.
    app.seed(&[message(
        "new",
        "+911",
        "2025-07-01T00:00:00Z",
        Some("Zanzibar new"),
    )])
    .await;
    let expected = json!({
        "data": [{"message_id": "new", "from": "+911", "to": "+14155550100",
                  "ts": "2025-07-01T00:00:00Z", "text": "Zanzibar new"}],
        "total": 1, "limit": 50, "offset": 0,
    });
    assert_eq!(app.get_json("/messages?q=zanzibar").await.1, expected);
    wait_until_indexed(&app.db_path).await;
    assert_eq!(app.get_json("/messages?q=zanzibar").await.1, expected);
    assert_eq!(
        app.get_json("/messages?q=zanzibar%20old").await.1["total"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prune_beside_a_server_taking_writes_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("app.db");
    load_earlier_messages(&db, 3_500);
    let app = TestApp::spawn_at(dir, db.clone(), |_| {}).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = keep_posting(&app.url, "new", "2025-01-15T10:00:00Z", Arc::clone(&stop));

    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["prune", "--before", "2021-01-01T00:00:00Z", "--json"],
        None,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged: BTreeSet<String> = load.await.unwrap().into_iter().collect();

    let summary = json_of(&run);
    assert_eq!(summary["deleted"], 3_500, "{summary}");
    assert_eq!(stored_ids(&db), acknowledged);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], acknowledged.len(), "{stats}");
    assert_eq!(stats["senders_count"], 1, "{stats}");
    assert_eq!(stats["first_message_ts"], "2025-01-15T10:00:00Z", "{stats}");
    let (_, page) = app
        .get_json("/messages?since=2019-01-01T00:00:00Z&limit=1")
        .await;
    assert_eq!(page["total"], acknowledged.len());
    let (_, page) = app.get_json("/messages?q=old&limit=1").await;
    assert_eq!(page["total"], 0);
    assert_sums_equal_counts(&db);
}

#[tokio::test]
async fn prune_refuses_a_missing_or_double_bound_and_bad_values_with_exit_code_2() {
    let app = TestApp::spawn().await;
    let env = [("DATABASE_URL", app.database_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for args in [
        &["prune"][..],
        &["prune", "--before", BOUND, "--older-than", "30d"],
    ] {
        let run = run_app(&env, args, None).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains("--older-than"), "{run:?}");
    }
    for (args, needle) in [
        (
            &["prune", "--before", "yesterday"][..],
            "invalid --before \"yesterday\"",
        ),
        (&["prune", "--before", "2025-01-10"], "invalid --before"),
        (
            &["prune", "--older-than", "30"],
            "invalid --older-than \"30\"",
        ),
        (&["prune", "--older-than", "-1d"], "e.g. 30d"),
        (&["prune", "--older-than", "99999999999w"], "at most"),
    ] {
        assert_one_line_error(&run_app(&env, args, None).await, 2, needle);
    }
    let run = run_app(
        &[("DATABASE_URL", "sqlite::memory:")],
        &["prune", "--older-than", "30d"],
        None,
    )
    .await;
    assert_one_line_error(&run, 2, "in memory");
    let dir = tempfile::tempdir().unwrap();
    let run = app_on(
        &dir.path().join("absent.db"),
        &["prune", "--older-than", "1d"],
    )
    .await;
    assert_one_line_error(&run, 2, "no database at");
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn an_age_prunes_what_is_older_than_that_long_ago() {
    let app = TestApp::spawn().await;
    let recent = (Utc::now() - TimeDelta::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    app.seed(&[
        message("recent", "+911", &recent, None),
        message("old", "+911", "2020-01-01T00:00:00Z", None),
    ])
    .await;
    let run = run_app(
        &[("DATABASE_URL", &app.database_url())],
        &["prune", "--older-than", "1d", "--json"],
        None,
    )
    .await;
    let summary = json_of(&run);
    assert_eq!(
        (&summary["deleted"], &summary["remaining"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        stored_ids(&app.db_path),
        BTreeSet::from(["recent".to_string()])
    );
}

/// Posts `body` signed to the real server at `url`, requiring a 200.
async fn post(client: &reqwest::Client, url: &str, body: Value) {
    let body = body.to_string();
    let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
    let response = client
        .post(format!("{url}/webhook"))
        .header("Content-Type", "application/json")
        .header("X-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_in_serve_deletes_old_messages_while_every_request_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &database_url(&db)),
        ("RETENTION", "30d"),
    ]);
    let client = reqwest::Client::new();
    // More old messages than one retention step deletes, interleaved with recent ones.
    let recent = (Utc::now() - TimeDelta::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let posts: Vec<_> = (0..400)
        .map(|i| {
            let (client, url) = (client.clone(), server.url.clone());
            let body = if i % 4 == 3 {
                message(&format!("recent-{i}"), "+911", &recent, Some("recent"))
            } else {
                let ts = format!("2020-02-{:02}T10:00:00Z", 1 + i % 28);
                message(&format!("old-{i}"), "+44", &ts, Some("old"))
            };
            tokio::spawn(async move { post(&client, &url, body).await })
        })
        .collect();
    for post in posts {
        post.await.unwrap();
    }

    let expected = json!({
        "total_messages": 100,
        "senders_count": 1,
        "messages_per_sender": [{"from": "+911", "count": 100}],
        "first_message_ts": recent,
        "last_message_ts": recent,
    });
    let mut stats = Value::Null;
    for _ in 0..1500 {
        stats = client
            .get(format!("{}/stats", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats, expected);
    let page: Value = client
        .get(format!("{}/messages?q=old", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line == "messages_pruned_total 300"),
        "{metrics}"
    );

    server.signal("TERM");
    let (status, lines, stderr) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{status:?} {stderr}");
    let events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["retention"], "30d", "{}", lines[0]);
    let statuses: Vec<&Value> = events
        .iter()
        .filter(|e| e["msg"] == "request")
        .map(|e| &e["status"])
        .collect();
    assert!(statuses.len() > 400, "{}", statuses.len());
    assert!(
        statuses.iter().all(|status| **status == 200),
        "{statuses:?}"
    );
    let pruned: Vec<&Value> = events
        .iter()
        .filter(|e| e["msg"] == "pruned the messages older than RETENTION")
        .collect();
    assert!(!pruned.is_empty(), "{lines:?}");
    assert!(pruned.iter().all(|e| e["level"] == "INFO"), "{pruned:?}");
    let deleted: u64 = pruned.iter().map(|e| e["deleted"].as_u64().unwrap()).sum();
    assert_eq!(deleted, 300, "{pruned:?}");
    assert_sums_equal_counts(&db);
}

#[test]
fn serve_refuses_a_retention_it_cannot_read_or_under_an_hour_and_takes_empty_as_unset() {
    for value in ["30m", "59m", "0d", "90", "90 days", "1.5d", "-1d", "d"] {
        assert_serve_refuses(&[("RETENTION", value)], &[], "RETENTION", "at least 1h");
    }
    for (value, announced) in [("1h", json!("1h")), ("", Value::Null)] {
        let server = ServerProcess::start(&[
            ("WEBHOOK_SECRET", SECRET),
            ("DATABASE_URL", "sqlite::memory:"),
            ("RETENTION", value),
        ]);
        server.signal("TERM");
        let (status, lines, _) = server.wait_for_exit(PATIENCE);
        assert!(status.success(), "{value:?}: {status:?}");
        let start: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(start["retention"], announced, "{value:?}: {start}");
    }
}
