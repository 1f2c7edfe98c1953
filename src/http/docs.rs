//! `GET /docs`: the browsable documentation of the API, Swagger UI over `GET /openapi.json`,
//! as FastAPI serves it at the same path.
//!
//! Everything the page loads comes from this binary: Swagger UI's script, style sheet and icon
//! are the ones `utoipa-swagger-ui` embeds at compile time from the copy it vendors (its
//! `vendored` feature: nothing is downloaded when building, nothing from a CDN when viewing).
//! The page itself is ours, FastAPI's `get_swagger_ui_html` in shape, so that it answers at
//! `/docs` without a redirect to `/docs/` and names only the three files it needs.
//!
//! Like FastAPI, the OpenAPI document lists neither `/docs` nor its files: they are not part of
//! the API. The page is open whatever tokens are set, as the document is; its Authorize button
//! sends the bearer token the document declares to the operations that need it.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

use super::error::ApiError;
use super::state::AppState;

/// The page. Its URLs are relative (`/docs` → `docs/…`, `openapi.json`), so it also works behind
/// a proxy that serves the API under a path prefix. `validatorUrl: null` keeps Swagger UI from
/// sending the document to its public validator; `persistAuthorization` keeps the token across
/// reloads, in the browser's local storage.
const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>webhook-receiver - API docs</title>
<link rel="stylesheet" type="text/css" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js" charset="UTF-8"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
</script>
</body>
</html>
"##;

/// The files of Swagger UI's distribution the page loads, each served at `/docs/<name>`.
pub const ASSETS: [&str; 3] = [
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
];

/// `/docs` and the files it loads. Any other path under `/docs/` is the router's JSON 404.
pub(super) fn routes() -> Router<AppState> {
    ASSETS
        .iter()
        .fold(Router::new().route("/docs", get(page)), |router, &name| {
            router.route(&format!("/docs/{name}"), get(move || asset(name)))
        })
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// One embedded file of Swagger UI, with its media type.
async fn asset(name: &'static str) -> Response {
    // The configuration only shapes `swagger-initializer.js`, which the page does not load.
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(Config::from("openapi.json")));
    match utoipa_swagger_ui::serve(name, config.clone()) {
        Ok(Some(file)) => ([(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response(),
        // Every name in ASSETS is in the distribution (a unit test checks it).
        Ok(None) | Err(_) => ApiError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_loads_is_embedded_and_named_in_it() {
        let config = Arc::new(Config::from("openapi.json"));
        for name in ASSETS {
            let file = utoipa_swagger_ui::serve(name, config.clone())
                .unwrap()
                .unwrap_or_else(|| panic!("{name} is not embedded"));
            assert!(!file.bytes.is_empty(), "{name}");
            assert!(PAGE.contains(&format!("\"docs/{name}\"")), "{name}");
        }
    }
}
