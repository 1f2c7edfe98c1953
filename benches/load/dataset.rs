//! The benchmark's messages: deterministic (message `i` is always the same), shaped like chat
//! traffic (a skewed set of senders, a year of timestamps in order, short texts from a
//! vocabulary with some accents), and the bulk load that fills a database with them through the
//! storage layer's own insert path ([`BulkLoad`]).

use std::path::Path;
use std::time::{Duration, Instant};

use webhook_receiver::message::NewMessage;
use webhook_receiver::storage::{BulkLoad, Insertion};

/// The year of timestamps every data set spans, whatever its size.
const START_UNIX: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
const SPAN_SECONDS: i64 = 366 * 24 * 3600;
/// How many different senders there are; a few send much more than the rest.
const SENDERS: u64 = 1000;

/// A word in a small share of the texts (about one in 20,000).
pub const RARE_WORD: &str = "zanzibar";
/// A word in most texts: the hard case for a search's ordering and exact total.
pub const COMMON_WORD: &str = "hello";

/// Openings with the common word, in several cases, and without it.
const HELLOS: [&str; 5] = ["Hello", "hello", "HELLO", "Hello there,", "Hello again,"];
const OTHER_OPENINGS: [&str; 3] = ["Hi", "Hey", "Good morning,"];
const WORDS: [&str; 64] = [
    "order",
    "delivery",
    "tomorrow",
    "payment",
    "received",
    "thanks",
    "please",
    "confirm",
    "the",
    "your",
    "is",
    "on",
    "its",
    "way",
    "we",
    "will",
    "call",
    "you",
    "back",
    "soon",
    "at",
    "store",
    "invoice",
    "number",
    "ticket",
    "support",
    "refund",
    "status",
    "update",
    "meeting",
    "today",
    "price",
    "quote",
    "available",
    "address",
    "pickup",
    "café",
    "Zürich",
    "naïve",
    "São",
    "Paulo",
    "ÉCOLE",
    "résumé",
    "Ångström",
    "straße",
    "kitchen",
    "table",
    "chair",
    "window",
    "blue",
    "green",
    "small",
    "large",
    "next",
    "week",
    "Monday",
    "Friday",
    "morning",
    "evening",
    "ok",
    "great",
    "sure",
    "done",
    "100%",
];

/// splitmix64: a fast, well-mixed hash of the index, so any message can be made on its own.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sender of a message: sender 0 has about 3% of all messages, most have a fraction of 0.1%.
pub fn sender(n: u64) -> String {
    format!("+91980000{n:04}")
}

fn sender_of(random: u64) -> u64 {
    let u = (random % 1_000_000) as f64 / 1_000_000.0;
    ((u * u) * SENDERS as f64) as u64
}

/// The timestamp of message `i` of `n`: in order, spread over the year, some with a fraction.
pub fn ts(i: u64, n: u64, random: u64) -> String {
    let nanos_span = i128::from(SPAN_SECONDS) * 1_000_000_000;
    let offset = nanos_span * i128::from(i) / i128::from(n.max(1));
    let seconds = START_UNIX + (offset / 1_000_000_000) as i64;
    let time = chrono::DateTime::from_timestamp(seconds, 0).expect("in range");
    let base = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    match random % 4 {
        0 => format!("{base}.{:03}Z", (random >> 8) % 1000),
        _ => format!("{base}Z"),
    }
}

fn text(random: u64) -> Option<String> {
    let mut r = mix(random);
    if r.is_multiple_of(50) {
        return None;
    }
    let mut words = Vec::with_capacity(14);
    // Three texts in five open with the common word.
    if r % 5 < 3 {
        words.push(HELLOS[((r >> 8) % 5) as usize]);
    } else {
        words.push(OTHER_OPENINGS[((r >> 8) % 3) as usize]);
    }
    r = mix(r);
    let count = 3 + r % 9;
    for _ in 0..count {
        r = mix(r);
        words.push(WORDS[(r % WORDS.len() as u64) as usize]);
    }
    if mix(r).is_multiple_of(20_000) {
        words.push(RARE_WORD);
    }
    Some(words.join(" "))
}

