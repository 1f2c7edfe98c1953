//! The sums that let `/stats`, unfiltered and sender-only totals, and `since` totals answer
//! without counting rows: `totals`, `sender_counts`, `top_senders` and `time_counts` (see the
//! migrations). They count the listed rows (see [`super::listing`]): [`add`] takes rows in when
//! they are listed, in the listing transaction; rows deleted by a prune are taken out again by
//! [`remove`], in the deleting transaction ([`super::prune::delete_older`]), when they were
//! listed. Reads add the rows not yet listed themselves.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StorageError;

/// How many senders `/stats` lists, and so how many `top_senders` keeps.
pub(crate) const TOP_SENDERS: i64 = 10;

/// Length of the `ts_key` prefix naming a day (`YYYY-MM-DD`) and a minute (`YYYY-MM-DDTHH:MM`).
const DAY_PREFIX: usize = 10;
const MINUTE_PREFIX: usize = 16;

/// Counts `created` (the sender and `ts_key` of each message being listed, none of them counted
/// before) into every aggregate.
pub(crate) fn add<'a>(
    conn: &Connection,
    created: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), StorageError> {
    let mut by_sender: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_prefix: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    let mut messages = 0i64;
    for (sender, ts_key) in created {
        messages += 1;
        *by_sender.entry(sender).or_default() += 1;
        for length in [DAY_PREFIX, MINUTE_PREFIX] {
            let prefix = ts_key.get(..length).unwrap_or(ts_key);
            *by_prefix.entry((length, prefix)).or_default() += 1;
        }
    }
    if messages == 0 {
        return Ok(());
    }

    // Each sender's count before and after. (An upsert with RETURNING would say the same in one
    // statement, but SQLite collects RETURNING rows in a temporary table: three times the cost.)
    let mut new_senders = 0;
    let mut counted = Vec::with_capacity(by_sender.len());
    {
        let mut current =
            conn.prepare_cached("SELECT message_count FROM sender_counts WHERE from_msisdn = ?1")?;
        let mut upsert = conn.prepare_cached(
            "INSERT INTO sender_counts (from_msisdn, message_count) VALUES (?1, ?2)
             ON CONFLICT (from_msisdn) DO UPDATE SET message_count = message_count + ?2",
        )?;
        for (&sender, &added) in &by_sender {
            let before: Option<i64> = current.query_row([sender], |row| row.get(0)).optional()?;
            upsert.execute(params![sender, added])?;
            if before.is_none() {
                new_senders += 1;
            }
            counted.push((sender, before.unwrap_or(0) + added));
        }
    }
    conn.prepare_cached("UPDATE totals SET messages = messages + ?1, senders = senders + ?2")?
        .execute(params![messages, new_senders])?;
    {
        let mut upsert = conn.prepare_cached(
            "INSERT INTO time_counts (prefix_length, prefix, message_count) VALUES (?1, ?2, ?3)
             ON CONFLICT (prefix_length, prefix)
             DO UPDATE SET message_count = message_count + ?3",
        )?;
        for ((length, prefix), added) in by_prefix {
            upsert.execute(params![length as i64, prefix, added])?;
        }
    }
    update_top_senders(conn, counted)
}

/// The busiest senders after a batch: the old top ten and the senders the batch counted
/// (`touched`, with their new counts), ranked by count, then sender. Nobody else can have
/// moved up: their counts did not change, and every other count only grew. Only the rows that
/// change are written.
fn update_top_senders(conn: &Connection, touched: Vec<(&str, i64)>) -> Result<(), StorageError> {
    let before: BTreeMap<String, i64> = conn
        .prepare_cached("SELECT from_msisdn, message_count FROM top_senders")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut ranked: Vec<(&str, i64)> = before
        .iter()
        .filter(|(sender, _)| !touched.iter().any(|(t, _)| t == sender))
        .map(|(sender, count)| (sender.as_str(), *count))
        .chain(touched.iter().copied())
        .collect();
    ranked
        .sort_unstable_by(|(a, a_count), (b, b_count)| b_count.cmp(a_count).then_with(|| a.cmp(b)));
    ranked.truncate(usize::try_from(TOP_SENDERS).unwrap_or(10));
    for sender in before.keys() {
        if !ranked.iter().any(|(kept, _)| kept == sender) {
            conn.prepare_cached("DELETE FROM top_senders WHERE from_msisdn = ?1")?
                .execute([sender])?;
        }
    }
    for (sender, count) in ranked {
        if before.get(sender) != Some(&count) {
            conn.prepare_cached(
                "INSERT INTO top_senders (from_msisdn, message_count) VALUES (?1, ?2)
                 ON CONFLICT (from_msisdn) DO UPDATE SET message_count = ?2",
            )?
            .execute(params![sender, count])?;
        }
    }
    Ok(())
}

