//! The bodies `app send --scheme whatsapp` posts: deliveries shaped as Meta's WhatsApp Cloud API
//! sends them (`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
//! "value":{…}}]}]}`), and what each carries.
//!
//! - [`Deliveries`]: `--generate N`, N realistic deliveries of 1 to 10 messages each (mostly
//!   text, some image, video or document captions, some stickers and reactions), and some
//!   deliveries that carry only statuses (`sent`, `delivered`, `read`), as Meta sends them.
//!   Senders, texts and timestamps come from [`synthetic::Generator`], so they vary the same
//!   way; a seed repeats a run exactly.
//! - [`from_message`]: one text message from the flags, wrapped in a delivery.
//! - [`carried`]: how many messages and statuses a delivery holds (one from a file, say), so
//!   that a run can report messages as well as deliveries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::client::Carried;
use super::input::OutgoingMessage;
use super::synthetic::{self, NAMES};
use crate::timestamp;

/// The most messages one generated delivery carries.
pub const MOST_MESSAGES: usize = 10;
/// How likely each number of messages (1 to 10) is in a delivery that carries messages: most
/// carry one or two, as a chat's messages arrive a few at a time.
const MESSAGE_COUNT_WEIGHTS: [u32; MOST_MESSAGES] = [40, 20, 12, 8, 6, 5, 3, 2, 2, 2];
/// The share of deliveries that carry statuses of sent messages and no message.
const STATUS_ONLY: f64 = 0.15;
/// The WhatsApp Business Account every generated delivery comes from.
const BUSINESS_ACCOUNT_ID: &str = "102290129340398";

/// Makes deliveries; see the module docs. Deterministic for its seed and anchor.
#[derive(Debug)]
pub struct Deliveries {
    messages: synthetic::Generator,
    rng: StdRng,
    seed: u64,
    counts: WeightedIndex<u32>,
    next_index: u64,
}

impl Deliveries {
    /// A generator for `seed`, with timestamps in the week before `anchor`.
    pub fn new(seed: u64, anchor: DateTime<Utc>) -> Self {
        Self {
            messages: synthetic::Generator::new(seed, anchor),
            // Its own stream, so that the messages drawn are those of `--generate` in the flat
            // style for the same seed.
            rng: StdRng::seed_from_u64(seed ^ 0x7768_6174_7361_7070),
            seed,
            counts: WeightedIndex::new(MESSAGE_COUNT_WEIGHTS).expect("weights are positive"),
            next_index: 0,
        }
    }

