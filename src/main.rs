//! `app`: parse the command line, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use webhook_receiver::cli::{Cli, exit};

/// glibc's allocator spent a sixth of the request threads' time under load (measured with
/// `perf`); mimalloc's per-thread heaps do not contend.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match Cli::parse().run() {
        Ok(code) => code,
        Err(error) => exit::report(&error),
    }
}
