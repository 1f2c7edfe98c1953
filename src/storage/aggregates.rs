//! The sums that let `/stats`, unfiltered and sender-only totals, and `since` totals answer
//! without counting rows: `totals`, `sender_counts`, `top_senders` and `time_counts` (see the
//! migrations). They are brought up to date once per inserted batch, in the inserting
//! transaction, by [`add`]: the writer's batches and bulk loads both go through
//! [`super::insert::insert_messages`], which calls it.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StorageError;
use crate::message::NewMessage;

/// How many senders `/stats` lists, and so how many `top_senders` keeps.
pub(crate) const TOP_SENDERS: i64 = 10;

/// Length of the `ts_key` prefix naming a day (`YYYY-MM-DD`) and a minute (`YYYY-MM-DDTHH:MM`).
const DAY_PREFIX: usize = 10;
const MINUTE_PREFIX: usize = 16;

/// Counts `created` (messages just inserted, none of them before) into every aggregate.
pub(crate) fn add(conn: &Connection, created: &[&NewMessage]) -> Result<(), StorageError> {
    if created.is_empty() {
        return Ok(());
    }
    let mut by_sender: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_prefix: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    for message in created {
        *by_sender.entry(message.from.as_str()).or_default() += 1;
        for length in [DAY_PREFIX, MINUTE_PREFIX] {
            let prefix = message.ts_key.get(..length).unwrap_or(&message.ts_key);
            *by_prefix.entry((length, prefix)).or_default() += 1;
        }
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
        .execute(params![created.len() as i64, new_senders])?;
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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use crate::message::NewMessage;
    use crate::storage::{insert, migrations};

    fn message(i: usize, from: &str, ts: &str) -> NewMessage {
        let body = serde_json::json!({
            "message_id": format!("m{i}"), "from": from, "to": "+2", "ts": ts,
        });
        NewMessage::from_json(body.to_string().as_bytes()).unwrap()
    }

    /// Every aggregate, as the batch-by-batch sums left it, and as counting the rows gives it.
    fn sums_and_counts(conn: &Connection) -> [(String, String); 4] {
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
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
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
            tx.commit().unwrap();
            for (kept, counted) in sums_and_counts(&conn) {
                assert_eq!(kept, counted, "after batch {batch}");
            }
        }
    }
}
