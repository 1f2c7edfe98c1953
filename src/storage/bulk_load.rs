//! Filling a database file in bulk, outside any server: how the benchmark builds its data sets
//! and how tests store rows the way another process would. Rows go through the writer's own
//! insert ([`super::insert::insert_messages`]), so they are only ever stored one way.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::connection::{self, Filename};
use super::error::StorageError;
use super::insert::{Insertion, insert_messages};
use super::{listing, migrations, search};
use crate::config::Location;
use crate::message::NewMessage;
use crate::timestamp;

/// A connection that loads messages into a database file in large transactions.
///
/// A load is all or nothing (a load cut short leaves a database to throw away), so its commits
/// do not wait for an fsync; [`BulkLoad::finish`] leaves the file complete without its log.
/// New rows wait for the search index, as after a server's commit, until
/// [`BulkLoad::index_for_search`] takes them in (searches find them either way).
pub struct BulkLoad {
    conn: Connection,
}

impl BulkLoad {
    /// Opens the database file at `path` (creating it and the folders above it when needed) and
    /// brings its schema up to date. A server may be running on it: the load waits for its
    /// turn to write.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let filename = Filename::resolve(&Location::File(path.to_path_buf()))?;
        let mut conn = connection::open_writer(&filename)?;
        migrations::run(&mut conn)?;
        // A load, not live traffic: nothing to make durable until the end, so skip the fsyncs.
        conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
        Ok(Self { conn })
    }

    /// Stores `messages` exactly once each, in one transaction.
    pub fn insert(&mut self, messages: &[NewMessage]) -> Result<Vec<Insertion>, StorageError> {
        // Immediate: take the write lock first, so that a busy database is waited for rather
        // than failing on a snapshot another writer moved past.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let insertions = insert_messages(&tx, messages, &timestamp::now_iso())?;
        // Listed in the same transaction: a loaded database has no tail for reads to merge.
        listing::list_in(&tx, usize::MAX)?;
        tx.commit()?;
        Ok(insertions)
    }

    /// Moves up to `max_rows` of the rows waiting for the search index into it, as a server's
    /// writer does between batches. Returns how many rows it went through.
    pub fn index_for_search(&mut self, max_rows: usize) -> Result<usize, StorageError> {
        search::index_pending(&mut self.conn, max_rows)
    }

    /// How many stored rows wait for the search index.
    pub fn unindexed_rows(&self) -> Result<usize, StorageError> {
        search::backlog(&self.conn)
    }

    /// Checkpoints the load into the database file and closes it.
    pub fn finish(self) -> Result<(), StorageError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}
