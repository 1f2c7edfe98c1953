//! `app`: parse the command line, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use webhook_receiver::cli::{Cli, exit};

fn main() -> ExitCode {
    match Cli::parse().run() {
        Ok(code) => code,
        Err(error) => exit::report(&error),
    }
}
