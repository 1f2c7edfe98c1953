//! Guards between the client and the handlers, each answering in the API's JSON error shape: a
//! deadline on every request, a bound on the URI and on the webhook deliveries handled at once.
//! (Header read time and head size are bounded further out, in [`super::serve`].)

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::outcome::{WebhookOutcome, WhatsAppOutcome, WhatsAppResult};
use super::state::AppState;
use crate::wire::WHATSAPP_PATH;

/// The longest request URI (path and query) answered by a handler; longer ones get a 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Answers 408 when the handler (reading the body included, so a trickled body too) takes
/// longer than the request timeout. A message already handed to the writer may still be
/// committed: a sender that retries gets a duplicate's 200.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let webhook = webhook_route(&request);
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => rejected(ApiError::RequestTimeout, webhook),
    }
}

/// Answers 414 to a URI longer than [`MAX_URI_BYTES`] before any handler parses it.
pub async fn bounded_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if length > MAX_URI_BYTES {
        return rejected(ApiError::UriTooLong, webhook_route(&request));
    }
    next.run(request).await
}

/// Answers 503 (`Retry-After`, `{"detail":"storage unavailable"}`) at once, before its body is
/// read, to a webhook delivery that arrives while the state's `admission` bound of deliveries
/// is being handled. Past it, more waiting would add no throughput (the writer commits what it
/// has as fast as it can) but would hold each waiting request's body and state in memory, so
/// that thousands of connections posting at once would grow the process without bound. Other
/// routes pass.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = match webhook_route(&request) {
        Some(route) if request.method() == Method::POST => route,
        _ => return next.run(request).await,
    };
    let Ok(_permit) = state.admission.try_acquire() else {
        return rejected(ApiError::StorageUnavailable, Some(route));
    };
    next.run(request).await
}

/// The webhook routes, whose answers are logged and counted with their outcome.
#[derive(Debug, Clone, Copy)]
enum WebhookRoute {
    Webhook,
    WhatsApp,
}

fn webhook_route(request: &Request) -> Option<WebhookRoute> {
    match request.extensions().get::<MatchedPath>()?.as_str() {
        "/webhook" => Some(WebhookRoute::Webhook),
        WHATSAPP_PATH => Some(WebhookRoute::WhatsApp),
        _ => None,
    }
}

/// The error's response, carrying the route's outcome for the log line and metrics when the
/// request was for a webhook route.
fn rejected(error: ApiError, route: Option<WebhookRoute>) -> Response {
    let result = error.webhook_result();
    let mut response = error.into_response();
    match route {
        Some(WebhookRoute::Webhook) => {
            let outcome = WebhookOutcome::without_message(result);
            response.extensions_mut().insert(outcome);
        }
        Some(WebhookRoute::WhatsApp) => {
            let outcome = WhatsAppOutcome::without_delivery(WhatsAppResult::Delivery(result), None);
            response.extensions_mut().insert(outcome);
        }
        None => {}
    }
    response
}
