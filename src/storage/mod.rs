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

pub mod aggregates;
pub mod connection;
pub mod migrations;
pub mod queries;
pub mod search;
pub mod writer;

use std::sync::{Arc, Mutex};

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
    #[error("the storage is shut down")]
    Closed,
}

/// How many idle read connections are kept for reuse.
const MAX_IDLE_READERS: usize = 8;

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
    location: Arc<connection::Target>,
    writer: writer::WriterHandle,
    idle_readers: Arc<Mutex<Vec<Connection>>>,
    durability: Durability,
}

impl Storage {
    /// Opens (creating when needed) the database, applies pending migrations and starts the writer.
    pub fn open(location: &Location) -> Result<Self, StorageError> {
        let target = Arc::new(connection::Target::new(location)?);
        let mut conn = connection::open_writer(&target)?;
        migrations::run(&mut conn)?;
        let durability = Durability::read(&conn)?;
        let writer = writer::spawn(conn, Arc::clone(&target));
        Ok(Self {
            location: target,
            writer,
            idle_readers: Arc::default(),
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

    /// Runs `read` on a read-only connection, off the async threads.
    pub async fn read<T, F>(&self, read: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let storage = self.clone();
        tokio::task::spawn_blocking(move || storage.read_blocking(read))
            .await
            .map_err(|_| StorageError::Closed)?
    }

    fn read_blocking<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let idle = self
            .idle_readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connection::open_reader(&self.location)?,
        };
        let result = read(&conn);
        // A connection that failed may be broken (a replaced file, say): only healthy ones return.
        if result.is_ok() {
            let mut idle = self.idle_readers.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    /// Stops taking inserts, commits everything already queued and waits for the writer to end.
    pub async fn close(&self) {
        let writer = self.writer.clone();
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
}
