//! Storing messages exactly once, the one way every row is stored: by the writer's batches
//! and by bulk loads alike. The database enforces it (`message_id` is the primary key; insert or
//! ignore, then look at the change count; never check, then insert). A row is stored unlisted:
//! the listing indexes and the aggregates take it in later ([`super::listing`]).

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StorageError;
use crate::message::NewMessage;

/// What storing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// A new row.
    Created,
    /// The id was already stored; the first row is kept. `conflict` when this copy differs.
    Duplicate { conflict: bool },
}

/// Inserts `messages` on `conn`, inside the caller's transaction: insert-or-ignore, and for each
/// message that was already stored, whether the stored copy differs. New rows are unlisted
/// (`listed = 0`): nothing but the table and its primary key is written for them.
pub(crate) fn insert_messages<'a>(
    conn: &Connection,
    messages: impl IntoIterator<Item = &'a NewMessage>,
    created_at: &str,
) -> Result<Vec<Insertion>, StorageError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO messages
             (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)
         ON CONFLICT (message_id) DO NOTHING",
    )?;
    let messages = messages.into_iter();
    let mut insertions = Vec::with_capacity(messages.size_hint().0);
    for m in messages {
        let changed = insert.execute(params![
            m.message_id,
            m.from,
            m.to,
            m.ts,
            m.text,
            created_at,
            m.ts_key
        ])?;
        insertions.push(if changed == 1 {
            Insertion::Created
        } else {
            Insertion::Duplicate {
                conflict: differs_from_stored(conn, m)?,
            }
        });
    }
    Ok(insertions)
}

/// True when the stored row with this message's id has other content.
fn differs_from_stored(conn: &Connection, message: &NewMessage) -> Result<bool, StorageError> {
    let stored = conn
        .prepare_cached(
            "SELECT from_msisdn, to_msisdn, ts, text FROM messages WHERE message_id = ?1",
        )?
        .query_row([&message.message_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })
        .optional()?;
    Ok(stored.is_some_and(|(from, to, ts, text)| {
        from != message.from || to != message.to || ts != message.ts || text != message.text
    }))
}
