//! `GET /openapi.json`: served, OpenAPI 3.1, in step with the router, and true of the real
//! responses (checked here by a small strict validator; `make schemathesis` checks far more).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use webhook_receiver::http;

use crate::helpers::{SECRET, TestApp, message};

/// Every operation of the contract, as `METHOD path`.
const CONTRACT: [&str; 7] = [
    "GET /health/live",
    "GET /health/ready",
    "GET /messages",
    "GET /metrics",
    "GET /openapi.json",
    "GET /stats",
    "POST /webhook",
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

    // Each documented operation is routed (not the 404 or 405 fallbacks), and every other method
    // on its path is a 405: the documented methods are exactly the served ones.
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
            if other != method {
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

/// Paths a route could be served at beside the documented ones, none of them documented: the
/// root, each documented path's parents and its child, trailing-slash and upper-case spellings,
/// and the names other services give their docs, probes and providers.
fn undocumented_neighbours(documented: &BTreeSet<String>) -> BTreeSet<String> {
    let mut paths: BTreeSet<String> = [
        "/",
        "/docs",
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
        (&json!("header"), &json!(true))
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
    app.stop().await;
}

#[tokio::test]
async fn real_responses_match_their_documented_schemas() {
    let app = TestApp::spawn_with(|state| state.max_body_bytes = 1024).await;
    let document = document(&app).await;
    let check = |method: &str, path: &str, status: StatusCode, body: &Value| {
        let response = &document["paths"][path][method]["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{method} {path} {status} is not documented"
        );
        let schema = &response["content"]["application/json"]["schema"];
        if let Err(problem) = validate(&document, schema, body, "$") {
            panic!("{method} {path} {status}: {problem}\n{body}");
        }
    };

    let (status, body) = app.get_json("/stats").await;
    check("get", "/stats", status, &body);
    // The validator is strict: a field the schema does not list fails.
    let mut drifted = body.clone();
    drifted["average_per_sender"] = json!(0);
    let stats = &document["paths"]["/stats"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert!(validate(&document, stats, &drifted, "$").is_err());
    let first = message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello"));
    let second = message("m2", "+14155550100", "2025-01-15T09:00:00.5Z", None);
    for delivery in [&first, &second, &first] {
        let response = app.post_signed(&delivery.to_string()).await;
        let status = response.status();
        check("post", "/webhook", status, &response.json().await.unwrap());
    }
    for (body, headers) in [
        (first.to_string(), vec![("X-Signature", "123")]),
        (
            r#"{"message_id":"","from":"1","ts":"x","text":5}"#.to_string(),
            vec![],
        ),
        ("x".repeat(2048), vec![]),
    ] {
        let signature = webhook_receiver::signature::sign(SECRET.as_bytes(), body.as_bytes());
        let headers = if headers.is_empty() {
            vec![("X-Signature", signature.as_str())]
        } else {
            headers
        };
        let response = app.post(body, &headers).await;
        let status = response.status();
        check("post", "/webhook", status, &response.json().await.unwrap());
    }
    for query in [
        "",
        "?limit=1&offset=1",
        "?from=+919876543210&q=hello&since=2025-01-15T09:30:00Z",
        "?limit=0&offset=-1&since=soon",
    ] {
        let (status, body) = app.get_json(&format!("/messages{query}")).await;
        check("get", "/messages", status, &body);
    }
    for path in ["/stats", "/health/live", "/health/ready", "/openapi.json"] {
        let (status, body) = app.get_json(path).await;
        check("get", path, status, &body);
    }
    app.stop().await;
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

/// A strict check of `value` against the subset of JSON Schema the document uses. Stricter than
/// JSON Schema in one way: an object may hold only the documented properties, so a field added
/// to a response but not to its schema fails.
fn validate(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|option| validate(document, option, value, at).is_ok())
            .count();
        return (matching == 1)
            .then_some(())
            .ok_or(format!("{at}: {matching} oneOf match"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let integer_as_number = kind == "integer" && types.contains(&"number");
    if !(types.is_empty() || types.contains(&kind) || integer_as_number) {
        return Err(format!("{at}: a {kind}, documented as {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let below = |n: i64| {
        schema["minimum"]
            .as_i64()
            .is_some_and(|minimum| n < minimum)
    };
    let above = |n: i64| {
        schema["maximum"]
            .as_i64()
            .is_some_and(|maximum| n > maximum)
    };
    if let Some(n) = value.as_i64()
        && (below(n) || above(n))
    {
        return Err(format!("{at}: {n} is outside the documented bounds"));
    }
    match value {
        Value::Object(object) => {
            let properties = schema["properties"].as_object();
            for required in schema["required"].as_array().into_iter().flatten() {
                if !object.contains_key(required.as_str().unwrap()) {
                    return Err(format!("{at}: {required} is missing"));
                }
            }
            if let Some(properties) = properties {
                for (key, item) in object {
                    let property = properties
                        .get(key)
                        .ok_or(format!("{at}: {key} is not documented"))?;
                    validate(document, property, item, &format!("{at}.{key}"))?;
                }
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if schema["minItems"].as_u64().is_some_and(|min| count < min)
                || schema["maxItems"].as_u64().is_some_and(|max| count > max)
            {
                return Err(format!(
                    "{at}: {count} items, outside the documented bounds"
                ));
            }
            for (i, item) in items.iter().enumerate() {
                validate(document, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}
