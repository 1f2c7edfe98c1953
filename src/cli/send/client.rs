//! Posting signed bodies to the server: each body signed once before the run where its scheme
//! allows (a Standard Webhooks signature covers a timestamp, so it is made as the body is
//! posted), then posted over one reused connection pool with exactly `concurrency` requests in
//! flight, and each answer read as an [`Outcome`] (`X-Webhook-Result` says created or duplicate,
//! or for a WhatsApp delivery without messages, acknowledged).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::report::{Report, Unit};
use crate::cli::args::{Signer, new_standard_id};
use crate::signature;
use crate::wire::{
    HUB_SIGNATURE_HEADER, RESULT_HEADER, SIGNATURE_HEADER, STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER, STANDARD_TIMESTAMP_HEADER,
};

/// What one body carries: one flat message, or a WhatsApp delivery's messages (none to many)
/// and statuses (which are acknowledged, not stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    // u32, not usize: `--generate` holds one per body, up to a million.
    pub messages: u32,
    pub statuses: u32,
}

impl std::iter::Sum for Carried {
    fn sum<I: Iterator<Item = Self>>(all: I) -> Self {
        all.fold(Self::default(), |total, one| Self {
            messages: total.messages.saturating_add(one.messages),
            statuses: total.statuses.saturating_add(one.statuses),
        })
    }
}

impl Carried {
    /// A flat message body: one message, no status.
    pub const ONE_MESSAGE: Self = Self {
        messages: 1,
        statuses: 0,
    };
}

/// A body, what it carries, and its hex signature when it can be computed before the run.
#[derive(Debug, Clone)]
pub struct Signed {
    pub body: Bytes,
    pub carried: Carried,
    /// The hex HMAC-SHA256 for `hex` and `whatsapp`, inline: `--generate` holds up to a million
    /// of these at once, and a `HeaderValue` would be one more allocation each. The header is
    /// made when the body is sent. `None` for `standard`, signed as it is sent.
    signature: Option<[u8; 64]>,
}

impl Signed {
    pub fn new(signer: &Signer, body: Bytes, carried: Carried) -> Self {
        let hex = |secret: &[u8]| -> [u8; 64] {
            signature::sign(secret, &body)
                .as_bytes()
                .try_into()
                .expect("a hex HMAC-SHA256 has 64 digits")
        };
        let signature = match signer {
            Signer::Hex(secret) | Signer::WhatsApp(secret) => Some(hex(secret)),
            Signer::Standard(_) => None,
        };
        Self {
            body,
            carried,
            signature,
        }
    }

    /// Signs every body with `signer`.
    pub fn all(signer: &Signer, bodies: impl IntoIterator<Item = (Bytes, Carried)>) -> Vec<Self> {
        bodies
            .into_iter()
            .map(|(body, carried)| Self::new(signer, body, carried))
            .collect()
    }

    /// The headers that sign this body in `signer`'s scheme: the one made before the run, or
    /// for `standard` a new `webhook-id` and the current `webhook-timestamp`, so that every
    /// delivery is fresh and within the server's tolerance however long the run.
    fn headers(&self, signer: &Signer) -> Vec<(HeaderName, HeaderValue)> {
        let hex = || {
            self.signature
                .expect("hex schemes are signed before the run")
        };
        let value = |text: String| HeaderValue::try_from(text).expect("a valid header value");
        match signer {
            Signer::Hex(_) => vec![(
                HeaderName::from_static(SIGNATURE_HEADER),
                HeaderValue::from_bytes(&hex()).expect("hex is a valid header value"),
            )],
            Signer::WhatsApp(_) => {
                let mut prefixed = b"sha256=".to_vec();
                prefixed.extend_from_slice(&hex());
                vec![(
                    HeaderName::from_static(HUB_SIGNATURE_HEADER),
                    HeaderValue::from_bytes(&prefixed).expect("hex is a valid header value"),
                )]
            }
            Signer::Standard(secret) => {
                let id = new_standard_id();
                let timestamp = Utc::now().timestamp();
                let signed = signature::standard::sign(secret, &id, timestamp, &self.body);
                vec![
                    (HeaderName::from_static(STANDARD_ID_HEADER), value(id)),
                    (
                        HeaderName::from_static(STANDARD_TIMESTAMP_HEADER),
                        value(timestamp.to_string()),
                    ),
                    (
                        HeaderName::from_static(STANDARD_SIGNATURE_HEADER),
                        value(signed),
                    ),
                ]
            }
        }
    }
}

