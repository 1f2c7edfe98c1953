//! The HTTP API: [`router`] builds the app without binding (tests drive it in-process), and
//! [`serve`] runs it on a listener until a shutdown future resolves, then drains the writer.

mod error;
mod handlers;
mod middleware;
pub mod openapi;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use middleware::REQUEST_ID_HEADER;

use crate::signature::Verifier;
use crate::storage::Storage;

/// Default `POST /webhook` body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub storage: Storage,
    pub verifier: Arc<Verifier>,
    pub secret_set: bool,
    pub metrics: PrometheusHandle,
    /// Set when shutdown begins: readiness answers 503 so that traffic drains.
    pub draining: Arc<AtomicBool>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

impl AppState {
    pub fn new(storage: Storage, secret: &str, previous_secret: Option<&str>) -> Self {
        Self {
            storage,
            verifier: Arc::new(Verifier::new(
                secret.as_bytes(),
                previous_secret.map(str::as_bytes),
            )),
            secret_set: !secret.is_empty(),
            metrics: crate::telemetry::prometheus(),
            draining: Arc::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.request_timeout);
    let (routes, _) = routes().split_for_parts();
    routes
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(timeout)
        .layer(axum::middleware::from_fn(middleware::observe))
        .with_state(state)
}

/// Every route with its OpenAPI operation: each handler's `#[utoipa::path]` gives its method and
/// path, so what the router serves and what `GET /openapi.json` documents cannot disagree.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(webhook::receive))
        .routes(routes!(handlers::list_messages))
        .routes(routes!(handlers::stats))
        .routes(routes!(handlers::live))
        .routes(routes!(handlers::ready))
        .routes(routes!(handlers::metrics))
        .routes(routes!(openapi::openapi_json))
}

/// Serves until `shutdown` resolves: then readiness turns 503, no new connection is accepted,
/// requests in flight finish, and the writer commits what it was given before this returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let draining = Arc::clone(&state.draining);
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            draining.store(true, Ordering::SeqCst);
        })
        .await?;
    state.storage.close().await;
    Ok(())
}
