//! Meta's WhatsApp Cloud API deliveries: from the raw body of a signed `POST /webhook/whatsapp`
//! to the messages to store and the count of what is acknowledged without being stored, or every
//! problem with it in Pydantic's shape, each located by its path into the body.
//!
//! A delivery is
//! `{"object":"whatsapp_business_account","entry":[{"changes":[{"field","value"}]}]}`. A change
//! of field `messages` carries `value.messages[]` (stored), `value.statuses[]` (what became of
//! messages the business sent: counted) and `value.metadata` (the business's number); a change
//! of any other field is counted. Each item of `value.messages[]` maps to the fields of a
//! `POST /webhook` message ([`Fields`]) and passes the same rules ([`NewMessage::from_fields`]).
//!
//! The serde types below are the parts of Meta's body that are read, unknown fields ignored; they
//! are also the body's schema in the OpenAPI document.

use chrono::DateTime;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use serde_path_to_error::Segment;
use utoipa::ToSchema;

use crate::message::{Field, Fields, NewMessage};
use crate::validation::{self, Loc, Problem};

/// The `object` of every WhatsApp Business Account delivery.
pub const BUSINESS_ACCOUNT_OBJECT: &str = "whatsapp_business_account";
/// The `field` of a change that carries messages and statuses.
pub const MESSAGES_FIELD: &str = "messages";
/// A phone number in Meta's body: 1 to 15 digits. With a `+` in front it is exactly what
/// [`crate::message::MSISDN_PATTERN`] accepts, so the stored number passes the same rule.
pub const PHONE_DIGITS_PATTERN: &str = r"^[0-9]{1,15}$";
/// The latest `timestamp` accepted, 9999-12-31T23:59:59Z: a `ts` has four-digit years.
pub const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// What a delivery asks of the store, and what it only reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Every item of every `value.messages[]`, in body order, mapped and validated.
    pub messages: Vec<NewMessage>,
    /// Items of `value.statuses[]` (sent, delivered, read, failed): acknowledged, not stored.
    pub statuses: usize,
    /// Changes of a field other than `messages` (account, template or quality updates, say):
    /// acknowledged, not stored.
    pub other_changes: usize,
}

