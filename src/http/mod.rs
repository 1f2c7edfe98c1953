//! The HTTP API: [`router`] builds the app without binding (tests drive it in-process), and
//! [`serve`] runs it on a listener until a shutdown future resolves, then drains the writer.

// Layered: a module uses only modules of the groups above its own.
// What the server is configured with, answers with, and records of a webhook request.
mod body;
mod headers;
mod outcome;
mod settings;

// How a webhook's signature is judged, and who may read, from the settings.
mod auth;
mod signature_check;

// Its errors and its state.
mod error;
mod state;

// What every request passes, and the handlers, one module per resource.
mod docs;
mod guard;
mod health;
mod messages;
mod metrics;
mod middleware;
mod request_body;
mod stats;
mod webhook;
mod whatsapp;

// The routes, registered from the handlers' OpenAPI annotations, and the document.
pub mod openapi;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::middleware::{from_fn, from_fn_with_state};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use guard::MAX_URI_BYTES;
pub use settings::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_WEBHOOKS_IN_FLIGHT, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TIMESTAMP_TOLERANCE, Settings, TIMESTAMP_TOLERANCE_SECS, Token, WebhookSecret,
};
pub use state::AppState;

/// The most bytes of a request line and headers read; a longer head is refused by the HTTP
/// layer itself (431, no body) before any of it is parsed.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How much longer than a request may take shutdown waits for open connections to finish.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// The whole API: the documented routes, the documentation page (`/docs`, not itself
/// documented, as FastAPI does), JSON answers for unknown routes and methods, and the guards and
/// middleware every request passes.
pub fn router(state: AppState) -> Router {
    let (routes, _) = openapi::routes(&state.access).split_for_parts();
    routes
        .merge(docs::routes())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn(guard::bounded_uri))
        .layer(from_fn_with_state(state.clone(), guard::admit))
        .layer(from_fn_with_state(state.clone(), guard::deadline))
        .layer(from_fn(middleware::observe))
        .with_state(state)
}

/// Serves HTTP/1.1 until `shutdown` resolves. Then readiness turns 503 and, after
/// [`Settings::shutdown_drain`] more of normal serving, no new connection is accepted, requests in
/// flight finish (for at most the request timeout and a margin), and the writer commits what it
/// was given before this returns.
///
/// Each connection must send its request headers within the request timeout, also between
/// requests on a kept-alive connection, or it is closed: a client trickling headers cannot hold
/// a connection (axum's own `serve` has no such timeout, hence hyper directly).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.request_timeout)
        // `max_buf_size` alone is a soft bound (a 100 KB head got through): `max_header_size` is
        // the one hyper enforces.
        .max_buf_size(MAX_HEAD_BYTES)
        .max_header_size(MAX_HEAD_BYTES);
    let connections = GracefulShutdown::new();
    let draining = state.clone();
    let stop = async move {
        shutdown.await;
        draining.start_draining();
        tokio::time::sleep(draining.shutdown_drain).await;
    };
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        // Each request carries its connection's peer, as axum's own `serve` gives it, for the
        // log line's `client`.
        let service = TowerToHyperService::new(app.clone());
        let service = hyper::service::service_fn(move |mut request| {
            request.extensions_mut().insert(ConnectInfo(peer));
            hyper::service::Service::call(&service, request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up or times out ends its connection: nothing to report. A
            // request hyper refused itself ends it too, and is logged and counted here.
            if let Err(error) = connection.await {
                middleware::record_refused_head(&error, peer);
            }
        });
    }
    drop(listener);
    let open = connections.count();
    let patience = state.request_timeout + SHUTDOWN_MARGIN;
    if tokio::time::timeout(patience, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = open,
            "connections still open after the request timeout: closing them"
        );
    }
    state.storage.close().await;
    Ok(())
}

/// A failed `accept` is the client's problem when it is about that connection; otherwise (out
/// of file descriptors, say) the loop waits a little instead of spinning.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "accept failed: retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
