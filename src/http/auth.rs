//! Who may read: the bearer tokens that close `GET /messages` and `GET /stats` (`READ_TOKEN`)
//! and `GET /metrics` (`METRICS_TOKEN`). A route layer, put by [`super::openapi::routes`] on
//! exactly those operations, answers 401 before the handler runs; with no token set the route
//! stays open, as the brief's reads are.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::body::ErrorBody;
use super::headers::single_header;
use super::settings::Token;

/// The tokens of the routes that can be closed, as [`super::Settings`] gives them.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// `READ_TOKEN`: `/messages` and `/stats`.
    pub read: Option<Token>,
    /// `METRICS_TOKEN`: `/metrics`.
    pub metrics: Option<Token>,
}

/// The name of the bearer scheme in the OpenAPI document's `securitySchemes`.
pub const BEARER_SCHEME: &str = "bearer";

/// Lets the request through when no token is set, or when it carries exactly one
/// `Authorization: Bearer <token>` with the token; otherwise 401 `{"detail":"not
/// authenticated"}` with `WWW-Authenticate: Bearer`. Never logs what was presented.
pub async fn require_bearer(
    State(token): State<Option<Token>>,
    request: Request,
    next: Next,
) -> Response {
    match &token {
        Some(token) if !presented(request.headers()).is_some_and(|given| token.matches(given)) => {
            not_authenticated()
        }
        _ => next.run(request).await,
    }
}

/// The credentials of the one `Authorization` header when it uses the Bearer scheme (whose
/// name is case-insensitive, RFC 9110); `None` when there is no such header, or more than one.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let value = single_header(headers, header::AUTHORIZATION)
        .ok()??
        .to_str()
        .ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start_matches(' '))
}

fn not_authenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(ErrorBody {
            detail: "not authenticated",
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_one_bearer_header_presents_a_token() {
        assert_eq!(presented(&headers(&["Bearer abc"])), Some("abc"));
        assert_eq!(presented(&headers(&["bearer abc"])), Some("abc"));
        assert_eq!(presented(&headers(&[])), None);
        assert_eq!(presented(&headers(&["Basic abc"])), None);
        assert_eq!(presented(&headers(&["Bearer"])), None);
        assert_eq!(presented(&headers(&["Bearer abc", "Bearer abc"])), None);
    }
}
