//! `GET /metrics`: the Prometheus text exposition (names and order in [`crate::telemetry`]).
//!
//! A scrape first reads what is only known on demand (the process's CPU, memory and file
//! descriptors, the database and WAL sizes), then renders every series.

use std::sync::Once;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;

use super::outcome::{SignatureRejection, WebhookResult, WhatsAppResult};
use super::state::AppState;
use crate::storage::Storage;
use crate::telemetry;

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "The Prometheus text exposition format", body = String, content_type = "text/plain"),
    ),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let storage = state.storage.clone();
    // System calls and `/proc` reads: off the async threads, as readiness's disk check is.
    let _ = tokio::task::spawn_blocking(move || {
        telemetry::collect_process_metrics();
        record_file_sizes(&storage);
    })
    .await;
    let content_type = [(
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8",
    )];
    (content_type, telemetry::render(&state.metrics)).into_response()
}

/// The process's recorder, with every series whose labels come from a fixed set of outcomes
/// registered at zero: a `rate()` or an alert on `webhook_requests_total{result="timeout"}`
/// works before the first timeout. (`http_requests_total` is left to fill as requests come:
/// its routes times statuses would be mostly series that never move.)
pub(super) fn recorder() -> PrometheusHandle {
    static REGISTERED: Once = Once::new();
    let handle = telemetry::prometheus();
    REGISTERED.call_once(|| {
        for result in WebhookResult::ALL {
            metrics::counter!(telemetry::WEBHOOK_REQUESTS_TOTAL, "result" => result.as_str())
                .increment(0);
        }
        for (scheme, reason) in SignatureRejection::POSSIBLE {
            metrics::counter!(
                telemetry::WEBHOOK_SIGNATURE_FAILURES_TOTAL,
                "scheme" => scheme.as_str(),
                "reason" => reason.as_str()
            )
            .increment(0);
        }
        for result in WhatsAppResult::all() {
            metrics::counter!(telemetry::WHATSAPP_REQUESTS_TOTAL, "result" => result.as_str())
                .increment(0);
        }
        for result in ["created", "duplicate"] {
            metrics::counter!(telemetry::WHATSAPP_MESSAGES_TOTAL, "result" => result).increment(0);
        }
        for kind in ["status", "other"] {
            metrics::counter!(telemetry::WHATSAPP_EVENTS_TOTAL, "kind" => kind).increment(0);
        }
    });
    handle
}

/// The database and WAL sizes as of now (0 for a file that does not exist, and in memory).
fn record_file_sizes(storage: &Storage) {
    let sizes = storage.file_sizes().unwrap_or_default();
    #[allow(clippy::cast_precision_loss)] // exact below 2^53 bytes
    {
        metrics::gauge!(telemetry::STORAGE_DATABASE_BYTES).set(sizes.database as f64);
        metrics::gauge!(telemetry::STORAGE_WAL_BYTES).set(sizes.wal as f64);
    }
}