/// Message `i` of a data set of `n`, with ids under `prefix`: the history a store holds.
pub fn message(prefix: &str, i: u64, n: u64) -> NewMessage {
    let random = mix(i ^ 0x5eed);
    with_ts(prefix, i, random, ts(i, n, random))
}

/// Message `i` of live traffic, with ids under `prefix`: sent a millisecond after message
/// `i - 1`, as webhooks arrive about when they are sent.
pub fn live_message(prefix: &str, i: u64) -> NewMessage {
    let random = mix(i ^ 0x117e);
    let sent =
        chrono::DateTime::from_timestamp_millis(LIVE_START_MILLIS + i as i64).expect("in range");
    with_ts(
        prefix,
        i,
        random,
        sent.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

/// How many messages each benchmark WhatsApp delivery carries.
pub const WHATSAPP_MESSAGES_PER_DELIVERY: u64 = 10;

/// WhatsApp delivery `i` of live traffic, as Meta's Cloud API posts it: messages
/// `10 i .. 10 i + 9` of [`live_message`] (ids under `prefix`, so new in every delivery), from
/// their senders to the business number, texts as text messages and a missing text as a
/// sticker.
pub fn whatsapp_delivery(prefix: &str, i: u64) -> String {
    let first = i * WHATSAPP_MESSAGES_PER_DELIVERY;
    let messages: Vec<serde_json::Value> = (first..first + WHATSAPP_MESSAGES_PER_DELIVERY)
        .map(|n| {
            let message = live_message(prefix, n);
            let seconds = chrono::DateTime::parse_from_rfc3339(&message.ts)
                .expect("generated timestamps are valid")
                .timestamp();
            let mut item = serde_json::json!({
                "from": message.from.trim_start_matches('+'),
                "id": format!("wamid.{}", message.message_id),
                "timestamp": seconds.to_string(),
            });
            let content = match message.text {
                Some(body) => serde_json::json!({"type": "text", "text": {"body": body}}),
                None => serde_json::json!({"type": "sticker", "sticker": {"id": "1"}}),
            };
            if let (Some(item), serde_json::Value::Object(content)) =
                (item.as_object_mut(), content)
            {
                item.extend(content);
            }
            item
        })
        .collect();
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "14155550100",
                        "phone_number_id": "106540352242922"
                    },
                    "messages": messages,
                },
            }],
        }],
    })
    .to_string()
}

/// When live traffic starts: 2025-06-01T12:00:00Z.
const LIVE_START_MILLIS: i64 = 1_748_779_200_000;

fn with_ts(prefix: &str, i: u64, random: u64, ts: String) -> NewMessage {
    let ts_key = webhook_receiver::message::ts_key(&ts).expect("generated timestamps are valid");
    NewMessage {
        message_id: format!("{prefix}-{i:08}"),
        from: sender(sender_of(random >> 16)),
        to: "+14155550100".to_string(),
        ts,
        ts_key,
        text: text(random),
    }
}

/// The JSON body `POST /webhook` would receive for `message`.
pub fn body(message: &NewMessage) -> String {
    serde_json::to_string(message).expect("a message always serializes")
}

/// Creates `path` at the latest schema and stores messages `0..n` (ids under `prefix`) through
/// the storage layer's insert path, in large transactions, showing each message to `observe`,
/// and indexes them for search as the server's writer would.
/// Returns how long it took.
pub fn fill(path: &Path, prefix: &str, n: u64, mut observe: impl FnMut(&NewMessage)) -> Duration {
    let started = Instant::now();
    let mut load = BulkLoad::open(path).expect("the database opens at the latest schema");
    const CHUNK: u64 = 50_000;
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let messages: Vec<NewMessage> = (start..end).map(|i| message(prefix, i, n)).collect();
        messages.iter().for_each(&mut observe);
        let insertions = load.insert(&messages).expect("the rows insert");
        assert!(
            insertions
                .iter()
                .all(|insertion| *insertion == Insertion::Created),
            "generated ids are unique"
        );
        // As the server's writer does between batches, in larger steps.
        load.index_for_search(CHUNK as usize)
            .expect("the rows are indexed");
        start = end;
    }
    load.finish().expect("the load is checkpointed");
    started.elapsed()
}
