//! `GET` and `POST /webhook/whatsapp`: Meta's subscription handshake, and its signed deliveries,
//! each stored atomically and every message in it exactly once.
//!
//! The `POST` runs the checks of `POST /webhook` in the same order (size 413, signature 401,
//! validation 422, store 200 or 503), with Meta's signature (`X-Hub-Signature-256` keyed with
//! the app secret) and Meta's body ([`crate::whatsapp`]). Its 200 says in `X-Webhook-Result`
//! what the delivery did, in the words of its log line: `created`, `duplicate` or
//! `acknowledged`.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::body::{ErrorBody, StatusBody};
use super::error::ApiError;
use super::headers::{RepeatedHeader, single_header};
use super::outcome::{Acknowledged, WebhookResult, WhatsAppOutcome, WhatsAppResult};
use super::request_body::read_limited;
use super::state::AppState;
use crate::storage::Insertion;
use crate::validation::Detail;
use crate::whatsapp::{Delivery, DeliveryBody};
use crate::wire::{HUB_SIGNATURE_HEADER, RESULT_HEADER, WHATSAPP_PATH};

/// The only `hub.mode` of a subscription handshake.
const SUBSCRIBE: &str = "subscribe";

/// `GET /webhook/whatsapp`.
#[utoipa::path(
    get,
    path = WHATSAPP_PATH,
    tag = "whatsapp",
    operation_id = "verify_whatsapp_subscription",
    summary = "Meta's subscription handshake",
    description = "When the mode is `subscribe` and the token equals `WHATSAPP_VERIFY_TOKEN` \
                   (compared in constant time), the answer is the challenge, exactly, as \
                   `text/plain`. Anything else, or the token unset, is a 403.",
    params(Handshake),
    responses(
        (status = 200, description = "Verified: the body is `hub.challenge`, exactly",
         body = String, content_type = "text/plain", example = "1158201444"),
        (status = 403, description = "Another mode, another token, no challenge, or no token set",
         body = ErrorBody, example = json!({"detail": "verification failed"})),
    ),
)]
pub async fn verify(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let (mut response, outcome) = match handshake(&state, query.as_deref()) {
        Ok(challenge) => {
            let mut response = challenge.into_response();
            // The challenge is the client's own text: never let a browser read it as markup.
            response.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            (
                response,
                WhatsAppOutcome::without_delivery(WhatsAppResult::Verified, None),
            )
        }
        Err(reason) => {
            let body = Json(ErrorBody {
                detail: "verification failed",
            });
            let outcome =
                WhatsAppOutcome::without_delivery(WhatsAppResult::VerificationFailed, Some(reason));
            ((StatusCode::FORBIDDEN, body).into_response(), outcome)
        }
    };
    response.extensions_mut().insert(outcome);
    response
}

/// The challenge to echo, or why the handshake fails.
fn handshake(state: &AppState, query: Option<&str>) -> Result<String, &'static str> {
    let token = state
        .whatsapp_verify_token
        .as_ref()
        .ok_or("verify token not set")?;
    let handshake = Handshake::from_query(query.unwrap_or_default())?;
    if handshake.mode.as_deref() != Some(SUBSCRIBE) {
        return Err("mode is not subscribe");
    }
    if !token.matches(handshake.verify_token.as_deref().unwrap_or_default()) {
        return Err("verify token differs");
    }
    handshake
        .challenge
        .filter(|challenge| !challenge.is_empty())
        .ok_or("no challenge")
}

/// The query of the handshake.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct Handshake {
    /// Must be `subscribe`.
    #[param(rename = "hub.mode", example = "subscribe")]
    mode: Option<String>,
    /// Must equal `WHATSAPP_VERIFY_TOKEN`.
    #[param(rename = "hub.verify_token", example = "my-verify-token")]
    verify_token: Option<String>,
    /// Echoed as the body of the 200; must not be empty.
    #[param(rename = "hub.challenge", example = "1158201444")]
    challenge: Option<String>,
}

