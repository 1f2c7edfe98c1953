//! `GET /openapi.json`: served, OpenAPI 3.1, in step with the router, and true of the real
//! responses. Bodies are checked by the `jsonschema` crate in draft 2020-12 (OpenAPI 3.1's
//! dialect), formats and patterns asserted, against the served document's own schemas; `make
//! schemathesis` checks far more.

use std::collections::BTreeSet;

use jsonschema::{Draft, Registry, Validator};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::http;

use crate::helpers::{SECRET, TestApp, message, secret};

/// Every operation of the contract, as `METHOD path`.
const CONTRACT: [&str; 9] = [
    "GET /health/live",
    "GET /health/ready",
    "GET /messages",
    "GET /metrics",
    "GET /openapi.json",
    "GET /stats",
    "GET /webhook/whatsapp",
    "POST /webhook",
    "POST /webhook/whatsapp",
];

async fn document(app: &TestApp) -> Value {
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    document
}

fn operations(document: &Value) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations
}

#[tokio::test]
async fn the_document_is_served_as_openapi_3_1_json() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    assert_eq!(document["info"]["title"], "webhook-receiver");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        document,
        serde_json::to_value(http::openapi::document()).unwrap()
    );
    app.stop().await;
}

#[tokio::test]
async fn every_route_the_router_serves_is_documented_and_nothing_else() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    let documented = operations(&document);
    assert_eq!(
        documented,
        CONTRACT.iter().map(|op| op.to_string()).collect()
    );

    // Each documented operation is routed (not the 404 or 405 fallbacks), and every method not
    // documented on its path is a 405: the documented methods are exactly the served ones.
    for operation in &documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let url = format!("{}{path}", app.url);
        let method: reqwest::Method = method.parse().unwrap();
        let status = app
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
            "{operation}: {status}"
        );
        for other in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::DELETE,
        ] {
            if !documented.contains(&format!("{other} {path}")) {
                let status = app
                    .client
                    .request(other.clone(), &url)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    status.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{other} {path}"
                );
            }
        }
    }

    // Any other path falls to the 404 fallback whatever the method (a routed path would answer
    // some method, or 405 for the others). The router cannot list its routes, so this probes
    // the paths a stray route would most likely take.
    let documented_paths = document["paths"].as_object().unwrap().keys().cloned();
    for path in undocumented_neighbours(&documented_paths.collect()) {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::DELETE,
        ] {
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.url))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body, json!({"detail": "Not Found"}), "{method} {path}");
        }
    }
    app.stop().await;
}

const ORIGIN: &str = "https://editor.example";

/// The CORS headers of a response, by name.
fn cors_headers(response: &reqwest::Response) -> BTreeSet<(String, String)> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect()
}

fn pairs(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[tokio::test]
async fn a_page_on_any_origin_may_load_the_document() {
    let app = TestApp::spawn().await;
    let url = format!("{}/openapi.json", app.url);

    let get = app
        .client
        .get(&url)
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(
        cors_headers(&get),
        pairs(&[("access-control-allow-origin", "*")])
    );
    let document: Value = get.json().await.unwrap();
    assert_eq!(document["info"]["title"], "webhook-receiver");

    // The browser's preflight, as a page that sends a header of its own makes it.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-request-id")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(
        cors_headers(&preflight),
        pairs(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "GET,HEAD"),
            ("access-control-allow-headers", "*"),
        ])
    );
    assert_eq!(preflight.text().await.unwrap(), "");

    // Still a 405 in JSON for a method it does not serve.
    let post = app.client.post(&url).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = post.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Method Not Allowed"}));
    app.stop().await;
}

#[tokio::test]
async fn no_other_route_answers_cors() {
    let app = TestApp::spawn().await;
    app.seed(&[message(
        "m1",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("Hello"),
    )])
    .await;
    for path in ["/messages", "/stats", "/metrics", "/health/ready", "/docs"] {
        let get = app
            .client
            .get(format!("{}{path}", app.url))
            .header("Origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::OK, "{path}");
        assert_eq!(cors_headers(&get), pairs(&[]), "GET {path}");
    }
    for (path, method) in [("/messages", "GET"), ("/webhook", "POST")] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.url))
            .header("Origin", ORIGIN)
            .header("Access-Control-Request-Method", method)
            .send()
            .await
            .unwrap();
        assert_eq!(
            preflight.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "OPTIONS {path}"
        );
        assert_eq!(cors_headers(&preflight), pairs(&[]), "OPTIONS {path}");
    }
    let body = message("m2", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    let signature = webhook_receiver::signature::sign(SECRET.as_bytes(), body.as_bytes());
    let webhook = app
        .post(body, &[("X-Signature", &signature), ("Origin", ORIGIN)])
        .await;
    assert_eq!(webhook.status(), StatusCode::OK);
    assert_eq!(cors_headers(&webhook), pairs(&[]), "POST /webhook");
    assert_eq!(app.row_count(), 2);
    app.stop().await;
}