/// Takes `removed` (the sender and `ts_key` of each message just deleted) out of every
/// aggregate. A sender or a day or minute left with no message loses its row, as if it had never
/// been counted.
pub(crate) fn remove<'a>(
    conn: &Connection,
    removed: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), StorageError> {
    let mut by_sender: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_prefix: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    let mut messages = 0i64;
    for (sender, ts_key) in removed {
        messages += 1;
        *by_sender.entry(sender).or_default() += 1;
        for length in [DAY_PREFIX, MINUTE_PREFIX] {
            let prefix = ts_key.get(..length).unwrap_or(ts_key);
            *by_prefix.entry((length, prefix)).or_default() += 1;
        }
    }
    if messages == 0 {
        return Ok(());
    }

    let mut senders_gone = 0i64;
    {
        let mut subtract = conn.prepare_cached(
            "UPDATE sender_counts SET message_count = message_count - ?2 WHERE from_msisdn = ?1",
        )?;
        let mut drop_empty = conn.prepare_cached(
            "DELETE FROM sender_counts WHERE from_msisdn = ?1 AND message_count <= 0",
        )?;
        for (&sender, &count) in &by_sender {
            subtract.execute(params![sender, count])?;
            senders_gone += i64::try_from(drop_empty.execute([sender])?).unwrap_or(0);
        }
    }
    conn.prepare_cached("UPDATE totals SET messages = messages - ?1, senders = senders - ?2")?
        .execute(params![messages, senders_gone])?;
    {
        let mut subtract = conn.prepare_cached(
            "UPDATE time_counts SET message_count = message_count - ?3
              WHERE prefix_length = ?1 AND prefix = ?2",
        )?;
        let mut drop_empty = conn.prepare_cached(
            "DELETE FROM time_counts
              WHERE prefix_length = ?1 AND prefix = ?2 AND message_count <= 0",
        )?;
        for ((length, prefix), count) in by_prefix {
            subtract.execute(params![length as i64, prefix, count])?;
            drop_empty.execute(params![length as i64, prefix])?;
        }
    }

    // A sender outside the top ten only lost messages, so it cannot have moved up; a member that
    // lost some may now rank below someone outside, whom only the counts of every sender can
    // name (there is no index by count: see V3). So the table is rebuilt, and only then.
    let member_lost_some = {
        let mut member = conn.prepare_cached("SELECT 1 FROM top_senders WHERE from_msisdn = ?1")?;
        let mut any = false;
        for sender in by_sender.keys() {
            if member.exists([sender])? {
                any = true;
                break;
            }
        }
        any
    };
    if member_lost_some {
        conn.prepare_cached("DELETE FROM top_senders")?
            .execute([])?;
        conn.prepare_cached(
            "INSERT INTO top_senders (from_msisdn, message_count)
             SELECT from_msisdn, message_count FROM sender_counts
              ORDER BY message_count DESC, from_msisdn
              LIMIT ?1",
        )?
        .execute([TOP_SENDERS])?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use rusqlite::Connection;

    use crate::message::NewMessage;
    use crate::storage::{insert, listing, migrations};

    fn message(i: usize, from: &str, ts: &str) -> NewMessage {
        let body = serde_json::json!({
            "message_id": format!("m{i}"), "from": from, "to": "+2", "ts": ts,
        });
        NewMessage::from_json(body.to_string().as_bytes()).unwrap()
    }

    /// Every aggregate, as the batch-by-batch sums left it, and as counting the rows gives it.
    pub(crate) fn sums_and_counts(conn: &Connection) -> [(String, String); 4] {
        let text = |sql: &str| -> String {
            let mut statement = conn.prepare(sql).unwrap();
            let rows: Vec<String> = statement
                .query_map([], |row| {
                    Ok((0..row.as_ref().column_count())
                        .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join(" "))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.join("\n")
        };
        let pair = |kept: &str, counted: &str| (text(kept), text(counted));
        [
            pair(
                "SELECT messages, senders FROM totals",
                "SELECT count(*), count(DISTINCT from_msisdn) FROM messages",
            ),
            pair(
                "SELECT from_msisdn, message_count FROM sender_counts ORDER BY 1",
                "SELECT from_msisdn, count(*) FROM messages GROUP BY 1 ORDER BY 1",
            ),
            pair(
                "SELECT from_msisdn, message_count FROM top_senders ORDER BY 2 DESC, 1",
                "SELECT from_msisdn, count(*) FROM messages GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
            ),
            pair(
                "SELECT prefix_length, prefix, message_count FROM time_counts ORDER BY 1, 2",
                "SELECT 10, substr(ts_key, 1, 10), count(*) FROM messages GROUP BY 2
                 UNION ALL
                 SELECT 16, substr(ts_key, 1, 16), count(*) FROM messages GROUP BY 2
                 ORDER BY 1, 2",
            ),
        ]
    }

    #[test]
    fn batch_sums_equal_counts_of_the_rows_after_every_batch() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations::run(&mut conn).unwrap();
        // Senders with skewed traffic (ties, promotions into and out of the top ten), repeated
        // ids (duplicates count nothing), timestamps across minutes and days.
        let mut next = crate::testing::numbers(7);
        for batch in 0..40 {
            let messages: Vec<NewMessage> = (0..25)
                .map(|_| {
                    let i = usize::try_from(next() % 700).unwrap();
                    let sender = (next() % 30) * (next() % 2) + batch % 7;
                    let ts = format!(
                        "2025-01-{:02}T{:02}:{:02}:{:02}Z",
                        1 + next() % 3,
                        next() % 3,
                        next() % 2,
                        next() % 60
                    );
                    message(i, &format!("+{sender}"), &ts)
                })
                .collect();
            let tx = conn.transaction().unwrap();
            insert::insert_messages(&tx, &messages, "2025-01-01T00:00:00.000Z").unwrap();
            listing::list_in(&tx, usize::MAX).unwrap();
            tx.commit().unwrap();
            for (kept, counted) in sums_and_counts(&conn) {
                assert_eq!(kept, counted, "after batch {batch}");
            }
        }
    }
}
