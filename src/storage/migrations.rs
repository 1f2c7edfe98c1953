//! The schema, as refinery migrations embedded in the binary from `migrations/`.

use refinery::Report;
use rusqlite::{Connection, OptionalExtension};

use super::StorageError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Applies every pending migration; returns what was applied.
pub fn run(conn: &mut Connection) -> Result<Report, StorageError> {
    Ok(embedded::migrations::runner().run(conn)?)
}

/// The version of the newest embedded migration: the one a ready database is at.
pub fn latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|migration| i64::from(migration.version()))
        .max()
        .unwrap_or(0)
}

/// Every embedded migration as `(version, name)`, oldest first.
pub fn embedded() -> Vec<(i64, String)> {
    let mut all: Vec<_> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|migration| (i64::from(migration.version()), migration.name().to_string()))
        .collect();
    all.sort();
    all
}

/// The version the database is at, `None` when no migration has ever run on it.
pub fn current_version(conn: &Connection) -> Result<Option<i64>, StorageError> {
    let has_history = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_history {
        return Ok(None);
    }
    Ok(conn.query_row(
        "SELECT MAX(version) FROM refinery_schema_history",
        [],
        |row| row.get(0),
    )?)
}

/// A migration recorded in a database's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    /// When it was applied, RFC 3339, as refinery records it.
    pub applied_on: String,
}

/// The migrations recorded in the database, oldest first; none when no migration ever ran.
/// Reads only, so it works on a read-only connection.
pub fn applied(conn: &Connection) -> Result<Vec<Applied>, StorageError> {
    if current_version(conn)?.is_none() {
        return Ok(Vec::new());
    }
    let mut statement = conn.prepare(
        "SELECT version, name, applied_on FROM refinery_schema_history ORDER BY version",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(Applied {
            version: row.get(0)?,
            name: row.get(1)?,
            applied_on: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