impl Delivery {
    /// Parses and validates a delivery body. Any problem rejects the whole delivery, so that
    /// none of it is stored. Every message is checked, so all their field problems are listed;
    /// a body that departs from the delivery's shape is reported where it first does (serde
    /// stops there).
    pub fn from_json(body: &[u8]) -> Result<Self, Vec<Problem>> {
        let root = Value::Object(validation::json_object(body)?);
        let body: DeliveryBody = deserialize(&root, &Path::default())?;
        let mut problems = Vec::new();
        if body.object != BUSINESS_ACCOUNT_OBJECT {
            let expected = format!("'{BUSINESS_ACCOUNT_OBJECT}'");
            problems.push(
                Problem::new(
                    "literal_error",
                    Loc::BodyField("object"),
                    format!("Input should be {expected}"),
                    json!(body.object),
                )
                .with_ctx(json!({ "expected": expected })),
            );
        }
        let mut delivery = Self::default();
        for (e, entry) in body.entry.iter().enumerate() {
            for (c, change) in entry.changes.iter().enumerate() {
                let at = Path::default()
                    .key("entry")
                    .index(e)
                    .key("changes")
                    .index(c);
                if change.field != MESSAGES_FIELD {
                    delivery.other_changes += 1;
                } else if change.value.is_none() {
                    problems.push(
                        at.key("value")
                            .locate(Problem::missing(Loc::Body, at.find(&root))),
                    );
                } else {
                    let at = at.key("value");
                    match deserialize::<ChangeValue>(&root, &at) {
                        Ok(value) => delivery.add(&value, &at, &root, &mut problems),
                        Err(found) => problems.extend(found),
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(delivery)
        } else {
            Err(problems)
        }
    }

    /// Counts a `messages` change's statuses and maps its messages, adding each problem once
    /// (a bad business number is one problem, however many messages it was sent to).
    fn add(&mut self, value: &ChangeValue, at: &Path, root: &Value, problems: &mut Vec<Problem>) {
        self.statuses += value.statuses.len();
        if value.messages.is_empty() {
            return;
        }
        let Some(metadata) = &value.metadata else {
            problems.push(
                at.key("metadata")
                    .locate(Problem::missing(Loc::Body, at.find(root))),
            );
            return;
        };
        let to = format!("+{}", metadata.display_phone_number);
        let number_at = at.key("metadata").key("display_phone_number");
        for (m, message) in value.messages.iter().enumerate() {
            let at = at.key("messages").index(m);
            match message.to_new_message(&to, &at, &number_at, root) {
                Ok(message) => self.messages.push(message),
                Err(found) => {
                    for problem in found {
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                    }
                }
            }
        }
    }
}

/// The body Meta posts to the webhook: one or more entries of changes.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppDelivery)]
pub struct DeliveryBody {
    /// Always `whatsapp_business_account`; anything else is a 422.
    #[schema(
        pattern = "^whatsapp_business_account$",
        example = "whatsapp_business_account"
    )]
    object: String,
    /// One item per WhatsApp Business Account with news.
    entry: Vec<Entry>,
}

/// What changed for one WhatsApp Business Account (its `id` is not read).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppEntry)]
struct Entry {
    changes: Vec<Change>,
}

/// One change: `field` says what kind, `value` carries it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppChange)]
struct Change {
    /// `messages` for messages and statuses; any other field is acknowledged and counted, and
    /// its `value` is not read.
    #[schema(example = "messages")]
    field: String,
    /// For the `messages` field, its messages and statuses (required then); other fields'
    /// values have other shapes, and are not read.
    #[schema(value_type = ChangeValue, required = false)]
    value: Option<IgnoredAny>,
}

/// The `value` of a `messages` change.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppChangeValue)]
struct ChangeValue {
    /// The business's number; required when there are messages.
    metadata: Option<Metadata>,
    /// Messages the business received: each is stored exactly once, by its `id`.
    #[serde(default)]
    messages: Vec<InboundMessage>,
    /// What became of messages the business sent: counted, not stored, not read.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    statuses: Vec<IgnoredAny>,
}

/// The business's phone number (its `phone_number_id` is not read).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppMetadata)]
struct Metadata {
    /// The number messages were sent to, digits only: stored as `to`, with a `+` in front.
    #[schema(pattern = r"^[0-9]{1,15}$", example = "15550783881")]
    display_phone_number: String,
}

/// One message a WhatsApp user sent the business.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppMessage)]
struct InboundMessage {
    /// Meta's message id (`wamid.…`): stored as `message_id`; a redelivery adds nothing.
    #[schema(
        min_length = 1,
        max_length = 256,
        example = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    )]
    id: String,
    /// The sender's number, digits only: stored as `from`, with a `+` in front.
    #[schema(pattern = r"^[0-9]{1,15}$", example = "16505551234")]
    from: String,
    /// Unix seconds, as a string: stored as `ts`, `YYYY-MM-DDTHH:MM:SSZ`.
    #[schema(pattern = "^[0-9]+$", example = "1749416383")]
    timestamp: String,
    /// `text`, `image`, `video`, `document`, `sticker`, `reaction`, `contacts`, …
    #[serde(rename = "type")]
    #[schema(example = "text")]
    kind: String,
    /// Required when `type` is `text`: its `body` is stored as `text`.
    text: Option<TextContent>,
    /// Its `caption`, if any, is stored as `text`.
    image: Option<MediaContent>,
    /// Its `caption`, if any, is stored as `text`.
    video: Option<MediaContent>,
    /// Its `caption`, if any, is stored as `text`.
    document: Option<MediaContent>,
}

/// The content of a `text` message.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppText)]
struct TextContent {
    #[schema(max_length = 4096, example = "Does it come in another color?")]
    body: String,
}

/// The part of an image, video or document that is read: its caption.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WhatsAppMedia)]
struct MediaContent {
    #[schema(max_length = 4096, example = "This one, in blue?")]
    caption: Option<String>,
}

