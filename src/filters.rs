//! The filters and page of `GET /messages` (and `app list`): parsed from raw strings with the
//! contract's defaults, bounds and leniencies, so the API and the CLI cannot disagree. The API's
//! query string is decoded here too, once, and [`RawListQuery`] is also what the OpenAPI
//! document shows of it.

use percent_encoding::percent_decode;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{KnownFormat, Schema, SchemaFormat};

use crate::timestamp::{self, KeyBound};
use crate::validation::{Loc, Problem};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// A validated listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: i64,
    pub offset: i64,
    pub filters: Filters,
}

/// The row filters; `None` means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Exact sender.
    pub from: Option<String>,
    /// Rows with `ts >= since`, as a key bound (see [`timestamp::instant_key`]).
    pub since: Option<KeyBound>,
    /// Case-insensitive substring of `text`.
    pub q: Option<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.from.is_none() && self.since.is_none() && self.q.is_none()
    }
}

impl ListQuery {
    /// Decodes a `GET /messages` query string (form encoding: `+` is a space, `%XX` a byte) and
    /// validates it: the query, or every problem. A listing parameter whose value is not UTF-8
    /// is reported alone, as Pydantic reports bytes that are not a string (`string_unicode`),
    /// before any value is judged; other parameters are ignored.
    pub fn from_query_string(query: &str) -> Result<Self, Vec<Problem>> {
        let pairs: Vec<(String, Result<String, Vec<u8>>)> = query
            .split('&')
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Some((form_decode(name).ok()?, form_decode(value)))
            })
            .collect();
        let mut raw = RawListQuery::default();
        let mut undecodable = Vec::new();
        for (name, value) in &pairs {
            let Some((name, slot)) = raw.slot(name) else {
                continue;
            };
            match value {
                // The last of a repeated parameter wins.
                Ok(value) => *slot = Some(value),
                Err(bytes) => undecodable.push(Problem::new(
                    "string_unicode",
                    Loc::Query(name),
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                    Value::from(String::from_utf8_lossy(bytes).into_owned()),
                )),
            }
        }
        if !undecodable.is_empty() {
            return Err(undecodable);
        }
        raw.parse()
    }
}

/// A form-encoded component: `+` is a space, `%XX` a byte. `Err` holds bytes that are not UTF-8.
fn form_decode(component: &str) -> Result<String, Vec<u8>> {
    let spaced = component.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(spaced.as_bytes()).collect();
    String::from_utf8(bytes).map_err(|error| error.into_bytes())
}

/// The raw values of a listing request, as strings from a query string or flags; also the
/// parameters of `GET /messages` in the OpenAPI document.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawListQuery<'a> {
    /// Page size.
    #[param(required = false, value_type = i64, minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<&'a str>,
    /// Rows to skip. Any integer from 0 up is accepted (past the last row, the page is empty).
    #[param(schema_with = offset_schema)]
    pub offset: Option<&'a str>,
    /// Exact sender. An unencoded `+` decodes to a space, so ` 9198…` (or bare digits) means
    /// `+9198…`. Empty: no filter.
    #[param(required = false, value_type = String, example = "+919876543210")]
    pub from: Option<&'a str>,
    /// Rows with `ts >= since` (described in `since_schema`).
    #[param(schema_with = since_schema, example = "2025-01-15T09:30:00Z")]
    pub since: Option<&'a str>,
    /// Case-insensitive (Unicode-aware) substring of `text`; `%` and `_` are literal. Empty: no
    /// filter.
    #[param(required = false, value_type = String, example = "hello")]
    pub q: Option<&'a str>,
}

impl<'a> RawListQuery<'a> {
    /// The parameter called `name`, by its `'static` name (for a problem's `loc`) and its slot.
    fn slot(&mut self, name: &str) -> Option<(&'static str, &mut Option<&'a str>)> {
        Some(match name {
            "limit" => ("limit", &mut self.limit),
            "offset" => ("offset", &mut self.offset),
            "from" => ("from", &mut self.from),
            "since" => ("since", &mut self.since),
            "q" => ("q", &mut self.q),
            _ => return None,
        })
    }

    /// Validates every parameter, listing all the problems.
    pub fn parse(&self) -> Result<ListQuery, Vec<Problem>> {
        let mut problems = Vec::new();
        let limit = integer(
            self.limit,
            "limit",
            DEFAULT_LIMIT,
            1,
            Some(MAX_LIMIT),
            &mut problems,
        );
        let offset = integer(self.offset, "offset", 0, 0, None, &mut problems);
        let since = non_empty(self.since).and_then(|since| match timestamp::parse_instant(since) {
            Some(instant) => Some(timestamp::instant_key(&instant)),
            None => {
                problems.push(Problem::new(
                    "datetime_parsing",
                    Loc::Query("since"),
                    "Input should be a valid datetime: an RFC 3339 instant such as \
                     2025-01-15T09:30:00Z",
                    json!(since),
                ));
                None
            }
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ListQuery {
            limit,
            offset,
            filters: Filters {
                from: non_empty(self.from).map(normalize_sender),
                since,
                q: non_empty(self.q).map(str::to_string),
            },
        })
    }
}

/// `None` for an absent or empty value: an empty filter is no filter.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.is_empty())
}

/// A sender filter as senders that do not encode `+` send it: `?from=+9198…` decodes to
/// `" 9198…"`, so a space (or nothing) followed by digits means `+digits`.
fn normalize_sender(from: &str) -> String {
    let digits = from.strip_prefix(' ').unwrap_or(from);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{digits}")
    } else {
        from.to_string()
    }
}

