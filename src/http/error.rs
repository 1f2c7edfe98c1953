//! Every error the API answers with, and its status and JSON body. Details of server-side
//! failures are logged where they happen, never sent.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::body::ErrorBody;
use super::outcome::WebhookResult;
use crate::validation::{self, Problem};

/// `Retry-After` of a 503: a second, long enough for a full queue to drain a batch or two.
const RETRY_AFTER_SECS: &str = "1";

#[derive(Debug)]
pub enum ApiError {
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 401: the signature is missing or wrong.
    InvalidSignature,
    /// 422: the request does not validate; every problem is listed.
    Validation(Vec<Problem>),
    /// 503: the database cannot be written or read; the sender should retry.
    StorageUnavailable,
    /// 400: the request could not be read (a client that hung up mid-body, say).
    BadRequest,
    /// 408: the request took longer than the request timeout (a trickled body, say).
    RequestTimeout,
    /// 414: the URI is longer than the server reads.
    UriTooLong,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
}

impl ApiError {
    /// What this error makes of a webhook request, for its log line and metrics.
    pub fn webhook_result(&self) -> WebhookResult {
        match self {
            Self::PayloadTooLarge => WebhookResult::PayloadTooLarge,
            Self::InvalidSignature => WebhookResult::InvalidSignature,
            Self::Validation(_) => WebhookResult::ValidationError,
            Self::StorageUnavailable => WebhookResult::StorageUnavailable,
            Self::RequestTimeout => WebhookResult::Timeout,
            Self::BadRequest | Self::UriTooLong | Self::NotFound | Self::MethodNotAllowed => {
                WebhookResult::BadRequest
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            Self::Validation(problems) => {
                let body = Json(validation::Detail { detail: &problems });
                return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
            }
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
            Self::InvalidSignature => (StatusCode::UNAUTHORIZED, "invalid signature"),
            Self::StorageUnavailable => {
                // Whatever made the storage unavailable (a full queue, a failing disk) is best
                // retried soon, not at once by every sender together.
                let body = Json(ErrorBody {
                    detail: "storage unavailable",
                });
                let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECS)];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, body).into_response();
            }
            Self::BadRequest => (StatusCode::BAD_REQUEST, "could not read the request body"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request timeout"),
            Self::UriTooLong => (StatusCode::URI_TOO_LONG, "URI too long"),
            Self::NotFound => (StatusCode::NOT_FOUND, "Not Found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        };
        (status, Json(ErrorBody { detail })).into_response()
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        // Shedding load is the bound doing its work, not a failure of the storage.
        if matches!(error, crate::storage::StorageError::Busy(_)) {
            tracing::warn!(error = %error, "storage unavailable");
        } else {
            tracing::error!(error = %error, "storage unavailable");
        }
        Self::StorageUnavailable
    }
}
