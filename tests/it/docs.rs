//! `GET /docs`: the documentation page over `GET /openapi.json`, served whole from the binary
//! (no URL of another host in it), open whatever tokens are set, and not itself part of the
//! documented API. That it renders the API in a real browser is `make docs-check`'s to show.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webhook_receiver::http::Token;

use crate::helpers::TestApp;

/// The page's body, after checking that it is a 200 HTML page.
async fn page(app: &TestApp, token: Option<&str>) -> String {
    let mut request = app.client.get(format!("{}/docs", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// Every `src="…"` and `href="…"` of the page, in order.
fn linked(page: &str) -> Vec<&str> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| {
            page.match_indices(attribute).map(move |(at, _)| {
                let value = &page[at + attribute.len()..];
                &value[..value.find('"').unwrap()]
            })
        })
        .collect()
}

#[tokio::test]
async fn the_docs_page_loads_the_served_document_and_only_files_of_this_server() {
    let app = TestApp::spawn().await;
    let page = page(&app, None).await;
    assert!(page.contains("<title>webhook-receiver - API docs</title>"));
    // The document it renders is this server's, relative to the page (`/docs` → `/openapi.json`).
    assert!(page.contains(r#"url: "openapi.json""#), "{page}");
    // No CDN: no URL of any other host, in a script, a style sheet or anywhere else.
    for scheme in ["http:", "https:", "//"] {
        assert!(!page.contains(scheme), "{scheme} in {page}");
    }

    // Each file it links is served here, with its media type; relative to `/docs`, `docs/x` is
    // `/docs/x`.
    let files = linked(&page);
    assert_eq!(
        files,
        [
            "docs/swagger-ui-bundle.js",
            "docs/swagger-ui.css",
            "docs/favicon-32x32.png"
        ]
    );
    for (file, media_type) in files
        .iter()
        .zip(["text/javascript", "text/css", "image/png"])
    {
        let response = app
            .client
            .get(format!("{}/{file}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert_eq!(response.headers()["content-type"], media_type, "{file}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{file}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_docs_page_is_the_same_whether_reads_are_closed_or_not() {
    let open = TestApp::spawn().await;
    let closed = TestApp::spawn_with(|settings| {
        settings.read_token = Token::new("read-token");
        settings.metrics_token = Token::new("metrics-token");
    })
    .await;
    let expected = page(&open, None).await;
    assert_eq!(page(&closed, None).await, expected);
    assert_eq!(page(&closed, Some("wrong-token")).await, expected);
    // The bundle too: a browser loads it without the token.
    let bundle = closed
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", closed.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);
    open.stop().await;
    closed.stop().await;
}

#[tokio::test]
async fn the_docs_page_is_not_part_of_the_documented_api() {
    let app = TestApp::spawn().await;
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert!(
        paths.iter().all(|path| !path.starts_with("/docs")),
        "{paths:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn other_methods_on_the_docs_page_are_405_and_other_paths_under_it_404_in_json() {
    let app = TestApp::spawn().await;
    let head = app
        .client
        .head(format!("{}/docs", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        for path in ["/docs", "/docs/swagger-ui-bundle.js"] {
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.url))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.headers()["allow"], "GET,HEAD", "{method} {path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({"detail": "Method Not Allowed"}),
                "{method} {path}"
            );
        }
    }

    // Only the files the page loads are served: the rest of Swagger UI's distribution, its
    // `index.html` included, and any other name are the JSON 404.
    for path in [
        "/docs/",
        "/docs/index.html",
        "/docs/swagger-initializer.js",
        "/docs/swagger-ui.js",
        "/docs/x",
        "/docs/docs/swagger-ui.css",
        "/DOCS",
        "/redoc",
        "/swagger-ui",
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Not Found"}), "{path}");
    }
    app.stop().await;
}
