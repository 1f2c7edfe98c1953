//! The `app` command line: one module per subcommand, each with its `Args` and `run`; argument
//! groups shared by several commands ([`DatabaseArgs`](crate::cli::args::DatabaseArgs),
//! [`SigningArgs`](crate::cli::args::SigningArgs), [`OutputArgs`](crate::cli::args::OutputArgs))
//! are flattened into them.

pub mod args;
pub mod backup;
pub mod completions;
pub mod exit;
pub mod healthcheck;
pub mod list;
pub mod migrate;
pub mod output;
pub mod prune;
pub mod send;
pub mod serve;
pub mod sign;
pub mod stats;

use clap::{Parser, Subcommand};

/// An exactly-once webhook receiver: HMAC-verified messages in SQLite.
#[derive(Debug, Parser)]
#[command(
    name = "app",
    version,
    about,
    propagate_version = true,
    after_help = "Exit codes: 0 ok; 1 failure (not every message accepted, server unreachable or \
                  not ready, database error); 2 usage or configuration error; 130 interrupted \
                  (Ctrl-C)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API
    Serve(serve::Args),
    /// Apply the embedded schema migrations to DATABASE_URL (--status: list them)
    Migrate(migrate::Args),
    /// Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)
    Sign(sign::Args),
    /// Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers
    Send(send::Args),
    /// List stored messages like GET /messages, reading the database file
    List(list::Args),
    /// Print the GET /stats figures, reading the database file
    Stats(stats::Args),
    /// Copy the database into a new file (online, while `app serve` writes) and check the copy
    Backup(backup::Args),
    /// Delete the messages older than a date or an age, and say how many remain
    Prune(prune::Args),
    /// Print a shell completion script
    Completions(completions::Args),
    /// Ask a running server's /health/ready; exit 0 when ready, 1 otherwise
    Healthcheck(healthcheck::Args),
}

/// How a command ended, as the process exit code.
pub type ExitCode = std::process::ExitCode;

impl Cli {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Serve(args) => serve::run(args),
            Command::Migrate(args) => migrate::run(args),
            Command::Sign(args) => sign::run(args),
            Command::Send(args) => send::run(args),
            Command::List(args) => list::run(args),
            Command::Stats(args) => stats::run(args),
            Command::Backup(args) => backup::run(args),
            Command::Prune(args) => prune::run(args),
            Command::Completions(args) => completions::run(args),
            Command::Healthcheck(args) => healthcheck::run(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
