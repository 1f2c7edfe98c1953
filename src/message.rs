//! The inbound message and its validation: from the raw body of a signed `POST /webhook` to a
//! [`NewMessage`] ready to store, or every problem with it in Pydantic's shape. Another format's
//! messages (Meta's WhatsApp deliveries) map their fields to [`Fields`] and pass the same rules.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::timestamp::{self, KeyBound};
use crate::validation::{self, Loc, Problem};

/// Longest accepted `message_id`, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 256;
/// Longest accepted `text`, in characters (Unicode scalar values, as Python counts them).
pub const MAX_TEXT_CHARS: usize = 4096;
/// The pattern `from` and `to` must match: E.164, a `+` then 1 to 15 digits.
pub const MSISDN_PATTERN: &str = r"^\+[0-9]{1,15}$";

/// The strict form of a message `ts` as a pattern, for the OpenAPI document (the calendar check
/// is [`timestamp::parse_strict_utc`]'s). The schema attributes below need literals: a test of
/// the document checks that they equal these constants.
pub const TS_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z$";

/// The largest object (as JSON) that every `missing` problem echoes; a larger one is echoed once.
const MAX_REPEATED_ECHO_BYTES: usize = 1024;

/// A validated message, as it will be stored. Its schema is the `POST /webhook` body's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewMessage {
    /// The sender's id for the message: a second message with the same id is a duplicate.
    #[schema(min_length = 1, max_length = 256, example = "m1")]
    pub message_id: String,
    /// E.164: `+` then 1 to 15 digits.
    #[schema(pattern = r"^\+[0-9]{1,15}$", example = "+919876543210")]
    pub from: String,
    /// E.164: `+` then 1 to 15 digits.
    #[schema(pattern = r"^\+[0-9]{1,15}$", example = "+14155550100")]
    pub to: String,
    /// RFC 3339 in UTC with an upper-case `Z`, fraction optional; kept exactly as sent.
    #[schema(
        format = DateTime,
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z$",
        example = "2025-01-15T10:00:00Z"
    )]
    pub ts: String,
    /// The sortable instant of `ts` (see [`timestamp::instant_key`]).
    #[serde(skip)]
    pub ts_key: String,
    /// At most 4096 characters (not bytes); may be absent or `null`.
    #[schema(max_length = 4096, example = "Hello")]
    pub text: Option<String>,
}

impl NewMessage {
    /// Validates a message from a JSON body; the problems come in field order.
    pub fn from_json(body: &[u8]) -> Result<Self, Vec<Problem>> {
        Self::from_object(&validation::json_object(body)?)
    }

    /// Validates a message from an already-parsed JSON object. Fields are checked in the
    /// contract's order, each completely, so the problems come in that order.
    pub fn from_object(object: &Map<String, Value>) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        // FastAPI echoes the whole object in each `missing` problem; a large object is echoed
        // in the first only (later ones get `{}`), so that a 422 stays about the body's size.
        // Its size is measured only once a second field is missing, not for every message.
        let small =
            || serde_json::to_vec(object).is_ok_and(|json| json.len() <= MAX_REPEATED_ECHO_BYTES);
        let mut echoed = false;
        let mut field = |field: Field| -> Option<&str> {
            let loc = Loc::BodyField(field.name());
            let problem = match object.get(field.name()) {
                Some(Value::String(value)) => match problem_with(field, value) {
                    None => return Some(value.as_str()),
                    Some(problem) => problem,
                },
                Some(Value::Null) | None if !field.is_required() => return None,
                None if echoed && !small() => Problem::missing(loc, json!({})),
                None => {
                    echoed = true;
                    Problem::missing(loc, Value::Object(object.clone()))
                }
                Some(other) => Problem::string_type(loc, other.clone()),
            };
            problems.push(problem);
            None
        };
        let message_id = field(Field::MessageId);
        let from = field(Field::From);
        let to = field(Field::To);
        let ts = field(Field::Ts);
        let text = field(Field::Text);
        match (message_id, from, to, ts) {
            (Some(message_id), Some(from), Some(to), Some(ts)) if problems.is_empty() => {
                Ok(Self::checked(Fields {
                    message_id,
                    from,
                    to,
                    ts,
                    text,
                }))
            }
            _ => Err(problems),
        }
    }

    /// Validates a message whose fields another format has already mapped to strings (Meta's
    /// WhatsApp deliveries): the same rules as a `POST /webhook` body's. Each problem comes with
    /// its field, for the caller to say where its own body has it; they come in field order.
    pub fn from_fields(fields: Fields<'_>) -> Result<Self, Vec<(Field, Problem)>> {
        let problems: Vec<(Field, Problem)> = fields
            .iter()
            .filter_map(|(field, value)| Some((field, problem_with(field, value?)?)))
            .collect();
        if problems.is_empty() {
            Ok(Self::checked(fields))
        } else {
            Err(problems)
        }
    }

    /// The message of fields that passed their rules.
    fn checked(fields: Fields<'_>) -> Self {
        Self {
            message_id: fields.message_id.to_string(),
            from: fields.from.to_string(),
            to: fields.to.to_string(),
            ts: fields.ts.to_string(),
            ts_key: ts_key(fields.ts).expect("checked before"),
            text: fields.text.map(str::to_string),
        }
    }
}