/// What the server made of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx, `X-Webhook-Result: created`.
    Created,
    /// 2xx, `X-Webhook-Result: duplicate`: the id was already stored (for a delivery, every
    /// message it carried was).
    Duplicate,
    /// 2xx, `X-Webhook-Result: acknowledged`: a WhatsApp delivery that carried no message
    /// (statuses or other fields only), so nothing to store.
    Acknowledged,
    /// 2xx without the result header (a server other than ours).
    Accepted,
    /// Any other status; `detail` is the body's `detail`, flattened to one line.
    Rejected { status: u16, detail: String },
    /// No answer: the connection failed or timed out.
    Failed { error: String, connect: bool },
}

impl Outcome {
    /// The server took the request (a 2xx), whatever it made of it.
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            Self::Created | Self::Duplicate | Self::Acknowledged | Self::Accepted
        )
    }

    /// An outcome every later message would share: a refused signature or an unreachable
    /// server. Sending on would only repeat it.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Rejected { status: 401, .. } | Self::Failed { connect: true, .. }
        )
    }
}

/// A client for [`run`]: HTTP/1.1 keep-alive with an idle pool as large as the concurrency, so
/// every worker reuses its connection, and a timeout per request.
pub fn client(concurrency: usize, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(timeout)
        .tcp_nodelay(true)
        .build()
}

/// Posts every signed body to `url` with `concurrency` requests in flight (signing each as
/// `signer`'s scheme requires, see [`Signed`]), calling `observe` as
/// each outcome arrives (a progress bar, say), and reports the counts and latencies. The first
/// fatal outcome (see [`Outcome::is_fatal`]) stops the run: no worker takes another message.
/// When `interrupted` resolves first (Ctrl-C), the run stops at once: the requests in flight
/// are abandoned, uncounted, and the report says so ([`Report::interrupted`]).
/// The clock runs from the first request to the last answer.
pub async fn run(
    client: &reqwest::Client,
    url: &reqwest::Url,
    signer: Signer,
    messages: Vec<Signed>,
    concurrency: usize,
    observe: impl Fn(&Outcome) + Send + Sync + 'static,
    interrupted: impl std::future::Future<Output = ()>,
) -> Report {
    let worker_count = concurrency.clamp(1, messages.len().max(1));
    let shared = Arc::new(Shared {
        client: client.clone(),
        url: url.clone(),
        report: Mutex::new(Report::new(
            messages.len(),
            messages.iter().map(|message| message.carried).sum(),
            Unit::of(signer.scheme()),
        )),
        signer,
        messages,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        observe: Box::new(observe),
    });
    let started = Instant::now();
    let mut workers: tokio::task::JoinSet<()> = (0..worker_count)
        .map(|_| Arc::clone(&shared).work())
        .collect();
    let all_done = async {
        while let Some(ended) = workers.join_next().await {
            if let Err(error) = ended
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    };
    let was_interrupted = tokio::select! {
        () = all_done => false,
        () = interrupted => true,
    };
    if was_interrupted {
        shared.stop.store(true, Ordering::Relaxed);
        // Aborted and awaited, so that no worker holds the shared report any more.
        workers.shutdown().await;
    }
    let elapsed = started.elapsed();
    let shared = Arc::into_inner(shared).expect("every worker has finished");
    let mut report = shared
        .report
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    report.elapsed = elapsed;
    report.interrupted = was_interrupted;
    report
}

/// What the workers of a run share: the messages, which one is next, and one report that each
/// answer is counted into. One report rather than one per worker, merged at the end: a
/// latency histogram is a few hundred KiB, and `--concurrency` goes to 1024.
struct Shared {
    client: reqwest::Client,
    url: reqwest::Url,
    signer: Signer,
    messages: Vec<Signed>,
    next: AtomicUsize,
    stop: AtomicBool,
    report: Mutex<Report>,
    observe: Box<dyn Fn(&Outcome) + Send + Sync>,
}

impl Shared {
    /// Takes the next message until there are none left or a fatal outcome stops the run.
    async fn work(self: Arc<Self>) {
        while !self.stop.load(Ordering::Relaxed) {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(message) = self.messages.get(index) else {
                break;
            };
            let started = Instant::now();
            let outcome = post(&self.client, &self.url, &self.signer, message).await;
            let latency = started.elapsed();
            (self.observe)(&outcome);
            if outcome.is_fatal() {
                self.stop.store(true, Ordering::Relaxed);
            }
            // Held for a count and a histogram slot, never across an await.
            self.report
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(outcome, latency, message.carried);
        }
    }
}

/// Posts one body and reads the whole answer.
async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    signer: &Signer,
    message: &Signed,
) -> Outcome {
    let mut request = client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in message.headers(signer) {
        request = request.header(name, value);
    }
    let sent = request.body(message.body.clone()).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return failed(&error),
    };
    let status = response.status();
    let result = response
        .headers()
        .get(RESULT_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(error) => return failed(&error),
    };
    if status.is_success() {
        return match result.as_deref() {
            Some("created") => Outcome::Created,
            Some("duplicate") => Outcome::Duplicate,
            Some("acknowledged") => Outcome::Acknowledged,
            _ => Outcome::Accepted,
        };
    }
    Outcome::Rejected {
        status: status.as_u16(),
        detail: detail_of(&body),
    }
}

