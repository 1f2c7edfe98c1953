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
use super::outcome::{WebhookOutcome, WebhookResult};
use super::request_body::read_limited;
use super::state::AppState;
use crate::message::NewMessage;
use crate::storage::Insertion;
use crate::validation::Detail;
use crate::wire::{HUB_SIGNATURE_HEADER, RESULT_HEADER, SIGNATURE_HEADER};

/// `POST /webhook`.
#[utoipa::path(
    post,
    path = "/webhook",
    tag = "webhook",
    operation_id = "receive_webhook",
    summary = "Store a signed message exactly once",
    description = "Checked in this order, each answered before the next runs: body size (413), \
                   signature over the raw body bytes (401; no JSON is parsed before it), \
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
        (status = 401, description = "The signature is missing, undecodable or wrong; nothing is stored",
         body = ErrorBody, example = json!({"detail": "invalid signature"})),
        (status = 413, description = "The body is over the limit (64 KiB by default)",
         body = ErrorBody, example = json!({"detail": "payload too large"})),
        (status = 422, description = "The body does not validate; every problem is listed",
         body = Detail),
        (status = 503, description = "The database cannot be written: retry",
         body = ErrorBody, example = json!({"detail": "storage unavailable"})),
    ),
)]
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (mut response, outcome) = match ingest(&state, &headers, body).await {
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
            };
            ((header, Json(StatusBody::OK)).into_response(), outcome)
        }
        Err((error, message_id)) => {
            let outcome = WebhookOutcome {
                result: error.webhook_result(),
                message_id,
                conflict: false,
            };
            (error.into_response(), outcome)
        }
    };
    response.extensions_mut().insert(outcome);
    response
}

type Rejection = (ApiError, Option<String>);

async fn ingest(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, Insertion), Rejection> {
    let body = read_limited(headers, body, state.max_body_bytes)
        .await
        .map_err(|e| (e, None))?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .or_else(|| headers.get(HUB_SIGNATURE_HEADER));
    let signed = signature.is_some_and(|sig| state.verifier.verify(sig.as_bytes(), &body));
    if !signed {
        return Err((ApiError::InvalidSignature, None));
    }
    let message = NewMessage::from_json(&body)
        .map_err(|problems| (ApiError::Validation(problems), message_id_of(&body)))?;
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
/// `HeaderMap`, as it must see both before choosing one).
#[derive(IntoParams)]
#[expect(
    dead_code,
    reason = "it describes headers; the handler reads them from the HeaderMap"
)]
#[into_params(parameter_in = Header)]
pub struct SignatureHeaders {
    /// Hex HMAC-SHA256 of the raw body bytes keyed with `WEBHOOK_SECRET` (upper- or lower-case;
    /// a `sha256=` prefix is accepted). When it is absent, `X-Hub-Signature-256` is read instead.
    #[param(rename = "X-Signature", pattern = r"^(sha256=)?[0-9a-fA-F]{64}$")]
    pub x_signature: String,
    /// The same signature as GitHub and Meta send it (`sha256=` and 64 hex digits). Read only
    /// when `X-Signature` is absent, and then checked like it; ignored otherwise.
    #[param(rename = "X-Hub-Signature-256", required = false)]
    pub x_hub_signature_256: String,
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
