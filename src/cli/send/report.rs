//! What a run did: counts by outcome and status, throughput, and latency percentiles; and how
//! `app send` prints them: a table, a JSON summary, or one line saying what was not accepted.
//!
//! A request is one message in the flat styles, and the summary counts messages as it always
//! has. With `--scheme whatsapp` a request is a delivery of any number of messages: the
//! summary counts deliveries (sent, accepted, rejected…) and, beside them, the messages they
//! carry, and says which is which.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::client::{Carried, Outcome};
use crate::cli::args::Scheme;
use crate::cli::output;

/// Latencies are kept to 4 significant figures: exact to the microsecond below 32.768 ms (every
/// digit of `--json`'s milliseconds) and within 8 µs up to 262 ms (the table's 0.01 ms). At 3
/// the table's last digit would drift above 16 ms.
const LATENCY_SIGNIFICANT_FIGURES: u8 = 4;

/// What one request of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// One flat message (`hex`, `standard`).
    Message,
    /// One WhatsApp delivery, carrying any number of messages and statuses.
    Delivery,
}

impl Unit {
    pub fn of(scheme: Scheme) -> Self {
        match scheme {
            Scheme::Hex | Scheme::Standard => Self::Message,
            Scheme::Whatsapp => Self::Delivery,
        }
    }

    /// The plural noun, for a count of requests.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Message => "messages",
            Self::Delivery => "deliveries",
        }
    }
}

/// The result of [`super::client::run`].
#[derive(Debug, Clone)]
pub struct Report {
    pub unit: Unit,
    /// Requests the run was given: messages, or deliveries.
    pub requests: usize,
    /// What the requests given carry, all together.
    pub carried: Carried,
    /// Messages carried by the accepted requests.
    pub messages_accepted: u64,
    /// Requests posted (fewer than `requests` when a fatal outcome stopped the run).
    pub sent: usize,
    pub created: usize,
    pub duplicate: usize,
    /// WhatsApp deliveries that carried no message (statuses or other fields only).
    pub acknowledged: usize,
    /// Accepted by a server that did not say whether it was new.
    pub accepted_unlabelled: usize,
    /// Answers other than 2xx, by status, with the first detail seen for each.
    pub rejected: BTreeMap<u16, StatusCount>,
    /// Messages that got no answer.
    pub failed: usize,
    /// The first failure's error, when there was one.
    pub first_failure: Option<String>,
    /// The first fatal outcome (see [`Outcome::is_fatal`]), which stopped the run early.
    pub stopped_by: Option<Outcome>,
    /// Stopped by Ctrl-C: the requests then in flight are in no count.
    pub interrupted: bool,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latency of every answered request, in microseconds. A histogram, not the samples: its
    /// size follows the slowest answer (256 KiB to 50 ms, 1.4 MiB to 10 s), not the number of
    /// answers, where a vector of a million samples held 16 MB.
    latencies_us: Histogram<u64>,
}

/// How often one status was answered, and the first detail that came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    pub count: usize,
    pub first_detail: String,
}

impl Report {
    pub(super) fn new(requests: usize, carried: Carried, unit: Unit) -> Self {
        Self {
            unit,
            requests,
            carried,
            messages_accepted: 0,
            sent: 0,
            created: 0,
            duplicate: 0,
            acknowledged: 0,
            accepted_unlabelled: 0,
            rejected: BTreeMap::new(),
            failed: 0,
            first_failure: None,
            stopped_by: None,
            interrupted: false,
            elapsed: Duration::ZERO,
            // Auto-resizing: it grows to the slowest answer (bounded by --timeout-secs).
            latencies_us: Histogram::new(LATENCY_SIGNIFICANT_FIGURES)
                .expect("4 significant figures are within hdrhistogram's 0 to 5"),
        }
    }

    /// Counts one outcome of a request carrying `carried`; `latency` is kept for answered
    /// requests only.
    pub(super) fn record(&mut self, outcome: Outcome, latency: Duration, carried: Carried) {
        self.sent += 1;
        if outcome.is_accepted() {
            self.messages_accepted += u64::from(carried.messages);
        }
        if outcome.is_fatal() && self.stopped_by.is_none() {
            self.stopped_by = Some(outcome.clone());
        }
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Acknowledged => self.acknowledged += 1,
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
        // To the nearest microsecond, as the summary shows milliseconds to 3 decimals.
        let micros = u64::try_from((latency.as_nanos() + 500) / 1000).unwrap_or(u64::MAX);
        self.latencies_us
            .record(micros)
            .expect("the histogram resizes itself for any latency below 2^62 µs (146,000 years)");
    }

