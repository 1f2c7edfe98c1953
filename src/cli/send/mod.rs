//! `app send`: posts signed messages to a running server and sums up what it answered.
//!
//! The flags, the choice of messages, the progress bar and the exit code live here; the parts
//! of a run each have a module:
//! - `input`: one message from the flags, or the messages of a JSON/NDJSON file;
//! - `synthetic`: `--generate N` realistic messages, repeatable with `--seed`;
//! - `client`: every body signed up front, then posted at a fixed concurrency over reused
//!   connections, each answer read as an outcome;
//! - `report`: the counts, throughput and latency percentiles, as a table or JSON.
//!
//! Exit 0 only when every message was accepted.

mod client;
mod input;
mod report;
mod synthetic;

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

use super::args::{OutputArgs, SecretArgs, read_file};
use super::exit::usage;
use super::output;
use crate::timestamp;
use client::{Outcome, Signed};
use input::OutgoingMessage;
use report::Report;

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
    pub secret: SecretArgs,

    /// Base URL of the server
    #[arg(long, env = "APP_URL", default_value = "http://localhost:8000")]
    pub url: String,

    /// The message's id
    #[arg(long, help_heading = "One message", required_unless_present_any = ["file", "generate"])]
    pub message_id: Option<String>,

    /// The sender, e.g. +919876543210
    #[arg(long, help_heading = "One message", required_unless_present_any = ["file", "generate"])]
    pub from: Option<String>,

    /// The recipient, e.g. +14155550100
    #[arg(long, help_heading = "One message", required_unless_present_any = ["file", "generate"])]
    pub to: Option<String>,

    /// When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]
    #[arg(long, help_heading = "One message")]
    pub ts: Option<String>,

    /// The text (left out when not given)
    #[arg(long, help_heading = "One message")]
    pub text: Option<String>,

    /// Send the messages in this file: a JSON array, or JSON objects one after another
    /// (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file
    #[arg(
        long,
        value_name = "PATH",
        help_heading = "Many messages",
        conflicts_with_all = ["single", "generate"]
    )]
    pub file: Option<PathBuf>,

    /// Send N realistic synthetic messages (varied senders, timestamps and texts)
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
    let secret = args.secret.require()?;
    let url = webhook_url(&args.url)?;
    let messages = signed_messages(&args, secret)?;
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let progress = progress_bar(messages.len());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let client = client::client(concurrency, Duration::from_secs(args.timeout_secs))
        .context("cannot build the HTTP client")?;
    let report = runtime.block_on({
        let progress = progress.clone();
        client::run(&client, &url, messages, concurrency, move |_| {
            progress.inc(1)
        })
    });
    progress.finish_and_clear();
    finish(&report, &url, args.output.json)
}

/// `<base>/webhook`, checked.
fn webhook_url(base: &str) -> anyhow::Result<Url> {
    let url = Url::parse(&format!("{}/webhook", base.trim_end_matches('/')))
        .map_err(|error| usage(format!("invalid --url {base:?}: {error}")))?;
    if url.scheme() != "http" {
        return Err(usage(format!(
            "invalid --url {base:?}: only http:// is supported (this build has no TLS client)"
        )));
    }
    Ok(url)
}

/// The messages to send, from whichever source the flags chose, each signed.
fn signed_messages(args: &Args, secret: &[u8]) -> anyhow::Result<Vec<Signed>> {
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
        return Ok(Signed::all(secret, bodies));
    }
    if let Some(count) = args.generate {
        let (seed, anchor) = match args.seed {
            Some(seed) => (seed, SEEDED_ANCHOR.parse::<DateTime<Utc>>()?),
            None => (rand::random(), Utc::now()),
        };
        let count = usize::try_from(count)?;
        // Signed as they are made, so that no list of unsigned bodies is held beside them.
        let bodies = synthetic::Generator::new(seed, anchor)
            .take(count)
            .map(|message| message.to_body());
        return Ok(Signed::all(secret, bodies));
    }
    let message = OutgoingMessage {
        message_id: args.message_id.clone().unwrap_or_default(),
        from: args.from.clone().unwrap_or_default(),
        to: args.to.clone().unwrap_or_default(),
        ts: args.ts.clone().unwrap_or_else(timestamp::now_iso),
        text: args.text.clone(),
    };
    Ok(Signed::all(secret, [message.to_body()]))
}

/// A progress bar on stderr when it is a terminal and there is more than one message;
/// otherwise a hidden one, so that logs and pipes get nothing but the summary.
fn progress_bar(messages: usize) -> ProgressBar {
    if messages < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(messages as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages  {elapsed}  eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Prints the summary and picks the exit: success only when every message was accepted.
fn finish(report: &Report, url: &Url, json: bool) -> anyhow::Result<ExitCode> {
    let fatal = report
        .stopped_by
        .as_ref()
        .map(|outcome| fatal_message(outcome, url));
    if json {
        output::print_json(&report.summary())?;
    } else if fatal.is_none() {
        output::print(&report.table())?;
    }
    if report.all_accepted() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(anyhow!(fatal.unwrap_or_else(|| report.not_accepted())))
}

/// Why the run stopped early, for an operator to act on.
fn fatal_message(outcome: &Outcome, url: &Url) -> String {
    match outcome {
        Outcome::Rejected { status, detail } => format!(
            "{url} answered {status} ({detail}): the secret is not the server's WEBHOOK_SECRET"
        ),
        Outcome::Failed { error, .. } => format!("cannot reach {url}: {error}"),
        other => format!("stopped after {other:?}"),
    }
}
