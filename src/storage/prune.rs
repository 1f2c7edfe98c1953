//! Deleting old messages: [`delete_older`], the one way rows leave the store, used by `app prune`
//! (through [`Pruner`]) and by the server's writer when `RETENTION` is set ([`Retention`]).
//!
//! A message is older than a bound when its `ts`, as an instant, is earlier. Rows go oldest first,
//! a batch per transaction, and each transaction keeps everything derived from the rows true with
//! them: the aggregates ([`aggregates::remove`]) and the search index. The index is contentless,
//! so an entry is removed with FTS5's `delete` command and the text it was made of (the stored
//! text, folded by [`search_fold`] exactly as when it was indexed); only rows the index holds are
//! removed from it, since deleting an entry that was never added corrupts it.
//!
//! Rowids: `messages` has no `AUTOINCREMENT`, so once the highest rowid is deleted SQLite gives it
//! to the next row stored. The index counts every rowid up to `search_progress.indexed_through`
//! as indexed; a new row under that mark would never be indexed nor read as a candidate, and `q`
//! would miss it. So after deleting, the mark comes down to the highest rowid left: rows stored
//! afterwards are above it, waiting for the index, and every search reads them.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, TransactionBehavior, params};

use super::connection::{self, Filename};
use super::error::{OpenError, StorageError};
use super::migrations::Accept;
use super::search::search_fold;
use super::{aggregates, listing, migrations, queries};
use crate::config::Location;
use crate::timestamp::{KeyBound, instant_key};

/// Sorts after every instant key (each starts with a four-digit year): the bound of "every row".
const AFTER_EVERY_KEY: &str = "~";

/// The `ts_key` every message to delete sorts before; `None` when no message can be older.
fn upper_key(bound: &KeyBound) -> Option<&str> {
    match bound {
        KeyBound::BeforeAll => None,
        KeyBound::Key(key) => Some(key),
        KeyBound::AfterAll => Some(AFTER_EVERY_KEY),
    }
}

/// A row being deleted: what the index and the aggregates must forget about it.
struct Doomed {
    rowid: i64,
    from: String,
    ts_key: String,
    text: Option<String>,
}

