//! Validation problems in FastAPI/Pydantic's shape, so that clients written against a FastAPI
//! receiver read our 422 bodies unchanged: `{"detail":[{"type","loc","msg","input","ctx"?}…]}`.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// One problem with one input: an item of a 422's `detail` list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Pydantic's error type, e.g. `string_pattern_mismatch`.
    #[serde(rename = "type")]
    #[schema(example = "string_pattern_mismatch")]
    pub kind: &'static str,
    /// Where the problem is: `["body", "from"]`, `["query", "limit"]`, or a path of names and
    /// list indexes into the body, `["body", "entry", 0, "changes", 0, "value", …]`.
    #[schema(schema_with = loc_schema)]
    pub loc: Vec<Value>,
    /// A sentence for people.
    #[schema(example = "String should match pattern '^\\+[0-9]{1,15}$'")]
    pub msg: String,
    /// The offending input, as received.
    #[schema(value_type = Value, example = "919876543210")]
    pub input: Value,
    /// The constraint that failed, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, example = json!({"pattern": "^\\+[0-9]{1,15}$"}))]
    pub ctx: Option<Value>,
}

impl Problem {
    pub fn new(kind: &'static str, loc: Loc, msg: impl Into<String>, input: Value) -> Self {
        Self {
            kind,
            loc: loc.into_values(),
            msg: msg.into(),
            input,
            ctx: None,
        }
    }

    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    pub fn missing(loc: Loc, input: Value) -> Self {
        Self::new("missing", loc, "Field required", input)
    }

    pub fn string_type(loc: Loc, input: Value) -> Self {
        Self::new("string_type", loc, "Input should be a valid string", input)
    }

    pub fn too_short(loc: Loc, input: Value, min_length: usize) -> Self {
        let unit = if min_length == 1 {
            "character"
        } else {
            "characters"
        };
        Self::new(
            "string_too_short",
            loc,
            format!("String should have at least {min_length} {unit}"),
            input,
        )
        .with_ctx(json!({ "min_length": min_length }))
    }

    pub fn too_long(loc: Loc, input: Value, max_length: usize) -> Self {
        Self::new(
            "string_too_long",
            loc,
            format!("String should have at most {max_length} characters"),
            input,
        )
        .with_ctx(json!({ "max_length": max_length }))
    }

    pub fn pattern_mismatch(loc: Loc, input: Value, pattern: &str) -> Self {
        Self::new(
            "string_pattern_mismatch",
            loc,
            format!("String should match pattern '{pattern}'"),
            input,
        )
        .with_ctx(json!({ "pattern": pattern }))
    }
}

/// A problem's `loc`, as FastAPI documents it: names and list indexes. (A `schema_with` field
/// loses its doc comment, so the description is the schema's.)
fn loc_schema() -> Schema {
    ArrayBuilder::new()
        .description(Some(
            "Where the problem is: the request part, then the names and list indexes leading \
             to the value, e.g. [\"body\", \"from\"] or [\"body\", \"entry\", 0, …].",
        ))
        .items(
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::String))
                .item(ObjectBuilder::new().schema_type(Type::Integer)),
        )
        .min_items(Some(1))
        .examples([json!(["body", "from"])])
        .into()
}

/// Parses a body that must be a JSON object. An empty body, one that is not JSON and one that is
/// not an object are each one problem located at `["body"]`, as FastAPI reports them.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<Problem>> {
    if body.trim_ascii().is_empty() {
        return Err(vec![Problem::missing(Loc::Body, Value::Null)]);
    }
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        vec![
            Problem::new("json_invalid", Loc::Body, "JSON decode error", json!({}))
                .with_ctx(json!({ "error": error.to_string() })),
        ]
    })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(vec![Problem::new(
            "model_attributes_type",
            Loc::Body,
            "Input should be a valid dictionary or object to extract fields from",
            other,
        )]),
    }
}

/// Where a problem is: the request part and, unless it is the whole body, the field.
#[derive(Debug, Clone, Copy)]
pub enum Loc {
    Body,
    BodyField(&'static str),
    Query(&'static str),
}

impl Loc {
    fn into_values(self) -> Vec<Value> {
        match self {
            Loc::Body => vec![json!("body")],
            Loc::BodyField(field) => vec![json!("body"), json!(field)],
            Loc::Query(name) => vec![json!("query"), json!(name)],
        }
    }
}

/// The body of a 422: `{"detail":[…]}`, each item's keys in Pydantic's order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ValidationError)]
pub struct Detail<'a> {
    /// Every problem, in field order.
    #[schema(min_items = 1)]
    pub detail: &'a [Problem],
}
