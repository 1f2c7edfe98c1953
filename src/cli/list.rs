//! `app list`: `GET /messages` read straight from the database file, with the same flags as
//! the query parameters and the same defaults, validation, ordering and JSON
//! ([`RawListQuery`] and the storage's listing query are the API's own).

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use super::args::{DatabaseArgs, OutputArgs};
use super::exit::usage;
use super::output;
use crate::filters::RawListQuery;
use crate::storage::Page;
use crate::validation::Problem;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Messages per page, 1 to 100 [default: 50]
    #[arg(long, allow_hyphen_values = true)]
    pub limit: Option<String>,

    /// Messages to skip, 0 or more [default: 0]
    #[arg(long, allow_hyphen_values = true)]
    pub offset: Option<String>,

    /// Only this sender (exact), e.g. +919876543210; the + may be left out
    #[arg(long)]
    pub from: Option<String>,

    /// Only messages at or after this RFC 3339 instant, e.g. 2025-01-15T09:30:00Z
    #[arg(long)]
    pub since: Option<String>,

    /// Only messages whose text contains this, ignoring case
    #[arg(long)]
    pub q: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let raw = RawListQuery {
        limit: args.limit.as_deref(),
        offset: args.offset.as_deref(),
        from: args.from.as_deref(),
        since: args.since.as_deref(),
        q: args.q.as_deref(),
    };
    let query = raw.parse().map_err(|problems| usage(describe(&problems)))?;
    let (location, storage) = args.database.open_current()?;
    let page = storage
        .list_messages(&query)
        .with_context(|| format!("cannot read {location}"))?;
    args.output.print(&page, render)?;
    Ok(ExitCode::SUCCESS)
}

/// The page as a table, one message a row, then a line with the counts.
pub fn render(page: &Page) -> String {
    let mut table = output::table(&["message_id", "from", "to", "ts", "text"]);
    for message in &page.data {
        table.add_row([
            output::one_line(&message.message_id),
            message.from.clone(),
            message.to.clone(),
            message.ts.clone(),
            output::one_line(message.text.as_deref().unwrap_or_default()),
        ]);
    }
    // On a terminal, the widest cells are cut to fit it. The minimums keep what identifies a
    // row readable at 80 columns: a whole timestamp (to the second) and phone number (13
    // characters hold most), the start of the id and of the text.
    output::fit(&mut table, &[10, 13, 13, 20, 8]);
    let mut text = output::render(&table);
    let _ = writeln!(
        text,
        "{} of {} messages (offset {}, limit {})",
        page.data.len(),
        page.total,
        page.offset,
        page.limit
    );
    text
}

/// Validation problems on one line, named by flag: `invalid --limit "0": Input should be greater than
/// or equal to 1; invalid --since "soon": Input should be a valid datetime…`.
pub fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| {
            let name = problem
                .loc
                .last()
                .and_then(|name| name.as_str())
                .unwrap_or("value");
            format!("invalid --{name} {}: {}", problem.input, problem.msg)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
