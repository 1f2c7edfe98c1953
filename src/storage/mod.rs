//! Everything that touches SQLite, shared by the server and the CLI.
//!
//! - [`aggregates`]: the sums behind `/stats` and some totals, kept per inserted batch.
//! - [`connection`]: opening connections with the right pragmas and SQL functions.
//! - [`migrations`]: the embedded schema migrations.
//! - [`writer`]: the one writer thread and its group commit.
//! - [`queries`]: the reads behind `/messages`, `/stats` and readiness.
//! - [`search`]: the substring-search index behind `q`.
//!
//! [`Storage`] is the server's handle: inserts go to the writer, reads run on a small pool of
//! read-only connections on tokio's blocking threads, never on the async workers.
//!
//! # Faults
//!
//! A failed commit answers every message of its batch with [`StorageError::Unavailable`] (the API
//! turns it into a 503, so senders retry) and records the failure for readiness; the next batch,
//! or a readiness probe, opens a fresh connection and migrates, and the first commit that
//! succeeds clears the failure. A file that can only be opened read-only is refused, not used.
//!
//! The database file being removed or replaced under the server is detected by its identity
//! (device and inode), checked before every batch, after every commit and before every read.
//! SQLite itself would carry on committing into a removed file's orphaned inode, and
//! acknowledging those commits would break "200 means durable": a commit whose file is no longer
//! the one at the path is answered 503. Then the writer checkpoints the old file's log into it,
//! closes every connection to it, and only then opens the file now at the path, which must not
//! inherit the old `-wal` (see `Shared::switch_files`). A removed file is not created afresh:
//! restore it, or restart to start empty.

pub mod aggregates;
pub mod connection;
pub mod migrations;
pub mod queries;
pub mod search;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rusqlite::Connection;

use crate::config::Location;
use crate::message::NewMessage;
pub use writer::Insert;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("no database at {0} (run `app migrate` or start `app serve` first)")]
    Missing(String),
    #[error("the write was not committed: {0}")]
    Unavailable(String),
    #[error("the database file was removed while in use (restore it, or restart to start empty)")]
    Vanished,
    #[error("the database file was removed or replaced while in use")]
    Replaced,
    #[error("the database cannot be written (read-only file or file system)")]
    ReadOnly,
    #[error("the storage is shut down")]
    Closed,
}

/// How many idle read connections are kept for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Below this much free space on the database's file system, readiness fails: a few full
/// batches must still fit, and an operator should hear of it before writes start failing.
pub const MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// How the writer commits, read back from its own connection: what "200 means durable" rests
/// on (WAL with `synchronous=FULL` fsyncs the log before a commit returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `wal` for a file, `memory` for an in-memory database.
    pub journal_mode: String,
    /// `off`, `normal`, `full` or `extra`.
    pub synchronous: String,
}

impl Durability {
    fn read(conn: &Connection) -> Result<Self, StorageError> {
        let journal_mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
        let synchronous = match synchronous {
            0 => "off",
            1 => "normal",
            2 => "full",
            3 => "extra",
            _ => "unknown",
        };
        Ok(Self {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous: synchronous.to_string(),
        })
    }
}

/// The server's handle on the database. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
    writer: writer::WriterHandle,
    /// Behind an `Arc` like the rest: the state (and so this handle) is cloned for every request.
    durability: Arc<Durability>,
}

/// What the writer thread and the readers share.
pub(crate) struct Shared {
    target: connection::Target,
    /// The identity of the file every open connection belongs to. Read-locked for the whole of
    /// every read; write-locked by the writer while it moves everyone to another file, so that
    /// no connection to the old file is still open when the new one is opened.
    file: RwLock<Option<FileId>>,
    idle_readers: Mutex<Vec<Connection>>,
    /// Why the last commit (or write probe) failed; `None` once one succeeds.
    write_failure: Mutex<Option<String>>,
}

/// A file's identity: its device and inode. A file replaced or removed and created again at the
/// same path has another one, as long as the old one is still open (which it is, by us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    /// The identity of the file now at `path`, `None` when there is none.
    #[cfg(unix)]
    pub(crate) fn at(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn at(path: &Path) -> Option<Self> {
        path.exists().then_some(Self {
            device: 0,
            inode: 0,
        })
    }
}

/// A read that ran, or that was handed back because the database file changed under it.
enum Attempt<T, F> {
    Done(Result<T, StorageError>),
    Stale(F),
}

