//! `app backup PATH`: a consistent copy of the database file in a new file, made with SQLite's
//! online backup API while `app serve` keeps writing, then checked (`integrity_check`) and its
//! messages counted. An existing file is refused, untouched (exit code 2); a copy that fails is
//! removed (exit code 1).

use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{DatabaseArgs, OutputArgs};
use super::exit::usage;
use crate::storage::{BackupError, BackupReport};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Safe while `app serve` runs on the same file: the copy is one snapshot, read \
                  in steps without ever blocking the server's writer. The copy is a single file \
                  (no -wal beside it) that `app list`, `app stats` and `app serve` open as it is."
)]
pub struct Args {
    /// The new file to write the copy to (an existing file is refused)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (location, storage) = args.database.open_existing()?;
    let report = storage.backup_to(&args.path).map_err(|error| match error {
        exists @ BackupError::Exists(_) => usage(exists.to_string()),
        other => anyhow::Error::new(other).context(format!("cannot back up {location}")),
    })?;
    args.output
        .print(&report, |report| render(&location.to_string(), report))?;
    Ok(ExitCode::SUCCESS)
}

/// One line: where the copy is and what it holds.
pub fn render(source: &str, report: &BackupReport) -> String {
    format!(
        "backed up {source} to {}: {} messages, {} bytes, integrity_check {}\n",
        report.path, report.messages, report.bytes, report.integrity_check
    )
}
