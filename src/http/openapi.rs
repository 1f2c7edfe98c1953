//! The OpenAPI 3.1 document of the API, served at `GET /openapi.json`.
//!
//! It is generated from the code, so it cannot drift: each handler's `#[utoipa::path]` gives its
//! operation, the body and response types derive their schemas, and the router registers its
//! routes from those same annotations (`super::routes`), so no route is served undocumented and
//! no documented route is missing. What no single handler owns is added here: the `X-Request-ID`
//! header every request may send and every response carries, and the 408 of the request timeout.
//!
//! The types below describe bodies the handlers build with `json!`; the integration tests and
//! `make schemathesis` check every real response against them.

use std::sync::OnceLock;

use axum::Json;
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// The pattern of a request id that is echoed; any other is replaced by a generated UUID.
pub const REQUEST_ID_PATTERN: &str = r"^[A-Za-z0-9._:-]{1,128}$";

/// The document's fixed parts; the operations come from the router's routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "webhook-receiver",
        description = "Exactly-once webhook receiver: HMAC-verified messages stored in SQLite, \
                       listed, counted, probed and measured.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(WebhookResultHeader)),
    tags(
        (name = "webhook", description = "Receiving signed messages"),
        (name = "messages", description = "Reading what was stored"),
        (name = "operations", description = "Probes, metrics and this document"),
    ),
)]
pub struct ApiDoc;

/// The whole document, as `GET /openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = super::routes().into_openapi();
    CommonHeadersAndTimeout.modify(&mut document);
    document
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    summary = "This OpenAPI 3.1 document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object),
    ),
)]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document))
}

/// `{"status":"ok"}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Status)]
pub struct StatusBody {
    pub status: StatusOk,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusOk {
    Ok,
}

/// `{"detail": "…"}`: the body of a 400, 401, 413 or 503.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
pub struct ErrorBody {
    #[schema(example = "invalid signature")]
    pub detail: String,
}

/// What `X-Webhook-Result` says of a 200: the message was stored now, or had been before.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookResultHeader {
    Created,
    Duplicate,
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

/// Each check is `ok` or says what is wrong.
#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// The database answers.
    #[schema(example = "ok")]
    pub database: String,
    /// The schema is at the latest migration.
    #[schema(example = "ok")]
    pub schema: String,
    /// The last commit succeeded, or a probe commit does now.
    #[schema(example = "ok")]
    pub writer: String,
    /// The file system is writable with room to spare.
    #[schema(example = "ok")]
    pub disk: String,
    /// `WEBHOOK_SECRET` is set.
    #[schema(example = "ok")]
    pub secret: String,
    /// The server is not shutting down.
    #[schema(example = "ok")]
    pub accepting: String,
}

impl ReadinessChecks {
    /// The names of the checks that are not `ok`, in declaration order.
    pub fn failing(&self) -> Vec<&'static str> {
        [
            ("database", &self.database),
            ("schema", &self.schema),
            ("writer", &self.writer),
            ("disk", &self.disk),
            ("secret", &self.secret),
            ("accepting", &self.accepting),
        ]
        .into_iter()
        .filter(|(_, value)| value.as_str() != "ok")
        .map(|(name, _)| name)
        .collect()
    }
}

/// The signature headers of `POST /webhook` (the handler reads them from the `HeaderMap`).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct SignatureHeaders {
    /// Hex HMAC-SHA256 of the raw body bytes keyed with `WEBHOOK_SECRET` (upper- or lower-case;
    /// a `sha256=` prefix is accepted). When it is absent, `X-Hub-Signature-256` is read instead.
    #[param(rename = "X-Signature", pattern = r"^(sha256=)?[0-9a-fA-F]{64}$")]
    pub x_signature: String,
    /// The same signature as GitHub and Meta send it (`sha256=` and 64 hex digits). Read only
    /// when `X-Signature` is absent, and then checked like it; ignored otherwise.
    #[param(rename = "X-Hub-Signature-256", required = false)]
    pub x_hub_signature_256: String,
}

/// Adds what every operation shares: the `X-Request-ID` request header, the `X-Request-ID`
/// response header on every response, and the 408 a request over the time limit gets. Each is
/// defined once under `components` and referenced.
struct CommonHeadersAndTimeout;

const REQUEST_ID: &str = "X-Request-ID";
const REQUEST_TIMEOUT: &str = "RequestTimeout";

impl Modify for CommonHeadersAndTimeout {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let id_schema = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(REQUEST_ID_PATTERN))
                .build()
        };
        let components = document.components.get_or_insert_with(Default::default);
        components.parameters.insert(
            REQUEST_ID.to_string(),
            RefOr::T(
                ParameterBuilder::new()
                    .name(REQUEST_ID)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Any value is accepted: it is echoed in the response and logged when it \
                         is 1 to 128 letters, digits or `._:-`, and replaced by a generated UUID \
                         otherwise.",
                    ))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
        );
        components.headers.insert(
            REQUEST_ID.to_string(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(id_schema()))
                    .description(Some("The request's id, as logged"))
                    .build(),
            ),
        );
        components.responses.insert(
            REQUEST_TIMEOUT.to_string(),
            RefOr::T(
                ResponseBuilder::new()
                    .description("The request took longer than the server's request timeout")
                    .header_ref(
                        REQUEST_ID,
                        Ref::new(format!("#/components/headers/{REQUEST_ID}")),
                    )
                    .build(),
            ),
        );
        for item in document.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                add_common(operation);
            }
        }
    }
}

fn add_common(operation: &mut Operation) {
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::Ref(Ref::new(format!(
            "#/components/parameters/{REQUEST_ID}"
        ))));
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.insert(
                REQUEST_ID.to_string(),
                RefOr::Ref(Ref::new(format!("#/components/headers/{REQUEST_ID}"))),
            );
        }
    }
    operation
        .responses
        .responses
        .entry("408".to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(REQUEST_TIMEOUT)));
}
