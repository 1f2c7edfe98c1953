//! The one middleware every request passes: request id in and out, the JSON log line, and the
//! HTTP metrics, labelled by route template so that unknown paths share one label value; for
//! the webhook routes, also their outcome's log fields and metrics.
//!
//! Every request line also says who asked: `client` (the TCP peer, which [`super::serve`]
//! attaches to each request), `user_agent`, and `trace_id` when the caller sent a well-formed
//! W3C `traceparent`, so that a line can be joined with the caller's trace.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};

use super::headers::single_header;
use super::outcome::{
    SignatureRejection, WebhookOutcome, WebhookResult, WhatsAppOutcome, WhatsAppResult,
};
use crate::telemetry::{self, OrNull};
use crate::wire::REQUEST_ID_HEADER;

/// The most bytes of a `User-Agent` logged: a request head may be 64 KiB, a log line should not.
const MAX_USER_AGENT_BYTES: usize = 256;

/// Times the request, gives it an id, then logs and counts what it was answered.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane_request_id(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(telemetry::UNMATCHED_PATH, MatchedPath::as_str)
        .to_string();
    let caller = Caller::of(&request);

    let mut response = next.run(request).await;

    let elapsed = started.elapsed().as_secs_f64();
    let latency_ms = elapsed * 1000.0;
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    RequestMetrics::record(method_label(method.as_str()), route, status, elapsed);

    let latency_ms = (latency_ms * 1000.0).round() / 1000.0;
    let method = method.as_str();
    let client = OrNull(caller.client.as_deref());
    let user_agent = OrNull(caller.user_agent.as_deref());
    let trace_id = caller.trace_id.as_deref();
    if let Some(outcome) = response.extensions().get::<WhatsAppOutcome>() {
        let request = RequestLine {
            request_id: &request_id,
            method,
            path: &path,
            status,
            latency_ms,
            caller: &caller,
        };
        record_whatsapp(outcome, &request);
        return response;
    }
    match response.extensions().get::<WebhookOutcome>() {
        Some(outcome) => {
            let result = outcome.result.as_str();
            metrics::counter!(telemetry::WEBHOOK_REQUESTS_TOTAL, "result" => result).increment(1);
            if outcome.conflict {
                metrics::counter!(telemetry::WEBHOOK_DUPLICATE_CONFLICTS_TOTAL).increment(1);
            }
            let scheme = outcome.signature.map(|verdict| verdict.scheme.as_str());
            let reason = outcome
                .signature
                .and_then(|verdict| verdict.rejection)
                .map(SignatureRejection::as_str);
            if let (Some(scheme), Some(reason)) = (scheme, reason) {
                metrics::counter!(
                    telemetry::WEBHOOK_SIGNATURE_FAILURES_TOTAL,
                    "scheme" => scheme,
                    "reason" => reason
                )
                .increment(1);
            }
            // Always present, `null` when unknown (a 401 never parses the body; a 413 is answered
            // before the signature is judged), so every webhook line has the same keys. `reason`
            // only on a refused signature, as `conflict` only on a conflict.
            let message_id = telemetry::OrNull(outcome.message_id.as_deref());
            let scheme = telemetry::OrNull(scheme);
            let dup = outcome.result == WebhookResult::Duplicate;
            let conflict = outcome.conflict.then_some(true);
            macro_rules! log {
                ($level:ident) => {
                    tracing::$level!(
                        request_id, method, path, status, latency_ms, message_id = ?message_id, dup, result,
                        scheme = ?scheme, reason, conflict, client = ?client, user_agent = ?user_agent,
                        trace_id, "request"
                    )
                };
            }
            // A conflict is answered 200 like any duplicate, but the sender reused an id for
            // other content: someone should look.
            match (outcome.result, status) {
                (WebhookResult::InvalidSignature, _) | (_, 500..) => log!(error),
                (_, 400..) => log!(warn),
                _ if outcome.conflict => log!(warn),
                _ => log!(info),
            }
        }
        None => {
            macro_rules! log {
                ($level:ident) => {
                    tracing::$level!(
                        request_id, method, path, status, latency_ms, client = ?client,
                        user_agent = ?user_agent, trace_id, "request"
                    )
                };
            }
            match status {
                500.. => log!(error),
                400.. => log!(warn),
                _ => log!(info),
            }
        }
    }
    response
}

/// The metrics every request updates, for one method, route and status: looked up in the
/// recorder once per worker thread rather than on every request. A lookup builds the metric's
/// key (with its labels as new strings) and takes the registry's lock, shared by every thread:
/// the three of them came to about a tenth of a `GET /health/live`'s CPU (measured with
/// `wrk` by leaving them out).
struct RequestMetrics {
    requests: Counter,
    duration_seconds: Histogram,
    latency_ms: Histogram,
}

