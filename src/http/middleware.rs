//! The one middleware every request passes: request id in and out, the JSON log line, and the
//! HTTP metrics, labelled by route template so that unknown paths share one label value; for
//! the webhook routes, also their outcome's log fields and metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::outcome::{
    SignatureRejection, WebhookOutcome, WebhookResult, WhatsAppOutcome, WhatsAppResult,
};
use crate::telemetry;
use crate::wire::REQUEST_ID_HEADER;

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

    let mut response = next.run(request).await;

    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    metrics::counter!(
        telemetry::HTTP_REQUESTS_TOTAL,
        "method" => method_label(method.as_str()),
        "path" => route,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(telemetry::REQUEST_LATENCY_MS).record(latency_ms);

    let latency_ms = (latency_ms * 1000.0).round() / 1000.0;
    let method = method.as_str();
    if let Some(outcome) = response.extensions().get::<WhatsAppOutcome>() {
        let request = RequestLine {
            request_id: &request_id,
            method,
            path: &path,
            status,
            latency_ms,
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
                        scheme = ?scheme, reason, conflict, "request"
                    )
                };
            }
            match (outcome.result, status) {
                (WebhookResult::InvalidSignature, _) | (_, 500..) => log!(error),
                (_, 400..) => log!(warn),
                _ => log!(info),
            }
        }
        None => {
            macro_rules! log {
                ($level:ident) => {
                    tracing::$level!(request_id, method, path, status, latency_ms, "request")
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

/// Logs and counts a request the HTTP layer refused itself, without calling the service (so
/// [`observe`] never saw it): a head over [`super::MAX_HEAD_BYTES`] or with too many headers
/// (431), a URI hyper will not hold (414), a head that is not HTTP/1 (400). hyper answers these
/// without a body and closes the connection; its error, seen where the connection ends, is all
/// there is to go by: no method, path or request id was read.
pub fn record_refused_head(error: &hyper::Error) {
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
    tracing::warn!(
        request_id,
        status,
        reason,
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
    } = *request;
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
                "request"
            )
        };
    }
    match (outcome.result, status) {
        (WhatsAppResult::Delivery(WebhookResult::InvalidSignature), _) | (_, 500..) => log!(error),
        (_, 400..) => log!(warn),
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
