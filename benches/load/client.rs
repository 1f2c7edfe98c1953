//! The load client: a fixed number of kept-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous answer is read (closed loop), on plain hyper connections so
//! that the client costs as little CPU as possible on the machine it shares with the server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, RETRY_AFTER};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use webhook_receiver::wire::{
    HUB_SIGNATURE_HEADER, RESULT_HEADER, SIGNATURE_HEADER, WHATSAPP_PATH,
};

/// One request, ready to send: everything costly (bodies, signatures) is made before the clock.
#[derive(Clone)]
pub struct Prepared {
    pub method: hyper::Method,
    pub uri: hyper::Uri,
    pub body: Bytes,
    /// The signature header, for the webhooks.
    pub signature: Option<(HeaderName, HeaderValue)>,
}

impl Prepared {
    pub fn get(path_and_query: &str) -> Self {
        Self {
            method: hyper::Method::GET,
            uri: path_and_query.parse().expect("a valid path and query"),
            body: Bytes::new(),
            signature: None,
        }
    }

    /// `POST /webhook` of `body` with its `X-Signature`.
    pub fn webhook(body: Bytes, signature: &str) -> Self {
        Self::signed("/webhook", SIGNATURE_HEADER, body, signature.to_string())
    }

    /// `POST /webhook/whatsapp` of `body` with its `X-Hub-Signature-256: sha256=<hex>`.
    pub fn whatsapp(body: Bytes, hex: &str) -> Self {
        Self::signed(
            WHATSAPP_PATH,
            HUB_SIGNATURE_HEADER,
            body,
            format!("sha256={hex}"),
        )
    }

    fn signed(path: &'static str, header: &'static str, body: Bytes, value: String) -> Self {
        Self {
            method: hyper::Method::POST,
            uri: hyper::Uri::from_static(path),
            body,
            signature: Some((
                HeaderName::from_static(header),
                HeaderValue::try_from(value).expect("hex is a header value"),
            )),
        }
    }
}

/// The requests of a run: the same one again and again, or each of a list once, in order.
pub enum Source {
    Repeat(Prepared),
    Each(Vec<Prepared>),
}

impl Source {
    fn get(&self, index: usize) -> Option<&Prepared> {
        match self {
            Self::Repeat(prepared) => Some(prepared),
            Self::Each(all) => all.get(index),
        }
    }
}

/// What a load run saw.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub requests: u64,
    pub elapsed: Duration,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// `X-Webhook-Result` values, for the webhooks that send one.
    pub results: BTreeMap<String, u64>,
    /// Transport failures (connection refused, reset…): never expected.
    pub failures: u64,
    /// `503` answers with a `Retry-After`: load shed on purpose, counted apart from errors.
    pub shed: u64,
    /// CPU the server used during the run (all its threads), when measured.
    pub server_cpu: Duration,
    /// The same, by thread name.
    pub server_cpu_by_thread: BTreeMap<String, Duration>,
    /// The server's CPU by thread name when the run ended (when measured): where the CPU of
    /// work deferred past the run starts.
    pub server_cpu_at_end: BTreeMap<String, Duration>,
    /// CPU this load client used during the run.
    pub client_cpu: Duration,
    /// Every request's latency, sorted.
    latencies_us: Vec<u32>,
    /// The latency of each `200` answer, sorted.
    ok_latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at `percentile` (50 for the median), in milliseconds.
    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        percentile_ms(&self.latencies_us, percentile)
    }

    /// Server CPU per request, in microseconds: what a request costs, less swayed than a rate
    /// by whatever else the machine is doing.
    pub fn server_cpu_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests as f64
    }

    /// Client CPU per request, in microseconds.
    pub fn client_cpu_us(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.requests as f64
    }

    /// The latency at `percentile` of the `200` answers alone, in milliseconds.
    pub fn ok_percentile_ms(&self, percentile: f64) -> f64 {
        percentile_ms(&self.ok_latencies_us, percentile)
    }

    /// Answers `>= 500` that were not load shed (a `503` with `Retry-After`).
    pub fn server_errors(&self) -> u64 {
        let fives: u64 = self.statuses.range(500..).map(|(_, n)| n).sum();
        fives - self.shed
    }

    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub fn result(&self, result: &str) -> u64 {
        self.results.get(result).copied().unwrap_or(0)
    }

    /// True when every request was answered 200.
    pub fn all_ok(&self) -> bool {
        self.failures == 0 && self.count(200) == self.requests
    }
}

/// The nearest-rank `percentile` of sorted `values_us` (the smallest value with at least
/// `percentile` percent of the values at or below it), in milliseconds; NaN for no values.
pub fn percentile_ms(values_us: &[u32], percentile: f64) -> f64 {
    if values_us.is_empty() {
        return f64::NAN;
    }
    let rank = (percentile / 100.0 * values_us.len() as f64).ceil() as usize;
    f64::from(values_us[rank.clamp(1, values_us.len()) - 1]) / 1000.0
}

