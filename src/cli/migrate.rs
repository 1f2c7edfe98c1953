//! `app migrate`: applies the embedded migrations to `DATABASE_URL` and says what it applied;
//! `--status` lists applied and pending versions and changes nothing. Running it again applies
//! nothing. (`app serve` also migrates at start; this lets an operator do it first, or check.)

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::exit::usage;
use super::output;
use crate::config::{DatabaseArgs, Location};
use crate::storage::connection::{Target, open_reader, open_writer};
use crate::storage::migrations;

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
    if location == Location::Memory {
        return Err(usage(
            "DATABASE_URL is in memory (sqlite::memory:): there is nothing to migrate, \
             `app serve` migrates its in-memory database when it starts",
        ));
    }
    if args.status {
        status(&location)
    } else {
        migrate(&location)
    }
}

fn migrate(location: &Location) -> anyhow::Result<ExitCode> {
    let target = Target::new(location)?;
    let mut conn = open_writer(&target).with_context(|| format!("cannot open {location}"))?;
    let report =
        migrations::run(&mut conn).with_context(|| format!("cannot migrate {location}"))?;
    let version = migrations::current_version(&conn)?.unwrap_or(0);
    let mut text = String::new();
    for migration in report.applied_migrations() {
        writeln!(
            text,
            "applied {} to {location}",
            label(i64::from(migration.version()), migration.name())
        )?;
    }
    if report.applied_migrations().is_empty() {
        text.push_str("nothing to apply: ");
    }
    writeln!(text, "{location} is at version {version}, the latest")?;
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn status(location: &Location) -> anyhow::Result<ExitCode> {
    let exists = location.path().is_some_and(|path| path.exists());
    let applied = if exists {
        let conn = open_reader(&Target::existing(location)?)
            .with_context(|| format!("cannot open {location}"))?;
        migrations::applied(&conn).with_context(|| format!("cannot read {location}"))?
    } else {
        Vec::new()
    };
    let embedded = migrations::embedded();
    let mut table = output::table(&["version", "name", "state", "applied_on"]);
    let mut pending = 0;
    for (version, name) in &embedded {
        match applied.iter().find(|done| done.version == *version) {
            Some(done) => table.add_row([&version.to_string(), name, "applied", &done.applied_on]),
            None => {
                pending += 1;
                table.add_row([&version.to_string(), name.as_str(), "pending", ""])
            }
        };
    }
    for unknown in applied
        .iter()
        .filter(|done| embedded.iter().all(|(version, _)| *version != done.version))
    {
        table.add_row([
            &unknown.version.to_string(),
            &unknown.name,
            "applied, unknown to this binary",
            &unknown.applied_on,
        ]);
    }
    let mut text = output::render(&table);
    if exists {
        writeln!(
            text,
            "{location}: {} applied, {pending} pending",
            applied.len()
        )?;
    } else {
        writeln!(
            text,
            "{location} does not exist yet: {pending} pending (run `app migrate`)"
        )?;
    }
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A migration as its file is named: `V1__messages`.
fn label(version: i64, name: &str) -> String {
    format!("V{version}__{name}")
}