impl Handshake {
    /// The handshake's parameters from a query string (other parameters ignored). One that
    /// comes twice fails the handshake: which of the two was meant cannot be known.
    fn from_query(query: &str) -> Result<Self, &'static str> {
        let mut handshake = Self::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "hub.mode" => &mut handshake.mode,
                "hub.verify_token" => &mut handshake.verify_token,
                "hub.challenge" => &mut handshake.challenge,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err("a parameter is repeated");
            }
        }
        Ok(handshake)
    }
}

/// `POST /webhook/whatsapp`.
#[utoipa::path(
    post,
    path = WHATSAPP_PATH,
    tag = "whatsapp",
    operation_id = "receive_whatsapp_delivery",
    summary = "Store a signed WhatsApp Cloud API delivery",
    description = "Checked in this order, each answered before the next runs: body size (413), \
                   `X-Hub-Signature-256` over the raw body bytes keyed with \
                   `WHATSAPP_APP_SECRET` (401, and every delivery is a 401 while it is unset), \
                   the delivery's shape and each message's fields (422, `loc` is the path into \
                   the body; one bad message rejects the whole delivery), then one transaction: \
                   each item of `value.messages[]` is stored exactly once by its `id`, and 200 \
                   `{\"status\":\"ok\"}` means every new message of the delivery is committed to \
                   disk. Statuses and changes of other fields are acknowledged and counted, not \
                   stored.",
    params(WhatsAppSignatureHeader),
    request_body(content = DeliveryBody, content_type = "application/json",
                 description = "Meta's delivery; unknown fields are ignored."),
    responses(
        (status = 200, description = "Every message stored now or before (a redelivery adds \
                                      nothing); statuses and other changes acknowledged",
         body = StatusBody,
         headers(("X-Webhook-Result" = WhatsAppResultHeader,
                  description = "`created` when the delivery stored at least one new message, \
                                 `duplicate` when every message it carried was stored before, \
                                 `acknowledged` when it carried no message (statuses or other \
                                 fields only)"))),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 401, description = "The signature is missing, repeated, undecodable or wrong, \
                                      or `WHATSAPP_APP_SECRET` is unset; nothing is stored",
         body = ErrorBody, example = json!({"detail": "invalid signature"})),
        (status = 413, description = "The body is over the limit (64 KiB by default)",
         body = ErrorBody, example = json!({"detail": "payload too large"})),
        (status = 422, description = "The delivery does not validate; nothing of it is stored",
         body = Detail),
        (status = 503, description = "The database cannot be written, or 512 deliveries are \
                                      being handled already (answered before the body is \
                                      read): nothing of the delivery is stored; Meta retries",
         body = ErrorBody, example = json!({"detail": "storage unavailable"})),
    ),
)]
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (mut response, outcome) = match deliver(&state, &headers, body).await {
        Ok((stored, outcome)) => {
            let header = [(RESULT_HEADER, stored.result().as_str())];
            ((header, Json(StatusBody::OK)).into_response(), outcome)
        }
        Err(Refused {
            error,
            reason,
            messages,
        }) => {
            let outcome = WhatsAppOutcome {
                result: WhatsAppResult::Delivery(error.webhook_result()),
                reason,
                messages,
                acknowledged: None,
            };
            (error.into_response(), outcome)
        }
    };
    response.extensions_mut().insert(outcome);
    response
}

/// A delivery's refusal, and what is known of it for the log.
struct Refused {
    error: ApiError,
    reason: Option<&'static str>,
    messages: Option<usize>,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            reason: None,
            messages: None,
        }
    }
}