/// A field of a message, in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    MessageId,
    From,
    To,
    Ts,
    Text,
}

impl Field {
    /// Its name in a `POST /webhook` body.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MessageId => "message_id",
            Self::From => "from",
            Self::To => "to",
            Self::Ts => "ts",
            Self::Text => "text",
        }
    }

    /// Every field but `text` must be present.
    const fn is_required(self) -> bool {
        !matches!(self, Self::Text)
    }
}

/// A message's fields as strings, before their rules are checked.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub message_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub ts: &'a str,
    pub text: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Each field with its value (`None` for an absent `text`), in the contract's order.
    fn iter(&self) -> impl Iterator<Item = (Field, Option<&'a str>)> {
        [
            (Field::MessageId, Some(self.message_id)),
            (Field::From, Some(self.from)),
            (Field::To, Some(self.to)),
            (Field::Ts, Some(self.ts)),
            (Field::Text, self.text),
        ]
        .into_iter()
    }
}

/// What breaks the rule of one string field, if anything.
fn problem_with(field: Field, value: &str) -> Option<Problem> {
    let loc = Loc::BodyField(field.name());
    let input = || json!(value);
    match field {
        Field::MessageId if value.is_empty() => Some(Problem::too_short(loc, input(), 1)),
        Field::MessageId if value.chars().count() > MAX_MESSAGE_ID_CHARS => {
            Some(Problem::too_long(loc, input(), MAX_MESSAGE_ID_CHARS))
        }
        Field::From | Field::To if !is_msisdn(value) => {
            Some(Problem::pattern_mismatch(loc, input(), MSISDN_PATTERN))
        }
        Field::Ts if ts_key(value).is_none() => Some(Problem::new(
            "value_error",
            loc,
            "Value error, ts must be an ISO-8601 UTC timestamp with a Z suffix, \
             e.g. 2025-01-15T10:00:00Z",
            input(),
        )),
        Field::Text if value.chars().count() > MAX_TEXT_CHARS => {
            Some(Problem::too_long(loc, input(), MAX_TEXT_CHARS))
        }
        _ => None,
    }
}

/// The sortable key of a message timestamp, `None` when it is not in the strict form.
pub fn ts_key(ts: &str) -> Option<String> {
    match timestamp::instant_key(&timestamp::parse_strict_utc(ts)?) {
        KeyBound::Key(key) => Some(key),
        KeyBound::BeforeAll | KeyBound::AfterAll => None,
    }
}

