//! `app prune`: deletes the messages older than `--before TS` or `--older-than AGE` from the
//! database file, and says how many it deleted and how many remain (`--dry-run` only counts).
//! Also [`Age`], the `30d` form that `--older-than` and `app serve`'s `RETENTION` take.
//!
//! It runs as its own process, so it cannot hand its work to a running server's writer: it opens
//! a read-write connection of its own and deletes in short transactions, a batch at a time,
//! which SQLite's write lock takes turns with the server's writer (each waits one batch at most).
//! The server's `/stats`, totals and searches agree with the rows left after every batch.

use std::fmt;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde::Serialize;

use super::args::{DatabaseArgs, OutputArgs, cannot_open};
use super::exit::usage;
use super::output;
use crate::storage::{Pruner, age_before};
use crate::timestamp::{self, KeyBound};

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("bound").required(true).args(["before", "older_than"])),
    after_help = "Safe while `app serve` runs on the same file: it deletes in transactions of \
                  1,000 messages, taking turns with the server's writer through SQLite's write \
                  lock, so a message being stored waits one batch at most. /stats, /messages \
                  totals (with since= and q=), `app list` and `app stats` agree with the rows \
                  left after every batch."
)]
pub struct Args {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Delete messages whose ts is earlier than this RFC 3339 instant, e.g. 2025-01-01T00:00:00Z
    #[arg(long, value_name = "TS", allow_hyphen_values = true)]
    pub before: Option<String>,

    /// Delete messages whose ts is more than this long ago: a whole number and a unit, s, m, h,
    /// d or w (e.g. 30d)
    #[arg(long, value_name = "AGE", allow_hyphen_values = true)]
    pub older_than: Option<String>,

    /// Count what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// What `app prune` did, or with `--dry-run` would do.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The bound: messages with an earlier `ts` are deleted.
    pub before: String,
    pub dry_run: bool,
    /// Messages deleted; with `--dry-run`, the messages that would be.
    pub deleted: u64,
    /// Messages left; with `--dry-run`, the messages that would be.
    pub remaining: i64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cutoff = cutoff(&args)?;
    let bound = cutoff.map_or(KeyBound::BeforeAll, |at| timestamp::instant_key(&at));
    let location = args.database.location().map_err(usage)?;
    let mut pruner = Pruner::open_existing(&location).map_err(|error| {
        cannot_open(
            &location,
            error,
            "change",
            |_, _| "run `app migrate` with this binary, or prune with the one that wrote it",
        )
    })?;
    let cannot = || format!("cannot prune {location}");
    let summary = if args.dry_run {
        let older = pruner.count_older(&bound).with_context(cannot)?;
        let stored = pruner.stored().with_context(cannot)?;
        Summary {
            before: describe(cutoff),
            dry_run: true,
            deleted: u64::try_from(older).unwrap_or(0),
            remaining: stored - older,
        }
    } else {
        let deleted = pruner.delete_older(&bound).with_context(cannot)?;
        Summary {
            before: describe(cutoff),
            dry_run: false,
            deleted,
            remaining: pruner.stored().with_context(cannot)?,
        }
    };
    args.output.print(&summary, render)?;
    Ok(ExitCode::SUCCESS)
}

/// The instant the bound flag names; `None` when it is before any date there can be (nothing is
/// older). A value that does not parse is a usage error naming the flag.
fn cutoff(args: &Args) -> anyhow::Result<Option<DateTime<Utc>>> {
    if let Some(before) = &args.before {
        return timestamp::parse_instant(before).map(Some).ok_or_else(|| {
            usage(format!(
                "invalid --before {before:?}: expected an RFC 3339 instant such as \
                 2025-01-01T00:00:00Z"
            ))
        });
    }
    let older_than = args.older_than.as_deref().unwrap_or_default();
    let age: Age = older_than
        .parse()
        .map_err(|problem| usage(format!("invalid --older-than {older_than:?}: {problem}")))?;
    // From a whole second, so that the bound printed is exactly the one applied.
    Ok(age_before(Utc::now().trunc_subsecs(0), age.duration()))
}