/// Reads, verifies, validates and stores one delivery: what its 200 says, and its outcome.
async fn deliver(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(WhatsAppResultHeader, WhatsAppOutcome), Refused> {
    let body = read_limited(headers, body, state.max_body_bytes).await?;
    if let Err(reason) = check_signature(state, headers, &body) {
        return Err(Refused {
            error: ApiError::InvalidSignature,
            reason: Some(reason),
            messages: None,
        });
    }
    let delivery = Delivery::from_json(&body).map_err(ApiError::Validation)?;
    let messages = delivery.messages.len();
    let insertions = state
        .storage
        .insert_all(delivery.messages)
        .await
        .map_err(|error| Refused {
            error: error.into(),
            reason: None,
            messages: Some(messages),
        })?;
    let mut acknowledged = Acknowledged {
        statuses: delivery.statuses,
        other_changes: delivery.other_changes,
        ..Acknowledged::default()
    };
    for insertion in insertions {
        match insertion {
            Insertion::Created => acknowledged.created += 1,
            Insertion::Duplicate { conflict } => {
                acknowledged.duplicates += 1;
                acknowledged.conflicts += usize::from(conflict);
            }
        }
    }
    let stored = if messages == 0 {
        WhatsAppResultHeader::Acknowledged
    } else if acknowledged.created == 0 {
        WhatsAppResultHeader::Duplicate
    } else {
        WhatsAppResultHeader::Created
    };
    let outcome = WhatsAppOutcome {
        result: stored.result(),
        reason: None,
        messages: Some(messages),
        acknowledged: Some(acknowledged),
    };
    Ok((stored, outcome))
}

/// `Ok` when the one `X-Hub-Signature-256` is the HMAC of the raw body under the app secret;
/// otherwise why not (for the log only). No JSON has been parsed yet.
fn check_signature(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let verifier = state
        .whatsapp_verifier
        .as_ref()
        .ok_or("app secret not set")?;
    let signature = match single_header(headers, HUB_SIGNATURE_HEADER) {
        Ok(Some(signature)) => signature,
        Ok(None) => return Err("no signature"),
        Err(RepeatedHeader) => return Err("more than one signature"),
    };
    if verifier.verify(signature.as_bytes(), body) {
        Ok(())
    } else {
        Err("signature differs")
    }
}

/// The signature header of `POST /webhook/whatsapp`, for the document (the handler reads it
/// from the `HeaderMap`, to refuse a repeated one).
#[derive(IntoParams)]
#[expect(
    dead_code,
    reason = "it describes a header; the handler reads it from the HeaderMap"
)]
#[into_params(parameter_in = Header)]
pub struct WhatsAppSignatureHeader {
    /// `sha256=` and the hex HMAC-SHA256 of the raw body bytes keyed with `WHATSAPP_APP_SECRET`
    /// (the Meta app's secret), as Meta sends it.
    #[param(
        rename = "X-Hub-Signature-256",
        pattern = r"^(sha256=)?[0-9a-fA-F]{64}$"
    )]
    pub x_hub_signature_256: String,
}

/// What `X-Webhook-Result` says of a 200 to a delivery. One delivery can hold new messages and
/// redelivered ones, so `created` means at least one was new; `duplicate` that all were stored
/// before, as a redelivery by Meta is; `acknowledged` that there was no message to store.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WhatsAppResultHeader {
    Created,
    Duplicate,
    Acknowledged,
}

impl WhatsAppResultHeader {
    /// The request's result (its log line's `result`), whose name is the header's value.
    fn result(self) -> WhatsAppResult {
        match self {
            Self::Created => WhatsAppResult::Delivery(WebhookResult::Created),
            Self::Duplicate => WhatsAppResult::Delivery(WebhookResult::Duplicate),
            Self::Acknowledged => WhatsAppResult::Acknowledged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_result_header_values_are_the_logged_results() {
        use WhatsAppResultHeader::{Acknowledged, Created, Duplicate};
        for stored in [Created, Duplicate, Acknowledged] {
            let documented = serde_json::to_value(stored).unwrap();
            assert_eq!(documented, stored.result().as_str());
        }
    }
}
