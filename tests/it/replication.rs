//! Cooperating with Litestream: `SQLITE_AUTOCHECKPOINT_PAGES` decides whether the server
//! checkpoints the write-ahead log itself. At 0 it never does, so every committed frame stays
//! in the log until another process (Litestream, after copying it) checkpoints it; by default
//! it checkpoints at SQLite's 1000 pages, as it always has. Litestream itself is exercised by
//! `make restore-drill` (scripts/restore-drill.sh), not here: the test suite needs nothing
//! beyond the crate.

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::signature;

use crate::helpers::{
    PATIENCE, SECRET, ServerProcess, assert_serve_refuses, database_url, message,
};

/// Messages posted one after another: each is its own commit of a few pages (two or three: a
/// new row writes only the table and its primary key before it is acknowledged), so that
/// together they write well over 2000 pages to the log.
const COMMITS: usize = 1000;

/// SQLite's default automatic-checkpoint threshold, in pages.
const SQLITE_DEFAULT_PAGES: i64 = 1000;

/// Starts the real server over a fresh file with `autocheckpoint` (unset: the default), posts
/// [`COMMITS`] messages one at a time, and returns its start-up line and how many frames its
/// write-ahead log holds afterwards (read while it still runs, by a checkpoint of our own that
/// reports the log's length).
async fn frames_after_commits(autocheckpoint: Option<&str>) -> (Value, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let url = database_url(&db);
    let mut env = vec![("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", url.as_str())];
    if let Some(pages) = autocheckpoint {
        env.push(("SQLITE_AUTOCHECKPOINT_PAGES", pages));
    }
    let server = ServerProcess::start(&env);
    let client = reqwest::Client::new();
    for n in 0..COMMITS {
        let body = message(
            &format!("wal-{n}"),
            "+919876543210",
            "2025-01-15T10:00:00Z",
            Some("x"),
        )
        .to_string();
        let response = client
            .post(format!("{}/webhook", server.url))
            .header(
                "X-Signature",
                signature::sign(SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "message {n}");
    }
    let stats: Value = client
        .get(format!("{}/stats", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total_messages"], json!(COMMITS), "{stats}");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (busy, frames): (i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(
        busy, 0,
        "the idle server held the database during the checkpoint"
    );
    drop(conn);

    server.signal("TERM");
    let (status, lines, _) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{status:?}");
    (serde_json::from_str(&lines[0]).unwrap(), frames)
}

#[tokio::test]
async fn with_autocheckpoint_off_the_server_leaves_every_commit_in_the_log() {
    let (start, frames) = frames_after_commits(Some("0")).await;
    assert_eq!(start["wal_autocheckpoint"], json!(0), "{start}");
    // Every page of every commit is still in the log: none was checkpointed and the log was
    // never restarted, so there are more frames than any automatic checkpoint would allow.
    assert!(
        frames > 2 * SQLITE_DEFAULT_PAGES,
        "{frames} frames after {COMMITS} commits"
    );
}

#[tokio::test]
async fn by_default_the_server_checkpoints_the_log_at_sqlite_s_1000_pages() {
    let (start, frames) = frames_after_commits(None).await;
    assert_eq!(
        start["wal_autocheckpoint"],
        json!(SQLITE_DEFAULT_PAGES),
        "{start}"
    );
    // Checkpointed (and the log restarted) whenever it reached 1000 pages: it never holds much
    // more than that, although the same commits wrote twice as many pages.
    assert!(
        frames <= SQLITE_DEFAULT_PAGES + 100,
        "{frames} frames after {COMMITS} commits"
    );
}

#[test]
fn serve_starts_with_an_autocheckpoint_threshold_at_either_end_of_its_range() {
    for pages in ["0", "1000000"] {
        let server = ServerProcess::start(&[
            ("WEBHOOK_SECRET", SECRET),
            ("DATABASE_URL", "sqlite::memory:"),
            ("SQLITE_AUTOCHECKPOINT_PAGES", pages),
        ]);
        server.signal("TERM");
        let (status, lines, _) = server.wait_for_exit(PATIENCE);
        assert!(status.success(), "{pages}: {status:?}");
        let start: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            start["wal_autocheckpoint"],
            json!(pages.parse::<i64>().unwrap()),
            "{start}"
        );
    }
}

#[test]
fn serve_refuses_an_autocheckpoint_threshold_out_of_range_or_not_a_number() {
    let refused = |env: &[(&str, &str)], args: &[&str]| {
        assert_serve_refuses(
            env,
            args,
            "SQLITE_AUTOCHECKPOINT_PAGES",
            "from 0 to 1000000",
        );
    };
    for value in ["1000001", "-1", "1.5", "1000 pages", "", "4294967296"] {
        refused(&[("SQLITE_AUTOCHECKPOINT_PAGES", value)], &[]);
    }
    refused(&[], &["--sqlite-autocheckpoint-pages", "off"]);
}
