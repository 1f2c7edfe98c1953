//! Storage faults under a running server: a full disk, a read-only file system, the database
//! file removed or replaced. Each must answer 503 `{"detail":"storage unavailable"}` on
//! `/webhook` and 503 naming the failing check on `/health/ready`, never a 500 or a panic, and
//! recover by itself once the fault is cleared, every acknowledged message still there.
//!
//! The disk and read-only faults mount small tmpfs file systems, which needs root (chmod does
//! not stop root). CI runs as root, so there a failed mount fails the test: a test that cannot
//! mount must not pass unseen. Where root is not at hand, `SKIP_TMPFS_TESTS=1` says so, and the
//! two tests print why and return.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use webhook_receiver::config::Location;
use webhook_receiver::message::NewMessage;
use webhook_receiver::storage::Storage;

use crate::helpers::{TestApp, message};

/// A tmpfs mounted for one test, unmounted (lazily, so never "busy") when dropped.
struct Tmpfs {
    path: PathBuf,
    _parent: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`16m`) at a fresh folder; `Err` says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let parent = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = parent.path().join("mnt");
        std::fs::create_dir(&path).map_err(|e| e.to_string())?;
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            &path,
        )?;
        Ok(Self {
            path,
            _parent: parent,
        })
    }

    fn remount(&self, mode: &str) {
        run("mount", &["-o", &format!("remount,{mode}")], &self.path).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = run("umount", &["-l"], &self.path);
    }
}

/// Runs `program args… path`, `Err` with its stderr when it fails.
fn run(program: &str, args: &[&str], path: &Path) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The variable that lets a machine without root skip the tmpfs tests.
const SKIP_VARIABLE: &str = "SKIP_TMPFS_TESTS";

/// A tmpfs, or `None` after saying why the test is skipped. A failed mount panics unless
/// `SKIP_TMPFS_TESTS=1` asks to skip, and always under CI (`CI` set, as CI sets it): CI runs
/// as root and must run these tests, and a developer without root says so explicitly rather
/// than seeing them pass.
fn tmpfs_or_skip(test: &str, size: &str) -> Option<Tmpfs> {
    let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    let skip_allowed = !in_ci && std::env::var(SKIP_VARIABLE).is_ok_and(|value| value == "1");
    match Tmpfs::mount(size) {
        Ok(tmpfs) => Some(tmpfs),
        Err(reason) if skip_allowed => {
            eprintln!("skipped {test} ({SKIP_VARIABLE}=1): cannot mount a tmpfs: {reason}");
            None
        }
        Err(reason) if in_ci => {
            panic!("{test}: cannot mount a tmpfs under CI, which must run it as root: {reason}")
        }
        Err(reason) => panic!(
            "{test}: cannot mount a tmpfs (needs root): {reason}; \
             set {SKIP_VARIABLE}=1 to skip it where root is not available"
        ),
    }
}

fn body(id: &str) -> String {
    message(id, "+919876543210", "2025-01-15T10:00:00Z", Some("hello")).to_string()
}

/// Posts a new message and expects the storage-unavailable 503.
async fn assert_refused(app: &TestApp, id: &str) {
    let response = app.post_signed(&body(id)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "storage unavailable"})
    );
}

/// Posts a message and expects it to be stored as new.
async fn assert_created(app: &TestApp, id: &str) {
    let response = app.post_signed(&body(id)).await;
    assert_eq!(response.status(), StatusCode::OK, "{id}");
    assert_eq!(response.headers()["x-webhook-result"], "created", "{id}");
}