    /// Requests the server took (new, duplicate, acknowledged or unlabelled).
    pub fn accepted(&self) -> usize {
        self.created + self.duplicate + self.acknowledged + self.accepted_unlabelled
    }

    /// Requests answered with anything but 2xx.
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().map(|counted| counted.count).sum()
    }

    /// True when every request given was sent and accepted.
    pub fn all_accepted(&self) -> bool {
        self.accepted() == self.requests
    }

    /// Requests sent per second of the run.
    pub fn throughput(&self) -> f64 {
        self.per_second(self.sent as f64)
    }

    /// Messages in accepted requests per second of the run.
    pub fn messages_per_second(&self) -> f64 {
        self.per_second(self.messages_accepted as f64)
    }

    fn per_second(&self, count: f64) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { count / seconds } else { 0.0 }
    }

    /// The latency that `quantile` (0 to 1) of the answered requests took at most, nearest
    /// rank, in milliseconds; `None` when none was answered.
    fn latency_ms(&self, quantile: f64) -> Option<f64> {
        (!self.latencies_us.is_empty())
            .then(|| micros_to_ms(self.latencies_us.value_at_quantile(quantile)))
    }

    /// The figures to print or serialize, in the flat styles' words.
    pub fn summary(&self) -> Summary {
        Summary {
            messages: self.requests,
            sent: self.sent,
            accepted: self.accepted(),
            created: self.created,
            duplicate: self.duplicate,
            rejected: self.rejected_by_status(),
            failed: self.failed,
            elapsed_s: round3(self.elapsed.as_secs_f64()),
            throughput_per_s: round3(self.throughput()),
            latency_ms: self.latencies(),
        }
    }

    /// The figures of a run of WhatsApp deliveries: the deliveries, and the messages in them.
    pub fn delivery_summary(&self) -> DeliverySummary {
        DeliverySummary {
            deliveries: self.requests,
            sent: self.sent,
            accepted: self.accepted(),
            created: self.created,
            duplicate: self.duplicate,
            acknowledged: self.acknowledged,
            rejected: self.rejected_by_status(),
            failed: self.failed,
            messages: u64::from(self.carried.messages),
            messages_accepted: self.messages_accepted,
            statuses: u64::from(self.carried.statuses),
            elapsed_s: round3(self.elapsed.as_secs_f64()),
            deliveries_per_s: round3(self.throughput()),
            messages_per_s: round3(self.messages_per_second()),
            latency_ms: self.latencies(),
        }
    }

    /// One line of JSON: [`Summary`], or [`DeliverySummary`] for deliveries.
    pub fn print_json(&self) -> std::io::Result<()> {
        match self.unit {
            Unit::Message => output::print_json(&self.summary()),
            Unit::Delivery => output::print_json(&self.delivery_summary()),
        }
    }

    fn rejected_by_status(&self) -> BTreeMap<String, usize> {
        self.rejected
            .iter()
            .map(|(status, counted)| (status.to_string(), counted.count))
            .collect()
    }

    fn latencies(&self) -> Latencies {
        Latencies {
            p50: self.latency_ms(0.50),
            p99: self.latency_ms(0.99),
            max: self.latency_ms(1.0),
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
            "{} of {} {} not accepted: {}",
            self.requests - self.accepted(),
            self.requests,
            self.unit.plural(),
            parts.join("; ")
        )
    }

    /// The summary as a two-column table; for deliveries, with the messages they carry.
    pub fn table(&self) -> String {
        let summary = self.summary();
        let ms =
            |value: Option<f64>| value.map_or_else(|| "-".to_string(), |ms| format!("{ms:.2} ms"));
        let mut accepted = format!(
            "{} (created {}, duplicate {}",
            summary.accepted, summary.created, summary.duplicate
        );
        // Always shown for deliveries, as a delivery of statuses only is acknowledged. A flat
        // message is never answered so by `/webhook`, so its line stays as it always was.
        if self.unit == Unit::Delivery || self.acknowledged > 0 {
            let _ = write!(accepted, ", acknowledged {}", self.acknowledged);
        }
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
        let mut rows = vec![
            (self.unit.plural(), summary.messages.to_string()),
            ("sent", summary.sent.to_string()),
            ("accepted", accepted),
            ("rejected", rejected),
            ("failed", summary.failed.to_string()),
        ];
        let mut throughput = format!("{:.1} {}/s", summary.throughput_per_s, self.unit.plural());
        if self.unit == Unit::Delivery {
            let deliveries = self.delivery_summary();
            rows.push((
                "messages",
                format!(
                    "{} in the deliveries, {} in accepted ones; {} statuses",
                    deliveries.messages, deliveries.messages_accepted, deliveries.statuses
                ),
            ));
            let _ = write!(throughput, ", {:.1} messages/s", deliveries.messages_per_s);
        }
        rows.extend([
            ("elapsed", format!("{:.3} s", summary.elapsed_s)),
            ("throughput", throughput),
            (
                "latency",
                format!(
                    "p50 {}, p99 {}, max {}",
                    ms(summary.latency_ms.p50),
                    ms(summary.latency_ms.p99),
                    ms(summary.latency_ms.max)
                ),
            ),
        ]);
        let mut table = output::table(&[]);
        for (name, value) in rows {
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

/// The figures of a run of WhatsApp deliveries, as `app send --scheme whatsapp --json` prints
/// them: `sent` to `failed` count deliveries (requests), `acknowledged` those that carried no
/// message; `messages` and `messages_accepted` the messages in the deliveries given and in those
/// accepted; `statuses` the statuses given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliverySummary {
    pub deliveries: usize,
    pub sent: usize,
    pub accepted: usize,
    pub created: usize,
    pub duplicate: usize,
    pub acknowledged: usize,
    /// Count by HTTP status, e.g. `{"422": 2}`.
    pub rejected: BTreeMap<String, usize>,
    pub failed: usize,
    pub messages: u64,
    pub messages_accepted: u64,
    pub statuses: u64,
    pub elapsed_s: f64,
    pub deliveries_per_s: f64,
    /// Messages in accepted deliveries, per second.
    pub messages_per_s: f64,
    /// Per delivery.
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

fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of `count` flat messages.
    fn messages(count: usize) -> Report {
        let carried = Carried {
            messages: u32::try_from(count).unwrap(),
            statuses: 0,
        };
        Report::new(count, carried, Unit::Message)
    }

    /// A report of answered requests that took these many microseconds.
    fn answered_in(micros: impl IntoIterator<Item = u64>) -> Report {
        let mut report = messages(0);
        for micros in micros {
            report.record(
                Outcome::Created,
                Duration::from_micros(micros),
                Carried::ONE_MESSAGE,
            );
        }
        report
    }

    /// The smallest value with at least `quantile` of the values at or below it.
    fn nearest_rank(sorted: &[u64], quantile: f64) -> u64 {
        let rank = (quantile * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        // 0.1 ms to 10 ms, recorded out of order.
        let report = answered_in((1..=100).rev().map(|tenths| tenths * 100));
        assert_eq!(report.latency_ms(0.50), Some(5.0));
        assert_eq!(report.latency_ms(0.99), Some(9.9));
        assert_eq!(report.latency_ms(1.0), Some(10.0));
        assert_eq!(report.latency_ms(0.0), Some(0.1));
        assert_eq!(answered_in([7_000]).latency_ms(0.99), Some(7.0));
        assert_eq!(answered_in([]).latency_ms(0.50), None);
        assert_eq!(answered_in([]).summary().latency_ms.max, None);
    }

    #[test]
    fn percentiles_keep_every_digit_printed() {
        // 10,000 latencies from 20 µs to 250 ms, denser at the fast end, recorded out of order.
        let latencies: Vec<u64> = (0..10_000u64)
            .map(|i| (i * 7919) % 10_000)
            .map(|i| 20 + i * i / 400)
            .collect();
        let report = answered_in(latencies.iter().copied());
        let mut sorted = latencies;
        sorted.sort_unstable();
        for quantile in [0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
            let exact = nearest_rank(&sorted, quantile);
            let reported = report.latency_ms(quantile).unwrap();
            let error_us = (reported * 1000.0 - exact as f64).abs();
            if exact < 32_768 {
                // --json prints milliseconds to 3 decimals: the microsecond is exact.
                assert_eq!(reported, micros_to_ms(exact), "at {quantile}");
            } else {
                // The table prints 2 decimals: within a hundredth of a millisecond.
                assert!(
                    error_us < 10.0,
                    "at {quantile}: {reported} ms for {exact} µs"
                );
            }
        }
        let summary = report.summary();
        assert_eq!(summary.latency_ms.p50, report.latency_ms(0.5));
        assert_eq!(summary.latency_ms.p99, report.latency_ms(0.99));
        let slowest = micros_to_ms(sorted[sorted.len() - 1]);
        assert!((summary.latency_ms.max.unwrap() - slowest).abs() < 0.01);
    }

    #[test]
    fn outcomes_are_counted_by_status() {
        let mut report = messages(5);
        report.record(
            Outcome::Created,
            Duration::from_millis(2),
            Carried::ONE_MESSAGE,
        );
        report.record(
            Outcome::Rejected {
                status: 422,
                detail: "body.from: bad".into(),
            },
            Duration::from_millis(1),
            Carried::ONE_MESSAGE,
        );
        report.record(
            Outcome::Duplicate,
            Duration::from_millis(3),
            Carried::ONE_MESSAGE,
        );
        report.record(
            Outcome::Rejected {
                status: 422,
                detail: "body.to: bad".into(),
            },
            Duration::from_millis(1),
            Carried::ONE_MESSAGE,
        );
        report.record(
            Outcome::Failed {
                error: "timed out".into(),
                connect: false,
            },
            Duration::from_secs(10),
            Carried::ONE_MESSAGE,
        );
        report.elapsed = Duration::from_secs(1);
        assert_eq!(
            (report.sent, report.accepted(), report.rejected_total()),
            (5, 2, 2)
        );
        assert_eq!(report.rejected[&422].count, 2);
        assert_eq!(report.rejected[&422].first_detail, "body.from: bad");
        assert_eq!(report.first_failure.as_deref(), Some("timed out"));
        assert!(!report.all_accepted());
        assert_eq!(report.stopped_by, None);
        let summary = report.summary();
        assert_eq!(summary.rejected, BTreeMap::from([("422".to_string(), 2)]));
        assert_eq!(summary.throughput_per_s, 5.0);
        assert_eq!(summary.latency_ms.p50, Some(1.0));
        assert_eq!(summary.latency_ms.max, Some(3.0));
        // Flat messages are never acknowledged: the line says nothing of it.
        let table = report.table();
        assert!(
            table.contains("accepted    2 (created 1, duplicate 1)\n"),
            "{table}"
        );
    }

    #[test]
    fn a_server_that_labels_nothing_is_counted_unlabelled_beside_the_labelled() {
        let mut report = Report::new(2, Carried::default(), Unit::Delivery);
        for outcome in [Outcome::Acknowledged, Outcome::Accepted] {
            report.record(outcome, Duration::from_millis(1), Carried::default());
        }
        assert!(report.all_accepted());
        let table = report.table();
        assert!(
            table
                .contains("accepted    2 (created 0, duplicate 0, acknowledged 1, unlabelled 1)\n"),
            "{table}"
        );
    }

    #[test]
    fn deliveries_are_counted_beside_the_messages_they_carry() {
        let carrying = |messages, statuses| Carried { messages, statuses };
        let mut report = Report::new(3, carrying(7, 2), Unit::Delivery);
        report.record(Outcome::Created, Duration::from_millis(2), carrying(5, 0));
        report.record(
            Outcome::Acknowledged,
            Duration::from_millis(1),
            carrying(0, 2),
        );
        let invalid = Outcome::Rejected {
            status: 422,
            detail: "body.entry.0: bad".into(),
        };
        report.record(invalid, Duration::from_millis(1), carrying(2, 0));
        report.elapsed = Duration::from_secs(1);
        let summary = report.delivery_summary();
        assert_eq!(
            (summary.deliveries, summary.sent, summary.accepted),
            (3, 3, 2)
        );
        assert_eq!(
            (summary.created, summary.duplicate, summary.acknowledged),
            (1, 0, 1)
        );
        assert_eq!(
            (
                summary.messages,
                summary.messages_accepted,
                summary.statuses
            ),
            (7, 5, 2)
        );
        assert_eq!(
            (summary.deliveries_per_s, summary.messages_per_s),
            (3.0, 5.0)
        );
        assert_eq!(
            report.not_accepted(),
            "1 of 3 deliveries not accepted: 422 × 1 (first: body.entry.0: bad)"
        );
        let table = report.table();
        assert!(table.contains("deliveries"), "{table}");
        assert!(
            table.contains("accepted    2 (created 1, duplicate 0, acknowledged 1)\n"),
            "{table}"
        );
        assert!(
            table.contains("7 in the deliveries, 5 in accepted ones; 2 statuses"),
            "{table}"
        );
        assert!(
            table.contains("3.0 deliveries/s, 5.0 messages/s"),
            "{table}"
        );
    }

    #[test]
    fn the_first_fatal_outcome_is_the_one_that_stopped_the_run() {
        let refused = Outcome::Rejected {
            status: 401,
            detail: "invalid signature".into(),
        };
        let mut report = messages(3);
        report.record(
            Outcome::Created,
            Duration::from_millis(1),
            Carried::ONE_MESSAGE,
        );
        report.record(
            refused.clone(),
            Duration::from_millis(1),
            Carried::ONE_MESSAGE,
        );
        report.record(
            Outcome::Failed {
                error: "Connection refused".into(),
                connect: true,
            },
            Duration::from_millis(1),
            Carried::ONE_MESSAGE,
        );
        assert_eq!(report.stopped_by, Some(refused));
    }
}
