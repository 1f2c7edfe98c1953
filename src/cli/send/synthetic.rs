//! Realistic synthetic messages for `app send --generate`: a few dozen senders from several
//! countries, a handful of them busy (Zipf-like), timestamps spread over the week before an
//! anchor instant, short chat texts in several scripts, some without text.
//!
//! A generator is deterministic for its seed and anchor, so a run can be repeated exactly.

use chrono::{DateTime, Duration, Utc};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::input::OutgoingMessage;

/// How many distinct senders a generator draws from.
pub const SENDERS: usize = 40;
/// How far before the anchor timestamps go.
pub const SPREAD: Duration = Duration::days(7);

/// Country codes and the national number lengths that go with them.
const COUNTRIES: [(&str, usize); 10] = [
    ("91", 10),
    ("1", 10),
    ("44", 10),
    ("49", 11),
    ("55", 11),
    ("234", 10),
    ("971", 9),
    ("65", 8),
    ("62", 11),
    ("81", 10),
];

/// The business numbers messages are sent to.
const RECIPIENTS: [&str; 4] = [
    "+14155550100",
    "+14155550101",
    "+442071838750",
    "+919000000001",
];

/// First names, for texts and for WhatsApp contacts' profiles.
pub const NAMES: [&str; 8] = [
    "Asha", "Ben", "Chidi", "Dana", "Emre", "Fatima", "Giulia", "Hiro",
];

/// Chat texts; `{n}` becomes a number and `{name}` a name.
const TEXTS: [&str; 24] = [
    "Hello",
    "Hi, is this still available?",
    "Where is my order #{n}?",
    "Order #{n} has shipped, thanks!",
    "Can I change the delivery address?",
    "Please call me back",
    "What are your opening hours today?",
    "Thanks {name}, that fixed it",
    "The payment of ₹{n} failed twice",
    "I'd like a refund for #{n}",
    "OK 👍",
    "See you at 10",
    "¿Tienen envío a Madrid?",
    "Café à quelle heure demain ?",
    "Grüße aus München, Bestellung {n}",
    "नमस्ते, मेरा ऑर्डर कहाँ है?",
    "こんにちは、予約の確認です",
    "Obrigado! Chegou hoje.",
    "STOP",
    "Is there a discount code for {name}?",
    "My OTP {n} didn't work",
    "Can you send the invoice again?",
    "😀😀 great service",
    "hello again — any update on {n}?",
];

/// Makes messages; see the module docs.
#[derive(Debug)]
pub struct Generator {
    rng: StdRng,
    seed: u64,
    anchor: DateTime<Utc>,
    senders: Vec<String>,
    sender_weights: WeightedIndex<f64>,
    next_index: u64,
}

impl Generator {
    /// A generator for `seed`, with timestamps in the week before `anchor`.
    pub fn new(seed: u64, anchor: DateTime<Utc>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let senders: Vec<String> = (0..SENDERS).map(|_| msisdn(&mut rng)).collect();
        let weights = (1..=SENDERS).map(|rank| 1.0 / rank as f64);
        Self {
            rng,
            seed,
            anchor,
            senders,
            sender_weights: WeightedIndex::new(weights).expect("weights are positive"),
            next_index: 0,
        }
    }

    /// The next message. Ids are `gen-<seed>-<index>`: unique within a run, and the same again
    /// when the same seed is run again.
    pub fn message(&mut self) -> OutgoingMessage {
        self.next_index += 1;
        let rng = &mut self.rng;
        let from = self.senders[self.sender_weights.sample(rng)].clone();
        let to = RECIPIENTS[rng.random_range(0..RECIPIENTS.len())].to_string();
        let before = Duration::milliseconds(rng.random_range(0..SPREAD.num_milliseconds()));
        let instant = self.anchor - before;
        let ts = if rng.random_bool(0.3) {
            instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        } else {
            instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        };
        let text = (!rng.random_bool(0.08)).then(|| {
            TEXTS[rng.random_range(0..TEXTS.len())]
                .replace("{n}", &rng.random_range(1000..99_999).to_string())
                .replace("{name}", NAMES[rng.random_range(0..NAMES.len())])
        });
        OutgoingMessage {
            message_id: format!("gen-{:016x}-{:07}", self.seed, self.next_index),
            from,
            to,
            ts,
            text,
        }
    }
}

impl Iterator for Generator {
    type Item = OutgoingMessage;

    fn next(&mut self) -> Option<OutgoingMessage> {
        Some(self.message())
    }

    /// Endless: so `take(n)` knows it yields exactly `n`, and collecting it allocates once.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// A random E.164 number: a country code, then a national number not starting with 0.
fn msisdn(rng: &mut StdRng) -> String {
    let (code, length) = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
    let mut number = format!("+{code}{}", rng.random_range(1..=9));
    for _ in 1..length {
        number.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    number
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::message::NewMessage;

    fn anchor() -> DateTime<Utc> {
        "2025-01-15T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_generated_message_passes_the_servers_validation() {
        for message in Generator::new(7, anchor()).take(2000) {
            let body = message.to_body();
            let parsed = NewMessage::from_json(&body)
                .unwrap_or_else(|problems| panic!("{message:?}: {problems:?}"));
            assert_eq!(parsed.ts, message.ts);
            let instant = crate::timestamp::parse_strict_utc(&message.ts).unwrap();
            assert!(
                instant <= anchor() && instant > anchor() - SPREAD,
                "{}",
                message.ts
            );
        }
    }

    #[test]
    fn a_seed_repeats_exactly_and_another_seed_differs() {
        let first: Vec<_> = Generator::new(7, anchor()).take(50).collect();
        let again: Vec<_> = Generator::new(7, anchor()).take(50).collect();
        let other: Vec<_> = Generator::new(8, anchor()).take(50).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert_eq!(first[0].message_id, "gen-0000000000000007-0000001");
    }

    #[test]
    fn a_taken_run_knows_its_length_before_it_is_made() {
        let run = Generator::new(7, anchor()).take(200_000);
        assert_eq!(run.size_hint(), (200_000, Some(200_000)));
    }

    #[test]
    fn messages_vary_and_a_few_senders_are_busy() {
        let messages: Vec<_> = Generator::new(1, anchor()).take(1000).collect();
        let ids: HashSet<_> = messages.iter().map(|m| &m.message_id).collect();
        assert_eq!(ids.len(), 1000);
        let mut per_sender: HashMap<&str, usize> = HashMap::new();
        for message in &messages {
            *per_sender.entry(&message.from).or_default() += 1;
        }
        let busiest = per_sender.values().max().copied().unwrap_or_default();
        assert!(per_sender.len() > 20, "{}", per_sender.len());
        assert!(busiest > 100, "{busiest}");
        let texts: HashSet<_> = messages.iter().map(|m| &m.text).collect();
        assert!(texts.len() > 100);
        assert!(messages.iter().any(|m| m.text.is_none()));
        assert!(messages.iter().any(|m| m.ts.contains('.')));
    }
}