    /// The next delivery's body and what it carries.
    pub fn delivery(&mut self) -> (Bytes, Carried) {
        self.next_index += 1;
        if self.rng.random_bool(STATUS_ONLY) {
            return self.statuses();
        }
        let count = self.counts.sample(&mut self.rng) + 1;
        let drawn: Vec<OutgoingMessage> = (&mut self.messages).take(count).collect();
        // One business number receives the whole delivery, as one `value` has one `metadata`.
        let to = drawn[0].to.clone();
        let mut messages: Vec<Value> = Vec::with_capacity(count);
        let mut contacts: Vec<Value> = Vec::new();
        for (position, message) in drawn.into_iter().enumerate() {
            let from = digits(&message.from);
            if !contacts.iter().any(|contact| contact["wa_id"] == from) {
                let name = NAMES[self.rng.random_range(0..NAMES.len())];
                contacts.push(json!({"profile": {"name": name}, "wa_id": from}));
            }
            let id = self.wamid(&from, position);
            let seconds = unix_seconds(&message.ts).expect("generated timestamps parse");
            let previous = messages.last().map(|last: &Value| last["id"].clone());
            let content = self.content(message.text, previous);
            let mut item = json!({"from": from, "id": id, "timestamp": seconds.to_string()});
            merge(&mut item, content);
            messages.push(item);
        }
        let carried = Carried {
            messages: count_of(&messages),
            statuses: 0,
        };
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&to),
            "contacts": contacts,
            "messages": messages,
        });
        (envelope(value), carried)
    }

    /// A delivery of 1 to 3 statuses of messages the business sent: no message to store.
    fn statuses(&mut self) -> (Bytes, Carried) {
        let count = self.rng.random_range(1..=3);
        let drawn: Vec<OutgoingMessage> = (&mut self.messages).take(count).collect();
        let to = drawn[0].to.clone();
        let statuses: Vec<Value> = drawn
            .into_iter()
            .enumerate()
            .map(|(position, message)| {
                let recipient = digits(&message.from);
                let status = ["sent", "delivered", "read"][self.rng.random_range(0..3)];
                let seconds = unix_seconds(&message.ts).expect("generated timestamps parse");
                json!({
                    "id": self.wamid(&recipient, position),
                    "status": status,
                    "timestamp": seconds.to_string(),
                    "recipient_id": recipient,
                })
            })
            .collect();
        let carried = Carried {
            messages: 0,
            statuses: count_of(&statuses),
        };
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&to),
            "statuses": statuses,
        });
        (envelope(value), carried)
    }

    /// What a message says, by type: mostly text; a caption on some images, videos and
    /// documents; stickers, captionless images and reactions (to the message before, when there
    /// is one) carry no text.
    fn content(&mut self, text: Option<String>, previous: Option<Value>) -> Value {
        let media_id = self
            .rng
            .random_range(1_000_000_000_000_000u64..10_000_000_000_000_000);
        let kind = self.rng.random_range(0..100);
        match (text, previous) {
            (Some(text), _) if kind < 80 => json!({"type": "text", "text": {"body": text}}),
            (Some(caption), _) if kind < 90 => json!({"type": "image", "image": {
                "caption": caption, "mime_type": "image/jpeg", "id": media_id.to_string()}}),
            (Some(caption), _) if kind < 95 => json!({"type": "video", "video": {
                "caption": caption, "mime_type": "video/mp4", "id": media_id.to_string()}}),
            (Some(caption), _) => json!({"type": "document", "document": {
                "caption": caption, "filename": format!("document-{media_id}.pdf"),
                "mime_type": "application/pdf", "id": media_id.to_string()}}),
            (None, Some(previous)) if kind < 50 => json!({"type": "reaction", "reaction": {
                "message_id": previous, "emoji": "👍"}}),
            (None, _) if kind < 75 => json!({"type": "image", "image": {
                "mime_type": "image/jpeg", "id": media_id.to_string()}}),
            (None, _) => json!({"type": "sticker", "sticker": {
                "mime_type": "image/webp", "id": media_id.to_string(), "animated": false}}),
        }
    }

    /// A `wamid.` id as Meta writes them (base64 after the prefix), unique to this seed,
    /// delivery and position, so that a seeded run repeats its ids and another seed does not.
    fn wamid(&self, phone: &str, position: usize) -> String {
        let raw = format!(
            "{phone}:gen-{:016x}-{:07}-{position:02}",
            self.seed, self.next_index
        );
        format!("wamid.{}", BASE64.encode(raw))
    }
}

impl Iterator for Deliveries {
    type Item = (Bytes, Carried);

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.delivery())
    }

    /// Endless: so `take(n)` knows it yields exactly `n`, and collecting it allocates once.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// One text message from the flags, in a delivery of its own: `from` and `to` lose their `+`
/// (Meta sends bare digits) and `ts` becomes Unix seconds (a fraction is dropped: Meta's
/// timestamps are whole seconds).
pub fn from_message(message: &OutgoingMessage) -> Result<Bytes, String> {
    let text = message.text.as_deref().ok_or(
        "--scheme whatsapp sends a text message: pass --text (other types: --file a delivery)",
    )?;
    let seconds = unix_seconds(&message.ts).ok_or_else(|| {
        format!(
            "invalid --ts {:?}: an RFC 3339 instant such as 2025-01-15T10:00:00Z",
            message.ts
        )
    })?;
    let from = digits(&message.from);
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(&message.to),
        "contacts": [{"profile": {"name": from}, "wa_id": from}],
        "messages": [{
            "from": from,
            "id": message.message_id,
            "timestamp": seconds.to_string(),
            "type": "text",
            "text": {"body": text},
        }],
    });
    Ok(envelope(value))
}

