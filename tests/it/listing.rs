//! Rows stored but not yet listed (in the table, not yet in the listing indexes and the sums):
//! every read, through the server and through the CLI, answers exactly as if they were listed.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use webhook_receiver::message::NewMessage;
use webhook_receiver::storage::BulkLoad;

use crate::helpers::{TestApp, database_url, message, run_app};

/// Messages from skewed senders over two days, ids unrelated to the order of their `ts`.
fn messages(range: std::ops::Range<u32>) -> Vec<NewMessage> {
    range
        .map(|i| {
            let sender = if i % 4 == 0 { 1 } else { i * 7 % 13 };
            let ts = format!(
                "2025-03-{:02}T{:02}:{:02}:00Z",
                1 + i * 5 % 2,
                i * 11 % 24,
                i * 17 % 60
            );
            let text = ["hello there", "nothing", "Say HELLO"][(i % 3) as usize];
            let body = message(
                &format!("m{}", i * 37 % 101),
                &format!("+{sender}"),
                &ts,
                Some(text),
            );
            NewMessage::from_json(body.to_string().as_bytes()).unwrap()
        })
        .collect()
}

/// Stores `messages` as a writer does before it lists them: the row alone, `listed = 0`.
fn store_unlisted(db: &Path, messages: &[NewMessage]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    for m in messages {
        conn.execute(
            "INSERT INTO messages
                 (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, listed)
             VALUES (?1, ?2, ?3, ?4, ?5, '2025-01-01T00:00:00.000Z', ?6, 0)
             ON CONFLICT (message_id) DO NOTHING",
            rusqlite::params![m.message_id, m.from, m.to, m.ts, m.text, m.ts_key],
        )
        .unwrap();
    }
}

fn unlisted(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM messages WHERE rowid > (SELECT listed_through FROM list_progress)",
        [],
        |row| row.get(0),
    )
    .unwrap()
}

const READS: [&str; 9] = [
    "/stats",
    "/messages?limit=7",
    "/messages?limit=7&offset=30",
    "/messages?limit=100&offset=3",
    "/messages?from=%2B1&limit=5&offset=9",
    "/messages?since=2025-03-02T05:00:00Z&limit=4&offset=2",
    "/messages?from=%2B3&since=2025-03-01T12:00:00Z",
    "/messages?q=hello&limit=6&offset=11",
    "/messages?q=he&limit=6&offset=11",
];

/// The same read through `app`: `list` or `stats` with `--json`.
async fn read_with_app(db: &Path, read: &str) -> Value {
    let mut args = vec!["--json".to_string()];
    let (path, query) = read.split_once('?').unwrap_or((read, ""));
    args.insert(0, if path == "/stats" { "stats" } else { "list" }.into());
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap();
        args.push(format!("--{name}"));
        args.push(value.replace("%2B", "+"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_app(&[("DATABASE_URL", &database_url(db))], &args, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

#[tokio::test]
async fn reads_with_rows_not_yet_listed_answer_as_if_every_row_were_listed() {
    let dir = tempfile::tempdir().unwrap();
    // The same rows twice: all listed, and the last 40 (some repeating earlier ids) unlisted.
    let every = dir.path().join("listed.db");
    let mut load = BulkLoad::open(&every).unwrap();
    load.insert(&messages(0..60)).unwrap();
    load.insert(&messages(60..100)).unwrap();
    load.finish().unwrap();
    let db = dir.path().join("tail.db");
    let mut load = BulkLoad::open(&db).unwrap();
    load.insert(&messages(0..60)).unwrap();
    load.finish().unwrap();
    store_unlisted(&db, &messages(60..100));
    assert!(unlisted(&db) > 20, "{}", unlisted(&db));

    for read in READS {
        let expected = read_with_app(&every, read).await;
        assert_eq!(read_with_app(&db, read).await, expected, "app: {read}");
    }

    // A server lists them when it is idle: its reads are the same before and after.
    let app = TestApp::spawn_at(dir, db.clone(), |_| {}).await;
    for read in READS {
        let (status, body) = app.get_json(read).await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(body, read_with_app(&every, read).await, "server: {read}");
    }
    for _ in 0..500 {
        if unlisted(&db) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(unlisted(&db), 0, "the idle writer lists the tail");
    for read in READS {
        let (_, body) = app.get_json(read).await;
        assert_eq!(body, read_with_app(&every, read).await, "listed: {read}");
    }
    app.stop().await;
}