impl InboundMessage {
    /// The message to store, or the problems of this item, each located in the body
    /// (`number_at` is where the business's number is, for a problem with `to`).
    fn to_new_message(
        &self,
        to: &str,
        at: &Path,
        number_at: &Path,
        root: &Value,
    ) -> Result<NewMessage, Vec<Problem>> {
        let mut problems = Vec::new();
        let (text, text_at) = match self.text() {
            Ok(Some((text, inside))) => (Some(text), inside.inside(at)),
            Ok(None) => (None, at.clone()),
            Err(missing) => {
                problems.push(
                    at.key(missing)
                        .locate(Problem::missing(Loc::Body, at.find(root))),
                );
                (None, at.clone())
            }
        };
        let from = format!("+{}", self.from);
        let ts = ts_from_unix_seconds(&self.timestamp);
        let fields = Fields {
            message_id: &self.id,
            from: &from,
            to,
            // An unreadable timestamp goes on as an empty `ts`, which its rule refuses, so that
            // its problem is listed with those of the other fields.
            ts: ts.as_deref().unwrap_or_default(),
            text,
        };
        let message = NewMessage::from_fields(fields).map_err(|found| {
            found.into_iter().map(|(field, problem)| {
                let place = match field {
                    Field::MessageId => at.key("id"),
                    Field::From => at.key("from"),
                    Field::To => number_at.clone(),
                    Field::Ts => at.key("timestamp"),
                    Field::Text => text_at.clone(),
                };
                in_body_terms(field, problem, &place, root)
            })
        });
        match message {
            Ok(message) if problems.is_empty() => Ok(message),
            Ok(_) => Err(problems),
            Err(found) => {
                problems.extend(found);
                Err(problems)
            }
        }
    }

    /// What is stored as `text`, and where it is in the message: the body of a `text` message,
    /// the caption of an image, video or document, nothing for any other type. `Err` names the
    /// object a `text` message lacks.
    fn text(&self) -> Result<Option<(&str, Path)>, &'static str> {
        let media = match self.kind.as_str() {
            "text" => {
                let text = self.text.as_ref().ok_or("text")?;
                let at = Path::default().key("text").key("body");
                return Ok(Some((text.body.as_str(), at)));
            }
            "image" => &self.image,
            "video" => &self.video,
            "document" => &self.document,
            _ => return Ok(None),
        };
        let caption = media.as_ref().and_then(|media| media.caption.as_deref());
        Ok(caption.map(|caption| (caption, Path::default().key(&self.kind).key("caption"))))
    }
}

/// A problem of a mapped field, said of the value Meta sent: located there, with that value as
/// its input, and for a phone number or a timestamp, the rule in the body's terms.
fn in_body_terms(field: Field, problem: Problem, at: &Path, root: &Value) -> Problem {
    let input = at.find(root);
    match field {
        Field::From | Field::To => at.locate(Problem::pattern_mismatch(
            Loc::Body,
            input,
            PHONE_DIGITS_PATTERN,
        )),
        Field::Ts => at.locate(Problem::new(
            "value_error",
            Loc::Body,
            format!(
                "Value error, timestamp must be Unix seconds as a string of digits, at most \
                 {MAX_UNIX_SECONDS} (9999-12-31T23:59:59Z)"
            ),
            input,
        )),
        Field::MessageId | Field::Text => at.locate(Problem { input, ..problem }),
    }
}

