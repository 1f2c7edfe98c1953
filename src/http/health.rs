//! `GET /health/live` and `GET /health/ready`: the probes, and the readiness body with one typed
//! [`Check`] per thing the server needs in order to take messages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::body::StatusBody;
use super::state::AppState;
use crate::storage::{self, Storage};

/// `GET /health/live`: the process serves.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    operation_id = "live",
    summary = "Liveness: the process serves",
    responses((status = 200, description = "Serving", body = StatusBody)),
)]
pub async fn live() -> Json<StatusBody> {
    Json(StatusBody::OK)
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
pub async fn ready(State(state): State<AppState>) -> Readiness {
    let checks = ReadinessChecks::run(&state).await;
    checks.log();
    Readiness::from(checks)
}

/// The body of `GET /health/ready`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: ReadinessStatus,
    /// On 503: `not ready: ` and the failing checks' names.
    #[schema(nullable = false, example = "not ready: database")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub checks: ReadinessChecks,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadinessStatus {
    Ok,
    Unavailable,
}

impl From<ReadinessChecks> for Readiness {
    fn from(checks: ReadinessChecks) -> Self {
        let failing = checks.failing();
        if failing.is_empty() {
            Self {
                status: ReadinessStatus::Ok,
                detail: None,
                checks,
            }
        } else {
            Self {
                status: ReadinessStatus::Unavailable,
                detail: Some(format!("not ready: {}", failing.join(", "))),
                checks,
            }
        }
    }
}

impl IntoResponse for Readiness {
    fn into_response(self) -> Response {
        let status = match self.status {
            ReadinessStatus::Ok => StatusCode::OK,
            ReadinessStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(self)).into_response()
    }
}

/// Each check is `ok` or says what is wrong.
#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// The database answers.
    #[schema(value_type = String, example = "ok")]
    pub database: Check,
    /// The schema is at the latest migration.
    #[schema(value_type = String, example = "ok")]
    pub schema: Check,
    /// The last commit succeeded, or a probe commit does now.
    #[schema(value_type = String, example = "ok")]
    pub writer: Check,
    /// The file system is writable with room to spare.
    #[schema(value_type = String, example = "ok")]
    pub disk: Check,
    /// `WEBHOOK_SECRET` is set.
    #[schema(value_type = String, example = "ok")]
    pub secret: Check,
    /// The server is not shutting down.
    #[schema(value_type = String, example = "ok")]
    pub accepting: Check,
}

impl ReadinessChecks {
    /// Runs every check against the server's state, one after the other.
    pub async fn run(state: &AppState) -> Self {
        let (database, schema) = database_and_schema(&state.storage).await;
        Self {
            database,
            schema,
            writer: writer(&state.storage).await,
            disk: disk(&state.storage).await,
            // Holds by construction: `app serve` does not start without a secret, and a
            // `WebhookSecret` is never empty. Reported so that the body keeps its shape.
            secret: Check::Ok,
            accepting: if state.is_draining() {
                Check::Failing("shutting down".to_string())
            } else {
                Check::Ok
            },
        }
    }

    /// One DEBUG line with each check's outcome, as the body says it (a probe's answer is
    /// seen by its caller only; this shows an operator why a probe failed, or that it ran).
    fn log(&self) {
        tracing::debug!(
            ready = self.failing().is_empty(),
            database = self.database.as_str(),
            schema = self.schema.as_str(),
            writer = self.writer.as_str(),
            disk = self.disk.as_str(),
            secret = self.secret.as_str(),
            accepting = self.accepting.as_str(),
            "readiness checks"
        );
    }

    /// The names of the checks that fail, in the body's order.
    fn failing(&self) -> Vec<&'static str> {
        [
            ("database", &self.database),
            ("schema", &self.schema),
            ("writer", &self.writer),
            ("disk", &self.disk),
            ("secret", &self.secret),
            ("accepting", &self.accepting),
        ]
        .into_iter()
        .filter(|(_, check)| matches!(check, Check::Failing(_)))
        .map(|(name, _)| name)
        .collect()
    }
}

/// One readiness check: `ok`, or what is wrong (serialized as that sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    Failing(String),
}

impl Check {
    /// `ok`, or what is wrong.
    fn as_str(&self) -> &str {
        match self {
            Self::Ok => "ok",
            Self::Failing(what) => what,
        }
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The database answers, and its schema is the latest; the schema is unknown when the database
/// does not answer.
async fn database_and_schema(storage: &Storage) -> (Check, Check) {
    let latest = storage::latest_schema_version();
    match storage.schema_version().await {
        Ok(Some(version)) if version == latest => (Check::Ok, Check::Ok),
        Ok(version) => (
            Check::Ok,
            Check::Failing(format!(
                "at version {}, expected {latest}",
                version.unwrap_or(0)
            )),
        ),
        Err(error) => (
            Check::Failing(format!("unavailable: {error}")),
            Check::Failing("unknown".to_string()),
        ),
    }
}

/// The writer can commit (a writer that failed is probed again).
async fn writer(storage: &Storage) -> Check {
    match storage.writable().await {
        Ok(()) => Check::Ok,
        Err(error) => Check::Failing(format!("failing: {error}")),
    }
}

/// The database's file system is writable and has room. Asked off the async threads: it is a
/// system call on the file.
async fn disk(storage: &Storage) -> Check {
    let storage = storage.clone();
    match tokio::task::spawn_blocking(move || storage.file_system()).await {
        Ok(Some(fs)) if fs.read_only => Check::Failing("read-only file system".to_string()),
        Ok(Some(fs)) if fs.free_bytes < storage::MIN_FREE_BYTES => Check::Failing(format!(
            "{} bytes free, below {}",
            fs.free_bytes,
            storage::MIN_FREE_BYTES
        )),
        _ => Check::Ok,
    }
}
