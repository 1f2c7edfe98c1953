//! The `app` command line: one module per subcommand, each with its `Args` and `run`.

pub mod healthcheck;
pub mod serve;

use clap::{Parser, Subcommand};

/// An exactly-once webhook receiver: HMAC-verified messages in SQLite.
#[derive(Debug, Parser)]
#[command(name = "app", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API
    Serve(serve::Args),
    /// Ask a running server's /health/ready; exit 0 when ready, 1 otherwise
    Healthcheck(healthcheck::Args),
}

/// How a command ended, as the process exit code.
pub type ExitCode = std::process::ExitCode;

impl Cli {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Serve(args) => serve::run(args),
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