/// Sends the requests of `source` over `concurrency` connections until they are all answered
/// or `budget` has passed, whichever comes first.
pub async fn run(
    address: SocketAddr,
    concurrency: usize,
    budget: Duration,
    requests: Arc<Source>,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::with_capacity(concurrency);
    let mut refused = 0;
    for _ in 0..concurrency {
        let connection = connect(address).await;
        refused += u64::from(connection.is_none());
        connections.push(connection);
    }
    let started = Instant::now();
    let cpu_before = own_cpu();
    let deadline = started + budget;
    let workers: Vec<_> = connections
        .into_iter()
        .map(|sender| {
            let next = Arc::clone(&next);
            let requests = Arc::clone(&requests);
            tokio::spawn(worker(address, sender, next, requests, deadline))
        })
        .collect();
    let mut total = Outcome {
        failures: refused,
        ..Outcome::default()
    };
    for worker in workers {
        let part = worker.await.expect("a load worker does not panic");
        total.requests += part.requests;
        total.failures += part.failures;
        total.shed += part.shed;
        for (status, n) in part.statuses {
            *total.statuses.entry(status).or_default() += n;
        }
        for (result, n) in part.results {
            *total.results.entry(result).or_default() += n;
        }
        total.latencies_us.extend(part.latencies_us);
        total.ok_latencies_us.extend(part.ok_latencies_us);
    }
    total.elapsed = started.elapsed();
    total.client_cpu = own_cpu().saturating_sub(cpu_before);
    total.latencies_us.sort_unstable();
    total.ok_latencies_us.sort_unstable();
    total
}

/// Sends one request on a fresh connection; for probes and single queries.
pub async fn once(address: SocketAddr, request: &Prepared) -> Option<(u16, Bytes)> {
    let stream = TcpStream::connect(address).await.ok()?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(connection);
    let response = sender.send_request(build(address, request)).await.ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}

/// A kept-alive connection for sequential requests (latency sampling).
pub struct Connection {
    address: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> Self {
        Self {
            address,
            sender: connect(address)
                .await
                .expect("the server accepts connections"),
        }
    }

    /// Sends `request` and returns the status, the body and the latency in microseconds.
    pub async fn send(&mut self, request: &Prepared) -> (u16, Bytes, u32) {
        let started = Instant::now();
        self.sender
            .ready()
            .await
            .expect("the connection stays open");
        let response = self
            .sender
            .send_request(build(self.address, request))
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body arrives")
            .to_bytes();
        (status, body, elapsed_us(started))
    }
}

/// A new kept-alive connection; `None` when the server refuses or drops it (counted by the
/// caller as a failure: under overload that is a figure, not a reason to stop).
async fn connect(address: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(address).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(connection);
    Some(sender)
}

fn build(address: SocketAddr, prepared: &Prepared) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(prepared.method.clone())
        .uri(prepared.uri.clone())
        .header(HOST, address.to_string())
        .body(Full::new(prepared.body.clone()))
        .expect("a valid request");
    if let Some((name, value)) = &prepared.signature {
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(name.clone(), value.clone());
    }
    request
}

#[derive(Default)]
struct Part {
    requests: u64,
    failures: u64,
    shed: u64,
    statuses: BTreeMap<u16, u64>,
    results: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    ok_latencies_us: Vec<u32>,
}

async fn worker(
    address: SocketAddr,
    mut sender: Option<SendRequest<Full<Bytes>>>,
    next: Arc<AtomicUsize>,
    requests: Arc<Source>,
    deadline: Instant,
) -> Part {
    let mut part = Part::default();
    loop {
        if Instant::now() >= deadline {
            break;
        }
        let Some(connected) = sender.as_mut() else {
            // Refused or dropped before: try again, a little later, until the deadline.
            tokio::time::sleep(Duration::from_millis(10)).await;
            sender = connect(address).await;
            part.failures += u64::from(sender.is_none());
            continue;
        };
        if connected.is_closed() {
            // The server ended the connection after its last answer (`Connection: close`, as
            // when it sheds load): a client opens another, which is not a failure.
            sender = connect(address).await;
            part.failures += u64::from(sender.is_none());
            continue;
        }
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(prepared) = requests.get(index) else {
            break;
        };
        let started = Instant::now();
        part.requests += 1;
        let answered = async {
            connected.ready().await?;
            let response = connected.send_request(build(address, prepared)).await?;
            let status = response.status().as_u16();
            let result = response
                .headers()
                .get(RESULT_HEADER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let retry_after = response.headers().contains_key(RETRY_AFTER);
            response.into_body().collect().await?;
            Ok::<_, hyper::Error>((status, result, retry_after))
        }
        .await;
        match answered {
            Ok((status, result, retry_after)) => {
                let latency = elapsed_us(started);
                part.latencies_us.push(latency);
                if status == 200 {
                    part.ok_latencies_us.push(latency);
                }
                part.shed += u64::from(status == 503 && retry_after);
                *part.statuses.entry(status).or_default() += 1;
                if let Some(result) = result {
                    *part.results.entry(result).or_default() += 1;
                }
            }
            Err(_) => {
                part.failures += 1;
                // Start over on a new connection rather than stop counting.
                sender = connect(address).await;
                part.failures += u64::from(sender.is_none());
            }
        }
    }
    part
}

/// CPU time this process has used so far, all threads together.
fn own_cpu() -> Duration {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| {
            crate::on_cpu(&std::fs::read_to_string(task.path().join("schedstat")).ok()?)
        })
        .sum()
}

fn elapsed_us(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX)
}
