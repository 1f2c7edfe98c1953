//! The small JSON bodies several endpoints answer with. Each is the type the handlers return and
//! the schema the OpenAPI document shows, so the two cannot differ. (Bodies that belong to one
//! endpoint live with its handler; a 422's is [`crate::validation::Detail`].)

use serde::Serialize;
use utoipa::ToSchema;

/// `{"status":"ok"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Status)]
pub struct StatusBody {
    pub status: StatusOk,
}

impl StatusBody {
    pub const OK: Self = Self {
        status: StatusOk::Ok,
    };
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusOk {
    Ok,
}

/// `{"detail": "…"}`: the body of a 400, 401, 413 or 503.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
pub struct ErrorBody {
    #[schema(example = "invalid signature")]
    pub detail: &'static str,
}
