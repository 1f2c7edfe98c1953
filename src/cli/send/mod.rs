//! `app send`: posts signed messages to a running server, in any sender style (`--scheme`),
//! and sums up what it answered.
//!
//! The flags, the choice of bodies, the progress bar and the exit code live here; the parts
//! of a run each have a module:
//! - `input`: one message from the flags, or the bodies of a JSON/NDJSON file;
//! - `synthetic`: `--generate N` realistic messages, repeatable with `--seed`;
//! - `whatsapp`: the same as WhatsApp Cloud API deliveries of several messages each, and what
//!   a delivery carries;
//! - `client`: every body signed up front (Standard Webhooks' as it is posted), then posted at
//!   a fixed concurrency over reused connections, each answer read as an outcome;
//! - `report`: the counts, throughput and latency percentiles, as a table or JSON.
//!
//! Exit 0 only when every message (or delivery) was accepted; Ctrl-C stops the run, prints the
//! summary of what was sent so far and exits 130.

mod client;
mod input;
mod report;
mod synthetic;
mod whatsapp;

use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::ArgGroup;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Url;
use tokio::signal::unix::{SignalKind, signal};

use super::args::{OutputArgs, Scheme, Signer, SigningArgs, http_base_url, read_file};
use super::exit::{Interrupted, usage};
use super::output;
use crate::timestamp;
use crate::wire::WHATSAPP_PATH;
use client::{Carried, Outcome, Signed};
use input::OutgoingMessage;
use report::{Report, Unit};

/// Where `--seed` runs put their timestamps: the week before this instant, so that a seeded
/// run repeats exactly, timestamps included.
pub const SEEDED_ANCHOR: &str = "2025-01-15T10:00:00Z";

#[derive(Debug, clap::Args)]
#[command(group(
    ArgGroup::new("single")
        .multiple(true)
        .args(["message_id", "from", "to", "ts", "text"])
))]
pub struct Args {
    #[command(flatten)]
    pub signing: SigningArgs,

    /// Base URL of the server (whatsapp posts to /webhook/whatsapp, the others to /webhook)
    #[arg(long, env = "APP_URL", default_value = "http://localhost:8000")]
    pub url: String,

    /// The message's id (for whatsapp, a wamid…)
    #[arg(long, help_heading = "One message")]
    pub message_id: Option<String>,

    /// The sender, e.g. +919876543210
    #[arg(long, help_heading = "One message")]
    pub from: Option<String>,

    /// The recipient, e.g. +14155550100
    #[arg(long, help_heading = "One message")]
    pub to: Option<String>,

    /// When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]
    #[arg(long, help_heading = "One message")]
    pub ts: Option<String>,

    /// The text (left out when not given; whatsapp sends a text message, so needs one)
    #[arg(long, help_heading = "One message")]
    pub text: Option<String>,

    /// Send the messages in this file: a JSON array, or JSON objects one after another
    /// (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file
    /// (for whatsapp, each object is a delivery: a fixture or a captured webhook, as is)
    #[arg(
        long,
        value_name = "PATH",
        help_heading = "Many messages",
        conflicts_with_all = ["single", "generate"]
    )]
    pub file: Option<PathBuf>,

    /// Send N realistic synthetic messages (varied senders, timestamps and texts); for whatsapp,
    /// N deliveries of 1 to 10 messages each (texts, captions, stickers…), some only statuses
    #[arg(
        long,
        value_name = "N",
        help_heading = "Many messages",
        conflicts_with = "single",
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub generate: Option<u64>,

    /// Repeat a --generate run exactly: the same ids, senders, texts and timestamps (then in
    /// the week before 2025-01-15T10:00:00Z) [default: random]
    #[arg(long, help_heading = "Many messages", requires = "generate")]
    pub seed: Option<u64>,

    /// Requests in flight at once
    #[arg(
        long,
        default_value_t = 8,
        value_parser = clap::value_parser!(u64).range(1..=1024)
    )]
    pub concurrency: u64,

    /// Seconds to wait for each answer
    #[arg(long, default_value_t = 10)]
    pub timeout_secs: u64,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let signer = args.signing.signer()?;
    let url = webhook_url(&args.url, signer.scheme())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // Ctrl-C is caught from here on: while the bodies are signed, and then while they are sent.
    let mut interrupt = runtime
        .block_on(async { signal(SignalKind::interrupt()) })
        .context("cannot watch for Ctrl-C")?;
    let messages = signed_messages(&args, &signer)?;
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let progress = progress_bar(messages.len(), Unit::of(signer.scheme()));
    let client = client::client(concurrency, Duration::from_secs(args.timeout_secs))
        .context("cannot build the HTTP client")?;
    let report = runtime.block_on({
        let progress = progress.clone();
        client::run(
            &client,
            &url,
            signer,
            messages,
            concurrency,
            move |_| progress.inc(1),
            async move {
                interrupt.recv().await;
            },
        )
    });
    progress.finish_and_clear();
    finish(&report, &url, args.signing.scheme, args.output.json)
}

/// `<base>/webhook`, or `<base>/webhook/whatsapp` for WhatsApp deliveries, checked.
fn webhook_url(base: &str, scheme: Scheme) -> anyhow::Result<Url> {
    let path = match scheme {
        Scheme::Hex | Scheme::Standard => "/webhook",
        Scheme::Whatsapp => WHATSAPP_PATH,
    };
    http_base_url(base, "--url")?
        .join(path.trim_start_matches('/'))
        .map_err(|error| usage(format!("invalid --url {base:?}: {error}")))
}