/// `timestamp` (Unix seconds, a string of digits) as a `ts`: `YYYY-MM-DDTHH:MM:SSZ`; `None`
/// when it is not digits or is later than [`MAX_UNIX_SECONDS`].
pub fn ts_from_unix_seconds(timestamp: &str) -> Option<String> {
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = timestamp.parse().ok().filter(|s| *s <= MAX_UNIX_SECONDS)?;
    let instant = DateTime::from_timestamp(seconds, 0)?;
    Some(instant.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A place in the body, as the keys and indexes that lead there from its top.
#[derive(Debug, Clone, Default, PartialEq)]
struct Path(Vec<Value>);

impl Path {
    fn key(&self, key: &str) -> Self {
        self.then(json!(key))
    }

    fn index(&self, index: usize) -> Self {
        self.then(json!(index))
    }

    fn then(&self, step: Value) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        Self(steps)
    }

    /// This place's path appended to `base` (a place inside `base`'s value).
    fn inside(&self, base: &Path) -> Self {
        Self(base.0.iter().chain(&self.0).cloned().collect())
    }

    /// What the body has here, if anything.
    fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(root, |value, step| match step {
            Value::String(key) => value.get(key.as_str()),
            Value::Number(index) => value.get(usize::try_from(index.as_u64()?).ok()?),
            _ => None,
        })
    }

    /// A copy of what the body has here (a problem's `input`), `null` when nothing.
    fn find(&self, root: &Value) -> Value {
        self.get(root).cloned().unwrap_or(Value::Null)
    }

    /// `problem`, located here: its `loc` is `["body", …this path]`.
    fn locate(&self, mut problem: Problem) -> Problem {
        problem.loc = std::iter::once(json!("body"))
            .chain(self.0.iter().cloned())
            .collect();
        problem
    }
}

/// Deserializes what the body has at `at` as `T`, or the problem where it first departs from
/// `T`'s shape, located in the body (a list of one, as every other refusal is a list).
fn deserialize<'a, T: Deserialize<'a>>(root: &'a Value, at: &Path) -> Result<T, Vec<Problem>> {
    let value = at.get(root).unwrap_or(&Value::Null);
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inside = error
            .path()
            .iter()
            .fold(Path::default(), |path, segment| match segment {
                Segment::Seq { index } => path.index(*index),
                Segment::Map { key } => path.key(key),
                Segment::Enum { .. } | Segment::Unknown => path,
            });
        vec![shape_problem(
            &error.into_inner().to_string(),
            &inside.inside(at),
            root,
        )]
    })
}

