//! Posting signed messages to the server: each body signed once before the run, then posted
//! over one reused connection pool with exactly `concurrency` requests in flight, and each
//! answer read as an [`Outcome`] (`X-Webhook-Result` says created or duplicate).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::report::Report;
use crate::signature;
use crate::wire::{RESULT_HEADER, SIGNATURE_HEADER};

/// A body and its `X-Signature`, computed once before the run.
#[derive(Debug, Clone)]
pub struct Signed {
    pub body: Bytes,
    /// The hex HMAC-SHA256, inline: `--generate` holds up to a million of these at once, and a
    /// `HeaderValue` would be one more allocation each. The header is made when the body is sent.
    signature: [u8; 64],
}

impl Signed {
    pub fn new(secret: &[u8], body: Bytes) -> Self {
        let signature = signature::sign(secret, &body);
        Self {
            body,
            signature: signature
                .as_bytes()
                .try_into()
                .expect("a hex HMAC-SHA256 has 64 digits"),
        }
    }

    /// Signs every body with `secret`.
    pub fn all(secret: &[u8], bodies: impl IntoIterator<Item = Bytes>) -> Vec<Self> {
        bodies
            .into_iter()
            .map(|body| Self::new(secret, body))
            .collect()
    }

    fn signature_header(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.signature).expect("hex is a valid header value")
    }
}

/// What the server made of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx, `X-Webhook-Result: created`.
    Created,
    /// 2xx, `X-Webhook-Result: duplicate`: the id was already stored.
    Duplicate,
    /// 2xx without the result header (a server other than ours).
    Accepted,
    /// Any other status; `detail` is the body's `detail`, flattened to one line.
    Rejected { status: u16, detail: String },
    /// No answer: the connection failed or timed out.
    Failed { error: String, connect: bool },
}

impl Outcome {
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

/// Posts every signed body to `url` with `concurrency` requests in flight, calling `observe` as
/// each outcome arrives (a progress bar, say), and reports the counts and latencies. The first
/// fatal outcome (see [`Outcome::is_fatal`]) stops the run: no worker takes another message.
/// The clock runs from the first request to the last answer.
pub async fn run(
    client: &reqwest::Client,
    url: &reqwest::Url,
    messages: Vec<Signed>,
    concurrency: usize,
    observe: impl Fn(&Outcome) + Send + Sync + 'static,
) -> Report {
    let worker_count = concurrency.clamp(1, messages.len().max(1));
    let shared = Arc::new(Shared {
        client: client.clone(),
        url: url.clone(),
        report: Mutex::new(Report::new(messages.len())),
        messages,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        observe: Box::new(observe),
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..worker_count)
        .map(|_| tokio::spawn(Arc::clone(&shared).work()))
        .collect();
    for worker in workers {
        if let Err(error) = worker.await
            && error.is_panic()
        {
            std::panic::resume_unwind(error.into_panic());
        }
    }
    let elapsed = started.elapsed();
    let shared = Arc::into_inner(shared).expect("every worker has finished");
    let mut report = shared
        .report
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    report.elapsed = elapsed;
    report
}

/// What the workers of a run share: the messages, which one is next, and one report that each
/// answer is counted into. One report rather than one per worker, merged at the end: a
/// latency histogram is a few hundred KiB, and `--concurrency` goes to 1024.
struct Shared {
    client: reqwest::Client,
    url: reqwest::Url,
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
            let outcome = post(&self.client, &self.url, message).await;
            let latency = started.elapsed();
            (self.observe)(&outcome);
            if outcome.is_fatal() {
                self.stop.store(true, Ordering::Relaxed);
            }
            // Held for a count and a histogram slot, never across an await.
            self.report
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(outcome, latency);
        }
    }
}

/// Posts one message and reads the whole answer.
async fn post(client: &reqwest::Client, url: &reqwest::Url, message: &Signed) -> Outcome {
    let sent = client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(SIGNATURE_HEADER, message.signature_header())
        .body(message.body.clone())
        .send()
        .await;
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
