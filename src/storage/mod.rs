//! Everything that touches SQLite, shared by the server and the CLI. This file is the front door:
//!
//! - [`Storage`], the server's handle: inserts go to the one writer, reads run on a small pool
//!   of read-only connections on tokio's blocking threads, never on the async workers; past its
//!   [`Bounds`] (a full writer queue, too many reads at once) it refuses at once with
//!   [`StorageError::Busy`] instead of making callers wait;
//! - [`ReadOnlyStorage`], the same reads on an existing file, for `app list` and `app stats`,
//!   and its online backup into a new file, for `app backup`;
//! - [`Pruner`], deleting old messages from an existing file, for `app prune`;
//! - [`BulkLoad`], filling a file outside any server (the benchmark's data sets, tests);
//! - [`migrate`] and [`migration_status`], for `app migrate`.
//!
//! Behind it:
//!
//! - `error`: [`StorageError`], and [`OpenError`] for the commands that open a file;
//! - `connection`: opening connections with the right pragmas and SQL functions;
//! - `file_identity`: which file the connections belong to, and moving them to another;
//! - `readers`: the pool of read-only connections;
//! - `writer`: the one writer thread and its group commit;
//! - `insert`: storing messages exactly once, the one way every row is stored;
//! - `listing`: rows enter the listing indexes and the aggregates after their acknowledgement;
//! - `aggregates`: the sums behind `/stats` and some totals, kept per listed or deleted batch;
//! - `prune`: deleting old messages, the one way rows leave, and [`Retention`];
//! - `backup`: the online backup and the check of the copy;
//! - `queries`: the reads behind `/messages` and `/stats`;
//! - `search`: what `q` matches, and the substring-search index behind it;
//! - `migrations`: the embedded schema migrations.
//!
//! # Faults
//!
//! A failed commit answers every message of its batch with [`StorageError::Unavailable`] (the API
//! turns it into a 503, so senders retry) and records the failure for readiness; the next batch,
//! or a readiness probe, opens a fresh connection and migrates, and the first commit that
//! succeeds clears the failure. A file that can only be opened read-only is refused, not used.
//! A database file removed or replaced under the server is detected and handled as
//! `file_identity` describes: no commit into a file that is no longer at the path is
//! acknowledged.

pub(crate) mod aggregates;
pub(crate) mod backup;
pub(crate) mod bulk_load;
pub(crate) mod connection;
pub(crate) mod error;
pub(crate) mod file_identity;
pub(crate) mod insert;
pub(crate) mod listing;
pub(crate) mod migrations;
pub(crate) mod prune;
pub(crate) mod queries;
pub(crate) mod read_only;
pub(crate) mod readers;
pub(crate) mod search;
pub(crate) mod writer;

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::Semaphore;

pub use backup::{BackupError, BackupReport};
pub use bulk_load::BulkLoad;
pub use connection::{AUTOCHECKPOINT_PAGES, AutoCheckpoint, Durability};
pub use error::{OpenError, StorageError};
pub use insert::Insertion;
pub use migrations::{
    Applied, Migrated, Migration, MigrationStatus, latest_schema_version, migrate, migration_status,
};
pub use prune::{Pruner, Retention, age_before};
pub use queries::{MessageRow, Page, SenderCount, Stats};
pub use read_only::ReadOnlyStorage;
pub use search::search_matches;

use crate::config::Location;
use crate::filters::ListQuery;
use crate::message::NewMessage;
use connection::Filename;
use file_identity::DatabaseFile;
use readers::{ReadAttempt, Readers};

/// Below this much free space on the database's file system, readiness fails: a few full
/// batches must still fit, and an operator should hear of it before writes start failing.
pub const MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// The server's handle on the database. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    file: Arc<DatabaseFile>,
    readers: Arc<Readers>,
    writer: writer::WriterHandle,
    /// Behind an `Arc` like the rest: the handle is cloned into the tasks that read.
    durability: Arc<Durability>,
    /// One permit per read that may hold a blocking thread: beyond, reads are refused at once,
    /// so that a flood of them cannot take every blocking thread (and starve ingest's).
    reads: Arc<Semaphore>,
}

/// How much may wait on the database before more is refused ([`StorageError::Busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Requests waiting for the writer.
    pub writer_queue: usize,
    /// Reads running at once, each on a blocking thread.
    pub concurrent_reads: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            writer_queue: writer::QUEUE_CAPACITY,
            concurrent_reads: MAX_CONCURRENT_READS,
        }
    }
}

/// Reads running at once: a few per core is enough to keep SQLite busy (reads are short and
/// CPU-bound), and leaves tokio's blocking threads to everything else.
const MAX_CONCURRENT_READS: usize = 16;

impl Storage {
    /// Opens (creating when needed) the database, applies pending migrations and starts the writer.
    pub fn open(location: &Location) -> Result<Self, StorageError> {
        Self::open_with(location, AutoCheckpoint::default(), None)
    }

    /// Like [`Storage::open`], the writer checkpointing the log as `autocheckpoint` says; with a
    /// `retention`, it also deletes the messages older than it, a small batch at a time while it
    /// has nothing to commit.
    pub fn open_with(
        location: &Location,
        autocheckpoint: AutoCheckpoint,
        retention: Option<Retention>,
    ) -> Result<Self, StorageError> {
        Self::open_bounded(location, autocheckpoint, retention, Bounds::default())
    }