/// The bound as printed.
fn describe(cutoff: Option<DateTime<Utc>>) -> String {
    cutoff.map_or_else(
        || "the earliest date".to_string(),
        |at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

/// The summary for people: what was deleted (or would be) and what is left.
pub fn render(summary: &Summary) -> String {
    let mut table = output::table(&[]);
    let (deleted, remaining) = if summary.dry_run {
        ("would delete", "would remain")
    } else {
        ("deleted", "remaining")
    };
    table.add_row([
        deleted.to_string(),
        format!("{} messages older than {}", summary.deleted, summary.before),
    ]);
    table.add_row([remaining.to_string(), summary.remaining.to_string()]);
    let mut text = output::render(&table);
    if summary.dry_run {
        text.push_str("dry run: nothing was deleted\n");
    }
    text
}

/// A length of time as `--older-than` and `RETENTION` write it: a whole number and one unit,
/// `s`, `m`, `h`, `d` or `w` (`30d`, `12h`, `2w`). Shown the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    count: u64,
    unit: AgeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
}

impl AgeUnit {
    const ALL: [(char, Self, u64); 5] = [
        ('s', Self::Second, 1),
        ('m', Self::Minute, 60),
        ('h', Self::Hour, 3_600),
        ('d', Self::Day, 86_400),
        ('w', Self::Week, 604_800),
    ];

    fn seconds(self) -> u64 {
        Self::ALL
            .iter()
            .find(|(_, unit, _)| *unit == self)
            .map_or(1, |(_, _, seconds)| *seconds)
    }

    fn letter(self) -> char {
        Self::ALL
            .iter()
            .find(|(_, unit, _)| *unit == self)
            .map_or('s', |(letter, _, _)| *letter)
    }
}

/// The longest age written: a hundred thousand years' worth of seconds is already beyond any
/// date a message can have; the bound only keeps the arithmetic exact.
const MAX_AGE_SECS: u64 = 100_000 * 366 * 86_400;

impl Age {
    /// The length of time.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.count * self.unit.seconds())
    }
}

impl FromStr for Age {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = "expected a whole number and a unit, s, m, h, d or w (e.g. 30d)";
        let letter = text.chars().last().ok_or(expected)?;
        let digits = &text[..text.len() - letter.len_utf8()];
        let unit = AgeUnit::ALL
            .iter()
            .find(|(name, _, _)| *name == letter)
            .map(|(_, unit, _)| *unit)
            .ok_or(expected)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(expected.to_string());
        }
        let count: u64 = digits
            .parse()
            .ok()
            .filter(|count: &u64| {
                count
                    .checked_mul(unit.seconds())
                    .is_some_and(|secs| secs <= MAX_AGE_SECS)
            })
            .ok_or_else(|| format!("at most {} days", MAX_AGE_SECS / 86_400))?;
        Ok(Self { count, unit })
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.letter())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Age;

    #[test]
    fn an_age_is_a_whole_number_and_one_unit() {
        for (text, secs) in [
            ("30d", 30 * 86_400),
            ("90d", 90 * 86_400),
            ("12h", 12 * 3_600),
            ("15m", 900),
            ("45s", 45),
            ("2w", 14 * 86_400),
            ("0s", 0),
            ("007d", 7 * 86_400),
        ] {
            let age: Age = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(age.duration(), Duration::from_secs(secs), "{text}");
        }
    }

    #[test]
    fn an_age_prints_as_it_is_written() {
        for text in ["30d", "12h", "2w", "0s"] {
            assert_eq!(text.parse::<Age>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_expected_form() {
        for text in [
            "", "d", "30", "30 d", " 30d", "30d ", "30D", "1.5d", "-1d", "+1d", "30days", "1d12h",
            "30x", "٣d", "30é",
        ] {
            let problem = text.parse::<Age>().unwrap_err();
            assert!(problem.contains("e.g. 30d"), "{text:?}: {problem}");
        }
    }

    #[test]
    fn an_age_too_long_to_mean_anything_is_refused() {
        assert!("100000000w".parse::<Age>().unwrap_err().contains("at most"));
        assert!(
            "99999999999999999999s"
                .parse::<Age>()
                .unwrap_err()
                .contains("at most")
        );
        assert!("36500d".parse::<Age>().is_ok());
    }
}