/// Paths a route could be served at beside the documented ones, none of them documented: the
/// root, each documented path's parents and its child, trailing-slash and upper-case spellings,
/// and the names other services give their docs, probes and providers.
fn undocumented_neighbours(documented: &BTreeSet<String>) -> BTreeSet<String> {
    // `/docs` is served and not documented, as FastAPI does: tests/it/docs.rs covers it.
    let mut paths: BTreeSet<String> = [
        "/",
        "/redoc",
        "/swagger-ui",
        "/openapi.yaml",
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
        "/webhook/whatsapp",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    for path in documented {
        paths.extend([format!("{path}/"), format!("{path}/x"), path.to_uppercase()]);
        let mut parent = path.as_str();
        while let Some((above, _)) = parent.rsplit_once('/')
            && !above.is_empty()
        {
            paths.insert(above.to_string());
            parent = above;
        }
    }
    paths.retain(|path| !documented.contains(path));
    paths
}

#[tokio::test]
async fn the_contracts_parameters_headers_and_bodies_are_documented() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    let parameter = |path: &str, method: &str, name: &str| -> Value {
        document["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&document, p).clone())
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    };

    let limit = parameter("/messages", "get", "limit");
    assert_eq!(limit["in"], "query");
    assert_eq!(limit["required"], false);
    assert_eq!(
        (
            &limit["schema"]["minimum"],
            &limit["schema"]["maximum"],
            &limit["schema"]["default"]
        ),
        (&json!(1), &json!(100), &json!(50))
    );
    let offset = parameter("/messages", "get", "offset");
    assert_eq!(
        (&offset["schema"]["minimum"], &offset["schema"]["default"]),
        (&json!(0), &json!(0))
    );
    let since = parameter("/messages", "get", "since");
    assert_eq!(since["schema"]["oneOf"][0]["format"], "date-time");
    for name in ["from", "q"] {
        assert_eq!(
            parameter("/messages", "get", name)["schema"]["type"],
            "string"
        );
    }

    let signature = parameter("/webhook", "post", "X-Signature");
    assert_eq!(
        (&signature["in"], &signature["required"]),
        (&json!("header"), &json!(false))
    );
    assert_eq!(
        parameter("/webhook", "post", "X-Hub-Signature-256")["required"],
        false
    );
    let body = &document["paths"]["/webhook"]["post"]["requestBody"];
    let body = resolve(&document, &body["content"]["application/json"]["schema"]);
    assert_eq!(body["required"], json!(["message_id", "from", "to", "ts"]));
    assert_eq!(
        body["properties"]["from"]["pattern"],
        webhook_receiver::message::MSISDN_PATTERN
    );
    assert_eq!(
        body["properties"]["to"]["pattern"],
        webhook_receiver::message::MSISDN_PATTERN
    );
    assert_eq!(
        body["properties"]["ts"]["pattern"],
        webhook_receiver::message::TS_PATTERN
    );
    assert_eq!(body["properties"]["message_id"]["maxLength"], 256);
    assert_eq!(body["properties"]["text"]["maxLength"], 4096);

    let statuses = |path: &str, method: &str| -> BTreeSet<String> {
        document["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let webhook = statuses("/webhook", "post");
    for status in ["200", "401", "413", "422", "503"] {
        assert!(webhook.contains(status), "POST /webhook {status}");
    }
    for (path, status) in [("/messages", "422"), ("/health/ready", "503")] {
        assert!(
            statuses(path, "get").contains(status),
            "GET {path} {status}"
        );
    }

    // Every response of every operation documents X-Request-ID; the webhook's 200 its result.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            parameter(path, method, "X-Request-ID");
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&document, response);
                assert!(
                    response["headers"].get("X-Request-ID").is_some(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    let result = &document["paths"]["/webhook"]["post"]["responses"]["200"]["headers"]["X-Webhook-Result"]
        ["schema"];
    assert_eq!(
        resolve(&document, result)["enum"],
        json!(["created", "duplicate"])
    );
    let result = &document["paths"]["/webhook/whatsapp"]["post"]["responses"]["200"]["headers"]["X-Webhook-Result"]
        ["schema"];
    assert_eq!(
        resolve(&document, result)["enum"],
        json!(["created", "duplicate", "acknowledged"])
    );
    app.stop().await;
}

#[tokio::test]
async fn real_responses_match_their_documented_schemas() {
    let app = TestApp::spawn_with(|settings| settings.max_body_bytes = 1024).await;
    let schemas = Schemas::new(&document(&app).await);
    let check = |method: &str, path: &str, status: StatusCode, body: &Value| {
        let problems = violations(&schemas.response(method, path, status), body);
        assert!(
            problems.is_empty(),
            "{method} {path} {status}: {problems:?}\n{body}"
        );
    };

    let (status, body) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    check("get", "/stats", status, &body);
    // The check is strict: a field the schema does not list fails.
    let mut drifted = body.clone();
    drifted["average_per_sender"] = json!(0);
    let stats = schemas.response("get", "/stats", StatusCode::OK);
    assert_eq!(violations(&stats, &drifted), ["additionalProperties at ''"]);
    let first = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello"));
    let second = message("m2", "+14155550100", "2025-01-15T09:00:00.5Z", None);
    for delivery in [&first, &second, &first] {
        let response = app.post_signed(&delivery.to_string()).await;
        let status = response.status();
        assert_eq!(status, StatusCode::OK, "{delivery}");
        check("post", "/webhook", status, &response.json().await.unwrap());
    }
    for (body, headers, expected) in [
        (
            first.to_string(),
            vec![("X-Signature", "123")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            r#"{"message_id":"","from":"1","ts":"x","text":5}"#.to_string(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("x".repeat(2048), vec![], StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let signature = webhook_receiver::signature::sign(SECRET.as_bytes(), body.as_bytes());
        let headers = if headers.is_empty() {
            vec![("X-Signature", signature.as_str())]
        } else {
            headers
        };
        let response = app.post(body, &headers).await;
        let status = response.status();
        assert_eq!(status, expected, "{headers:?}");
        check("post", "/webhook", status, &response.json().await.unwrap());
    }
    // A body that fits the schema could still be the wrong page: each answer's total and
    // length, counted by hand from m1 and m2 above, are checked too.
    for (query, expected, total_and_rows) in [
        ("", StatusCode::OK, Some((2, 2))),
        ("?limit=1&offset=1", StatusCode::OK, Some((2, 1))),
        (
            "?from=+919876543210&q=hello&since=2025-01-15T09:30:00Z",
            StatusCode::OK,
            Some((1, 1)),
        ),
        (
            "?limit=0&offset=-1&since=soon",
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    ] {
        let (status, body) = app.get_json(&format!("/messages{query}")).await;
        assert_eq!(status, expected, "{query}");
        check("get", "/messages", status, &body);
        if let Some((total, rows)) = total_and_rows {
            assert_eq!(body["total"], total, "{query}");
            assert_eq!(body["data"].as_array().unwrap().len(), rows, "{query}");
        }
    }
    for path in ["/stats", "/health/live", "/health/ready", "/openapi.json"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        check("get", path, status, &body);
    }
    app.stop().await;
}

#[tokio::test]
async fn whatsapp_responses_match_their_documented_schemas() {
    let app = TestApp::spawn_with(|settings| {
        settings.max_body_bytes = 1024;
        settings.whatsapp_app_secret = Some(secret("app-secret"));
        settings.whatsapp_verify_token = http::Token::new("verify-token");
    })
    .await;
    let schemas = Schemas::new(&document(&app).await);
    let fixture = |name: &str| {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp");
        std::fs::read(format!("{folder}/{name}.json")).unwrap()
    };
    let text = fixture("text");
    let mut bad_from: Value = serde_json::from_slice(&text).unwrap();
    bad_from["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = json!("x");
    let bad_from = serde_json::to_vec(&bad_from).unwrap();
    let sign = |body: &[u8]| {
        format!(
            "sha256={}",
            webhook_receiver::signature::sign(b"app-secret", body)
        )
    };
    for (body, signature, expected) in [
        (text.clone(), sign(&text), StatusCode::OK),
        (
            text.clone(),
            sign(b"another body"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            bad_from.clone(),
            sign(&bad_from),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            fixture("several_messages"),
            String::new(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let response = app
            .client
            .post(format!("{}/webhook/whatsapp", app.url))
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, expected);
        let body: Value = response.json().await.unwrap();
        let schema = schemas.response("post", "/webhook/whatsapp", status);
        assert_eq!(
            violations(&schema, &body),
            Vec::<String>::new(),
            "{status}: {body}"
        );
    }
    let (status, body) = app.get_json("/webhook/whatsapp?hub.mode=subscribe").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let schema = schemas.response("get", "/webhook/whatsapp", status);
    assert_eq!(violations(&schema, &body), Vec::<String>::new(), "{body}");
    app.stop().await;
}

#[test]
fn the_schema_check_asserts_patterns_lengths_formats_and_bounds() {
    let schemas = Schemas::new(&serde_json::to_value(http::openapi::document()).unwrap());
    let new_message = schemas.request_body("post", "/webhook");
    let valid = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello"));
    assert_eq!(violations(&new_message, &valid), Vec::<String>::new());
    let with = |field: &str, value: Value| {
        let mut changed = valid.clone();
        changed[field] = value;
        changed
    };
    let cases: [(Value, &[&str]); 7] = [
        (with("from", json!("919876543210")), &["pattern at '/from'"]),
        (
            with("to", json!("+1234567890123456")),
            &["pattern at '/to'"],
        ),
        (
            with("message_id", json!("")),
            &["minLength at '/message_id'"],
        ),
        (
            with("message_id", json!("m".repeat(257))),
            &["maxLength at '/message_id'"],
        ),
        (
            with("text", json!("é".repeat(4097))),
            &["maxLength at '/text'"],
        ),
        (
            with("ts", json!("2025-01-15 10:00:00Z")),
            &["pattern at '/ts'", "format at '/ts'"],
        ),
        // The pattern lets any day 01 to 31 through; the date-time format knows February.
        (
            with("ts", json!("2025-02-30T10:00:00Z")),
            &["format at '/ts'"],
        ),
    ];
    for (bad, expected) in cases {
        assert_eq!(violations(&new_message, &bad), expected, "{bad}");
    }
    // A stored row's `ts` has no pattern: its `format` alone refuses what is not a date-time.
    let row = schemas.component("MessageRow");
    assert_eq!(
        violations(&row, &with("ts", json!("soon"))),
        ["format at '/ts'"]
    );
    let page = schemas.component("Page");
    let empty_page = json!({"data": [], "total": 0, "limit": 0, "offset": 0});
    assert_eq!(violations(&page, &empty_page), ["minimum at '/limit'"]);
}

/// Follows a local `$ref`.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            resolve(
                document,
                document.pointer(pointer).expect("the reference resolves"),
            )
        }
        None => value,
    }
}

/// The served document's schemas, ready to check JSON against. Its `$ref`s are local
/// (`#/components/schemas/…`), so the document is registered whole and each schema is reached
/// by a JSON pointer into it.
struct Schemas {
    registry: Registry<'static>,
}

/// The URI the document is registered under; any would do, as nothing is fetched.
const DOCUMENT_URI: &str = "urn:webhook-receiver:openapi.json";

/// What a JSON pointer must escape to sit in a URI fragment (RFC 6901, section 6).
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl Schemas {
    fn new(document: &Value) -> Self {
        let document = Draft::Draft202012.create_resource(closed(document.clone()));
        let registry = Registry::new()
            .add(DOCUMENT_URI, document)
            .and_then(|builder| builder.prepare())
            .expect("the document's schemas resolve");
        Self { registry }
    }

    /// The schema of the body of `method path`'s `status` response.
    fn response(&self, method: &str, path: &str, status: StatusCode) -> Validator {
        self.at(&[
            "paths",
            path,
            method,
            "responses",
            status.as_str(),
            "content",
            "application/json",
            "schema",
        ])
    }

    /// The schema of `method path`'s request body.
    fn request_body(&self, method: &str, path: &str) -> Validator {
        self.at(&[
            "paths",
            path,
            method,
            "requestBody",
            "content",
            "application/json",
            "schema",
        ])
    }

    /// `#/components/schemas/{name}`.
    fn component(&self, name: &str) -> Validator {
        self.at(&["components", "schemas", name])
    }

    /// The schema at this path of keys into the document. Formats are asserted, not only
    /// annotations as draft 2020-12 has them by default: a `date-time` must be one.
    fn at(&self, keys: &[&str]) -> Validator {
        let pointer: String = keys
            .iter()
            .map(|key| format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            .collect();
        let reference = format!("{DOCUMENT_URI}#{}", utf8_percent_encode(&pointer, FRAGMENT));
        jsonschema::draft202012::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&json!({ "$ref": reference }))
            .unwrap_or_else(|e| panic!("no schema at {pointer}: {e}"))
    }
}

/// Every way `value` fails `schema`, each as `keyword at 'where in the value'`; none when it
/// passes.
fn violations(schema: &Validator, value: &Value) -> Vec<String> {
    schema
        .iter_errors(value)
        .map(|error| format!("{} at '{}'", error.kind().keyword(), error.instance_path()))
        .collect()
}

/// `document` with every object schema that lists its properties closed to others
/// (`additionalProperties: false`): stricter than the document itself, so that a field added to
/// a response but not to its schema fails the check.
fn closed(mut document: Value) -> Value {
    fn close(value: &mut Value) {
        match value {
            Value::Object(object) => {
                let object_type = match object.get("type") {
                    Some(Value::String(kind)) => kind == "object",
                    Some(Value::Array(kinds)) => kinds.contains(&json!("object")),
                    _ => false,
                };
                if object_type && object.get("properties").is_some_and(Value::is_object) {
                    object
                        .entry("additionalProperties")
                        .or_insert(Value::Bool(false));
                }
                object.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    close(&mut document);
    document
}