/// True for E.164 numbers as the contract spells them: `+` then 1 to 15 ASCII digits.
pub fn is_msisdn(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: &str) -> Vec<Problem> {
        NewMessage::from_json(body.as_bytes()).unwrap_err()
    }

    fn kinds_and_locs(body: &str) -> Vec<(&'static str, Vec<Value>)> {
        problems(body)
            .into_iter()
            .map(|p| (p.kind, p.loc))
            .collect()
    }

    #[test]
    fn a_valid_message_keeps_its_strings_exactly() {
        let body = r#"{"message_id":"m1","from":"+919876543210","to":"+14155550100",
                       "ts":"2025-01-15T10:00:00.50Z","text":"Hello","extra":1}"#;
        let message = NewMessage::from_json(body.as_bytes()).unwrap();
        assert_eq!(message.message_id, "m1");
        assert_eq!(message.ts, "2025-01-15T10:00:00.50Z");
        assert_eq!(message.ts_key, "2025-01-15T10:00:00.500000000Z");
        assert_eq!(message.text.as_deref(), Some("Hello"));
    }

    #[test]
    fn text_is_optional_and_may_be_null() {
        for body in [
            r#"{"message_id":"m","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z"}"#,
            r#"{"message_id":"m","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":null}"#,
        ] {
            assert_eq!(NewMessage::from_json(body.as_bytes()).unwrap().text, None);
        }
    }

    #[test]
    fn every_problem_is_listed_in_field_order() {
        let body = r#"{"message_id":"","from":"919876543210","to":"+1234567890123456",
                       "ts":"2025-01-15T10:00:00+00:00","text":7}"#;
        assert_eq!(
            kinds_and_locs(body),
            vec![
                ("string_too_short", vec![json!("body"), json!("message_id")]),
                (
                    "string_pattern_mismatch",
                    vec![json!("body"), json!("from")]
                ),
                ("string_pattern_mismatch", vec![json!("body"), json!("to")]),
                ("value_error", vec![json!("body"), json!("ts")]),
                ("string_type", vec![json!("body"), json!("text")]),
            ]
        );
    }

    #[test]
    fn missing_fields_and_wrong_types_are_named() {
        assert_eq!(
            kinds_and_locs(r#"{"message_id":5,"ts":"2025-01-15T10:00:00Z"}"#),
            vec![
                ("string_type", vec![json!("body"), json!("message_id")]),
                ("missing", vec![json!("body"), json!("from")]),
                ("missing", vec![json!("body"), json!("to")]),
            ]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let text = "é".repeat(MAX_TEXT_CHARS);
        let body =
            json!({"message_id":"m","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":text});
        assert!(NewMessage::from_json(body.to_string().as_bytes()).is_ok());
        let body = json!({"message_id":"m","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":text + "é"});
        let found = problems(&body.to_string());
        assert_eq!(found[0].kind, "string_too_long");
        assert_eq!(found[0].ctx, Some(json!({"max_length": 4096})));
    }

    #[test]
    fn bodies_that_are_not_objects_are_whole_body_problems() {
        for (body, kind) in [
            ("", "missing"),
            ("  ", "missing"),
            ("{", "json_invalid"),
            ("[1]", "model_attributes_type"),
            ("null", "model_attributes_type"),
        ] {
            assert_eq!(
                kinds_and_locs(body),
                vec![(kind, vec![json!("body")])],
                "{body:?}"
            );
        }
    }

    #[test]
    fn fields_from_another_format_pass_the_same_rules_and_name_their_field() {
        let fields = Fields {
            message_id: "wamid.1",
            from: "+16505551234",
            to: "+15550783881",
            ts: "2025-06-08T21:01:40Z",
            text: None,
        };
        let message = NewMessage::from_fields(fields).unwrap();
        let body = json!({"message_id": "wamid.1", "from": "+16505551234", "to": "+15550783881",
                          "ts": "2025-06-08T21:01:40Z"});
        assert_eq!(
            NewMessage::from_json(body.to_string().as_bytes()),
            Ok(message)
        );

        let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
        let bad = Fields {
            message_id: "",
            from: "+1650555123a",
            ts: "",
            text: Some(&too_long),
            ..fields
        };
        let problems = NewMessage::from_fields(bad).unwrap_err();
        let found: Vec<(Field, &str)> = problems.iter().map(|(f, p)| (*f, p.kind)).collect();
        assert_eq!(
            found,
            [
                (Field::MessageId, "string_too_short"),
                (Field::From, "string_pattern_mismatch"),
                (Field::Ts, "value_error"),
                (Field::Text, "string_too_long"),
            ]
        );
        // Each problem is the one a `POST /webhook` body with that value gets.
        assert_eq!(problems[1].1.input, "+1650555123a");
        assert_eq!(problems[1].1.loc, [json!("body"), json!("from")]);
    }

    #[test]
    fn msisdns_are_a_plus_and_one_to_fifteen_digits() {
        for good in ["+1", "+919876543210", "+123456789012345"] {
            assert!(is_msisdn(good), "{good}");
        }
        for bad in [
            "",
            "+",
            "1",
            "+1234567890123456",
            "+12a",
            "++1",
            "+１",
            " +1",
        ] {
            assert!(!is_msisdn(bad), "{bad}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::timestamp::strategies::valid_ts;

        fn chars(range: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
            proptest::collection::vec(any::<char>(), range).prop_map(String::from_iter)
        }

        /// Any valid message: ids and texts of any characters (controls and non-BMP included)
        /// up to and at their limits.
        fn valid_message() -> impl Strategy<Value = NewMessage> {
            let text = prop_oneof![
                4 => Just(None),
                4 => chars(0..=64).prop_map(Some),
                1 => chars(MAX_TEXT_CHARS..=MAX_TEXT_CHARS).prop_map(Some),
            ];
            let message_id = prop_oneof![
                4 => chars(1..=64),
                1 => chars(MAX_MESSAGE_ID_CHARS..=MAX_MESSAGE_ID_CHARS)
            ];
            (
                message_id,
                "\\+[0-9]{1,15}",
                "\\+[0-9]{1,15}",
                valid_ts(),
                text,
            )
                .prop_map(|(message_id, from, to, ts, text)| NewMessage {
                    ts_key: ts_key(&ts).expect("a valid ts has a key"),
                    message_id,
                    from,
                    to,
                    ts,
                    text,
                })
        }

        /// Arbitrary bytes, and valid bodies with one byte changed (which reach the field checks).
        fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
            let mutated = (valid_message(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
                |(message, at, byte)| {
                    let mut body = serde_json::to_vec(&message).unwrap();
                    let at = at.index(body.len());
                    body[at] = byte;
                    body
                },
            );
            prop_oneof![proptest::collection::vec(any::<u8>(), 0..512), mutated]
        }

        proptest! {
            #![proptest_config(crate::testing::proptest_config(256))]

            #[test]
            fn a_valid_message_round_trips(message in valid_message()) {
                let body = serde_json::to_vec(&message).unwrap();
                prop_assert_eq!(NewMessage::from_json(&body), Ok(message));
            }

            #[test]
            fn from_json_never_panics_and_fails_only_with_problems(body in hostile_body()) {
                if let Err(problems) = NewMessage::from_json(&body) {
                    prop_assert!(!problems.is_empty());
                    for problem in problems {
                        prop_assert_eq!(&problem.loc[0], "body");
                    }
                }
            }
        }
    }
}
