//! `app sign`: the `X-Signature` of exactly the bytes given, as the server computes it.
//!
//! Nothing is added or stripped (no trailing newline is removed), so
//! `printf '%s' "$BODY" | app sign` is what `POST /webhook` expects for `$BODY`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::args::SecretArgs;
use super::exit::usage;
use super::output;
use crate::signature;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub secret: SecretArgs,

    /// Sign this file's bytes instead of stdin ("-" is stdin)
    #[arg(long, value_name = "PATH", conflicts_with = "body")]
    pub file: Option<PathBuf>,

    /// Sign this string's bytes instead of stdin
    #[arg(long, value_name = "STR")]
    pub body: Option<String>,

    /// Print the whole header line, `X-Signature: <hex>`
    #[arg(long)]
    pub header: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let secret = args.secret.require()?;
    let body = match (&args.body, &args.file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) if path.as_os_str() != "-" => super::args::read_file(path)?,
        (None, _) => read_stdin()?,
    };
    let hex = signature::sign(secret, &body);
    let line = if args.header {
        format!("X-Signature: {hex}\n")
    } else {
        format!("{hex}\n")
    };
    output::print(&line)?;
    Ok(ExitCode::SUCCESS)
}

/// The whole of stdin. A terminal is refused: typing a body adds a newline nobody means to sign.
fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        return Err(usage(
            "no body: pipe it in (printf '%s' \"$BODY\" | app sign), or pass --body or --file",
        ));
    }
    let mut body = Vec::new();
    stdin.read_to_end(&mut body).context("cannot read stdin")?;
    Ok(body)
}
