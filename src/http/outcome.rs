//! What became of a `POST /webhook`, attached to its response for the log line and the metrics:
//! set by the webhook handler, or by a guard that answered first, and read by the middleware.

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
