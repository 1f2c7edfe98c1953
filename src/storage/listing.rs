//! Durable append first, list later (see `migrations/V4__listed_later.sql`). A new row costs the
//! acknowledgement only the table and its primary key; the writer lists it afterwards, in a step
//! that covers every row stored since the last one: `listed = 1` (which enters the rows into the
//! partial indexes `messages_by_ts` and `messages_by_sender`), the rows counted into the
//! aggregates ([`aggregates::add`]), and `list_progress.listed_through` moved past them, in one
//! transaction.
//!
//! The rows after the mark are the tail: a rowid range, at most one backlog bound and a batch
//! long, which every read merges with what the indexes and the aggregates say (see
//! `queries`), in the same read transaction, so answers never depend on when listing ran.
//!
//! Rowids: like the search index's mark, `listed_through` comes down to the highest rowid left
//! when a prune deletes the newest rows (see `prune`), so that a rowid SQLite hands out again is
//! never taken for a listed one.

use rusqlite::{Connection, TransactionBehavior, params};

use super::aggregates;
use super::error::StorageError;

/// Rows after it are not listed yet; rows up to it are.
pub(crate) fn listed_through(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached("SELECT listed_through FROM list_progress")?
        .query_row([], |row| row.get(0))?)
}

/// Lists up to `limit` of the rows after the mark, inside the caller's transaction. Returns how
/// many rows it listed.
pub(crate) fn list_in(conn: &Connection, limit: usize) -> Result<usize, StorageError> {
    let from = listed_through(conn)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (through, rows): (Option<i64>, i64) = conn
        .prepare_cached(
            "SELECT max(rowid), count(*) FROM (SELECT rowid FROM messages
                WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        )?
        .query_row(params![from, limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let Some(through) = through else {
        return Ok(0);
    };
    let tail: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT from_msisdn, ts_key FROM messages WHERE rowid > ?1 AND rowid <= ?2",
        )?
        .query_map(params![from, through], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    aggregates::add(
        conn,
        tail.iter()
            .map(|(from, ts_key)| (from.as_str(), ts_key.as_str())),
    )?;
    conn.prepare_cached("UPDATE messages SET listed = 1 WHERE rowid > ?1 AND rowid <= ?2")?
        .execute(params![from, through])?;
    conn.prepare_cached("UPDATE list_progress SET listed_through = ?1")?
        .execute([through])?;
    Ok(usize::try_from(rows).unwrap_or(0))
}

/// Lists up to `limit` of the rows after the mark, in a transaction of its own.
pub(crate) fn list_pending(conn: &mut Connection, limit: usize) -> Result<usize, StorageError> {
    // Immediate: take the write lock first, so that a busy database is waited for rather than
    // failing on a snapshot another writer moved past.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let listed = list_in(&tx, limit)?;
    tx.commit()?;
    Ok(listed)
}

/// How many rows wait to be listed.
pub(crate) fn backlog(conn: &Connection) -> Result<usize, StorageError> {
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM messages
          WHERE rowid > (SELECT listed_through FROM list_progress)",
        [],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// After rows were deleted: the mark comes down to the highest rowid left, so that a rowid
/// handed out again is after it (see the module's documentation).
pub(crate) fn lower_mark_after_delete(conn: &Connection) -> Result<(), StorageError> {
    conn.prepare_cached(
        "UPDATE list_progress
            SET listed_through = (SELECT coalesce(max(rowid), 0) FROM messages)
          WHERE listed_through > (SELECT coalesce(max(rowid), 0) FROM messages)",
    )?
    .execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{backlog, list_in, listed_through};
    use crate::config::Location;
    use crate::filters::{Filters, ListQuery};
    use crate::message::NewMessage;
    use crate::storage::aggregates::tests::sums_and_counts;
    use crate::storage::connection::{self, Filename};
    use crate::storage::{insert, migrations, prune, queries, search};
    use crate::timestamp::{KeyBound, instant_key, parse_instant};

    fn open() -> Connection {
        let filename = Filename::resolve(&Location::Memory).unwrap();
        let mut conn = connection::open_writer(&filename).unwrap();
        migrations::run(&mut conn).unwrap();
        conn
    }

    fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> NewMessage {
        let body = serde_json::json!({
            "message_id": id, "from": from, "to": "+2", "ts": ts, "text": text,
        });
        NewMessage::from_json(body.to_string().as_bytes()).unwrap()
    }

    fn bound(ts: &str) -> KeyBound {
        instant_key(&parse_instant(ts).unwrap())
    }

    /// Two databases given the same rows: `listed` lists every batch in its transaction (the
    /// indexes and sums as before), `tail` only when a test says so.
    struct Twins {
        listed: Connection,
        tail: Connection,
    }

    impl Twins {
        fn new() -> Self {
            Self {
                listed: open(),
                tail: open(),
            }
        }

        fn store(&mut self, messages: &[NewMessage]) {
            for (conn, list) in [(&mut self.listed, true), (&mut self.tail, false)] {
                let tx = conn.transaction().unwrap();
                insert::insert_messages(&tx, messages, "2025-01-01T00:00:00.000Z").unwrap();
                if list {
                    list_in(&tx, usize::MAX).unwrap();
                }
                tx.commit().unwrap();
            }
        }

        fn list_some(&mut self, rows: usize) {
            let tx = self.tail.transaction().unwrap();
            list_in(&tx, rows).unwrap();
            tx.commit().unwrap();
        }

        /// Moves up to `rows` of the tail twin's rows into the search index.
        fn index_some(&mut self, rows: usize) {
            search::index_pending(&mut self.tail, rows).unwrap();
        }

        fn prune(&mut self, before: &str, step: usize) {
            for conn in [&mut self.listed, &mut self.tail] {
                while prune::delete_older(conn, &bound(before), step).unwrap() == step {}
            }
        }

        /// Every read of both agrees: pages across the listed/tail boundary with each filter,
        /// their totals (each also what reading every row counts), and the stats.
        fn assert_reads_agree(&self, context: &str) {
            assert_eq!(
                queries::stats(&self.tail).unwrap(),
                queries::stats(&self.listed).unwrap(),
                "stats {context}"
            );
            let filters = [
                Filters::default(),
                Filters {
                    from: Some("+1".into()),
                    ..Filters::default()
                },
                Filters {
                    from: Some("+7".into()),
                    ..Filters::default()
                },
                Filters {
                    since: Some(bound("2025-01-02T01:01:30Z")),
                    ..Filters::default()
                },
                Filters {
                    since: Some(bound("2025-01-02T01:01:30.5+00:30")),
                    from: Some("+3".into()),
                    ..Filters::default()
                },
                Filters {
                    q: Some("HEL".into()),
                    ..Filters::default()
                },
                Filters {
                    q: Some("lo".into()),
                    since: Some(bound("2025-01-01T12:00:00Z")),
                    ..Filters::default()
                },
            ];
            for filters in filters {
                for conn in [&self.tail, &self.listed] {
                    let query = ListQuery {
                        limit: 1,
                        offset: 0,
                        filters: filters.clone(),
                    };
                    assert_eq!(
                        queries::list_messages(conn, &query).unwrap().total,
                        scanned_total(conn, &filters),
                        "{context}: {filters:?}"
                    );
                }
                for offset in [0, 1, 5, 17, 40, 99, 150, 260, 299, 400] {
                    for limit in [1, 7, 50, 100] {
                        let query = ListQuery {
                            limit,
                            offset,
                            filters: filters.clone(),
                        };
                        assert_eq!(
                            queries::list_messages(&self.tail, &query).unwrap(),
                            queries::list_messages(&self.listed, &query).unwrap(),
                            "{context}: {query:?}"
                        );
                    }
                }
            }
        }
    }

    /// How many rows match `filters`, read one by one.
    fn scanned_total(conn: &Connection, filters: &Filters) -> i64 {
        let mut statement = conn
            .prepare("SELECT from_msisdn, ts_key, text FROM messages")
            .unwrap();
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .unwrap();
        let matching = rows.map(Result::unwrap).filter(|(from, ts_key, text)| {
            filters.from.as_ref().is_none_or(|wanted| wanted == from)
                && match &filters.since {
                    None | Some(KeyBound::BeforeAll) => true,
                    Some(KeyBound::Key(key)) => ts_key >= key,
                    Some(KeyBound::AfterAll) => false,
                }
                && filters.q.as_ref().is_none_or(|q| {
                    text.as_deref()
                        .is_some_and(|text| search::search_matches(text, q))
                })
        });
        i64::try_from(matching.count()).unwrap()
    }

    /// Skewed senders, timestamps over three days whose order is unrelated to the ids' (so the
    /// tail's rows interleave with the listed ones), texts that do and do not match.
    fn messages(first: usize, count: usize, seed: u64) -> Vec<NewMessage> {
        let mut next = crate::testing::numbers(seed);
        (first..first + count)
            .map(|i| {
                let sender = if i % 3 == 0 { next() % 3 } else { next() % 12 };
                let ts = format!(
                    "2025-01-{:02}T{:02}:{:02}:{:02}Z",
                    1 + next() % 3,
                    next() % 3,
                    next() % 3,
                    next() % 60
                );
                let text = ["hello", "Hello world", "lo", "nothing"][(next() % 4) as usize];
                message(&format!("m{i}"), &format!("+{sender}"), &ts, Some(text))
            })
            .collect()
    }

    #[test]
    fn reads_merge_the_unlisted_tail_exactly_as_if_every_row_were_listed() {
        let mut twins = Twins::new();
        twins.assert_reads_agree("empty");
        twins.store(&messages(0, 40, 1));
        twins.assert_reads_agree("all unlisted");
        for batch in 1..8 {
            if batch % 3 == 0 {
                // Every row read so far indexed: the next searches count after an indexed row.
                twins.index_some(usize::MAX);
            }
            twins.store(&messages(batch * 40, 40, batch as u64 + 1));
            // Duplicates of earlier rows add nothing, listed or not.
            twins.store(&messages(batch * 40 - 10, 15, batch as u64));
            if batch % 2 == 0 {
                twins.list_some(55);
            }
            if batch % 3 == 1 && batch > 1 {
                // Into the rows stored since the last searches, not through them.
                twins.index_some(60);
            }
            twins.assert_reads_agree(&format!("after batch {batch}"));
        }
        assert!(backlog(&twins.tail).unwrap() > 100, "a tail worth reading");
        twins.list_some(usize::MAX);
        twins.assert_reads_agree("all listed");
        assert_eq!(backlog(&twins.tail).unwrap(), 0);
        for (kept, counted) in sums_and_counts(&twins.tail) {
            assert_eq!(kept, counted, "listing counted every row once");
        }
    }

    #[test]
    fn a_sender_in_the_tail_overtakes_the_listed_top_senders() {
        let mut twins = Twins::new();
        twins.store(&messages(0, 200, 5));
        twins.list_some(usize::MAX);
        // A new sender, then a listed one far down, both past the top ten with unlisted rows.
        let newcomer: Vec<NewMessage> = (0..60)
            .map(|i| message(&format!("n{i}"), "+99", "2024-12-31T00:00:00Z", None))
            .collect();
        let climber: Vec<NewMessage> = (0..65)
            .map(|i| message(&format!("c{i}"), "+11", "2026-01-01T00:00:00Z", None))
            .collect();
        twins.store(&newcomer);
        twins.store(&climber);
        let stats = queries::stats(&twins.tail).unwrap();
        assert_eq!(stats.messages_per_sender[0].from, "+11");
        assert_eq!(stats.messages_per_sender[1].from, "+99");
        assert_eq!(
            stats.first_message_ts.as_deref(),
            Some("2024-12-31T00:00:00Z")
        );
        assert_eq!(
            stats.last_message_ts.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        twins.assert_reads_agree("a sender in the tail on top");
    }

    #[test]
    fn a_prune_takes_listed_rows_out_of_the_sums_and_unlisted_ones_only_out_of_the_table() {
        let mut twins = Twins::new();
        twins.store(&messages(0, 150, 9));
        twins.list_some(70);
        twins.store(&messages(150, 150, 10));
        let mark = listed_through(&twins.tail).unwrap();
        twins.prune("2025-01-02T00:30:00Z", 23);
        twins.assert_reads_agree("after a prune of listed and unlisted rows");
        assert_eq!(listed_through(&twins.tail).unwrap(), mark, "the mark stays");
        twins.list_some(usize::MAX);
        for (kept, counted) in sums_and_counts(&twins.tail) {
            assert_eq!(kept, counted, "nothing was taken out twice or not at all");
        }
        twins.assert_reads_agree("listed after the prune");
    }

    #[test]
    fn a_row_stored_after_the_newest_listed_row_was_pruned_is_read_and_listed_once() {
        let mut twins = Twins::new();
        twins.store(&[
            message("kept", "+1", "2025-06-01T00:00:00Z", Some("kept")),
            message("old", "+2", "2020-01-01T00:00:00Z", Some("old")),
        ]);
        twins.list_some(usize::MAX);
        let rowid_of = |conn: &Connection, id: &str| -> i64 {
            conn.query_row(
                "SELECT rowid FROM messages WHERE message_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap()
        };
        let old_rowid = rowid_of(&twins.tail, "old");
        twins.prune("2021-01-01T00:00:00Z", 10);
        assert_eq!(listed_through(&twins.tail).unwrap(), old_rowid - 1);
        twins.store(&[message("new", "+3", "2025-07-01T00:00:00Z", Some("new"))]);
        assert_eq!(
            rowid_of(&twins.tail, "new"),
            old_rowid,
            "the rowid came back"
        );
        assert_eq!(backlog(&twins.tail).unwrap(), 1, "and waits to be listed");
        twins.assert_reads_agree("a reused rowid in the tail");
        twins.list_some(usize::MAX);
        for (kept, counted) in sums_and_counts(&twins.tail) {
            assert_eq!(kept, counted);
        }
        twins.assert_reads_agree("a reused rowid listed");
    }
}
