//! `GET /messages`: a page of stored messages, filtered.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::body::ErrorBody;
use super::error::ApiError;
use super::state::AppState;
use crate::filters::{ListQuery, RawListQuery};
use crate::storage::Page;
use crate::validation::Detail;

/// `GET /messages`. The query string is read raw and decoded once by
/// [`ListQuery::from_query_string`], which `app list` shares: every problem (a value that is not
/// UTF-8 included) is a 422 in Pydantic's shape, where axum's `Query` would answer 400 in its own.
#[utoipa::path(
    get,
    path = "/messages",
    tag = "messages",
    operation_id = "list_messages",
    summary = "A page of stored messages, filtered",
    description = "Ordered by `ts` as an instant, then `message_id`. `total` counts every row \
                   matching the filters, ignoring `limit` and `offset`.",
    params(RawListQuery),
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
    let query = ListQuery::from_query_string(query.as_deref().unwrap_or_default())
        .map_err(ApiError::Validation)?;
    let page = state.storage.list_messages(query).await?;
    Ok(Json(page))
}
