//! `timestamp::parse_instant` (the `since` filter) and `parse_strict_utc` (a message `ts`) with
//! arbitrary text: they never panic, a strict timestamp is also an instant (the same one) and
//! has a key, and every instant has a key bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_receiver::timestamp::{KeyBound, instant_key, parse_instant, parse_strict_utc};

fuzz_target!(|text: &str| {
    if let Some(strict) = parse_strict_utc(text) {
        assert_eq!(parse_instant(text), Some(strict));
        assert!(matches!(instant_key(&strict), KeyBound::Key(_)));
    }
    if let Some(instant) = parse_instant(text) {
        let _ = instant_key(&instant);
    }
});
