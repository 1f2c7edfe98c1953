//! What can go wrong: [`StorageError`] for the store's own work, [`OpenError`] for a command
//! that opens a database file and must say what to do about it.

use std::path::PathBuf;

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
    /// The writer's queue is full, or reads are at their bound: nothing was done, and the
    /// caller is answered at once rather than kept waiting.
    #[error("the storage is busy: {0}")]
    Busy(&'static str),
}

/// Why a command could not open a database file, told apart so that it can say what to do:
/// point at another file, create one, migrate it, or look at what is there.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `sqlite::memory:`: only the process holding it can use it.
    #[error("the database is in memory")]
    InMemory,
    /// No file at the path (nothing was created).
    #[error("no database at {}", .0.display())]
    Missing(PathBuf),
    /// A file no migration has run on.
    #[error("{} has no schema yet", .0.display())]
    NoSchema(PathBuf),
    /// A file at another schema version than this binary's: older, or written by a newer one.
    #[error("{} is at schema version {found}, this binary's is {expected}", .path.display())]
    SchemaVersion {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    #[error("cannot open {}", .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("cannot migrate {}", .path.display())]
    Migrate {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    /// Anything else, such as a folder that cannot be created.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