/// serde's refusal at `at`, in Pydantic's terms. serde names the kind of a refusal only in its
/// message (`missing field `from``, `invalid type: integer `5`, expected a string`), wording it
/// has kept since 1.0; a unit test pins each kind this module can meet.
fn shape_problem(message: &str, at: &Path, root: &Value) -> Problem {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return at
            .key(field)
            .locate(Problem::missing(Loc::Body, at.find(root)));
    }
    let input = at.find(root);
    let expected = message.split_once(", expected ").map_or("", |(_, e)| e);
    let problem = match expected {
        "a string" => Problem::string_type(Loc::Body, input),
        "a sequence" => Problem::new(
            "list_type",
            Loc::Body,
            "Input should be a valid list",
            input,
        ),
        struct_name if struct_name.starts_with("struct ") => Problem::new(
            "model_attributes_type",
            Loc::Body,
            "Input should be a valid dictionary or object to extract fields from",
            input,
        ),
        _ => Problem::new(
            "value_error",
            Loc::Body,
            format!("Value error, {message}"),
            input,
        ),
    };
    at.locate(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture of `tests/fixtures/whatsapp/`: payloads shaped as Meta documents them.
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/whatsapp/", $name, ".json")).as_slice()
        };
    }

    const BUSINESS: &str = "+15550783881";

    /// The messages of a delivery as `(message_id, from, ts, text)`; every one is sent `to` the
    /// fixtures' business number.
    fn mapped(body: &[u8]) -> Vec<(String, String, String, Option<String>)> {
        let delivery = Delivery::from_json(body).unwrap();
        delivery
            .messages
            .into_iter()
            .map(|m| {
                assert_eq!(m.to, BUSINESS);
                assert_eq!(Some(m.ts_key), crate::message::ts_key(&m.ts));
                (m.message_id, m.from, m.ts, m.text)
            })
            .collect()
    }

    fn row(
        id: &str,
        from: &str,
        ts: &str,
        text: Option<&str>,
    ) -> (String, String, String, Option<String>) {
        (id.into(), from.into(), ts.into(), text.map(str::to_string))
    }

    /// `text.json` with `edit` applied to its value.
    fn text_delivery_with(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut body: Value = serde_json::from_slice(fixture!("text")).unwrap();
        edit(&mut body);
        serde_json::to_vec(&body).unwrap()
    }

    fn problems(body: &[u8]) -> Vec<Problem> {
        Delivery::from_json(body).unwrap_err()
    }

    fn kinds_and_locs(body: &[u8]) -> Vec<(&'static str, Value)> {
        problems(body)
            .into_iter()
            .map(|p| (p.kind, Value::Array(p.loc)))
            .collect()
    }

    #[test]
    fn a_text_message_is_its_body() {
        assert_eq!(
            mapped(fixture!("text")),
            [row(
                "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "+16505551234",
                "2025-06-08T20:59:43Z",
                Some("Does it come in another color?"),
            )]
        );
        let delivery = Delivery::from_json(fixture!("text")).unwrap();
        assert_eq!((delivery.statuses, delivery.other_changes), (0, 0));
    }

    #[test]
    fn several_messages_keep_their_order_and_senders() {
        assert_eq!(
            mapped(fixture!("several_messages")),
            [
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQUZCQjg3RjdFMDBBQTQzQzI3NQA=",
                    "+16505551234",
                    "2025-06-08T21:00:01Z",
                    Some("Hi! Is the store open on Sunday?"),
                ),
                row(
                    "wamid.HBgMOTE5ODc2NTQzMjEwFQIAEhgUM0E1QzdGOEVDMjE0QjM0NkQ3NjUA",
                    "+919876543210",
                    "2025-06-08T21:00:02Z",
                    Some("Namaste, I would like to order two more."),
                ),
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQUU5OTlDNjNCNzg4QjkxMDNDNgA=",
                    "+16505551234",
                    "2025-06-08T21:00:10Z",
                    Some("Thanks, see you then"),
                ),
            ]
        );
    }

    #[test]
    fn media_messages_are_their_captions() {
        assert_eq!(
            mapped(fixture!("image_with_caption")),
            [row(
                "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTg1NkRGNjQ5NDU2RDM0QUIwNQA=",
                "+16505551234",
                "2025-06-08T21:01:40Z",
                Some("This one, in blue?"),
            )]
        );
        assert_eq!(
            mapped(fixture!("video_and_document")),
            [
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQzE3QjE1RjJEMzVENkY2RjhBOAA=",
                    "+16505551234",
                    "2025-06-08T21:08:20Z",
                    Some("How it looks assembled"),
                ),
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQzIwNTc0OUY2NDZENkQ5NEQ2MgA=",
                    "+16505551234",
                    "2025-06-08T21:08:25Z",
                    Some("The invoice"),
                ),
            ]
        );
    }

    #[test]
    fn messages_without_text_or_caption_are_stored_without_text() {
        assert_eq!(
            mapped(fixture!("sticker_and_reaction")),
            [
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQjQ0NjZCRDI0QjU3RjVENzE2MgA=",
                    "+16505551234",
                    "2025-06-08T21:03:20Z",
                    None,
                ),
                row(
                    "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQkI2OEMwQzlFNTZFRTQ4MUQ3RQA=",
                    "+16505551234",
                    "2025-06-08T21:03:25Z",
                    None,
                ),
            ]
        );
        assert_eq!(
            mapped(fixture!("shared_contact")),
            [row(
                "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQjU1RDZFOEFGRTJDNzkzMjQwRgA=",
                "+16505551234",
                "2025-06-08T21:06:40Z",
                None,
            )]
        );
        // An image without a caption has no text either.
        let body = text_delivery_with(|body| {
            let message = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
            message["type"] = json!("image");
            message["image"] = json!({"id": "1", "mime_type": "image/jpeg"});
        });
        assert_eq!(mapped(&body)[0].3, None);
    }

    #[test]
    fn statuses_and_other_fields_are_counted_not_stored() {
        let delivery = Delivery::from_json(fixture!("status_update")).unwrap();
        assert_eq!(
            delivery,
            Delivery {
                messages: vec![],
                statuses: 1,
                other_changes: 0,
            }
        );
        // Another field's value is not read, whatever its shape.
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
            {"field": "message_template_status_update", "value": [1, 2]},
        ]}]});
        let delivery = Delivery::from_json(body.to_string().as_bytes()).unwrap();
        assert_eq!((delivery.messages.len(), delivery.other_changes), (0, 2));
    }

    #[test]
    fn one_bad_message_rejects_the_delivery_with_its_place_in_the_body() {
        let body = fixture!("several_messages");
        let mut bad: Value = serde_json::from_slice(body).unwrap();
        bad["entry"][0]["changes"][0]["value"]["messages"][1]["from"] = json!("91987654321x");
        let found = problems(&serde_json::to_vec(&bad).unwrap());
        assert_eq!(
            serde_json::to_value(&found).unwrap(),
            json!([{
                "type": "string_pattern_mismatch",
                "loc": ["body", "entry", 0, "changes", 0, "value", "messages", 1, "from"],
                "msg": "String should match pattern '^[0-9]{1,15}$'",
                "input": "91987654321x",
                "ctx": {"pattern": "^[0-9]{1,15}$"},
            }])
        );
    }

    #[test]
    fn every_field_problem_of_every_message_is_listed_where_meta_put_the_value() {
        let at = |rest: &[Value]| {
            let mut loc = vec![
                json!("body"),
                json!("entry"),
                json!(0),
                json!("changes"),
                json!(0),
                json!("value"),
            ];
            loc.extend_from_slice(rest);
            Value::Array(loc)
        };
        let mut body: Value = serde_json::from_slice(fixture!("several_messages")).unwrap();
        let value = &mut body["entry"][0]["changes"][0]["value"];
        value["metadata"]["display_phone_number"] = json!("+15550783881");
        value["messages"][0]["id"] = json!("");
        value["messages"][0]["timestamp"] = json!("2025-06-08T21:00:01Z");
        value["messages"][2]["text"]["body"] = json!("é".repeat(4097));
        let found = problems(&serde_json::to_vec(&body).unwrap());
        let summary: Vec<(&str, Value, Value)> = found
            .iter()
            .map(|p| (p.kind, Value::Array(p.loc.clone()), p.input.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "string_too_short",
                    at(&[json!("messages"), json!(0), json!("id")]),
                    json!("")
                ),
                // The business's number is one problem, not one per message sent to it.
                (
                    "string_pattern_mismatch",
                    at(&[json!("metadata"), json!("display_phone_number")]),
                    json!("+15550783881")
                ),
                (
                    "value_error",
                    at(&[json!("messages"), json!(0), json!("timestamp")]),
                    json!("2025-06-08T21:00:01Z")
                ),
                (
                    "string_too_long",
                    at(&[json!("messages"), json!(2), json!("text"), json!("body")]),
                    json!("é".repeat(4097))
                ),
            ]
        );
        assert_eq!(found[3].ctx, Some(json!({"max_length": 4096})));
    }

    #[test]
    fn captions_over_the_text_limit_are_located_in_their_media() {
        let mut body: Value = serde_json::from_slice(fixture!("video_and_document")).unwrap();
        body["entry"][0]["changes"][0]["value"]["messages"][1]["document"]["caption"] =
            json!("x".repeat(4097));
        assert_eq!(
            kinds_and_locs(&serde_json::to_vec(&body).unwrap()),
            [(
                "string_too_long",
                json!([
                    "body", "entry", 0, "changes", 0, "value", "messages", 1, "document", "caption"
                ])
            )]
        );
    }

    #[test]
    fn timestamps_are_unix_seconds_as_digits_up_to_year_9999() {
        assert_eq!(
            ts_from_unix_seconds("0").as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            ts_from_unix_seconds("1749416383").as_deref(),
            Some("2025-06-08T20:59:43Z")
        );
        assert_eq!(
            ts_from_unix_seconds(&MAX_UNIX_SECONDS.to_string()).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.5",
            "1e9",
            "253402300800",
            "99999999999999999999999",
        ] {
            assert_eq!(ts_from_unix_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shapes_meta_never_sends_are_refused_at_the_first_place_they_differ() {
        let cases: [(&str, Value, (&str, Value)); 9] = [
            (
                "another object",
                json!({"object": "page", "entry": []}),
                ("literal_error", json!(["body", "object"])),
            ),
            (
                "no entry",
                json!({"object": "whatsapp_business_account"}),
                ("missing", json!(["body", "entry"])),
            ),
            (
                "entry not a list",
                json!({"object": "whatsapp_business_account", "entry": {}}),
                ("list_type", json!(["body", "entry"])),
            ),
            (
                "an entry not an object",
                json!({"object": "whatsapp_business_account", "entry": [5]}),
                ("model_attributes_type", json!(["body", "entry", 0])),
            ),
            (
                "a field not a string",
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": 7}]}]}),
                (
                    "string_type",
                    json!(["body", "entry", 0, "changes", 0, "field"]),
                ),
            ),
            (
                "a messages change without its value",
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}),
                (
                    "missing",
                    json!(["body", "entry", 0, "changes", 0, "value"]),
                ),
            ),
            (
                "messages without metadata",
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
                       "value": {"messages": [{"id": "w", "from": "1", "timestamp": "1", "type": "sticker"}]}}]}]}),
                (
                    "missing",
                    json!(["body", "entry", 0, "changes", 0, "value", "metadata"]),
                ),
            ),
            (
                "a message without its type",
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
                       "value": {"metadata": {"display_phone_number": "1"},
                                 "messages": [{"id": "w", "from": "1", "timestamp": "1"}]}}]}]}),
                (
                    "missing",
                    json!([
                        "body", "entry", 0, "changes", 0, "value", "messages", 0, "type"
                    ]),
                ),
            ),
            (
                "a text message without its text",
                json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
                       "value": {"metadata": {"display_phone_number": "1"},
                                 "messages": [{"id": "w", "from": "1", "timestamp": "1", "type": "text"}]}}]}]}),
                (
                    "missing",
                    json!([
                        "body", "entry", 0, "changes", 0, "value", "messages", 0, "text"
                    ]),
                ),
            ),
        ];
        for (case, body, expected) in cases {
            assert_eq!(
                kinds_and_locs(body.to_string().as_bytes()),
                [expected],
                "{case}"
            );
        }
        // A missing field's input is the object that lacks it, as in Pydantic.
        let found = problems(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]}"#);
        assert_eq!(found[0].input, json!({"field": "messages"}));
    }

    #[test]
    fn bodies_that_are_not_objects_are_whole_body_problems() {
        for (body, kind) in [
            ("", "missing"),
            ("{", "json_invalid"),
            ("[]", "model_attributes_type"),
        ] {
            assert_eq!(
                kinds_and_locs(body.as_bytes()),
                [(kind, json!(["body"]))],
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_phone_number_in_meta_s_terms_is_one_with_a_plus_in_the_stored_terms() {
        let digits = |n: &str| n.bytes().all(|b| b.is_ascii_digit()) && (1..=15).contains(&n.len());
        for number in [
            "",
            "1",
            "123456789012345",
            "1234567890123456",
            "+1",
            "1 2",
            "１",
        ] {
            assert_eq!(
                digits(number),
                crate::message::is_msisdn(&format!("+{number}")),
                "{number:?}"
            );
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Arbitrary bytes, and fixtures with one byte changed (which reach the deeper checks).
        fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
            let fixtures = [
                fixture!("text"),
                fixture!("several_messages"),
                fixture!("video_and_document"),
                fixture!("status_update"),
            ];
            let mutated = (0..fixtures.len(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
                move |(which, at, byte)| {
                    let mut body = fixtures[which].to_vec();
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
            fn parsing_never_panics_and_fails_only_with_located_problems(body in hostile_body()) {
                match Delivery::from_json(&body) {
                    Ok(delivery) => {
                        for message in delivery.messages {
                            prop_assert!(crate::message::is_msisdn(&message.from));
                            prop_assert!(crate::message::ts_key(&message.ts).is_some());
                        }
                    }
                    Err(problems) => {
                        prop_assert!(!problems.is_empty());
                        for problem in problems {
                            prop_assert_eq!(&problem.loc[0], "body");
                        }
                    }
                }
            }
        }
    }
}
