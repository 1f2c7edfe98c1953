//! `POST /webhook`: size limit, signature, validation, exactly-once store, in that order.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::body::{ErrorBody, StatusBody};
use super::error::ApiError;
use super::outcome::{SignatureVerdict, WebhookOutcome, WebhookResult};
use super::request_body::read_limited;
use super::state::AppState;
use crate::message::NewMessage;
use crate::storage::Insertion;
use crate::validation::Detail;
use crate::wire::RESULT_HEADER;

/// `POST /webhook`.
#[utoipa::path(
    post,
    path = "/webhook",
    tag = "webhook",
    operation_id = "receive_webhook",
    summary = "Store a signed message exactly once",
    description = "Checked in this order, each answered before the next runs: body size (413), \
                   signature over the raw body bytes (401; no JSON is parsed before it; \
                   `X-Signature` or `X-Hub-Signature-256` when either is sent, else the \
                   Standard Webhooks `webhook-*` headers), \
                   validation (422, listing every problem), then an exactly-once insert: the \
                   first delivery of a `message_id` and every later one answer 200 \
                   `{\"status\":\"ok\"}`, and 200 means the row is committed to disk.",
    params(SignatureHeaders),
    request_body(content = NewMessage, content_type = "application/json",
                 description = "Unknown fields are ignored."),
    responses(
        (status = 200, description = "Stored now, or already stored (the first row is kept)",
         body = StatusBody,
         headers(("X-Webhook-Result" = WebhookResultHeader,
                  description = "`created` the first time, `duplicate` after"))),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 401, description = "The signature is missing, sent twice, undecodable or wrong, \
                                      or a Standard Webhooks timestamp is outside the tolerance; \
                                      nothing is stored",
         body = ErrorBody, example = json!({"detail": "invalid signature"})),
        (status = 413, description = "The body is over the limit (64 KiB by default)",
         body = ErrorBody, example = json!({"detail": "payload too large"})),
        (status = 422, description = "The body does not validate; every problem is listed",
         body = Detail),
        (status = 503, description = "The database cannot be written, or 512 deliveries are \
                                      being handled already (answered before the body is \
                                      read): nothing is stored; retry after `Retry-After`",
         body = ErrorBody, example = json!({"detail": "storage unavailable"})),
    ),
)]
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (signature, ingested) = ingest(&state, &headers, body).await;
    let (mut response, outcome) = match ingested {
        Ok((message_id, insert)) => {
            let (stored, conflict) = match insert {
                Insertion::Created => (WebhookResultHeader::Created, false),
                Insertion::Duplicate { conflict } => (WebhookResultHeader::Duplicate, conflict),
            };
            let result = stored.result();
            let header = [(RESULT_HEADER, result.as_str())];
            let outcome = WebhookOutcome {
                result,
                message_id: Some(message_id),
                conflict,
                signature,
            };
            ((header, Json(StatusBody::OK)).into_response(), outcome)
        }
        Err((error, message_id)) => {
            let outcome = WebhookOutcome {
                result: error.webhook_result(),
                message_id,
                conflict: false,
                signature,
            };
            (error.into_response(), outcome)
        }
    };
    response.extensions_mut().insert(outcome);
    response
}

type Rejection = (ApiError, Option<String>);

/// Reads, verifies, validates and stores one delivery. Returns the signature's verdict beside
/// the result, `None` when the body was refused before it was judged.
async fn ingest(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> (
    Option<SignatureVerdict>,
    Result<(String, Insertion), Rejection>,
) {
    let body = match read_limited(headers, body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return (None, Err((error, None))),
    };
    let verdict = state
        .signatures
        .judge(headers, &body, chrono::Utc::now().timestamp());
    let stored = match verdict.rejection {
        Some(_) => Err((ApiError::InvalidSignature, None)),
        None => store(state, &body).await,
    };
    (Some(verdict), stored)
}

/// Validates a signed body and stores its message exactly once.
async fn store(state: &AppState, body: &[u8]) -> Result<(String, Insertion), Rejection> {
    let message = NewMessage::from_json(body)
        .map_err(|problems| (ApiError::Validation(problems), message_id_of(body)))?;
    let message_id = message.message_id.clone();
    match state.storage.insert(message).await {
        Ok(insert) => Ok((message_id, insert)),
        Err(error) => Err((error.into(), Some(message_id))),
    }
}

/// The `message_id` of a body that failed validation, when it has a string one, for the log.
fn message_id_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message_id")?.as_str().map(str::to_string)
}

/// The signature headers of `POST /webhook`, for the document (the handler reads them from the
/// `HeaderMap`, as it must see them all before choosing a scheme). Each is optional on its own:
/// a request is signed by `X-Signature`, by `X-Hub-Signature-256`, or by the three Standard
/// Webhooks headers.
#[derive(IntoParams)]
#[expect(
    dead_code,
    reason = "it describes headers; the handler reads them from the HeaderMap"
)]
#[into_params(parameter_in = Header)]
pub struct SignatureHeaders {
    /// Hex HMAC-SHA256 of the raw body bytes keyed with `WEBHOOK_SECRET` as given (upper- or
    /// lower-case; a `sha256=` prefix is accepted). When present, it alone judges the request:
    /// the other signature headers are ignored. Sent once: two values are refused (401).
    #[param(rename = "X-Signature", pattern = r"^(sha256=)?[0-9a-fA-F]{64}$")]
    pub x_signature: Option<String>,
    /// The same signature as GitHub and Meta send it (`sha256=` and 64 hex digits). Read only
    /// when `X-Signature` is absent, and then checked like it.
    #[param(rename = "X-Hub-Signature-256")]
    pub x_hub_signature_256: Option<String>,
    /// Standard Webhooks (standardwebhooks.com, spec v1): the delivery's id, part of the signed
    /// content. Read only when neither hex header is present and `webhook-signature` is; Svix's
    /// `svix-id`, `svix-timestamp` and `svix-signature` are read the same way when
    /// `webhook-signature` is absent.
    #[param(rename = "webhook-id")]
    pub webhook_id: Option<String>,
    /// Standard Webhooks: integer Unix seconds when the delivery was signed. More than
    /// `WEBHOOK_TOLERANCE_SECS` (default 300) from the server's clock, either way: 401, so that a
    /// captured delivery cannot be replayed later.
    #[param(rename = "webhook-timestamp", pattern = r"^[0-9]{1,18}$")]
    pub webhook_timestamp: Option<String>,
    /// Standard Webhooks: space-separated `v1,<base64>` entries, each an HMAC-SHA256 of
    /// `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with `WEBHOOK_SECRET` (base64-decoded
    /// when it is `whsec_<base64>`) or `WEBHOOK_SECRET_PREVIOUS`. Any matching `v1` entry passes;
    /// other versions are ignored. Read when neither hex header is present.
    #[param(rename = "webhook-signature")]
    pub webhook_signature: Option<String>,
}

/// What `X-Webhook-Result` says of a 200: the message was stored now, or had been before.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookResultHeader {
    Created,
    Duplicate,
}

impl WebhookResultHeader {
    /// The request's result, whose name is the header's value.
    fn result(self) -> WebhookResult {
        match self {
            Self::Created => WebhookResult::Created,
            Self::Duplicate => WebhookResult::Duplicate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_result_header_values_are_the_ones_sent() {
        for stored in [WebhookResultHeader::Created, WebhookResultHeader::Duplicate] {
            let documented = serde_json::to_value(stored).unwrap();
            assert_eq!(documented, stored.result().as_str());
        }
    }
}
