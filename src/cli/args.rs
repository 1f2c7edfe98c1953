//! The argument groups several commands flatten into theirs (the database, the secret, the
//! output format), and the set-up they share.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::exit::usage;
use super::output;
use crate::config::{DEFAULT_DATABASE_URL, Location};
use crate::storage::{OpenError, ReadOnlyStorage};

/// `--database-url` / `DATABASE_URL`, for every command that opens the database.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub url: String,
}

impl DatabaseArgs {
    pub fn location(&self) -> Result<Location, String> {
        Location::parse(&self.url)
    }

    /// The existing, migrated database file, opened to read, for `list` and `stats`.
    ///
    /// Reading never creates anything: a missing file, an in-memory URL or a file without our
    /// schema is a usage error that says what to do.
    pub fn open_existing(&self) -> anyhow::Result<(Location, ReadOnlyStorage)> {
        let location = self.location().map_err(usage)?;
        match ReadOnlyStorage::open_existing(&location) {
            Ok(storage) => Ok((location, storage)),
            Err(OpenError::InMemory) => Err(usage(
                "DATABASE_URL is in memory (sqlite::memory:): only the `app serve` process that \
                 holds it can read it; point DATABASE_URL at the server's database file",
            )),
            Err(missing @ OpenError::Missing(_)) => Err(usage(format!(
                "{missing} (run `app migrate` or start `app serve` first)"
            ))),
            Err(OpenError::NoSchema(_)) => Err(usage(format!(
                "{location} has no schema yet: run `app migrate` (or start `app serve`) first"
            ))),
            Err(other) => Err(other.into()),
        }
    }
}

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

/// `--json`, for every command that prints figures.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (for `list` and `stats` exactly the API's body) instead of tables
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Prints `value` as one line of JSON with `--json`, else as `table` lays it out for people.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        table: impl FnOnce(&T) -> String,
    ) -> io::Result<()> {
        if self.json {
            output::print_json(value)
        } else {
            output::print(&table(value))
        }
    }
}

/// The bytes of a file named on the command line; a file that cannot be read is a usage error.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| usage(format!("cannot read {}: {error}", path.display())))
}
