//! `app stats`: the `/stats` figures read straight from the database file, as tables, or with
//! `--json` exactly the API's body (the storage's `/stats` query is the API's own).

use std::process::ExitCode;

use anyhow::Context as _;

use super::args::{DatabaseArgs, OutputArgs};
use super::output;
use crate::storage::Stats;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (location, storage) = args.database.open_current()?;
    let stats = storage
        .stats()
        .with_context(|| format!("cannot read {location}"))?;
    args.output.print(&stats, render)?;
    Ok(ExitCode::SUCCESS)
}

/// The totals and ends of the time range, then the top senders.
pub fn render(stats: &Stats) -> String {
    let none = "-".to_string();
    let mut totals = output::table(&[]);
    totals.add_row(["messages".to_string(), stats.total_messages.to_string()]);
    totals.add_row(["senders".to_string(), stats.senders_count.to_string()]);
    totals.add_row([
        "first message".to_string(),
        stats
            .first_message_ts
            .clone()
            .unwrap_or_else(|| none.clone()),
    ]);
    totals.add_row([
        "last message".to_string(),
        stats.last_message_ts.clone().unwrap_or(none),
    ]);
    let mut senders = output::table(&["from", "count"]);
    for sender in &stats.messages_per_sender {
        senders.add_row([sender.from.clone(), sender.count.to_string()]);
    }
    if let Some(count) = senders.column_mut(1) {
        count.set_cell_alignment(comfy_table::CellAlignment::Right);
    }
    format!(
        "{}\ntop senders\n{}",
        output::render(&totals),
        output::render(&senders)
    )
}
