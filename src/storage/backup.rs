//! Backups: a consistent copy of a live database file in a new file, made with SQLite's online
//! backup API from a read-only connection ([`super::ReadOnlyStorage::backup_to`]), then checked.
//!
//! The copy is one snapshot. The source connection opens a read transaction before the first
//! step and keeps it until the last, so every step copies pages of the same snapshot: without it,
//! each step would read the newest one, and SQLite restarts a backup from the first page whenever
//! another connection commits between two steps, which under steady traffic could be forever. In
//! WAL mode a reader never blocks the writer, so the server keeps committing throughout (its
//! checkpoints only wait to move past the snapshot until the copy is done, so the `-wal` may grow
//! meanwhile). The pages go over in steps with a short pause between them, so that the copy
//! takes its share of the disk rather than all of it.
//!
//! The copy is left in rollback-journal mode, one self-contained file with no `-wal` beside it,
//! and is then opened afresh: `PRAGMA integrity_check` must say `ok`, and its messages are
//! counted. A destination that exists is never touched (the folders above a new one are
//! created); a copy that fails is removed.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::error::StorageError;
use super::migrations;

/// Pages copied per step: 1 MiB with SQLite's default 4 KiB pages.
const PAGES_PER_STEP: i32 = 256;
/// The pause between two steps.
const PAUSE_BETWEEN_STEPS: Duration = Duration::from_millis(2);

/// What a finished backup holds, as `app backup` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    /// Where the copy is.
    pub path: String,
    /// Messages in the copy.
    pub messages: i64,
    /// Size of the copy's file.
    pub bytes: u64,
    /// What `PRAGMA integrity_check` said of the copy: always `ok` in a report.
    pub integrity_check: String,
    /// The copy's schema version (`None` for a file no migration ran on).
    pub schema_version: Option<i64>,
}

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists: a backup never replaces a file.
    #[error("{} already exists: a backup never overwrites a file, choose a new path", .0.display())]
    Exists(PathBuf),
    #[error("cannot create {}: {source}", .path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot copy the database to {} (removed the partial copy)", .path.display())]
    Copy {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("the copy at {} failed integrity_check (removed it): {problems}", .path.display())]
    Corrupt { path: PathBuf, problems: String },
}

/// Copies the database `source` is connected to into a new file at `destination`, checks the
/// copy and counts its messages (see the module's documentation).
pub(crate) fn copy(source: &Connection, destination: &Path) -> Result<BackupReport, BackupError> {
    let create_error = |source| BackupError::Create {
        path: destination.to_path_buf(),
        source,
    };
    if let Some(folder) = destination
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(create_error)?;
    }
    // Created here, exclusively, so that nothing that appears at the path meanwhile is replaced.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(destination)
    {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(destination.to_path_buf()));
        }
        Err(source) => return Err(create_error(source)),
    }
    let copied = copy_pages(source, destination).and_then(|()| inspect(destination));
    let outcome = match copied {
        Ok((report, problems)) if problems.is_empty() => return Ok(report),
        Ok((_, problems)) => BackupError::Corrupt {
            path: destination.to_path_buf(),
            problems: problems.join("; "),
        },
        Err(source) => BackupError::Copy {
            path: destination.to_path_buf(),
            source,
        },
    };
    remove_copy(destination);
    Err(outcome)
}

/// The backup proper: every page of one snapshot of `source` into the empty file `destination`,
/// then the copy switched to rollback-journal mode.
fn copy_pages(source: &Connection, destination: &Path) -> Result<(), StorageError> {
    let mut copy = open_copy(destination)?;
    // The snapshot every step reads (see the module's documentation); a read-only transaction,
    // so ending it commits nothing.
    let snapshot = source.unchecked_transaction()?;
    snapshot.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    Backup::new(&snapshot, &mut copy)?.run_to_completion(
        PAGES_PER_STEP,
        PAUSE_BETWEEN_STEPS,
        None,
    )?;
    snapshot.finish()?;
    copy.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))?;
    Ok(())
}

/// The copy, opened afresh: what `integrity_check` finds wrong (nothing when it says `ok`), and
/// what the report says of it.
fn inspect(destination: &Path) -> Result<(BackupReport, Vec<String>), StorageError> {
    let copy = open_copy(destination)?;
    let problems: Vec<String> = copy
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?
        .into_iter()
        .filter(|line| line != "ok")
        .collect();
    let schema_version = migrations::current_version(&copy)?;
    let messages = if schema_version.is_some() {
        copy.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?
    } else {
        0
    };
    drop(copy);
    let bytes = std::fs::metadata(destination).map_or(0, |metadata| metadata.len());
    Ok((
        BackupReport {
            path: destination.display().to_string(),
            messages,
            bytes,
            integrity_check: "ok".to_string(),
            schema_version,
        },
        problems,
    ))
}

/// A connection to the copy, which exists already (this module created it).
fn open_copy(destination: &Path) -> Result<Connection, StorageError> {
    Ok(Connection::open_with_flags(
        destination,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

/// Removes a copy that failed, and the journal a failed transaction on it may have left.
fn remove_copy(destination: &Path) {
    let _ = std::fs::remove_file(destination);
    let mut journal = destination.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(PathBuf::from(journal));
}