/// `/health/ready` is 503 and these checks are among the failing ones; returns the body.
async fn assert_not_ready(app: &TestApp, failing: &[&str]) -> Value {
    let (status, ready) = app.get_json("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "unavailable");
    for check in failing {
        assert_ne!(ready["checks"][check], "ok", "{check}: {ready}");
        assert!(
            ready["detail"].as_str().unwrap().contains(check),
            "{check}: {ready}"
        );
    }
    ready
}

async fn assert_ready(app: &TestApp) {
    let (status, ready) = app.get_json("/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
}

/// The ids stored in the database file at `path`, in order; its integrity check must pass.
fn stored_ids(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut statement = conn
        .prepare("SELECT message_id FROM messages ORDER BY message_id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A consistent copy of the live database at `from`, as one file at `to` (SQLite's backup).
fn backup(from: &Path, to: &Path) {
    let conn = rusqlite::Connection::open(from).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

#[tokio::test]
async fn a_full_disk_answers_503_and_recovers_once_space_is_freed() {
    let Some(disk) = tmpfs_or_skip("the full-disk test", "16m") else {
        return;
    };
    let db_path = disk.path.join("app.db");
    let app = TestApp::spawn_at(tempfile::tempdir().unwrap(), db_path.clone(), |_| {}).await;
    assert_created(&app, "before").await;

    // Fill the file system to the last byte.
    let filler = disk.path.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    for chunk in [1 << 20, 4096, 1] {
        let zeros = vec![0u8; chunk];
        while std::io::Write::write_all(&mut file, &zeros).is_ok() {}
    }
    drop(file);

    // Messages go on being accepted while SQLite finds room in pages it already has; then the
    // first one that needs more is refused.
    let text = "x".repeat(4000);
    let mut acknowledged = vec!["before".to_string()];
    let mut refused = None;
    for n in 0..2000 {
        let id = format!("full-{n:04}");
        let payload = message(&id, "+919876543210", "2025-01-15T10:00:00Z", Some(&text));
        let response = app.post_signed(&payload.to_string()).await;
        match response.status() {
            StatusCode::OK => acknowledged.push(id),
            StatusCode::SERVICE_UNAVAILABLE => {
                let answer: Value = response.json().await.unwrap();
                assert_eq!(answer, json!({"detail": "storage unavailable"}));
                refused = Some(payload);
                break;
            }
            other => panic!("{id}: {other}"),
        }
    }
    let refused = refused.expect("a full disk never refused a message");
    let ready = assert_not_ready(&app, &["writer", "disk"]).await;
    assert!(
        ready["checks"]["writer"].as_str().unwrap().contains("full"),
        "{ready}"
    );
    // Reading goes on.
    let (status, page) = app.get_json("/messages?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], acknowledged.len());

    std::fs::remove_file(&filler).unwrap();
    assert_ready(&app).await;
    // What was refused was not stored: sent again, it is new.
    let response = app.post_signed(&refused.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-webhook-result"], "created");
    acknowledged.push(refused["message_id"].as_str().unwrap().to_string());
    app.stop().await;

    acknowledged.sort();
    assert_eq!(stored_ids(&db_path), acknowledged);
    println!(
        "disk full: {} acknowledged, 1 refused with 503 then stored on retry, 0 lost",
        acknowledged.len() - 1
    );
}

#[tokio::test]
async fn a_read_only_file_system_answers_503_and_recovers_once_writable_again() {
    let Some(volume) = tmpfs_or_skip("the read-only test", "16m") else {
        return;
    };
    // The database path leads through a symbolic link, so that the test can put the database
    // on a read-only file system under the running server: Linux refuses to remount read-only
    // a file system on which the server holds files open for writing.
    let dir = tempfile::tempdir().unwrap();
    let writable = dir.path().join("writable");
    std::fs::create_dir(&writable).unwrap();
    let link = dir.path().join("data");
    std::os::unix::fs::symlink(&writable, &link).unwrap();
    let db_path = link.join("app.db");
    let app = TestApp::spawn_at(tempfile::tempdir().unwrap(), db_path.clone(), |_| {}).await;
    assert_created(&app, "m1").await;

    backup(&db_path, &volume.path.join("app.db"));
    volume.remount("ro");
    let swap = dir.path().join("data.new");
    std::os::unix::fs::symlink(&volume.path, &swap).unwrap();
    std::fs::rename(&swap, &link).unwrap();

    assert_refused(&app, "m2").await;
    let ready = assert_not_ready(&app, &["writer", "disk"]).await;
    assert_eq!(ready["checks"]["disk"], "read-only file system");
    // Reading a read-only database may work or not; it never fails with a 500.
    let (status, _) = app.get_text("/messages").await;
    assert!(
        [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
        "{status}"
    );

    volume.remount("rw");
    assert_ready(&app).await;
    assert_created(&app, "m2").await;
    app.stop().await;
    assert_eq!(stored_ids(&db_path), ["m1", "m2"]);
}

#[tokio::test]
async fn a_removed_database_file_answers_503_until_it_is_restored() {
    let app = TestApp::spawn().await;
    assert_created(&app, "m1").await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    backup(&app.db_path, &copy);

    std::fs::remove_file(&app.db_path).unwrap();
    // SQLite would go on committing into the removed file; those commits would be lost.
    assert_refused(&app, "m2").await;
    assert_not_ready(&app, &["database", "writer"]).await;
    let (status, listing) = app.get_json("/messages").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{listing}");
    assert!(
        !app.db_path.exists(),
        "the server created an empty database in place of the removed one"
    );

    std::fs::copy(&copy, &app.db_path).unwrap();
    assert_ready(&app).await;
    assert_created(&app, "m2").await;
    let (_, listing) = app.get_json("/messages").await;
    assert_eq!(listing["total"], 2);
    assert_eq!(stored_ids(&app.db_path), ["m1", "m2"]);
    app.stop().await;
}

#[tokio::test]
async fn a_database_file_replaced_by_garbage_answers_503_and_a_valid_replacement_is_used() {
    let app = TestApp::spawn().await;
    assert_created(&app, "old").await;
    let dir = tempfile::tempdir().unwrap();

    // Garbage moved over the database.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 64 * 1024]).unwrap();
    std::fs::rename(&garbage, &app.db_path).unwrap();
    assert_refused(&app, "m1").await;
    assert_not_ready(&app, &["writer"]).await;

    // A valid database (holding one other message) moved over it: the server switches to it.
    let replacement = dir.path().join("replacement.db");
    let other = Storage::open(&Location::File(replacement.clone())).unwrap();
    let restored = message("restored", "+14155550100", "2025-01-14T09:00:00Z", None);
    other
        .insert(NewMessage::from_json(restored.to_string().as_bytes()).unwrap())
        .await
        .unwrap();
    other.close().await;
    std::fs::rename(&replacement, &app.db_path).unwrap();

    assert_created(&app, "m1").await;
    assert_ready(&app).await;
    let (status, listing) = app.get_json("/messages").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = listing["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["restored", "m1"]);
    assert_eq!(stored_ids(&app.db_path), ["m1", "restored"]);
    app.stop().await;
}

#[tokio::test]
async fn a_database_file_moved_away_and_back_keeps_every_acknowledged_message() {
    let app = TestApp::spawn().await;
    // Acknowledged, and still only in the write-ahead log (nothing has checkpointed yet).
    for id in ["m1", "m2", "m3"] {
        assert_created(&app, id).await;
    }
    let aside = app.db_path.with_extension("moved");
    std::fs::rename(&app.db_path, &aside).unwrap();
    assert_refused(&app, "m4").await;
    assert_not_ready(&app, &["database", "writer"]).await;

    std::fs::rename(&aside, &app.db_path).unwrap();
    assert_ready(&app).await;
    assert_created(&app, "m4").await;
    assert_eq!(stored_ids(&app.db_path), ["m1", "m2", "m3", "m4"]);
    app.stop().await;
}
