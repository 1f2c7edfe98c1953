//! Exit codes, and how an error becomes one line on stderr and one of them.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | the command did what was asked (also: stdout was closed early, as by `app list \| head`) |
//! | 1 | it ran and failed: not every message accepted, server unreachable or not ready, a database error |
//! | 2 | it could not run as asked: a bad flag or value, `DATABASE_URL`, a missing secret, a missing database file |

use std::io;
use std::process::ExitCode;

/// The command did what was asked.
pub const SUCCESS: u8 = 0;
/// The command ran and failed.
pub const FAILURE: u8 = 1;
/// The command could not run as asked: usage or configuration. Clap uses the same code.
pub const USAGE: u8 = 2;

/// A usage or configuration problem: reported as one line, exit code [`USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Shorthand for returning a [`UsageError`] from a command.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Reports `error` on stderr as `app: …` (one line) and picks the exit code.
///
/// A closed stdout is not an error: the reader has what it wanted, so the command ends quietly
/// with success, as `grep` or `rg` do.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::from(SUCCESS);
    }
    let line = format!("{error:#}").replace(['\n', '\r'], " ");
    eprintln!("app: {line}");
    if error.chain().any(|cause| cause.is::<UsageError>()) {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FAILURE)
    }
}

/// True when writing to stdout failed because its reader went away.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_recognised() {
        let error = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing the table");
        assert!(is_broken_pipe(&error));
        assert!(!is_broken_pipe(&anyhow::anyhow!("database error")));
    }

    #[test]
    fn usage_errors_keep_their_code_under_context() {
        let error = usage("no secret").context("app sign");
        assert!(error.chain().any(|cause| cause.is::<UsageError>()));
    }
}
