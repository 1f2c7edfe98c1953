//! Reading a header that must appear at most once: a signature or a credential sent twice is
//! ambiguous (which one a verifier reads would decide, and a proxy may reorder them), so it is
//! refused rather than guessed.

use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderValue};

/// The header appeared more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedHeader;

/// The one value of the header `name`: `None` when it is absent, [`RepeatedHeader`] when it
/// appears twice or more.
pub fn single_header(
    headers: &HeaderMap,
    name: impl AsHeaderName,
) -> Result<Option<&HeaderValue>, RepeatedHeader> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    match values.next() {
        Some(_) => Err(RepeatedHeader),
        None => Ok(first),
    }
}
