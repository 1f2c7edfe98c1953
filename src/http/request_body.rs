//! Reading a request body up to the configured limit, for the routes that take one
//! (`POST /webhook`, `POST /webhook/whatsapp`): a larger body is a 413, read no further.

use axum::body::Body;
use axum::http::{HeaderMap, header};

use super::error::ApiError;

/// Reads the body, refusing at once a declared length over `limit`, and stopping at `limit`
/// bytes for a body that does not declare one.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large =
            std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest
        }
    })
}
