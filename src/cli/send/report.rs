//! What a run did: counts by outcome and status, throughput, and latency percentiles; and how
//! `app send` prints them: a table, a JSON summary, or one line saying what was not accepted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::client::Outcome;
use crate::cli::output;

/// The result of [`super::client::run`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Messages the run was given.
    pub messages: usize,
    /// Messages posted (fewer than `messages` when a fatal outcome stopped the run).
    pub sent: usize,
    pub created: usize,
    pub duplicate: usize,
    /// Accepted by a server that did not say whether it was new.
    pub accepted_unlabelled: usize,
    /// Answers other than 2xx, by status, with the first detail seen for each.
    pub rejected: BTreeMap<u16, StatusCount>,
    /// Messages that got no answer.
    pub failed: usize,
    /// The first failure's error, when there was one.
    pub first_failure: Option<String>,
    /// The fatal outcome that stopped the run early, if one did.
    pub stopped_by: Option<Outcome>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latency of every answered request, sorted once the run is finished.
    latencies: Vec<Duration>,
}

/// How often one status was answered, and the first detail that came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    pub count: usize,
    pub first_detail: String,
}

impl Report {
    pub(super) fn new(messages: usize) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    /// Counts one outcome; `latency` is kept for answered requests only.
    pub(super) fn record(&mut self, outcome: Outcome, latency: Duration) {
        self.sent += 1;
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Accepted => self.accepted_unlabelled += 1,
            Outcome::Rejected { status, detail } => {
                self.rejected
                    .entry(status)
                    .or_insert(StatusCount {
                        count: 0,
                        first_detail: detail,
                    })
                    .count += 1;
            }
            Outcome::Failed { error, .. } => {
                self.failed += 1;
                self.first_failure.get_or_insert(error);
                return;
            }
        }
        self.latencies.push(latency);
    }

    /// Adds a worker's part of the run.
    pub(super) fn merge(&mut self, part: Self) {
        self.sent += part.sent;
        self.created += part.created;
        self.duplicate += part.duplicate;
        self.accepted_unlabelled += part.accepted_unlabelled;
        for (status, counted) in part.rejected {
            self.rejected
                .entry(status)
                .and_modify(|mine| mine.count += counted.count)
                .or_insert(counted);
        }
        self.failed += part.failed;
        if self.first_failure.is_none() {
            self.first_failure = part.first_failure;
        }
        if self.stopped_by.is_none() {
            self.stopped_by = part.stopped_by;
        }
        self.latencies.extend(part.latencies);
    }

    pub(super) fn finish(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        self.latencies.sort_unstable();
    }

    /// Messages the server took (new or duplicate).
    pub fn accepted(&self) -> usize {
        self.created + self.duplicate + self.accepted_unlabelled
    }

    /// Messages answered with anything but 2xx.
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().map(|counted| counted.count).sum()
    }

    /// True when every message given was sent and accepted.
    pub fn all_accepted(&self) -> bool {
        self.accepted() == self.messages
    }

    /// Messages sent per second of the run.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.sent as f64 / seconds
        } else {
            0.0
        }
    }

    /// The `percentile`th latency (0 to 100, nearest rank) of the answered requests.
    pub fn latency(&self, percentile: f64) -> Option<Duration> {
        nearest_rank(&self.latencies, percentile)
    }

    /// The figures to print or serialize.
    pub fn summary(&self) -> Summary {
        let ms = |duration: Option<Duration>| duration.map(|d| round3(d.as_secs_f64() * 1e3));
        Summary {
            messages: self.messages,
            sent: self.sent,
            accepted: self.accepted(),
            created: self.created,
            duplicate: self.duplicate,
            rejected: self
                .rejected
                .iter()
                .map(|(status, counted)| (status.to_string(), counted.count))
                .collect(),
            failed: self.failed,
            elapsed_s: round3(self.elapsed.as_secs_f64()),
            throughput_per_s: round3(self.throughput()),
            latency_ms: Latencies {
                p50: ms(self.latency(50.0)),
                p99: ms(self.latency(99.0)),
                max: ms(self.latencies.last().copied()),
            },
        }
    }

    /// What was not accepted, by status, with the first reason for each.
    pub fn not_accepted(&self) -> String {
        let mut parts: Vec<String> = self
            .rejected
            .iter()
            .map(|(status, counted)| {
                format!(
                    "{status} × {} (first: {})",
                    counted.count, counted.first_detail
                )
            })
            .collect();
        if self.failed > 0 {
            parts.push(format!(
                "no answer × {} (first: {})",
                self.failed,
                self.first_failure.as_deref().unwrap_or("unknown")
            ));
        }
        format!(
            "{} of {} messages not accepted: {}",
            self.messages - self.accepted(),
            self.messages,
            parts.join("; ")
        )
    }

    /// The summary as a two-column table.
    pub fn table(&self) -> String {
        let summary = self.summary();
        let ms =
            |value: Option<f64>| value.map_or_else(|| "-".to_string(), |ms| format!("{ms:.2} ms"));
        let mut accepted = format!(
            "{} (created {}, duplicate {}",
            summary.accepted, summary.created, summary.duplicate
        );
        if self.accepted_unlabelled > 0 {
            let _ = write!(accepted, ", unlabelled {}", self.accepted_unlabelled);
        }
        accepted.push(')');
        let mut rejected = self.rejected_total().to_string();
        if !summary.rejected.is_empty() {
            let by_status: Vec<String> = summary
                .rejected
                .iter()
                .map(|(status, count)| format!("{status}: {count}"))
                .collect();
            let _ = write!(rejected, " ({})", by_status.join(", "));
        }
        let mut table = output::table(&[]);
        for (name, value) in [
            ("messages", summary.messages.to_string()),
            ("sent", summary.sent.to_string()),
            ("accepted", accepted),
            ("rejected", rejected),
            ("failed", summary.failed.to_string()),
            ("elapsed", format!("{:.3} s", summary.elapsed_s)),
            (
                "throughput",
                format!("{:.1} messages/s", summary.throughput_per_s),
            ),
            (
                "latency",
                format!(
                    "p50 {}, p99 {}, max {}",
                    ms(summary.latency_ms.p50),
                    ms(summary.latency_ms.p99),
                    ms(summary.latency_ms.max)
                ),
            ),
        ] {
            table.add_row([name.to_string(), value]);
        }
        output::render(&table)
    }
}