/// An integer parameter in Pydantic's terms: absent gives the default, anything else must parse
/// and lie within the bounds. Integers too large for SQLite are clamped: no row lies past them.
fn integer(
    value: Option<&str>,
    name: &'static str,
    default: i64,
    min: i64,
    max: Option<i64>,
    problems: &mut Vec<Problem>,
) -> i64 {
    let Some(raw) = value else { return default };
    let loc = Loc::Query(name);
    let parsed = match raw.trim().parse::<i64>() {
        Ok(parsed) => parsed,
        Err(error) if matches!(error.kind(), std::num::IntErrorKind::PosOverflow) => i64::MAX,
        Err(error) if matches!(error.kind(), std::num::IntErrorKind::NegOverflow) => i64::MIN,
        Err(_) => {
            problems.push(Problem::new(
                "int_parsing",
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                json!(raw),
            ));
            return default;
        }
    };
    if parsed < min {
        problems.push(
            Problem::new(
                "greater_than_equal",
                loc,
                format!("Input should be greater than or equal to {min}"),
                json!(raw),
            )
            .with_ctx(json!({ "ge": min })),
        );
    } else if let Some(max) = max.filter(|&max| parsed > max) {
        problems.push(
            Problem::new(
                "less_than_equal",
                loc,
                format!("Input should be less than or equal to {max}"),
                json!(raw),
            )
            .with_ctx(json!({ "le": max })),
        );
    }
    parsed
}

/// `offset`: an integer from 0, unbounded (no `int64` format: larger values are accepted too).
fn offset_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .default(Some(0.into()))
        .description(Some(
            "Rows to skip. Any integer from 0 up is accepted (past the last row, the page is \
             empty).",
        ))
        .into()
}

/// `since`: a date-time, or empty for no filter. (A `schema_with` parameter loses its doc
/// comment, so the description is the schema's.)
fn since_schema() -> Schema {
    OneOfBuilder::new()
        .description(Some(
            "Rows with `ts >= since`, compared as instants: an RFC 3339 date-time, `Z` or a \
             numeric offset, fraction optional. Empty: no filter.",
        ))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `pairs` as a query string, then decodes it as `GET /messages` does.
    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery, Vec<Problem>> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        ListQuery::from_query_string(&query)
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let query = parse(&[]).unwrap();
        assert_eq!((query.limit, query.offset), (50, 0));
        assert!(query.filters.is_empty());
    }

    #[test]
    fn empty_filters_are_no_filters() {
        assert!(
            parse(&[("from", ""), ("since", ""), ("q", "")])
                .unwrap()
                .filters
                .is_empty()
        );
    }

    #[test]
    fn a_decoded_plus_in_from_means_plus() {
        for raw in [" 919876543210", "919876543210", "+919876543210"] {
            let query = parse(&[("from", raw)]).unwrap();
            assert_eq!(
                query.filters.from.as_deref(),
                Some("+919876543210"),
                "{raw:?}"
            );
        }
        let query = parse(&[("from", "alice")]).unwrap();
        assert_eq!(query.filters.from.as_deref(), Some("alice"));
    }

    #[test]
    fn bounds_and_types_are_checked_together() {
        let problems = parse(&[("limit", "0"), ("offset", "-1"), ("since", "soon")]).unwrap_err();
        let kinds: Vec<_> = problems
            .iter()
            .map(|p| (p.kind, p.loc[1].clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("greater_than_equal", json!("limit")),
                ("greater_than_equal", json!("offset")),
                ("datetime_parsing", json!("since")),
            ]
        );
        assert_eq!(
            parse(&[("limit", "101")]).unwrap_err()[0].kind,
            "less_than_equal"
        );
        assert_eq!(
            parse(&[("limit", "ten")]).unwrap_err()[0].kind,
            "int_parsing"
        );
        assert_eq!(parse(&[("limit", "")]).unwrap_err()[0].kind, "int_parsing");
        assert_eq!(
            parse(&[("limit", "1"), ("limit", "100")]).unwrap().limit,
            100
        );
    }

    #[test]
    fn huge_offsets_are_clamped_not_rejected() {
        let query = parse(&[("offset", "99999999999999999999999")]).unwrap();
        assert_eq!(query.offset, i64::MAX);
    }

    #[test]
    fn the_documented_limit_is_the_one_applied() {
        let parameters = RawListQuery::into_params(|| None);
        let limit = serde_json::to_value(&parameters[0]).unwrap();
        assert_eq!(limit["name"], "limit");
        assert_eq!(limit["schema"]["maximum"], MAX_LIMIT);
        assert_eq!(limit["schema"]["default"], DEFAULT_LIMIT);
    }

    #[test]
    fn listing_parameters_that_are_not_utf8_are_reported_alone() {
        let problems =
            ListQuery::from_query_string("limit=0&q=%FF%FE&other=%FF&from=+1").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, "string_unicode");
        assert_eq!(problems[0].loc, ["query", "q"]);
        assert_eq!(problems[0].input, "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn utf8_plus_and_percent_forms_pass() {
        let query = ListQuery::from_query_string("q=caf%C3%A9&from=+919876543210&since=").unwrap();
        assert_eq!(query.filters.q.as_deref(), Some("café"));
        assert_eq!(query.filters.from.as_deref(), Some("+919876543210"));
        assert!(
            ListQuery::from_query_string("q&limit=5&=x&&%6Cimit=7").is_ok_and(|q| q.limit == 7)
        );
    }
}
