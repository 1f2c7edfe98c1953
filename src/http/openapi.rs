//! The routes and their OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! The document is generated from the code, so it cannot drift: each handler's
//! `#[utoipa::path]` gives its operation, the types the handlers return derive their schemas,
//! and `routes` registers every route from those same annotations, so no route is served
//! undocumented and no documented route is missing. What no single handler owns is added here:
//! the `X-Request-ID` header every request may send and every response carries, the 408 of
//! the request timeout, and the bearer scheme (with its 401) of the operations a token can
//! close. The integration tests and `make schemathesis` check every real response against the
//! document.

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use tower_http::cors::{Any, CorsLayer};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{self, Access, BEARER_SCHEME};
use super::body::ErrorBody;
use super::error::ApiError;
use super::state::AppState;
use super::webhook::WebhookResultHeader;
use super::whatsapp::WhatsAppResultHeader;
use super::{health, messages, metrics, stats, webhook, whatsapp};

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
    components(schemas(WebhookResultHeader, WhatsAppResultHeader)),
    tags(
        (name = "webhook", description = "Receiving signed messages"),
        (name = "whatsapp", description = "Receiving Meta's WhatsApp Cloud API deliveries"),
        (name = "messages", description = "Reading what was stored"),
        (name = "operations", description = "Probes, metrics and this document"),
    ),
)]
pub struct ApiDoc;

/// The operations a bearer token can close: `READ_TOKEN`'s and `METRICS_TOKEN`'s.
const BEARER_OPERATIONS: [&str; 3] = ["list_messages", "stats", "metrics"];

/// Every route with its OpenAPI operation: each handler's `#[utoipa::path]` gives its method and
/// path, so what the router serves and what `GET /openapi.json` documents cannot disagree. The
/// routes of [`BEARER_OPERATIONS`] get [`auth::require_bearer`] with their token, which lets
/// everything through when that token is unset.
pub(super) fn routes(access: &Access) -> OpenApiRouter<AppState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(messages::list_messages))
        .routes(routes!(stats::stats))
        .route_layer(from_fn_with_state(
            access.read.clone(),
            auth::require_bearer,
        ));
    let metrics = OpenApiRouter::new()
        .routes(routes!(metrics::metrics))
        .route_layer(from_fn_with_state(
            access.metrics.clone(),
            auth::require_bearer,
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(webhook::receive))
        .routes(routes!(whatsapp::verify, whatsapp::receive))
        .merge(reads)
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .merge(metrics)
        .merge(document_route())
}

/// `GET /openapi.json`, readable from any web page: `Access-Control-Allow-Origin: *` on its
/// answers and on the browser's preflight, so that a hosted editor or client generator can load
/// it. The document is public and no credentials go with it. Only this route: the webhooks and
/// the reads are not for browsers on other origins.
fn document_route() -> OpenApiRouter<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers(Any);
    let (schemas, paths, document) = routes!(openapi_json);
    // The preflight is an OPTIONS, which no handler here takes: it reaches the route's method
    // fallback, so that fallback must be inside the layer. The router's own 405 fallback would
    // replace a layered default one, hence the same 405 set here first.
    let document = document
        .fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors);
    OpenApiRouter::new().routes((schemas, paths, document))
}

/// The whole document, as `GET /openapi.json` serves it (the same whether tokens are set or not).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = routes(&Access::default()).into_openapi();
    CommonHeadersAndTimeout.modify(&mut document);
    BearerAuth.modify(&mut document);
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

/// Declares the bearer scheme, and on exactly the operations of [`BEARER_OPERATIONS`] requires
/// it and documents the 401 a missing or wrong token gets.
struct BearerAuth;

const NOT_AUTHENTICATED: &str = "NotAuthenticated";

impl Modify for BearerAuth {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "READ_TOKEN for /messages and /stats, METRICS_TOKEN for /metrics; \
                         required only when the server has that token set",
                    ))
                    .build(),
            ),
        );
        components.responses.insert(
            NOT_AUTHENTICATED.to_string(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(
                        "The server has a token for this route and the request did not present \
                         it as `Authorization: Bearer <token>`",
                    )
                    .header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .description(Some("`Bearer`"))
                            .build(),
                    )
                    .header_ref(
                        REQUEST_ID,
                        Ref::new(format!("#/components/headers/{REQUEST_ID}")),
                    )
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                            .build(),
                    )
                    .build(),
            ),
        );
        for item in document.paths.paths.values_mut() {
            let Some(operation) = item.get.as_mut() else {
                continue;
            };
            let closable = operation
                .operation_id
                .as_deref()
                .is_some_and(|id| BEARER_OPERATIONS.contains(&id));
            if !closable {
                continue;
            }
            operation.security = Some(vec![SecurityRequirement::new(
                BEARER_SCHEME,
                Vec::<String>::new(),
            )]);
            operation.responses.responses.insert(
                "401".to_string(),
                RefOr::Ref(Ref::from_response_name(NOT_AUTHENTICATED)),
            );
        }
    }
}
