//! The schema, as refinery migrations embedded in the binary from `migrations/`: applying them,
//! and what a database has applied (`app migrate`, readiness).

use std::path::Path;

use refinery::Report;
use rusqlite::{Connection, OptionalExtension};

use super::connection::{self, Filename};
use super::error::{OpenError, StorageError};
use crate::config::Location;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Applies every pending migration; returns what was applied.
pub(crate) fn run(conn: &mut Connection) -> Result<Report, StorageError> {
    Ok(embedded::migrations::runner().run(conn)?)
}

/// The version of the newest embedded migration: the one a ready database is at.
pub fn latest_schema_version() -> i64 {
    embedded().last().map_or(0, |migration| migration.version)
}

/// A migration embedded in this binary, from its file `V{version}__{name}.sql`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Migration {
    pub version: i64,
    pub name: String,
}

impl From<&refinery::Migration> for Migration {
    fn from(migration: &refinery::Migration) -> Self {
        Self {
            version: i64::from(migration.version()),
            name: migration.name().to_string(),
        }
    }
}

/// Every embedded migration, oldest first.
fn embedded() -> Vec<Migration> {
    let mut all: Vec<Migration> = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(Migration::from)
        .collect();
    all.sort();
    all
}

/// The version the database is at, `None` when no migration has ever run on it.
pub(crate) fn current_version(conn: &Connection) -> Result<Option<i64>, StorageError> {
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

/// Which schema versions a command accepts in a file it opens ([`check_schema`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// Any version, as long as some migration ran (a copy of any file is a good copy).
    Any,
    /// Only this binary's: the reads and writes use the tables of every migration.
    Latest,
}

/// Refuses a file `conn` has open at `path` whose schema `accept` does not take: without one
/// ([`OpenError::NoSchema`]) or, for [`Accept::Latest`], at another version than this binary's
/// ([`OpenError::SchemaVersion`]).
pub(crate) fn check_schema(
    conn: &Connection,
    path: &Path,
    accept: Accept,
) -> Result<(), OpenError> {
    let found = current_version(conn).map_err(|source| OpenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let expected = latest_schema_version();
    match found {
        None => Err(OpenError::NoSchema(path.to_path_buf())),
        Some(found) if accept == Accept::Latest && found != expected => {
            Err(OpenError::SchemaVersion {
                path: path.to_path_buf(),
                found,
                expected,
            })
        }
        Some(_) => Ok(()),
    }
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
fn applied(conn: &Connection) -> Result<Vec<Applied>, StorageError> {
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

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The migrations it applied, oldest first; none when the database was up to date.
    pub applied: Vec<Migration>,
    /// The version the database is at now.
    pub version: i64,
}

/// Applies the pending migrations to the database file at `location`, creating the file (and
/// the folders above it) when needed. An in-memory database is refused: `app serve` migrates
/// its own when it starts, and no other process can see it.
pub fn migrate(location: &Location) -> Result<Migrated, OpenError> {
    let path = file_of(location)?;
    let filename = Filename::resolve(location)?;
    let mut conn = connection::open_writer(&filename).map_err(|source| OpenError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let report = run(&mut conn).map_err(|source| OpenError::Migrate {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Migrated {
        applied: report
            .applied_migrations()
            .iter()
            .map(Migration::from)
            .collect(),
        version: current_version(&conn)?.unwrap_or(0),
    })
}

/// Which migrations this binary embeds and which a database file has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Every migration this binary embeds, oldest first.
    pub embedded: Vec<Migration>,
    /// The migrations the database has recorded, oldest first (some may be unknown to this
    /// binary); `None` when there is no database file yet.
    pub applied: Option<Vec<Applied>>,
}

/// The migration status of the database file at `location`. Changes nothing, and creates
/// nothing when there is no file.
pub fn migration_status(location: &Location) -> Result<MigrationStatus, OpenError> {
    let path = file_of(location)?;
    let applied = if path.exists() {
        let conn = connection::open_reader(&Filename::resolve(location)?).map_err(|source| {
            OpenError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let applied = applied(&conn).map_err(|source| OpenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Some(applied)
    } else {
        None
    };
    Ok(MigrationStatus {
        embedded: embedded(),
        applied,
    })
}

/// The database file at `location`; an in-memory database is refused.
fn file_of(location: &Location) -> Result<&Path, OpenError> {
    location.path().ok_or(OpenError::InMemory)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::embedded;
    use crate::storage::aggregates::tests::sums_and_counts;
    use crate::storage::{listing, queries};

    #[test]
    fn rows_stored_before_listing_existed_count_as_listed_after_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(3))
            .run(&mut conn)
            .unwrap();
        // Rows as a version-3 writer left them: in the table, counted in the sums.
        conn.execute_batch(
            "INSERT INTO messages
                 (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key)
             VALUES ('a', '+1', '+2', '2025-01-01T00:00:00Z', 'x', 'now', '2025-01-01T00:00:00.000000000Z'),
                    ('b', '+1', '+2', '2025-01-03T00:00:00Z', NULL, 'now', '2025-01-03T00:00:00.000000000Z'),
                    ('c', '+3', '+2', '2025-01-02T00:00:00Z', 'y', 'now', '2025-01-02T00:00:00.000000000Z');
             INSERT INTO sender_counts VALUES ('+1', 2), ('+3', 1);
             INSERT INTO top_senders VALUES ('+1', 2), ('+3', 1);
             UPDATE totals SET messages = 3, senders = 2;
             INSERT INTO time_counts
             SELECT 10, substr(ts_key, 1, 10), count(*) FROM messages GROUP BY 2
             UNION ALL
             SELECT 16, substr(ts_key, 1, 16), count(*) FROM messages GROUP BY 2;",
        )
        .unwrap();
        super::run(&mut conn).unwrap();
        assert_eq!(
            super::current_version(&conn).unwrap(),
            Some(super::latest_schema_version())
        );
        assert_eq!(listing::listed_through(&conn).unwrap(), 3);
        assert_eq!(listing::backlog(&conn).unwrap(), 0);
        let unlisted: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE NOT listed",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(unlisted, 0);
        let partial: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index'
                   AND name IN ('messages_by_ts', 'messages_by_sender')
                   AND sql LIKE '%WHERE listed'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(partial, 2);
        for (kept, counted) in sums_and_counts(&conn) {
            assert_eq!(kept, counted);
        }
        let stats = queries::stats(&conn).unwrap();
        assert_eq!(stats.total_messages, 3);
        assert_eq!(
            stats.first_message_ts.as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            stats.last_message_ts.as_deref(),
            Some("2025-01-03T00:00:00Z")
        );
    }
}
