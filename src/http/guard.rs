//! Guards between the client and the handlers, each answering in the API's JSON error shape:
//! a deadline on every request, a bound on the URI, and strict decoding of the listing's query
//! (called by its handler).
//! (Header read time and head size are bounded further out, in [`super::serve`].)

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::webhook::{WebhookOutcome, WebhookResult};
use crate::validation::{Loc, Problem};

/// The longest request URI (path and query) answered by a handler; longer ones get a 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The query parameters `GET /messages` reads: only these are checked for valid UTF-8.
const LISTING_PARAMETERS: [&str; 5] = ["limit", "offset", "from", "since", "q"];

/// Answers 408 when the handler (reading the body included, so a trickled body too) takes
/// longer than the request timeout. A message already handed to the writer may still be
/// committed: a sender that retries gets a duplicate's 200.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let webhook = is_webhook(&request);
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => rejected(ApiError::RequestTimeout, webhook, WebhookResult::Timeout),
    }
}

/// Answers 414 to a URI longer than [`MAX_URI_BYTES`] before any handler parses it.
pub async fn bounded_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if length > MAX_URI_BYTES {
        let webhook = is_webhook(&request);
        return rejected(ApiError::UriTooLong, webhook, WebhookResult::BadRequest);
    }
    next.run(request).await
}

/// A problem for each listing parameter whose value does not percent-decode to UTF-8, as
/// Pydantic reports bytes that are not a string (`string_unicode`), instead of searching for
/// replacement characters.
pub fn undecodable_parameters(query: &str) -> Vec<Problem> {
    query
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name).ok()?;
            let name = LISTING_PARAMETERS
                .into_iter()
                .find(|known| *known == name)?;
            let bytes = decode(value).err()?;
            Some(Problem::new(
                "string_unicode",
                Loc::Query(name),
                "Input should be a valid string, unable to parse raw data as a unicode string",
                Value::from(String::from_utf8_lossy(&bytes).into_owned()),
            ))
        })
        .collect()
}

/// A form-encoded component: `+` is a space, `%XX` a byte. `Err` holds bytes that are not UTF-8.
fn decode(component: &str) -> Result<String, Vec<u8>> {
    let spaced = component.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(spaced.as_bytes()).collect();
    String::from_utf8(bytes).map_err(|error| error.into_bytes())
}

fn is_webhook(request: &Request) -> bool {
    request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| path.as_str() == "/webhook")
}

/// The error's response, carrying a webhook outcome for the log line and metrics when the
/// request was for `/webhook`.
fn rejected(error: ApiError, webhook: bool, result: WebhookResult) -> Response {
    let mut response = error.into_response();
    if webhook {
        response.extensions_mut().insert(WebhookOutcome {
            result,
            message_id: None,
            conflict: false,
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_parameters_that_are_not_utf8_are_problems() {
        let problems = undecodable_parameters("limit=5&q=%FF%FE&other=%FF&from=+1");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, "string_unicode");
        assert_eq!(problems[0].loc, ["query", "q"]);
        assert_eq!(problems[0].input, "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn utf8_plus_and_percent_forms_pass() {
        assert!(undecodable_parameters("q=caf%C3%A9&from=+919876543210&since=").is_empty());
        assert!(undecodable_parameters("q&limit=&=x&&").is_empty());
    }
}
