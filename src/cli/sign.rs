//! `app sign`: the signature header(s) of exactly the bytes given, in the chosen sender style
//! (`--scheme`), as the server checks them.
//!
//! Nothing is added or stripped (no trailing newline is removed), so
//! `printf '%s' "$BODY" | app sign` is what `POST /webhook` expects for `$BODY`. A Standard
//! Webhooks signature covers an id and a timestamp too: `--id` and `--timestamp` fix them, so
//! that a signature can be reproduced; by default they are a new `msg_…` and now.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;

use super::args::{Signer, SigningArgs, new_standard_id};
use super::exit::usage;
use super::output;
use crate::signature;
use crate::wire::{
    HUB_SIGNATURE_HEADER, SIGNATURE_HEADER, STANDARD_ID_HEADER, STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub signing: SigningArgs,

    /// Sign this file's bytes instead of stdin ("-" is stdin)
    #[arg(long, value_name = "PATH", conflicts_with = "body")]
    pub file: Option<PathBuf>,

    /// Sign this string's bytes instead of stdin
    #[arg(long, value_name = "STR")]
    pub body: Option<String>,

    /// Print whole header lines (`X-Signature: <hex>`; for standard all three `webhook-*`
    /// headers) instead of the signature alone
    #[arg(long)]
    pub header: bool,

    /// The webhook-id to sign (standard only) [default: a new msg_…]
    #[arg(long, value_name = "ID", help_heading = "Standard Webhooks")]
    pub id: Option<String>,

    /// The webhook-timestamp to sign, in Unix seconds (standard only) [default: now]
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Standard Webhooks",
        value_parser = clap::value_parser!(i64).range(0..=9_999_999_999)
    )]
    pub timestamp: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let signer = args.signing.signer()?;
    let standard_only = args.id.is_some() || args.timestamp.is_some();
    if standard_only && !matches!(signer, Signer::Standard(_)) {
        return Err(usage(
            "--id and --timestamp are signed by --scheme standard only",
        ));
    }
    if let Some(id) = &args.id
        && !is_header_token(id)
    {
        return Err(usage(format!(
            "invalid --id {id:?}: a webhook-id is printable ASCII without spaces"
        )));
    }
    if matches!(signer, Signer::Standard(_))
        && !args.header
        && (args.id.is_none() || args.timestamp.is_none())
    {
        return Err(usage(
            "--scheme standard signs an id and a timestamp with the body: pass --header to \
             print all three headers, or --id and --timestamp to print the signature alone",
        ));
    }
    let body = match (&args.body, &args.file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) if path.as_os_str() != "-" => super::args::read_file(path)?,
        (None, _) => read_stdin()?,
    };
    let headers = match &signer {
        Signer::Hex(secret) => vec![(SIGNATURE_HEADER, signature::sign(secret, &body))],
        Signer::WhatsApp(secret) => vec![(
            HUB_SIGNATURE_HEADER,
            format!("sha256={}", signature::sign(secret, &body)),
        )],
        Signer::Standard(secret) => {
            let id = args.id.unwrap_or_else(new_standard_id);
            let timestamp = args.timestamp.unwrap_or_else(|| Utc::now().timestamp());
            let signed = signature::standard::sign(secret, &id, timestamp, &body);
            vec![
                (STANDARD_ID_HEADER, id),
                (STANDARD_TIMESTAMP_HEADER, timestamp.to_string()),
                (STANDARD_SIGNATURE_HEADER, signed),
            ]
        }
    };
    let text = if args.header {
        headers
            .iter()
            .map(|(name, value)| format!("{}: {value}\n", spelled(name)))
            .collect()
    } else {
        // The signature alone: each scheme's last header.
        let (_, signature) = headers.last().expect("every scheme has a signature header");
        format!("{signature}\n")
    };
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A header name as its senders document it: `X-Signature` and `X-Hub-Signature-256` in title
/// case (as GitHub and Meta write them), the Standard Webhooks names in lower case (as the spec
/// writes them). On the wire the case does not matter.
fn spelled(name: &str) -> String {
    if !name.starts_with("x-") {
        return name.to_string();
    }
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Visible ASCII only, so that the printed header line is one line that curl sends as it is.
fn is_header_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_spelled_as_their_senders_document_them() {
        assert_eq!(spelled(SIGNATURE_HEADER), "X-Signature");
        assert_eq!(spelled(HUB_SIGNATURE_HEADER), "X-Hub-Signature-256");
        assert_eq!(spelled(STANDARD_ID_HEADER), "webhook-id");
        assert_eq!(spelled(STANDARD_SIGNATURE_HEADER), "webhook-signature");
    }
}
