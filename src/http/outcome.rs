//! What became of a `POST /webhook`, attached to its response for the log line and the metrics:
//! set by the webhook handler, or by a guard that answered first, and read by the middleware.

/// The outcome of one webhook request, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct WebhookOutcome {
    pub result: WebhookResult,
    /// `None` when the body was never parsed (a 401) or has no string `message_id`.
    pub message_id: Option<String>,
    /// A duplicate whose content differs from the stored message.
    pub conflict: bool,
}

impl WebhookOutcome {
    /// An outcome known before any message was read.
    pub fn without_message(result: WebhookResult) -> Self {
        Self {
            result,
            message_id: None,
            conflict: false,
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
