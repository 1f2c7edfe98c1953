//! The read endpoints, probes and metrics: extract, call storage, answer.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::guard;
use super::openapi::{
    ErrorBody, ListParams, Readiness, ReadinessChecks, ReadinessStatus, StatusBody,
};
use crate::filters::RawListQuery;
use crate::storage::{self, Page, Stats};
use crate::validation::Detail;

/// `GET /messages`.
#[utoipa::path(
    get,
    path = "/messages",
    tag = "messages",
    operation_id = "list_messages",
    summary = "A page of stored messages, filtered",
    description = "Ordered by `ts` as an instant, then `message_id`. `total` counts every row \
                   matching the filters, ignoring `limit` and `offset`.",
    params(ListParams),
    responses(
        (status = 200, description = "A page and the total for the filters", body = Page),
        (status = 422, description = "A parameter is invalid; every problem is listed", body = Detail),
        (status = 503, description = "The database cannot be read", body = ErrorBody),
    ),
)]
pub async fn list_messages(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let query = query.unwrap_or_default();
    let undecodable = guard::undecodable_parameters(&query);
    if !undecodable.is_empty() {
        return Err(ApiError::Validation(undecodable));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let query = RawListQuery::from_pairs(&pairs)
        .parse()
        .map_err(ApiError::Validation)?;
    let page = state.storage.list_messages(query).await?;
    Ok(Json(page))
}

/// `GET /stats`.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "messages",
    operation_id = "stats",
    summary = "Totals, top senders and the first and last timestamps",
    responses(
        (status = 200, description = "The figures; an empty store gives 0, 0, [], null, null", body = Stats),
        (status = 503, description = "The database cannot be read", body = ErrorBody),
    ),
)]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.storage.stats().await?))
}

/// `GET /health/live`: the process serves.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    operation_id = "live",
    summary = "Liveness: the process serves",
    responses((status = 200, description = "Serving", body = StatusBody)),
)]
pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/ready`: 200 only when the database answers at the latest schema, the writer can
/// commit, the file system has room, the secret is set and the server is not shutting down;
/// otherwise 503 naming each failing check. A writer that failed is probed again here, so that
/// readiness comes back by itself once the fault is cleared.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    operation_id = "ready",
    summary = "Readiness: database, schema, writer, disk, secret, not shutting down",
    responses(
        (status = 200, description = "Every check is ok", body = Readiness),
        (status = 503, description = "A check fails; `detail` names each failing one", body = Readiness),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    let latest = storage::latest_schema_version();
    let schema = state.storage.schema_version().await;
    let (database, schema) = match schema {
        Ok(Some(version)) if version == latest => ("ok".to_string(), "ok".to_string()),
        Ok(version) => (
            "ok".to_string(),
            format!("at version {}, expected {latest}", version.unwrap_or(0)),
        ),
        Err(error) => (format!("unavailable: {error}"), "unknown".to_string()),
    };
    let writer = match state.storage.writable().await {
        Ok(()) => "ok".to_string(),
        Err(error) => format!("failing: {error}"),
    };
    let storage = state.storage.clone();
    let disk = match tokio::task::spawn_blocking(move || storage.file_system()).await {
        Ok(Some(fs)) if fs.read_only => "read-only file system".to_string(),
        Ok(Some(fs)) if fs.free_bytes < storage::MIN_FREE_BYTES => format!(
            "{} bytes free, below {}",
            fs.free_bytes,
            storage::MIN_FREE_BYTES
        ),
        _ => "ok".to_string(),
    };
    let secret = if state.secret_set {
        "ok"
    } else {
        "WEBHOOK_SECRET is not set"
    };
    let accepting = if state.draining.load(Ordering::SeqCst) {
        "shutting down"
    } else {
        "ok"
    };
    let checks = ReadinessChecks {
        database,
        schema,
        writer,
        disk,
        secret: secret.to_string(),
        accepting: accepting.to_string(),
    };
    let failing = checks.failing();
    let (status, readiness) = if failing.is_empty() {
        (
            StatusCode::OK,
            Readiness {
                status: ReadinessStatus::Ok,
                detail: None,
                checks,
            },
        )
    } else {
        let detail = Some(format!("not ready: {}", failing.join(", ")));
        let status = ReadinessStatus::Unavailable;
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Readiness {
                status,
                detail,
                checks,
            },
        )
    };
    (status, Json(readiness)).into_response()
}

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
    let content_type = [(
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8",
    )];
    (content_type, crate::telemetry::render(&state.metrics)).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