fn failed(error: &reqwest::Error) -> Outcome {
    let error_text = if error.is_timeout() {
        "timed out".to_string()
    } else {
        innermost_cause(error)
    };
    Outcome::Failed {
        error: error_text,
        connect: error.is_connect(),
    }
}

/// The most specific message in an error's chain ("Connection refused (os error 111)"), which
/// says more than reqwest's own ("error sending request").
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |cause| cause.source())
        .last()
        .map_or_else(String::new, ToString::to_string)
}

/// The `detail` of an error body on one line: the text of `{"detail":"…"}`, the problems of a
/// 422 (`body.from: String should match …`), or the start of any other body.
pub fn detail_of(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let detail = parsed.as_ref().and_then(|value| value.get("detail"));
    match detail {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(problems)) => problems
            .iter()
            .map(|problem| {
                let loc = problem["loc"]
                    .as_array()
                    .map(|parts| {
                        parts
                            .iter()
                            .map(|part| match part {
                                serde_json::Value::String(text) => text.clone(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default();
                let msg = problem["msg"].as_str().unwrap_or("invalid");
                format!("{loc}: {msg}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let text = String::from_utf8_lossy(body);
            let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            line.chars().take(200).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_flattened_to_one_line() {
        assert_eq!(
            detail_of(br#"{"detail":"invalid signature"}"#),
            "invalid signature"
        );
        let body = br#"{"detail":[{"type":"missing","loc":["body","from"],"msg":"Field required","input":{}},
                        {"type":"x","loc":["body"],"msg":"JSON decode error","input":{}}]}"#;
        assert_eq!(
            detail_of(body),
            "body.from: Field required; body: JSON decode error"
        );
        assert_eq!(detail_of(b"Bad\n  Gateway"), "Bad Gateway");
    }

    #[test]
    fn only_a_refused_signature_or_connection_is_fatal() {
        let rejected = |status| Outcome::Rejected {
            status,
            detail: String::new(),
        };
        assert!(rejected(401).is_fatal());
        assert!(!rejected(422).is_fatal());
        assert!(!rejected(503).is_fatal());
        let failed = |connect| Outcome::Failed {
            error: String::new(),
            connect,
        };
        assert!(failed(true).is_fatal());
        assert!(!failed(false).is_fatal());
    }
}