/// The bodies to send, from whichever source the flags chose, in the scheme's shape, each
/// signed.
fn signed_messages(args: &Args, signer: &Signer) -> anyhow::Result<Vec<Signed>> {
    let whatsapp = signer.scheme() == Scheme::Whatsapp;
    if let Some(path) = &args.file {
        let (name, content) = if path.as_os_str() == "-" {
            let mut content = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut content)
                .context("cannot read stdin")?;
            ("stdin".to_string(), content)
        } else {
            (path.display().to_string(), read_file(path)?)
        };
        let bodies = input::message_bodies(&Bytes::from(content))
            .map_err(|error| usage(format!("{name}: {error}")))?;
        if bodies.is_empty() {
            return Err(usage(format!("{name} holds no messages")));
        }
        let bodies = bodies.into_iter().map(|body| {
            let carried = if whatsapp {
                whatsapp::carried(&body)
            } else {
                Carried::ONE_MESSAGE
            };
            (body, carried)
        });
        return Ok(Signed::all(signer, bodies));
    }
    if let Some(count) = args.generate {
        let (seed, anchor) = match args.seed {
            Some(seed) => (seed, SEEDED_ANCHOR.parse::<DateTime<Utc>>()?),
            None => (rand::random(), Utc::now()),
        };
        let count = usize::try_from(count)?;
        // Signed as they are made, so that no list of unsigned bodies is held beside them.
        if whatsapp {
            let deliveries = whatsapp::Deliveries::new(seed, anchor).take(count);
            return Ok(Signed::all(signer, deliveries));
        }
        let bodies = synthetic::Generator::new(seed, anchor)
            .take(count)
            .map(|message| (message.to_body(), Carried::ONE_MESSAGE));
        return Ok(Signed::all(signer, bodies));
    }
    let (Some(message_id), Some(from), Some(to)) = (&args.message_id, &args.from, &args.to) else {
        return Err(usage(nothing_to_send(args)));
    };
    let message = OutgoingMessage {
        message_id: message_id.clone(),
        from: from.clone(),
        to: to.clone(),
        ts: args.ts.clone().unwrap_or_else(timestamp::now_iso),
        text: args.text.clone(),
    };
    let body = if whatsapp {
        whatsapp::from_message(&message).map_err(usage)?
    } else {
        message.to_body()
    };
    Ok(Signed::all(signer, [(body, Carried::ONE_MESSAGE)]))
}

/// What to say when the flags name no complete message, no file and no `--generate`: the three
/// ways to give messages, or the flags one message still needs.
fn nothing_to_send(args: &Args) -> String {
    let missing: Vec<&str> = [
        ("--message-id", args.message_id.is_none()),
        ("--from", args.from.is_none()),
        ("--to", args.to.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, missing)| missing.then_some(flag))
    .collect();
    let given_any = missing.len() < 3 || args.ts.is_some() || args.text.is_some();
    if given_any {
        format!(
            "one message needs --message-id, --from and --to: {} missing",
            missing.join(", ")
        )
    } else {
        "nothing to send: give one message (--message-id, --from, --to), a file of them \
         (--file PATH, or - for stdin), or --generate N synthetic ones"
            .to_string()
    }
}

/// A progress bar on stderr when it is a terminal and there is more than one request;
/// otherwise a hidden one, so that logs and pipes get nothing but the summary.
fn progress_bar(requests: usize, unit: Unit) -> ProgressBar {
    if requests < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(requests as u64);
    let template = format!(
        "{{bar:40}} {{pos}}/{{len}} {}  {{elapsed}}  eta {{eta}}",
        unit.plural()
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Prints the summary and picks the exit: success only when every request was accepted.
fn finish(report: &Report, url: &Url, scheme: Scheme, json: bool) -> anyhow::Result<ExitCode> {
    let fatal = report
        .stopped_by
        .as_ref()
        .map(|outcome| fatal_message(outcome, url, scheme));
    if json {
        report.print_json()?;
    } else if fatal.is_none() {
        output::print(&report.table())?;
    }
    if report.interrupted {
        return Err(Interrupted(format!(
            "interrupted: {} of {} {} sent{}",
            report.sent,
            report.requests,
            report.unit.plural(),
            fatal.map(|fatal| format!(" ({fatal})")).unwrap_or_default()
        ))
        .into());
    }
    if report.all_accepted() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(anyhow!(fatal.unwrap_or_else(|| report.not_accepted())))
}

/// Why the run stopped early, for an operator to act on.
fn fatal_message(outcome: &Outcome, url: &Url, scheme: Scheme) -> String {
    match outcome {
        Outcome::Rejected { status, detail } => {
            let cause = match scheme {
                Scheme::Hex => "the secret is not the server's WEBHOOK_SECRET",
                Scheme::Standard => {
                    "the secret is not the server's WEBHOOK_SECRET, or this clock and the \
                     server's differ by more than its WEBHOOK_TOLERANCE_SECS"
                }
                Scheme::Whatsapp => {
                    "the app secret is not the server's WHATSAPP_APP_SECRET (or the server has none)"
                }
            };
            format!("{url} answered {status} ({detail}): {cause}")
        }
        Outcome::Failed { error, .. } => format!("cannot reach {url}: {error}"),
        other => format!("stopped after {other:?}"),
    }
}