/// The messages and statuses in a delivery's `entry[].changes[].value`; nothing for a body
/// without that shape (the server answers it 422, and the report counts the delivery alone).
pub fn carried(body: &[u8]) -> Carried {
    let mut carried = Carried::default();
    let Ok(delivery) = serde_json::from_slice::<Value>(body) else {
        return carried;
    };
    let entries = delivery["entry"].as_array().into_iter().flatten();
    for change in entries.flat_map(|entry| entry["changes"].as_array().into_iter().flatten()) {
        let count = |field: &str| {
            change["value"][field]
                .as_array()
                .map_or(0, |all| count_of(all))
        };
        carried.messages = carried.messages.saturating_add(count("messages"));
        carried.statuses = carried.statuses.saturating_add(count("statuses"));
    }
    carried
}

/// The whole delivery around one `value`, as compact JSON in an allocation of its own size
/// (`--generate` holds every body at once; see [`OutgoingMessage::to_body`]).
fn envelope(value: Value) -> Bytes {
    let delivery = json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": BUSINESS_ACCOUNT_ID,
            "changes": [{"value": value, "field": "messages"}],
        }],
    });
    let json = serde_json::to_vec(&delivery).expect("a delivery always serializes");
    Bytes::copy_from_slice(&json)
}

/// The business number's `metadata`; the phone number id is derived from the number, so that
/// each number keeps one.
fn metadata(business_number: &str) -> Value {
    let display = digits(business_number);
    let phone_number_id: String = format!("10{display}").chars().take(15).collect();
    json!({"display_phone_number": display, "phone_number_id": phone_number_id})
}

fn count_of(items: &[Value]) -> u32 {
    u32::try_from(items.len()).unwrap_or(u32::MAX)
}

/// A phone number as Meta writes it: without the `+`.
fn digits(number: &str) -> String {
    number.strip_prefix('+').unwrap_or(number).to_string()
}

fn unix_seconds(ts: &str) -> Option<i64> {
    timestamp::parse_instant(ts).map(|instant| instant.timestamp())
}