/// A request's method, route and status.
type RequestKey = (&'static str, String, u16);

thread_local! {
    /// Every part of the key is bounded (the method is one of [`method_label`]'s, the route a
    /// template or [`telemetry::UNMATCHED_PATH`]), so the map is too.
    static REQUEST_METRICS: RefCell<HashMap<RequestKey, RequestMetrics>> = RefCell::default();
}

impl RequestMetrics {
    fn new(method: &'static str, route: &str, status: u16) -> Self {
        let labels = [
            ("method", method.to_string()),
            ("path", route.to_string()),
            ("status", status.to_string()),
        ];
        Self {
            requests: metrics::counter!(telemetry::HTTP_REQUESTS_TOTAL, &labels),
            duration_seconds: metrics::histogram!(
                telemetry::HTTP_REQUEST_DURATION_SECONDS,
                &labels
            ),
            latency_ms: metrics::histogram!(telemetry::REQUEST_LATENCY_MS),
        }
    }

    /// Counts a request answered `status` after `elapsed` seconds.
    fn record(method: &'static str, route: String, status: u16, elapsed: f64) {
        REQUEST_METRICS.with_borrow_mut(|cache| {
            let metrics = cache
                .entry((method, route, status))
                .or_insert_with_key(|(method, route, status)| Self::new(method, route, *status));
            metrics.requests.increment(1);
            metrics.duration_seconds.record(elapsed);
            metrics.latency_ms.record(elapsed * 1000.0);
        });
    }
}

/// Logs and counts a request the HTTP layer refused itself, without calling the service (so
/// [`observe`] never saw it): a head over [`super::MAX_HEAD_BYTES`] or with too many headers
/// (431), a URI hyper will not hold (414), a head that is not HTTP/1 (400). hyper answers these
/// without a body and closes the connection; its error, seen where the connection ends, is all
/// there is to go by: no method, path or request id was read.
pub fn record_refused_head(error: &hyper::Error, peer: SocketAddr) {
    if !error.is_parse() {
        // A client that hung up, timed out or reset: no request was refused.
        return;
    }
    // hyper tells a long URI from a large head only in its message.
    let status: u16 = if error.is_parse_too_large() {
        if error.to_string().starts_with("URI too long") {
            414
        } else {
            431
        }
    } else {
        400
    };
    metrics::counter!(
        telemetry::HTTP_REQUESTS_TOTAL,
        "method" => "other",
        "path" => telemetry::UNMATCHED_PATH,
        "status" => status.to_string()
    )
    .increment(1);
    let request_id = uuid::Uuid::new_v4().to_string();
    let reason = error.to_string();
    let client = peer.to_string();
    tracing::warn!(
        request_id,
        status,
        reason,
        client,
        "request refused by the HTTP layer"
    );
}

/// What every request's log line says.
struct RequestLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    latency_ms: f64,
    caller: &'a Caller,
}

/// Who sent a request, as far as the log line tells.
struct Caller {
    /// The TCP peer, `ip:port`; `None` when the app runs without [`super::serve`] (in-process).
    client: Option<String>,
    /// The `User-Agent`, cut to [`MAX_USER_AGENT_BYTES`].
    user_agent: Option<String>,
    /// The trace id of a well-formed `traceparent`.
    trace_id: Option<String>,
}

impl Caller {
    fn of(request: &Request) -> Self {
        let headers = request.headers();
        Self {
            client: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.to_string()),
            user_agent: user_agent(headers),
            trace_id: single_header(headers, "traceparent")
                .ok()
                .flatten()
                .and_then(|value| value.to_str().ok())
                .and_then(trace_id)
                .map(str::to_string),
        }
    }
}

/// The `User-Agent` as text (bytes that are not UTF-8 replaced), at most
/// [`MAX_USER_AGENT_BYTES`] of it.
fn user_agent(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::USER_AGENT)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let mut end = text.len().min(MAX_USER_AGENT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_string())
}

