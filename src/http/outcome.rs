//! What became of a `POST /webhook` or a `/webhook/whatsapp` request, attached to its response
//! for the log line and the metrics: set by the handler, or by a guard that answered first, and
//! read by the middleware.

use crate::signature::standard;

/// The outcome of one webhook request, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct WebhookOutcome {
    pub result: WebhookResult,
    /// `None` when the body was never parsed (a 401) or has no string `message_id`.
    pub message_id: Option<String>,
    /// A duplicate whose content differs from the stored message.
    pub conflict: bool,
    /// How the signature was judged; `None` when the request was answered before (a 413, say).
    pub signature: Option<SignatureVerdict>,
}

impl WebhookOutcome {
    /// An outcome known before any message was read.
    pub fn without_message(result: WebhookResult) -> Self {
        Self {
            result,
            message_id: None,
            conflict: false,
            signature: None,
        }
    }
}

/// The scheme that judged a request's signature, and why it refused it when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureVerdict {
    pub scheme: SignatureScheme,
    pub rejection: Option<SignatureRejection>,
}

/// The log line's `scheme` and a label of `webhook_signature_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `X-Signature` or `X-Hub-Signature-256`: hex HMAC of the raw body. Also the scheme of a
    /// request that sends no signature header at all, as before Standard Webhooks were read.
    Hex,
    /// Standard Webhooks: `webhook-*` (or `svix-*`) headers.
    Standard,
}

impl SignatureScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::Standard => "standard",
        }
    }
}

/// Why a signature was refused: the log line's `reason` and a label of
/// `webhook_signature_failures_total`. A bounded set, and never answered: every one of them is
/// the same 401 `{"detail":"invalid signature"}`, so that a forger learns nothing from the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRejection {
    /// No signature header at all, or an empty hex one.
    MissingSignature,
    /// A hex signature that is undecodable or not the HMAC of the body under any key.
    InvalidSignature,
    /// A header the request is judged by appears more than once: which one counts would depend
    /// on the order of the headers, so none does.
    MultipleSignatureHeaders,
    /// The Standard Webhooks headers did not verify, for this reason.
    Standard(standard::Rejection),
}

impl SignatureRejection {
    /// Every scheme and reason a refusal can be labelled with, so that each series of
    /// `webhook_signature_failures_total` can exist before the first refusal.
    pub const POSSIBLE: [(SignatureScheme, Self); 10] = {
        use SignatureScheme::{Hex, Standard};
        use standard::Rejection;
        [
            (Hex, Self::MissingSignature),
            (Hex, Self::InvalidSignature),
            (Hex, Self::MultipleSignatureHeaders),
            (Standard, Self::MultipleSignatureHeaders),
            (Standard, Self::Standard(Rejection::MissingId)),
            (Standard, Self::Standard(Rejection::MissingTimestamp)),
            (Standard, Self::Standard(Rejection::InvalidTimestamp)),
            (Standard, Self::Standard(Rejection::TimestampTooOld)),
            (Standard, Self::Standard(Rejection::TimestampTooNew)),
            (Standard, Self::Standard(Rejection::NoMatchingSignature)),
        ]
    };

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::InvalidSignature => "invalid_signature",
            Self::MultipleSignatureHeaders => "multiple_signature_headers",
            Self::Standard(rejection) => rejection.as_str(),
        }
    }
}

/// The `result` of the log line and of `webhook_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    Created,
    Duplicate,
    InvalidSignature,
    ValidationError,
    PayloadTooLarge,
    StorageUnavailable,
    BadRequest,
    Timeout,
}

impl WebhookResult {
    /// Every result, so that each series of `webhook_requests_total` exists from the start.
    pub const ALL: [Self; 8] = [
        Self::Created,
        Self::Duplicate,
        Self::InvalidSignature,
        Self::ValidationError,
        Self::PayloadTooLarge,
        Self::StorageUnavailable,
        Self::BadRequest,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Duplicate => "duplicate",
            Self::InvalidSignature => "invalid_signature",
            Self::ValidationError => "validation_error",
            Self::PayloadTooLarge => "payload_too_large",
            Self::StorageUnavailable => "storage_unavailable",
            Self::BadRequest => "bad_request",
            Self::Timeout => "timeout",
        }
    }
}

/// The outcome of one `/webhook/whatsapp` request, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct WhatsAppOutcome {
    pub result: WhatsAppResult,
    /// Why a handshake or a delivery was refused, for the log (never in the answer): one of a
    /// few fixed phrases, none holding what the client sent.
    pub reason: Option<&'static str>,
    /// How many messages the delivery carried; `None` until its body has been parsed.
    pub messages: Option<usize>,
    /// What a 200 to a delivery acknowledged; `None` for any other answer, so that a delivery
    /// Meta must retry is not counted twice.
    pub acknowledged: Option<Acknowledged>,
}

impl WhatsAppOutcome {
    /// An outcome known before the delivery (if any) was parsed.
    pub fn without_delivery(result: WhatsAppResult, reason: Option<&'static str>) -> Self {
        Self {
            result,
            reason,
            messages: None,
            acknowledged: None,
        }
    }
}

/// What an acknowledged delivery held and what storing it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acknowledged {
    /// Messages stored now.
    pub created: usize,
    /// Messages stored before (Meta's redeliveries): nothing added.
    pub duplicates: usize,
    /// Of the duplicates, those whose content differs from the stored message.
    pub conflicts: usize,
    /// Status reports: counted, not stored.
    pub statuses: usize,
    /// Changes of fields other than `messages`: counted, not stored.
    pub other_changes: usize,
}

/// The `result` of a `/webhook/whatsapp` log line and of `whatsapp_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsAppResult {
    /// The subscription handshake (`GET`) passed: the challenge was echoed.
    Verified,
    /// The handshake failed: another mode, another token, no challenge, or no token set.
    VerificationFailed,
    /// A delivery without messages (statuses or other changes only), acknowledged.
    Acknowledged,
    /// Any other outcome of a delivery, named as `POST /webhook`'s are: `created` when it stored
    /// a message, `duplicate` when every message was stored before, `invalid_signature`, ….
    Delivery(WebhookResult),
}

impl WhatsAppResult {
    /// Every result: the handshake's two, `acknowledged`, and each of a delivery's.
    pub fn all() -> impl Iterator<Item = Self> {
        [Self::Verified, Self::VerificationFailed, Self::Acknowledged]
            .into_iter()
            .chain(WebhookResult::ALL.map(Self::Delivery))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::VerificationFailed => "verification_failed",
            Self::Acknowledged => "acknowledged",
            Self::Delivery(result) => result.as_str(),
        }
    }
}