    /// Like [`Storage::open_with`], with other [`Bounds`] than the default (small ones, to see
    /// what happens when they are reached).
    pub fn open_bounded(
        location: &Location,
        autocheckpoint: AutoCheckpoint,
        retention: Option<Retention>,
        bounds: Bounds,
    ) -> Result<Self, StorageError> {
        let filename = Filename::resolve(location)?.with_autocheckpoint(autocheckpoint);
        let mut conn = connection::open_writer(&filename)?;
        migrations::run(&mut conn)?;
        let durability = Arc::new(Durability::read(&conn)?);
        let file = Arc::new(DatabaseFile::new(filename));
        let readers = Arc::new(Readers::new(Arc::clone(&file)));
        let writer = writer::spawn(
            conn,
            Arc::clone(&file),
            Arc::clone(&readers),
            retention,
            bounds.writer_queue,
        );
        Ok(Self {
            file,
            readers,
            writer,
            durability,
            reads: Arc::new(Semaphore::new(bounds.concurrent_reads)),
        })
    }

    /// How commits are made durable, as the writer's connection reports it.
    pub fn durability(&self) -> &Durability {
        &self.durability
    }

    /// Stores a message exactly once; resolves when the outcome is committed to disk.
    pub async fn insert(&self, message: NewMessage) -> Result<Insertion, StorageError> {
        let mut outcomes = self.writer.insert(vec![message]).await?;
        Ok(outcomes
            .pop()
            .expect("the writer answers with one outcome per message"))
    }

    /// Stores messages exactly once each, all in one transaction: resolves when every outcome
    /// (in the messages' order) is committed to disk; when that fails, none of them is stored.
    pub async fn insert_all(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<Insertion>, StorageError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.writer.insert(messages).await
    }

    /// A page of messages and the total for its filters: `GET /messages`.
    pub async fn list_messages(&self, query: ListQuery) -> Result<Page, StorageError> {
        self.read(Bound::Held, move |conn| {
            queries::list_messages(conn, &query)
        })
        .await
    }

    /// The `GET /stats` figures.
    pub async fn stats(&self) -> Result<Stats, StorageError> {
        self.read(Bound::Held, queries::stats).await
    }

    /// The schema version the database is at, `None` when no migration has run on it; ready
    /// means [`latest_schema_version`].
    pub async fn schema_version(&self) -> Result<Option<i64>, StorageError> {
        // Readiness: one short query now and then, which a flood of reads must not make fail.
        self.read(Bound::Exempt, migrations::current_version).await
    }

    /// `Ok` when the writer can commit. After a failure it tries again first (reopening the
    /// database and committing an empty change), so that recovery shows without traffic.
    pub async fn writable(&self) -> Result<(), String> {
        if !self.writer.failing() && !self.file.changed() {
            return Ok(());
        }
        self.writer.probe().await.map_err(|error| match error {
            StorageError::Unavailable(reason) => reason,
            other => other.to_string(),
        })
    }

    /// Free bytes on the database's file system and whether it is mounted read-only; `None` in
    /// memory or where the platform cannot tell.
    pub fn file_system(&self) -> Option<FileSystem> {
        let path = self.file.filename().path()?;
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        FileSystem::of(folder)
    }

    /// The sizes of the database file and its write-ahead log now (a file that does not exist
    /// counts 0); `None` in memory. A few `stat`s: call it off the async threads.
    pub fn file_sizes(&self) -> Option<FileSizes> {
        let path = self.file.filename().path()?;
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |metadata| metadata.len());
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Some(FileSizes {
            database: size(path),
            wal: size(Path::new(&wal)),
        })
    }

    /// Stops taking inserts, commits everything already queued and waits for the writer to end.
    pub async fn close(&self) {
        let writer = self.writer.clone();
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }

    /// Runs `read` on a read-only connection, off the async threads. When the database file was
    /// replaced, the writer first moves to the new one (see `file_identity`).
    async fn read<T, F>(&self, bound: Bound, read: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let read = match self.read_once(bound, read).await? {
            ReadAttempt::Ran(result) => return result,
            ReadAttempt::FileChanged(read) => read,
        };
        // When the switch fails, the retry finds the file still changed.
        let _ = self.writer.probe().await;
        match self.read_once(bound, read).await? {
            ReadAttempt::Ran(result) => result,
            ReadAttempt::FileChanged(_) => Err(StorageError::Replaced),
        }
    }

    async fn read_once<T, F>(
        &self,
        bound: Bound,
        read: F,
    ) -> Result<ReadAttempt<T, F>, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let permit = match bound {
            Bound::Held => Some(
                Arc::clone(&self.reads)
                    .try_acquire_owned()
                    .map_err(|_| StorageError::Busy("reads are at their bound"))?,
            ),
            Bound::Exempt => None,
        };
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let attempt = readers.read(read);
            drop(permit);
            attempt
        })
        .await
        .map_err(|_| StorageError::Closed)
    }
}

/// Whether a read counts against [`Bounds::concurrent_reads`].
#[derive(Debug, Clone, Copy)]
enum Bound {
    Held,
    Exempt,
}

/// How large the database's files are, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSizes {
    pub database: u64,
    pub wal: u64,
}

/// What readiness wants to know about the file system holding the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSystem {
    pub free_bytes: u64,
    pub read_only: bool,
}

impl FileSystem {
    #[cfg(unix)]
    fn of(folder: &Path) -> Option<Self> {
        let stats = rustix::fs::statvfs(folder).ok()?;
        Some(Self {
            free_bytes: stats.f_bavail.saturating_mul(stats.f_frsize),
            read_only: stats.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        })
    }

    #[cfg(not(unix))]
    fn of(_: &Path) -> Option<Self> {
        None
    }
}
