//! `app completions SHELL`: the shell completion script, generated from the CLI definition.
//!
//! The generated scripts are committed under `completions/`; `make completions` regenerates
//! them, and a test fails when they drift from the CLI.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let script = script(args.shell);
    output::print(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// The completion script for `shell`. Generated in memory first: clap_complete panics on a
/// failed write, and a closed pipe must not be a panic.
pub fn script(shell: Shell) -> String {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "app", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}
