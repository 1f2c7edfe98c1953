//! `GET /stats`: totals, top senders, first and last timestamps.

use axum::Json;
use axum::extract::State;

use super::body::ErrorBody;
use super::error::ApiError;
use super::state::AppState;
use crate::storage::Stats;

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
