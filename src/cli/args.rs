//! Argument groups and set-up shared by several commands.

use std::path::Path;

use anyhow::Context as _;
use rusqlite::Connection;

use super::exit::usage;
use crate::config::{DatabaseArgs, Location};
use crate::storage::connection::{Target, open_reader};
use crate::storage::{StorageError, migrations};

/// `--secret` / `WEBHOOK_SECRET`, for the commands that sign.
#[derive(Debug, Clone, clap::Args)]
pub struct SecretArgs {
    /// HMAC-SHA256 key: the server's WEBHOOK_SECRET (prefer the variable: flags show in `ps`)
    #[arg(long = "secret", env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
}

impl SecretArgs {
    /// The secret, or a usage error when it is unset or empty.
    pub fn require(&self) -> anyhow::Result<&[u8]> {
        match self.secret.as_deref() {
            Some(secret) if !secret.is_empty() => Ok(secret.as_bytes()),
            _ => Err(usage(
                "no secret: set WEBHOOK_SECRET (or pass --secret) to the server's key",
            )),
        }
    }
}

/// The bytes of a file named on the command line; a file that cannot be read is a usage error.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| usage(format!("cannot read {}: {error}", path.display())))
}

/// A read-only connection to an existing, migrated database file, for `list` and `stats`.
///
/// Reading never creates anything: a missing file, an in-memory URL or a file without our
/// schema is a usage error that says what to do. Read-only connections work while `app serve`
/// writes (WAL): they read the last committed snapshot.
pub fn open_existing(database: &DatabaseArgs) -> anyhow::Result<(Location, Connection)> {
    let location = database.location().map_err(usage)?;
    if location == Location::Memory {
        return Err(usage(
            "DATABASE_URL is in memory (sqlite::memory:): only the `app serve` process that \
             holds it can read it; point DATABASE_URL at the server's database file",
        ));
    }
    let target = Target::existing(&location).map_err(|error| match error {
        StorageError::Missing(_) => usage(error.to_string()),
        other => other.into(),
    })?;
    let conn = open_reader(&target).with_context(|| format!("cannot open {location}"))?;
    let version =
        migrations::current_version(&conn).with_context(|| format!("cannot read {location}"))?;
    if version.is_none() {
        return Err(usage(format!(
            "{location} has no schema yet: run `app migrate` (or start `app serve`) first"
        )));
    }
    Ok((location, conn))
}
