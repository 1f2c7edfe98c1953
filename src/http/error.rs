//! Every error the API answers with, and its status and JSON body. Details of server-side
//! failures are logged where they happen, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::validation::{self, Problem};

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Validation(problems) => {
                let body = Json(validation::Detail { detail: &problems });
                return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
            }
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, detail("payload too large")),
            Self::InvalidSignature => (StatusCode::UNAUTHORIZED, detail("invalid signature")),
            Self::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("storage unavailable"),
            ),
            Self::BadRequest => (
                StatusCode::BAD_REQUEST,
                detail("could not read the request body"),
            ),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, detail("request timeout")),
            Self::UriTooLong => (StatusCode::URI_TOO_LONG, detail("URI too long")),
            Self::NotFound => (StatusCode::NOT_FOUND, detail("Not Found")),
            Self::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, detail("Method Not Allowed"))
            }
        };
        (status, Json(body)).into_response()
    }
}

fn detail(text: &str) -> serde_json::Value {
    json!({ "detail": text })
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        tracing::error!(error = %error, "storage unavailable");
        Self::StorageUnavailable
    }
}
