//! The sums that let `/stats`, unfiltered and sender-only totals, and `since` totals answer
//! without counting rows: `totals`, `sender_counts`, `top_senders` and `time_counts` (see the
//! migrations). They are brought up to date once per inserted batch, in the inserting
//! transaction, by [`add`]: the writer's batches and bulk loads both go through
//! [`super::writer::insert_messages`], which calls it.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::StorageError;
use super::queries::TOP_SENDERS;
use crate::message::NewMessage;

/// Length of the `ts_key` prefix naming a day (`YYYY-MM-DD`) and a minute (`YYYY-MM-DDTHH:MM`).
pub const DAY_PREFIX: usize = 10;
pub const MINUTE_PREFIX: usize = 16;

/// Counts `created` (messages just inserted, none of them before) into every aggregate.
pub fn add(conn: &Connection, created: &[&NewMessage]) -> Result<(), StorageError> {
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

    let mut new_senders = 0;
    let mut counted = Vec::with_capacity(by_sender.len());
    {
        let mut upsert = conn.prepare_cached(
            "INSERT INTO sender_counts (from_msisdn, message_count) VALUES (?1, ?2)
             ON CONFLICT (from_msisdn) DO UPDATE SET message_count = message_count + ?2
             RETURNING message_count",
        )?;
        for (&sender, &added) in &by_sender {
            let count: i64 = upsert.query_row(params![sender, added], |row| row.get(0))?;
            if count == added {
                new_senders += 1;
            }
            counted.push((sender.to_string(), count));
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
/// moved up: their counts did not change, and every other count only grew.
fn update_top_senders(conn: &Connection, touched: Vec<(String, i64)>) -> Result<(), StorageError> {
    let mut ranked: BTreeMap<String, i64> = conn
        .prepare_cached("SELECT from_msisdn, message_count FROM top_senders")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let before = ranked.clone();
    ranked.extend(touched);
    let mut ranked: Vec<(String, i64)> = ranked.into_iter().collect();
    ranked.sort_by(|(a, a_count), (b, b_count)| b_count.cmp(a_count).then_with(|| a.cmp(b)));
    ranked.truncate(usize::try_from(TOP_SENDERS).unwrap_or(10));
    let after: BTreeMap<String, i64> = ranked.into_iter().collect();
    if after == before {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM top_senders")?
        .execute([])?;
    let mut insert = conn
        .prepare_cached("INSERT INTO top_senders (from_msisdn, message_count) VALUES (?1, ?2)")?;
    for (sender, count) in &after {
        insert.execute(params![sender, count])?;
    }
    Ok(())
}
