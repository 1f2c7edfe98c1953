//! The read-only handle on an existing database file, for `app list`, `app stats` and
//! `app backup`: the same reads as the server's, on one read-only connection, without a writer.

use std::path::Path;

use rusqlite::Connection;

use super::backup::{self, BackupError, BackupReport};
use super::connection::{self, Filename};
use super::error::{OpenError, StorageError};
use super::migrations::{self, Accept};
use super::queries::{self, Page, Stats};
use super::search;
use crate::config::Location;
use crate::filters::ListQuery;

/// A read-only connection to an existing, migrated database file.
///
/// Opening it never creates anything. It works while `app serve` writes (WAL): each read sees
/// the last committed snapshot.
pub struct ReadOnlyStorage {
    conn: Connection,
}

impl ReadOnlyStorage {
    /// Opens the database file at `location` to read at whichever schema version it is (to
    /// copy it). A missing file, an in-memory database (only the process holding it can read
    /// it) and a file no migration has run on are each refused with their own [`OpenError`], so
    /// that a command can say what to do.
    pub fn open_existing(location: &Location) -> Result<Self, OpenError> {
        Self::open(location, Accept::Any)
    }

    /// Like [`ReadOnlyStorage::open_existing`], and the file must be at this binary's schema
    /// version ([`OpenError::SchemaVersion`] otherwise): the reads use the tables of every
    /// migration (a search, those of the newest).
    pub fn open_current(location: &Location) -> Result<Self, OpenError> {
        Self::open(location, Accept::Latest)
    }

    fn open(location: &Location, accept: Accept) -> Result<Self, OpenError> {
        let path = location.path().ok_or(OpenError::InMemory)?;
        if !path.exists() {
            return Err(OpenError::Missing(path.to_path_buf()));
        }
        let conn = connection::open_reader(&Filename::resolve(location)?).map_err(|source| {
            OpenError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        migrations::check_schema(&conn, path, accept)?;
        Ok(Self { conn })
    }

    /// A page of messages and the total for its filters: `GET /messages`.
    pub fn list_messages(&self, query: &ListQuery) -> Result<Page, StorageError> {
        queries::list_messages(&self.conn, query)
    }

    /// The `GET /stats` figures.
    pub fn stats(&self) -> Result<Stats, StorageError> {
        queries::stats(&self.conn)
    }

    /// Copies the database into a new file at `destination` with SQLite's online backup API,
    /// one consistent snapshot even while a server writes, then checks the copy
    /// (`integrity_check`) and counts its messages. An existing file is refused, untouched.
    pub fn backup_to(&self, destination: &Path) -> Result<BackupReport, BackupError> {
        backup::copy(&self.conn, destination)
    }

    /// How many stored rows the search index has not taken in yet (searches read them one by
    /// one). For benchmarks and tests that wait for a server's writer to index what it stored.
    pub fn unindexed_rows(&self) -> Result<usize, StorageError> {
        search::backlog(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::ReadOnlyStorage;
    use crate::config::Location;
    use crate::storage::{BulkLoad, OpenError};

    fn open(path: &std::path::Path) -> Result<ReadOnlyStorage, OpenError> {
        ReadOnlyStorage::open_existing(&Location::File(path.to_path_buf()))
    }

    #[test]
    fn memory_a_missing_file_and_a_file_without_schema_are_each_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            ReadOnlyStorage::open_existing(&Location::Memory),
            Err(OpenError::InMemory)
        ));

        let absent = dir.path().join("absent").join("app.db");
        assert!(matches!(open(&absent), Err(OpenError::Missing(path)) if path == absent));
        assert!(
            !dir.path().join("absent").exists(),
            "opening created a folder"
        );

        let bare = dir.path().join("bare.db");
        rusqlite::Connection::open(&bare)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(matches!(open(&bare), Err(OpenError::NoSchema(path)) if path == bare));

        BulkLoad::open(&bare).unwrap().finish().unwrap();
        assert_eq!(open(&bare).unwrap().stats().unwrap().total_messages, 0);
    }
}