/// `path` with `suffix` appended: SQLite's `-wal` and `-shm` files.
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl Shared {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle_readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// True when the file at the path is no longer the one the connections were opened on.
    pub(crate) fn file_changed(&self) -> bool {
        let current = *self.file.read().unwrap_or_else(PoisonError::into_inner);
        self.moved_from(current)
    }

    /// True when the file at the path is not `file` (never for an in-memory database).
    fn moved_from(&self, file: Option<FileId>) -> bool {
        self.target
            .file()
            .is_some_and(|path| FileId::at(path) != file)
    }

    /// Moves everyone from the old database file to the one now at the path. Called by the
    /// writer, which hands over its connection to the old file (`None` when it had dropped it)
    /// and whose `-wal` was `old_wal`.
    ///
    /// SQLite does not checkpoint a moved file on close and leaves its `-wal` and `-shm` at the
    /// path, where they would be read as the new file's: pages of one database laid over
    /// another. So, with every read finished and no reader left, the old connection checkpoints
    /// its log into the old file and truncates it (a fully checkpointed log is ignored by the
    /// next opener). Without that connection, or when that fails, the old log is renamed aside.
    pub(crate) fn switch_files(&self, old: Option<Connection>, old_wal: Option<FileId>) {
        let mut file = self.file.write().unwrap_or_else(PoisonError::into_inner);
        self.lock_idle().clear();
        let Some(path) = self.target.file() else {
            return;
        };
        let checkpointed = old.is_some_and(|conn| {
            let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
            matches!(busy, Ok(0))
        });
        let wal = sidecar(path, "-wal");
        let leftover = std::fs::metadata(&wal).is_ok_and(|metadata| metadata.len() > 0);
        if !checkpointed && leftover && old_wal.is_some() && FileId::at(&wal) == old_wal {
            let aside = sidecar(path, "-wal.orphaned");
            let renamed = std::fs::rename(&wal, &aside);
            let _ = std::fs::remove_file(sidecar(path, "-shm"));
            tracing::error!(
                renamed = renamed.is_ok(),
                "the write-ahead log of the replaced database file could not be checkpointed: \
                 moved aside (-wal.orphaned)"
            );
        }
        *file = FileId::at(path);
    }

    /// The identity of the `-wal` file now at the path.
    pub(crate) fn wal_identity(&self) -> Option<FileId> {
        FileId::at(&sidecar(self.target.file()?, "-wal"))
    }

    pub(crate) fn write_failure(&self) -> Option<String> {
        self.write_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the outcome of a commit; returns what was recorded before.
    pub(crate) fn set_write_failure(&self, failure: Option<String>) -> Option<String> {
        let mut slot = self
            .write_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, failure)
    }

    /// Runs `read` on a read-only connection of the current file, or hands `read` back when the
    /// file at the path has changed (the writer must switch files first).
    fn read_blocking<T, F>(&self, read: F) -> Attempt<T, F>
    where
        F: FnOnce(&Connection) -> Result<T, StorageError>,
    {
        let file = self.file.read().unwrap_or_else(PoisonError::into_inner);
        if self.moved_from(*file) {
            return Attempt::Stale(read);
        }
        let idle = self.lock_idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => match connection::open_reader(&self.target) {
                Ok(conn) => conn,
                Err(error) => return Attempt::Done(Err(error)),
            },
        };
        let result = read(&conn);
        // A connection that failed may be broken: only healthy ones return to the pool.
        if result.is_ok() {
            let mut idle = self.lock_idle();
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        drop(file);
        Attempt::Done(result)
    }
}

impl Storage {
    /// Opens (creating when needed) the database, applies pending migrations and starts the writer.
    pub fn open(location: &Location) -> Result<Self, StorageError> {
        let target = connection::Target::new(location)?;
        let mut conn = connection::open_writer(&target)?;
        migrations::run(&mut conn)?;
        let durability = Arc::new(Durability::read(&conn)?);
        let file = target.file().and_then(FileId::at);
        let shared = Arc::new(Shared {
            target,
            file: RwLock::new(file),
            idle_readers: Mutex::default(),
            write_failure: Mutex::default(),
        });
        let writer = writer::spawn(conn, Arc::clone(&shared));
        Ok(Self {
            shared,
            writer,
            durability,
        })
    }

    /// How commits are made durable, as the writer's connection reports it.
    pub fn durability(&self) -> &Durability {
        &self.durability
    }

    /// Stores a message exactly once; resolves when the outcome is committed to disk.
    pub async fn insert(&self, message: NewMessage) -> Result<Insert, StorageError> {
        self.writer.insert(message).await
    }

    /// Runs `read` on a read-only connection, off the async threads. When the database file was
    /// replaced, the writer first moves to the new one (see the module docs).
    pub async fn read<T, F>(&self, read: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let read = match self.read_once(read).await? {
            Attempt::Done(result) => return result,
            Attempt::Stale(read) => read,
        };
        // When the switch fails, the retry finds the file still changed.
        let _ = self.writer.probe().await;
        match self.read_once(read).await? {
            Attempt::Done(result) => result,
            Attempt::Stale(_) => Err(StorageError::Replaced),
        }
    }

    async fn read_once<T, F>(&self, read: F) -> Result<Attempt<T, F>, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.read_blocking(read))
            .await
            .map_err(|_| StorageError::Closed)
    }

    /// `Ok` when the writer can commit. After a failure it tries again first (reopening the
    /// database and committing an empty change), so that recovery shows without traffic.
    pub async fn writable(&self) -> Result<(), String> {
        if self.shared.write_failure().is_none() && !self.shared.file_changed() {
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
        let path = self.shared.target.file()?;
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        FileSystem::of(folder)
    }

    /// Stops taking inserts, commits everything already queued and waits for the writer to end.
    pub async fn close(&self) {
        let writer = self.writer.clone();
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
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