/// Deletes the oldest messages whose `ts` is earlier than `bound`, at most `max_rows` of them,
/// in one transaction that also takes them out of the aggregates and the search index and keeps
/// the index's mark at or below the highest rowid left (see the module's documentation).
/// Returns how many it deleted: fewer than `max_rows` means none older is left.
pub(crate) fn delete_older(
    conn: &mut Connection,
    bound: &KeyBound,
    max_rows: usize,
) -> Result<usize, StorageError> {
    let Some(upper) = upper_key(bound) else {
        return Ok(0);
    };
    // Immediate: take the write lock first, so that a busy database is waited for rather than
    // failing on a snapshot another writer moved past.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let listed_through = listing::listed_through(&tx)?;
    let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
    let read = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<Doomed>, StorageError> {
        Ok(tx
            .prepare_cached(sql)?
            .query_map(args, |row| {
                Ok(Doomed {
                    rowid: row.get(0)?,
                    from: row.get(1)?,
                    ts_key: row.get(2)?,
                    text: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    };
    // The oldest listed rows (from the index) and the oldest unlisted ones, merged.
    let mut doomed = read(
        "SELECT rowid, from_msisdn, ts_key, text FROM messages
          WHERE listed AND ts_key < ?1 ORDER BY ts_key LIMIT ?2",
        params![upper, limit],
    )?;
    doomed.extend(read(
        "SELECT rowid, from_msisdn, ts_key, text FROM messages
          WHERE rowid > ?3 AND ts_key < ?1 ORDER BY ts_key LIMIT ?2",
        params![upper, limit, listed_through],
    )?);
    doomed.sort_by(|a, b| a.ts_key.cmp(&b.ts_key).then(a.rowid.cmp(&b.rowid)));
    doomed.truncate(max_rows);
    if doomed.is_empty() {
        return Ok(0);
    }
    let indexed_through: i64 =
        tx.query_row("SELECT indexed_through FROM search_progress", [], |row| {
            row.get(0)
        })?;
    {
        let mut unindex = tx.prepare_cached(
            "INSERT INTO message_search (message_search, rowid, text_folded)
             VALUES ('delete', ?1, ?2)",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM messages WHERE rowid = ?1")?;
        for row in &doomed {
            if let Some(text) = row.text.as_deref().filter(|_| row.rowid <= indexed_through) {
                unindex.execute(params![row.rowid, search_fold(text)])?;
            }
            delete.execute([row.rowid])?;
        }
    }
    // Only listed rows were counted: an unlisted one leaves nothing to take out.
    aggregates::remove(
        &tx,
        doomed
            .iter()
            .filter(|row| row.rowid <= listed_through)
            .map(|row| (row.from.as_str(), row.ts_key.as_str())),
    )?;
    listing::lower_mark_after_delete(&tx)?;
    // Remembered search totals counted the rows before this delete (search::Remembered).
    tx.prepare_cached("UPDATE deletions SET count = count + 1")?
        .execute([])?;
    tx.prepare_cached(
        "UPDATE search_progress
            SET indexed_through = (SELECT coalesce(max(rowid), 0) FROM messages)
          WHERE indexed_through > (SELECT coalesce(max(rowid), 0) FROM messages)",
    )?
    .execute([])?;
    tx.commit()?;
    Ok(doomed.len())
}

/// How many messages have a `ts` earlier than `bound`.
pub(crate) fn count_older(conn: &Connection, bound: &KeyBound) -> Result<i64, StorageError> {
    let Some(upper) = upper_key(bound) else {
        return Ok(0);
    };
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM messages WHERE listed AND ts_key < ?1)
                  + (SELECT count(*) FROM messages
                      WHERE rowid > (SELECT listed_through FROM list_progress)
                        AND ts_key < ?1)",
        )?
        .query_row([upper], |row| row.get(0))?)
}

/// How many messages are stored.
fn stored(conn: &Connection) -> Result<i64, StorageError> {
    let tx = conn.unchecked_transaction()?;
    let stored = queries::stored_messages(&tx)?;
    tx.finish()?;
    Ok(stored)
}

/// The instant `age` before `now`; `None` when that is before any date there can be.
pub fn age_before(now: DateTime<Utc>, age: Duration) -> Option<DateTime<Utc>> {
    now.checked_sub_signed(TimeDelta::from_std(age).ok()?)
}

/// The bound of the messages older than `cutoff`, as [`delete_older`] takes it; `None` (a cutoff
/// before any date) bounds none.
pub(crate) fn bound_at(cutoff: Option<DateTime<Utc>>) -> KeyBound {
    cutoff.map_or(KeyBound::BeforeAll, |instant| instant_key(&instant))
}

/// How long the server keeps messages (`RETENTION`): when it is set, the writer deletes the
/// messages whose `ts` is more than this before the current time, in small batches while it has
/// nothing to commit (see the `writer` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(Duration);

impl Retention {
    /// Keeps each message for `keep` after its `ts`.
    pub fn new(keep: Duration) -> Self {
        Self(keep)
    }

    /// The instant before which messages are deleted at `now`; `None` when that is before any
    /// date there can be.
    pub(crate) fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        age_before(now, self.0)
    }
}

/// Rows one `app prune` transaction deletes: a batch holds the write lock for a few tens of
/// milliseconds, which is all a running server's writer may have to wait.
const PRUNE_BATCH: usize = 1_000;
/// Between two batches the write lock is left free at least this long, and at most
/// [`MAX_PAUSE`]: as long as the batch before held it. SQLite's locks are not fair, so without a
/// pause the next batch could take the lock again before a waiting server retries, batch after
/// batch, until the server's busy timeout failed its commit.
const MIN_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// A read-write connection of its own to an existing database file, for `app prune`: it deletes
/// in short transactions beside a running server, whose writer SQLite's write lock takes turns
/// with (each waits at most one batch of the other).
pub struct Pruner {
    conn: Connection,
}

impl Pruner {
    /// Opens the database file at `location` to prune it. Nothing is created: a missing file, an
    /// in-memory database, a file without the schema and a file at another schema version than
    /// this binary's are each refused with their own [`OpenError`].
    pub fn open_existing(location: &Location) -> Result<Self, OpenError> {
        let path = location.path().ok_or(OpenError::InMemory)?;
        if !path.exists() {
            return Err(OpenError::Missing(path.to_path_buf()));
        }
        let open_error = |source| OpenError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn =
            connection::reopen_writer(&Filename::resolve(location)?).map_err(
                |error| match error {
                    StorageError::Vanished => OpenError::Missing(path.to_path_buf()),
                    other => open_error(other),
                },
            )?;
        // The aggregates and the index a prune keeps true are the latest migration's.
        migrations::check_schema(&conn, path, Accept::Latest)?;
        Ok(Self { conn })
    }

    /// How many messages have a `ts` earlier than `bound`.
    pub fn count_older(&self, bound: &KeyBound) -> Result<i64, StorageError> {
        count_older(&self.conn, bound)
    }

    /// How many messages are stored.
    pub fn stored(&self) -> Result<i64, StorageError> {
        stored(&self.conn)
    }

    /// Deletes every message with a `ts` earlier than `bound`, oldest first, a batch per
    /// transaction with a pause between batches. Returns how many it deleted. Interrupted, it
    /// leaves a consistent store with fewer old messages.
    pub fn delete_older(&mut self, bound: &KeyBound) -> Result<u64, StorageError> {
        let mut deleted = 0u64;
        loop {
            let started = Instant::now();
            let batch = delete_older(&mut self.conn, bound, PRUNE_BATCH)?;
            deleted += batch as u64;
            if batch < PRUNE_BATCH {
                return Ok(deleted);
            }
            std::thread::sleep(started.elapsed().clamp(MIN_PAUSE, MAX_PAUSE));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use rusqlite::Connection;

    use super::{Retention, bound_at, delete_older};
    use crate::config::Location;
    use crate::message::NewMessage;
    use crate::storage::aggregates::tests::sums_and_counts;
    use crate::storage::connection::{self, Filename};
    use crate::storage::{insert, listing, migrations, search};
    use crate::timestamp::{KeyBound, instant_key, parse_instant};

    fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> NewMessage {
        let body = serde_json::json!({
            "message_id": id, "from": from, "to": "+2", "ts": ts, "text": text,
        });
        NewMessage::from_json(body.to_string().as_bytes()).unwrap()
    }

    fn store(conn: &mut Connection, messages: &[NewMessage]) {
        let tx = conn.transaction().unwrap();
        insert::insert_messages(&tx, messages, "2025-01-01T00:00:00.000Z").unwrap();
        listing::list_in(&tx, usize::MAX).unwrap();
        tx.commit().unwrap();
    }

    fn bound(ts: &str) -> KeyBound {
        instant_key(&parse_instant(ts).unwrap())
    }

    /// A private in-memory database with the server's SQL functions (indexing uses them).
    fn open() -> Connection {
        let filename = Filename::resolve(&Location::Memory).unwrap();
        let mut conn = connection::open_writer(&filename).unwrap();
        migrations::run(&mut conn).unwrap();
        conn
    }

    /// The rowids the search index returns for `needle`'s trigrams (the candidates, before
    /// `contains_ci` decides), sorted.
    fn index_hits(conn: &Connection, needle: &str) -> Vec<i64> {
        let query = search::trigram_query(needle).unwrap();
        let mut statement = conn
            .prepare("SELECT rowid FROM message_search WHERE message_search MATCH ?1 ORDER BY 1")
            .unwrap();
        statement
            .query_map([query], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn rowid_of(conn: &Connection, id: &str) -> i64 {
        conn.query_row(
            "SELECT rowid FROM messages WHERE message_id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap()
    }

    fn indexed_through(conn: &Connection) -> i64 {
        conn.query_row("SELECT indexed_through FROM search_progress", [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    #[test]
    fn the_sums_equal_counts_of_the_rows_after_every_prune() {
        let mut conn = open();
        // Skewed senders (so that top-ten members fall behind others), days and minutes emptied
        // and left partly full, batches smaller than what is older, and duplicates of the bound.
        let mut next = crate::testing::numbers(11);
        let messages: Vec<NewMessage> = (0..600)
            .map(|i| {
                let sender = if i % 3 == 0 { next() % 4 } else { next() % 25 };
                let ts = format!(
                    "2025-01-{:02}T{:02}:{:02}:{:02}Z",
                    1 + next() % 4,
                    next() % 3,
                    next() % 3,
                    next() % 60
                );
                message(&format!("m{i}"), &format!("+{sender}"), &ts, Some("x"))
            })
            .collect();
        for chunk in messages.chunks(50) {
            store(&mut conn, chunk);
        }
        for (ts, batch) in [
            ("2025-01-01T01:00:00Z", 7),
            ("2025-01-02T00:01:30Z", 40),
            ("2025-01-02T00:01:30Z", 40),
            ("2025-01-03T02:02:00+01:00", 1_000),
            ("2025-01-04T02:00:00Z", 13),
        ] {
            while delete_older(&mut conn, &bound(ts), batch).unwrap() == batch {
                for (kept, counted) in sums_and_counts(&conn) {
                    assert_eq!(kept, counted, "within the prune before {ts}");
                }
            }
            for (kept, counted) in sums_and_counts(&conn) {
                assert_eq!(kept, counted, "after the prune before {ts}");
            }
            let older: i64 = conn
                .query_row(
                    "SELECT count(*) FROM messages WHERE ts_key < ?1",
                    [match bound(ts) {
                        KeyBound::Key(key) => key,
                        other => panic!("{other:?}"),
                    }],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(older, 0, "{ts}");
        }
        assert!(delete_older(&mut conn, &KeyBound::AfterAll, 10_000).unwrap() > 0);
        for (kept, counted) in sums_and_counts(&conn) {
            assert_eq!(kept, counted, "after deleting everything");
        }
        let totals: (i64, i64) = conn
            .query_row("SELECT messages, senders FROM totals", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!(totals, (0, 0));
    }

    #[test]
    fn deleted_rows_leave_the_search_index_and_the_rest_stay_in_it() {
        let mut conn = open();
        let texts = ["alpha one", "bravo two", "charlie three", "delta four"];
        let messages: Vec<NewMessage> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let ts = format!("2025-01-0{}T10:00:00Z", i + 1);
                message(&format!("m{i}"), "+1", &ts, Some(text))
            })
            .chain([message("m9", "+1", "2025-01-09T10:00:00Z", None)])
            .collect();
        store(&mut conn, &messages);
        search::index_pending(&mut conn, 100).unwrap();
        assert_eq!(index_hits(&conn, "bravo"), [rowid_of(&conn, "m1")]);

        assert_eq!(
            delete_older(&mut conn, &bound("2025-01-03T00:00:00Z"), 100).unwrap(),
            2
        );
        assert_eq!(index_hits(&conn, "alpha"), Vec::<i64>::new());
        assert_eq!(index_hits(&conn, "bravo"), Vec::<i64>::new());
        assert_eq!(index_hits(&conn, "charlie"), [rowid_of(&conn, "m2")]);
        assert_eq!(index_hits(&conn, "delta"), [rowid_of(&conn, "m3")]);
        conn.execute(
            "INSERT INTO message_search (message_search) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn rows_stored_after_the_newest_rowid_was_deleted_wait_for_the_index() {
        let mut conn = open();
        // The newest row (highest rowid) is also the oldest message: a prune takes it.
        store(
            &mut conn,
            &[
                message("kept", "+1", "2025-06-01T00:00:00Z", Some("kept text")),
                message("old", "+1", "2020-01-01T00:00:00Z", Some("zanzibar old")),
            ],
        );
        search::index_pending(&mut conn, 100).unwrap();
        let old_rowid = rowid_of(&conn, "old");
        assert_eq!(indexed_through(&conn), old_rowid);

        delete_older(&mut conn, &bound("2021-01-01T00:00:00Z"), 100).unwrap();
        assert_eq!(indexed_through(&conn), rowid_of(&conn, "kept"));

        store(
            &mut conn,
            &[message(
                "new",
                "+1",
                "2025-07-01T00:00:00Z",
                Some("zanzibar new"),
            )],
        );
        let new_rowid = rowid_of(&conn, "new");
        assert_eq!(new_rowid, old_rowid, "SQLite gave the freed rowid again");
        assert!(
            new_rowid > indexed_through(&conn),
            "the new row waits for the index"
        );
        assert_eq!(search::index_pending(&mut conn, 100).unwrap(), 1);
        assert_eq!(index_hits(&conn, "zanzibar new"), [new_rowid]);
        assert_eq!(
            index_hits(&conn, "zanzibar old"),
            Vec::<i64>::new(),
            "the old text left the index with its row"
        );
    }

    #[test]
    fn rows_not_yet_indexed_are_deleted_without_touching_the_index() {
        let mut conn = open();
        store(
            &mut conn,
            &[message("a", "+1", "2020-01-01T00:00:00Z", Some("indexed"))],
        );
        search::index_pending(&mut conn, 100).unwrap();
        store(
            &mut conn,
            &[message("b", "+1", "2020-01-02T00:00:00Z", Some("waiting"))],
        );
        assert_eq!(
            delete_older(&mut conn, &KeyBound::AfterAll, 100).unwrap(),
            2
        );
        assert_eq!(indexed_through(&conn), 0);
        conn.execute(
            "INSERT INTO message_search (message_search) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
        assert_eq!(index_hits(&conn, "indexed"), Vec::<i64>::new());
    }

    #[test]
    fn nothing_is_older_than_an_instant_before_year_zero() {
        let mut conn = open();
        store(
            &mut conn,
            &[message("a", "+1", "0000-01-01T00:00:00Z", None)],
        );
        assert_eq!(
            delete_older(&mut conn, &KeyBound::BeforeAll, 100).unwrap(),
            0
        );
        assert_eq!(super::count_older(&conn, &KeyBound::AfterAll).unwrap(), 1);
    }

    #[test]
    fn a_retention_bounds_messages_older_than_it_at_the_time_given() {
        let now: DateTime<Utc> = "2025-03-31T12:00:00Z".parse().unwrap();
        let ninety_days = Retention::new(Duration::from_secs(90 * 86_400));
        assert_eq!(
            bound_at(ninety_days.cutoff(now)),
            bound("2024-12-31T12:00:00Z")
        );
        let forever = Retention::new(Duration::from_secs(u64::MAX / 2));
        assert_eq!(forever.cutoff(now), None);
        assert_eq!(bound_at(forever.cutoff(now)), KeyBound::BeforeAll);
    }
}
