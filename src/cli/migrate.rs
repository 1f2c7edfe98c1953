//! `app migrate`: applies the embedded migrations to `DATABASE_URL` and says what it applied;
//! `--status` lists applied and pending versions and changes nothing. Running it again applies
//! nothing. (`app serve` also migrates at start; this lets an operator do it first, or check.)

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::args::DatabaseArgs;
use super::exit::usage;
use super::output;
use crate::config::Location;
use crate::storage::{self, OpenError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// List applied and pending migrations without changing anything
    #[arg(long)]
    pub status: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let location = args.database.location().map_err(usage)?;
    let text = if args.status {
        status(&location)
    } else {
        migrate(&location)
    };
    let text = text.map_err(|error| match error {
        OpenError::InMemory => usage(
            "DATABASE_URL is in memory (sqlite::memory:): there is nothing to migrate, \
             `app serve` migrates its in-memory database when it starts",
        ),
        other => other.into(),
    })?;
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Applies what is pending; says what it applied and where the database is now.
fn migrate(location: &Location) -> Result<String, OpenError> {
    let migrated = storage::migrate(location)?;
    let mut text = String::new();
    for migration in &migrated.applied {
        let _ = writeln!(
            text,
            "applied {} to {location}",
            label(migration.version, &migration.name)
        );
    }
    if migrated.applied.is_empty() {
        text.push_str("nothing to apply: ");
    }
    let _ = writeln!(
        text,
        "{location} is at version {}, the latest",
        migrated.version
    );
    Ok(text)
}

/// Every migration this binary embeds, and every one the database applied, as a table.
fn status(location: &Location) -> Result<String, OpenError> {
    let status = storage::migration_status(location)?;
    let applied = status.applied.as_deref().unwrap_or_default();
    let mut table = output::table(&["version", "name", "state", "applied_on"]);
    let mut pending = 0;
    for migration in &status.embedded {
        let version = migration.version.to_string();
        match applied
            .iter()
            .find(|done| done.version == migration.version)
        {
            Some(done) => table.add_row([
                &version,
                &migration.name,
                "applied",
                &readable_time(&done.applied_on),
            ]),
            None => {
                pending += 1;
                table.add_row([&version, &migration.name, "pending", ""])
            }
        };
    }
    for unknown in applied.iter().filter(|done| {
        status
            .embedded
            .iter()
            .all(|migration| migration.version != done.version)
    }) {
        table.add_row([
            &unknown.version.to_string(),
            &unknown.name,
            "applied, unknown to this binary",
            &readable_time(&unknown.applied_on),
        ]);
    }
    let mut text = output::render(&table);
    if status.applied.is_some() {
        let _ = writeln!(
            text,
            "{location}: {} applied, {pending} pending",
            applied.len()
        );
    } else {
        let _ = writeln!(
            text,
            "{location} does not exist yet: {pending} pending (run `app migrate`)"
        );
    }
    Ok(text)
}

/// When a migration was applied, as a person reads it: `2026-12-01 09:42:07 UTC`. refinery
/// records RFC 3339 to the nanosecond; anything else it may have recorded is shown as it is.
fn readable_time(recorded: &str) -> String {
    DateTime::parse_from_rfc3339(recorded).map_or_else(
        |_| recorded.to_string(),
        |time| {
            time.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        },
    )
}

/// A migration as its file is named: `V1__messages`.
fn label(version: i64, name: &str) -> String {
    format!("V{version}__{name}")
}

#[cfg(test)]
mod tests {
    use super::readable_time;

    #[test]
    fn times_are_shown_in_utc_to_the_second() {
        assert_eq!(
            readable_time("2026-12-01T09:42:07.752340217Z"),
            "2026-12-01 09:42:07 UTC"
        );
        assert_eq!(
            readable_time("2026-12-01T11:42:07.9+02:00"),
            "2026-12-01 09:42:07 UTC"
        );
        assert_eq!(readable_time("yesterday"), "yesterday");
    }
}
