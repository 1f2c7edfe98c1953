//! Exit codes, and how an error becomes one line on stderr and one of them.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | the command did what was asked (also: stdout was closed early, as by `app list \| head`) |
//! | 1 | it ran and failed: not every message accepted, server unreachable or not ready, a database error |
//! | 2 | it could not run as asked: a bad flag or value, `DATABASE_URL`, a missing secret, a missing database file |
//! | 130 | it was interrupted (Ctrl-C, SIGINT) and stopped early, as shells report it |

use std::io;
use std::process::ExitCode;

/// The command did what was asked.
pub const SUCCESS: u8 = 0;
/// The command ran and failed.
pub const FAILURE: u8 = 1;
/// The command could not run as asked: usage or configuration. Clap uses the same code.
pub const USAGE: u8 = 2;

/// The command was interrupted (SIGINT): 128 + 2, as a shell reports a command that Ctrl-C
/// ended, so that scripts tell it from a failure.
pub const INTERRUPTED: u8 = 130;

/// A command that Ctrl-C stopped early, having said what it did: reported as one line, exit
/// code [`INTERRUPTED`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

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
    eprintln!("app: {}", one_line(error));
    if error.chain().any(|cause| cause.is::<Interrupted>()) {
        ExitCode::from(INTERRUPTED)
    } else if error.chain().any(|cause| cause.is::<UsageError>()) {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FAILURE)
    }
}

/// `error` and its causes on one line, each cause said once.
///
/// Many errors already put their source's text in their own (thiserror's `"…: {0}"` with
/// `#[from]`, `io::Error` behind a message that quotes it), and rusqlite's error repeats SQLite's
/// in its source, so appending every cause, as `{:#}` does, printed "file is not a database:
/// file is not a database". A cause whose text the line already holds adds nothing and is left
/// out; below a rusqlite error there is only SQLite's generic text for the same code.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(text.as_str()) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if cause.is::<rusqlite::Error>() {
            break;
        }
    }
    line.replace(['\n', '\r'], " ")
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
    fn a_cause_already_in_the_line_is_not_repeated() {
        let io = io::Error::from(io::ErrorKind::NotFound);
        let text = io.to_string();
        let wrapped = anyhow::Error::new(WrapsItsSource(io)).context("cannot start");
        assert_eq!(
            one_line(&wrapped),
            format!("cannot start: cannot open the file: {text}")
        );
        let error = anyhow::anyhow!("first\nline").context("outer");
        assert_eq!(one_line(&error), "outer: first line");
    }

    /// An error that puts its source's text in its own, as thiserror's `"…: {0}"` does.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the file: {0}")]
    struct WrapsItsSource(#[source] io::Error);

    #[test]
    fn usage_errors_keep_their_code_under_context() {
        let error = usage("no secret").context("app sign");
        assert!(error.chain().any(|cause| cause.is::<UsageError>()));
    }
}