/// The trace id of a W3C `traceparent` (Trace Context, level 1): `version-traceid-parentid-flags`
/// in lowercase hex, `00-` then 32, 16 and 2 digits; neither id all zeros; version `ff` invalid;
/// a later version may append `-…` fields after the four. `None` for anything else: a caller's
/// malformed header is not worth a log field.
fn trace_id(traceparent: &str) -> Option<&str> {
    let is_hex = |part: &str, length: usize| {
        part.len() == length && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let not_zero = |part: &str| part.bytes().any(|b| b != b'0');
    let mut parts = traceparent.splitn(5, '-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let rest = parts.next();
    let valid = is_hex(version, 2)
        && version != "ff"
        && (version != "00" || rest.is_none())
        && is_hex(trace, 32)
        && not_zero(trace)
        && is_hex(parent, 16)
        && not_zero(parent)
        && is_hex(flags, 2);
    valid.then_some(trace)
}

/// Logs and counts a `/webhook/whatsapp` request: its result, and for a delivery how many
/// messages it carried and, once acknowledged, what storing them did.
fn record_whatsapp(outcome: &WhatsAppOutcome, request: &RequestLine<'_>) {
    let result = outcome.result.as_str();
    metrics::counter!(telemetry::WHATSAPP_REQUESTS_TOTAL, "result" => result).increment(1);
    let acknowledged = outcome.acknowledged;
    if let Some(done) = acknowledged {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        metrics::counter!(telemetry::WHATSAPP_MESSAGES_TOTAL, "result" => "created")
            .increment(count(done.created));
        metrics::counter!(telemetry::WHATSAPP_MESSAGES_TOTAL, "result" => "duplicate")
            .increment(count(done.duplicates));
        metrics::counter!(telemetry::WHATSAPP_EVENTS_TOTAL, "kind" => "status")
            .increment(count(done.statuses));
        metrics::counter!(telemetry::WHATSAPP_EVENTS_TOTAL, "kind" => "other")
            .increment(count(done.other_changes));
        if done.conflicts > 0 {
            metrics::counter!(telemetry::WEBHOOK_DUPLICATE_CONFLICTS_TOTAL)
                .increment(count(done.conflicts));
        }
    }
    let RequestLine {
        request_id,
        method,
        path,
        status,
        latency_ms,
        caller,
    } = *request;
    let client = OrNull(caller.client.as_deref());
    let user_agent = OrNull(caller.user_agent.as_deref());
    let trace_id = caller.trace_id.as_deref();
    let reason = outcome.reason;
    let messages = outcome.messages;
    let created = acknowledged.map(|done| done.created);
    let duplicates = acknowledged.map(|done| done.duplicates);
    let statuses = acknowledged.map(|done| done.statuses);
    let other_changes = acknowledged.map(|done| done.other_changes);
    let conflict = acknowledged
        .is_some_and(|done| done.conflicts > 0)
        .then_some(true);
    macro_rules! log {
        ($level:ident) => {
            tracing::$level!(
                request_id,
                method,
                path,
                status,
                latency_ms,
                result,
                reason,
                messages,
                created,
                duplicates,
                statuses,
                other_changes,
                conflict,
                client = ?client,
                user_agent = ?user_agent,
                trace_id,
                "request"
            )
        };
    }
    match (outcome.result, status) {
        (WhatsAppResult::Delivery(WebhookResult::InvalidSignature), _) | (_, 500..) => log!(error),
        (_, 400..) => log!(warn),
        _ if conflict.is_some() => log!(warn),
        _ => log!(info),
    }
}

/// The `method` label: a standard method by name, any other as `other`, so that invented
/// methods cannot grow the label set (as unmatched paths cannot).
fn method_label(method: &str) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    STANDARD
        .into_iter()
        .find(|standard| *standard == method)
        .unwrap_or("other")
}

/// An incoming request id is echoed only when it is short and plain, so logs stay clean.
fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn a_well_formed_traceparent_gives_its_trace_id() {
        let header = format!("00-{TRACE}-00f067aa0ba902b7-01");
        assert_eq!(trace_id(&header), Some(TRACE));
        // A later version may append fields; version 00 may not.
        let later = format!("01-{TRACE}-00f067aa0ba902b7-00-what-comes-next");
        assert_eq!(trace_id(&later), Some(TRACE));
    }

    #[test]
    fn a_malformed_traceparent_gives_none() {
        for header in [
            String::new(),
            "garbage".to_string(),
            format!("00-{TRACE}-00f067aa0ba902b7"),
            format!("00-{TRACE}-00f067aa0ba902b7-01-extra"),
            format!("ff-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", TRACE.to_uppercase()),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{TRACE}-{}-01", "0".repeat(16)),
            format!("00-{TRACE}x-00f067aa0ba902b7-01"),
            format!("00-{TRACE}-00f067aa0ba902b7-1"),
            format!("0-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", &TRACE[..31]),
        ] {
            assert_eq!(trace_id(&header), None, "{header}");
        }
    }
}