/// The run's figures, as `app send --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub messages: usize,
    pub sent: usize,
    pub accepted: usize,
    pub created: usize,
    pub duplicate: usize,
    /// Count by HTTP status, e.g. `{"422": 2}`.
    pub rejected: BTreeMap<String, usize>,
    pub failed: usize,
    pub elapsed_s: f64,
    pub throughput_per_s: f64,
    pub latency_ms: Latencies,
}

/// Latency percentiles in milliseconds; `None` when nothing was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latencies {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `percentile`
/// percent of the values at or below it.
pub fn nearest_rank<T: Copy>(sorted: &[T], percentile: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted = ms(1..=100);
        assert_eq!(nearest_rank(&sorted, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(nearest_rank(&sorted, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(
            nearest_rank(&sorted, 100.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(nearest_rank(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(nearest_rank(&ms([7]), 99.0), Some(Duration::from_millis(7)));
        assert_eq!(nearest_rank::<Duration>(&[], 50.0), None);
    }

    #[test]
    fn outcomes_are_counted_and_merged() {
        let mut one = Report::new(5);
        one.record(Outcome::Created, Duration::from_millis(2));
        one.record(
            Outcome::Rejected {
                status: 422,
                detail: "body.from: bad".into(),
            },
            Duration::from_millis(1),
        );
        let mut two = Report::new(0);
        two.record(Outcome::Duplicate, Duration::from_millis(3));
        two.record(
            Outcome::Rejected {
                status: 422,
                detail: "body.to: bad".into(),
            },
            Duration::from_millis(1),
        );
        two.record(
            Outcome::Failed {
                error: "timed out".into(),
                connect: false,
            },
            Duration::from_secs(10),
        );
        one.merge(two);
        one.finish(Duration::from_secs(1));
        assert_eq!((one.sent, one.accepted(), one.rejected_total()), (5, 2, 2));
        assert_eq!(one.rejected[&422].count, 2);
        assert_eq!(one.rejected[&422].first_detail, "body.from: bad");
        assert_eq!(one.first_failure.as_deref(), Some("timed out"));
        assert!(!one.all_accepted());
        let summary = one.summary();
        assert_eq!(summary.rejected, BTreeMap::from([("422".to_string(), 2)]));
        assert_eq!(summary.throughput_per_s, 5.0);
        assert_eq!(summary.latency_ms.p50, Some(1.0));
        assert_eq!(summary.latency_ms.max, Some(3.0));
    }
}