/// Adds `extra`'s fields to the object `item`.
fn merge(item: &mut Value, extra: Value) {
    if let (Value::Object(item), Value::Object(extra)) = (item, extra) {
        item.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn anchor() -> DateTime<Utc> {
        "2025-01-15T10:00:00Z".parse().unwrap()
    }

    /// What the server stores from a delivery's messages, by the contract's mapping: the
    /// message id, `+` and the sender's digits, `+` and the business number's digits, the
    /// timestamp, and the text or caption.
    fn stored(body: &[u8]) -> Vec<(String, String, String, i64, Option<String>)> {
        let delivery: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(delivery["object"], "whatsapp_business_account");
        let mut rows = Vec::new();
        for entry in delivery["entry"].as_array().unwrap() {
            for change in entry["changes"].as_array().unwrap() {
                assert_eq!(change["field"], "messages");
                let value = &change["value"];
                let to = value["metadata"]["display_phone_number"].as_str().unwrap();
                for message in value["messages"].as_array().into_iter().flatten() {
                    let kind = message["type"].as_str().unwrap();
                    let text = match kind {
                        "text" => message["text"]["body"].as_str(),
                        "image" | "video" | "document" => message[kind]["caption"].as_str(),
                        _ => None,
                    };
                    rows.push((
                        message["id"].as_str().unwrap().to_string(),
                        format!("+{}", message["from"].as_str().unwrap()),
                        format!("+{to}"),
                        message["timestamp"].as_str().unwrap().parse().unwrap(),
                        text.map(str::to_string),
                    ));
                }
            }
        }
        rows
    }

    #[test]
    fn generated_deliveries_carry_valid_messages_with_unique_ids() {
        let mut ids = HashSet::new();
        let mut status_only = 0;
        let mut kinds = HashSet::new();
        for (body, carried) in Deliveries::new(7, anchor()).take(500) {
            assert_eq!(carried, super::carried(&body));
            let rows = stored(&body);
            assert_eq!(rows.len(), carried.messages as usize);
            if carried.messages == 0 {
                status_only += 1;
                assert!((1..=3).contains(&carried.statuses), "{carried:?}");
            } else {
                assert!(carried.messages as usize <= MOST_MESSAGES);
                assert_eq!(carried.statuses, 0);
            }
            let delivery: Value = serde_json::from_slice(&body).unwrap();
            let value = &delivery["entry"][0]["changes"][0]["value"];
            for message in value["messages"].as_array().into_iter().flatten() {
                kinds.insert(message["type"].as_str().unwrap().to_string());
            }
            for (id, from, to, seconds, text) in rows {
                assert!(id.starts_with("wamid.") && id.len() <= 256, "{id}");
                assert!(ids.insert(id), "an id repeats");
                for number in [&from, &to] {
                    let digits = &number[1..];
                    assert!(
                        (1..=15).contains(&digits.len())
                            && digits.bytes().all(|b| b.is_ascii_digit()),
                        "{number}"
                    );
                }
                let instant = DateTime::from_timestamp(seconds, 0).unwrap();
                assert!(instant <= anchor() && instant > anchor() - synthetic::SPREAD);
                assert!(text.is_none_or(|text| text.chars().count() <= 4096));
            }
        }
        assert!((40..=120).contains(&status_only), "{status_only}");
        for kind in ["text", "image", "video", "document", "sticker", "reaction"] {
            assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
        }
    }

    #[test]
    fn a_seed_repeats_its_deliveries_exactly() {
        let first: Vec<_> = Deliveries::new(7, anchor()).take(20).collect();
        let again: Vec<_> = Deliveries::new(7, anchor()).take(20).collect();
        let other: Vec<_> = Deliveries::new(8, anchor()).take(20).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn a_delivery_from_the_flags_holds_one_text_message() {
        let message = OutgoingMessage {
            message_id: "wamid.flags1".into(),
            from: "+919876543210".into(),
            to: "+14155550100".into(),
            ts: "2025-01-15T10:00:00.5Z".into(),
            text: Some("Hello".into()),
        };
        let body = from_message(&message).unwrap();
        assert_eq!(
            stored(&body),
            vec![(
                "wamid.flags1".to_string(),
                "+919876543210".to_string(),
                "+14155550100".to_string(),
                1_736_935_200,
                Some("Hello".to_string())
            )]
        );
        let untexted = OutgoingMessage {
            text: None,
            ..message.clone()
        };
        assert!(from_message(&untexted).unwrap_err().contains("--text"));
        let undated = OutgoingMessage {
            ts: "soon".into(),
            ..message
        };
        assert!(from_message(&undated).unwrap_err().contains("invalid --ts"));
    }

    #[test]
    fn the_fixtures_carry_what_they_say() {
        let fixture = |name: &str| {
            let path = format!(
                "{}/tests/fixtures/whatsapp/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            carried(&std::fs::read(path).unwrap())
        };
        let carrying = |messages, statuses| Carried { messages, statuses };
        assert_eq!(fixture("text"), carrying(1, 0));
        assert_eq!(fixture("several_messages"), carrying(3, 0));
        assert_eq!(fixture("status_update"), carrying(0, 1));
        assert_eq!(carried(b"{\"object\":1}"), carrying(0, 0));
        assert_eq!(carried(b"not json"), carrying(0, 0));
    }
}
