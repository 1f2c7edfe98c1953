//! The reader pool: read-only connections to the current database file, kept for reuse. A read
//! runs only while the file at the path is the one its connection belongs to (see
//! [`super::file_identity`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use super::connection;
use super::error::StorageError;
use super::file_identity::DatabaseFile;

/// How many idle read connections are kept for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Read-only connections to the database file; the writer closes them all when it switches to
/// another file.
pub(crate) struct Readers {
    file: Arc<DatabaseFile>,
    idle: Mutex<Vec<Connection>>,
}

/// A read that ran, or that was handed back because the database file changed under it.
pub(crate) enum ReadAttempt<T, F> {
    Ran(Result<T, StorageError>),
    FileChanged(F),
}

impl Readers {
    pub(crate) fn new(file: Arc<DatabaseFile>) -> Self {
        Self {
            file,
            idle: Mutex::default(),
        }
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `read` on a read-only connection of the current file, or hands `read` back when the
    /// file at the path has changed (the writer must switch files first). Blocks: call it off
    /// the async threads.
    pub(crate) fn read<T, F>(&self, read: F) -> ReadAttempt<T, F>
    where
        F: FnOnce(&Connection) -> Result<T, StorageError>,
    {
        let Some(unchanged) = self.file.unchanged() else {
            return ReadAttempt::FileChanged(read);
        };
        let idle = self.lock_idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => match connection::open_reader(self.file.filename()) {
                Ok(conn) => conn,
                Err(error) => return ReadAttempt::Ran(Err(error)),
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
        drop(unchanged);
        ReadAttempt::Ran(result)
    }

    /// Closes every idle connection. With no read running (during a switch of files), that is
    /// every connection.
    pub(crate) fn close_idle(&self) {
        self.lock_idle().clear();
    }
}
