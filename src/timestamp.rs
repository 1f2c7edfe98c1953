//! Timestamps: the strict form a message's `ts` must have, the lenient form `since` accepts,
//! and the sortable key under which the store orders and filters instants.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};

/// Parses a message `ts`: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, upper-case `T` and `Z`, UTC only,
/// a real calendar date and time (no leap second). `None` for anything else.
pub fn parse_strict_utc(ts: &str) -> Option<DateTime<Utc>> {
    let bytes = ts.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes.iter().enumerate().take(19).all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
        && bytes.last() == Some(&b'Z')
        && match &bytes[19..bytes.len() - 1] {
            [] => true,
            [b'.', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
            _ => false,
        };
    if !shape_ok {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(ts).ok()?;
    // chrono represents a leap second as a nanosecond count past one second; we refuse it.
    (parsed.timestamp_subsec_nanos() < 1_000_000_000).then(|| parsed.with_timezone(&Utc))
}

/// Parses a `since` filter: any RFC 3339 instant, `Z` or a numeric offset, fraction optional.
///
/// A query string decodes an unencoded `+` to a space, so `…T09:30:00 05:30` is read as
/// `…T09:30:00+05:30`.
pub fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let parsed = DateTime::parse_from_rfc3339(value).ok().or_else(|| {
        let space = value.rfind(' ').filter(|&at| at > 10)?;
        let mut repaired = value.to_string();
        repaired.replace_range(space..=space, "+");
        DateTime::parse_from_rfc3339(&repaired).ok()
    })?;
    Some(parsed.with_timezone(&Utc))
}

/// Where an instant falls relative to the range of keys the store can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBound {
    /// Before year 0: every stored instant is later.
    BeforeAll,
    /// A key to compare with.
    Key(String),
    /// After year 9999: no stored instant is later.
    AfterAll,
}

/// The sortable key of an instant: UTC, nanoseconds, fixed width, so that comparing keys as
/// text compares instants. Message timestamps have four-digit years, so they always have a key.
pub fn instant_key(instant: &DateTime<Utc>) -> KeyBound {
    match instant.year() {
        ..0 => KeyBound::BeforeAll,
        10000.. => KeyBound::AfterAll,
        _ => KeyBound::Key(instant.to_rfc3339_opts(SecondsFormat::Nanos, true)),
    }
}

/// The current server time, ISO-8601 UTC with milliseconds, as stored in `created_at`.
pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Property-test strategies shared by the modules that take timestamps.
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    /// Year, month, day, hour, minute, second and fraction digits of a `ts`.
    pub type TsParts = (i32, u32, u32, u32, u32, u32, Option<String>);

    /// The parts of a valid message `ts`: a real calendar date and time in years 0000 to 9999,
    /// and no fraction or 1 to 9 fraction digits.
    pub fn ts_parts() -> impl Strategy<Value = TsParts> {
        (
            0..=9999i32,
            1..=12u32,
            1..=31u32,
            0..=23u32,
            0..=59u32,
            0..=59u32,
            proptest::option::of("[0-9]{1,9}"),
        )
            .prop_filter("a real calendar date", |&(y, mo, d, ..)| {
                chrono::NaiveDate::from_ymd_opt(y, mo, d).is_some()
            })
    }

    /// The string of [`ts_parts`].
    pub fn ts_string(parts: &TsParts) -> String {
        let (y, mo, d, h, mi, s, fraction) = parts;
        let fraction = fraction
            .as_ref()
            .map(|f| format!(".{f}"))
            .unwrap_or_default();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}Z")
    }

    /// A valid message `ts`.
    pub fn valid_ts() -> impl Strategy<Value = String> {
        ts_parts().prop_map(|parts| ts_string(&parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_accepts_whole_and_fractional_seconds_in_utc() {
        for ts in [
            "2025-01-15T10:00:00Z",
            "2025-01-15T10:00:00.5Z",
            "2025-01-15T10:00:00.123456789Z",
            "2024-02-29T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ] {
            assert!(parse_strict_utc(ts).is_some(), "{ts}");
        }
    }

    #[test]
    fn strict_rejects_offsets_lower_case_spaces_dates_and_impossible_times() {
        for ts in [
            "2025-01-15T10:00:00+00:00",
            "2025-01-15T10:00:00z",
            "2025-01-15t10:00:00Z",
            "2025-01-15 10:00:00Z",
            "2025-01-15",
            "2025-01-15T10:00Z",
            "2025-01-15T10:00:00.Z",
            "2025-02-30T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2025-01-15T24:00:00Z",
            "2025-12-31T23:59:60Z",
            "2025-01-15T10:00:00ZZ",
            " 2025-01-15T10:00:00Z",
            "",
        ] {
            assert!(parse_strict_utc(ts).is_none(), "{ts}");
        }
    }

    #[test]
    fn keys_sort_as_instants() {
        let key = |ts: &str| instant_key(&parse_strict_utc(ts).unwrap());
        let ordered = [
            "2025-01-15T09:59:59.999999999Z",
            "2025-01-15T10:00:00Z",
            "2025-01-15T10:00:00.000000001Z",
            "2025-01-15T10:00:00.5Z",
            "2025-01-15T10:00:01Z",
        ];
        for pair in ordered.windows(2) {
            let (KeyBound::Key(a), KeyBound::Key(b)) = (key(pair[0]), key(pair[1])) else {
                panic!("four-digit years have keys")
            };
            assert!(a < b, "{a} < {b}");
        }
    }

    #[test]
    fn instants_accept_offsets_and_a_decoded_plus() {
        let expected = parse_strict_utc("2025-01-15T04:00:00Z").unwrap();
        assert_eq!(parse_instant("2025-01-15T09:30:00+05:30"), Some(expected));
        assert_eq!(parse_instant("2025-01-15T09:30:00 05:30"), Some(expected));
        assert_eq!(parse_instant("2025-01-15T04:00:00Z"), Some(expected));
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn instants_outside_four_digit_years_bound_every_key() {
        let early = parse_instant("0000-01-01T00:00:00+01:00").unwrap();
        assert_eq!(instant_key(&early), KeyBound::BeforeAll);
        let late = parse_instant("9999-12-31T23:59:59-01:00").unwrap();
        assert_eq!(instant_key(&late), KeyBound::AfterAll);
    }

    mod properties {
        use std::cmp::Ordering;

        use proptest::prelude::*;

        use super::super::strategies::{TsParts as Parts, ts_parts, ts_string};
        use super::*;

        fn key(ts: &str) -> String {
            match instant_key(&parse_strict_utc(ts).expect("a valid ts parses")) {
                KeyBound::Key(key) => key,
                other => panic!("{ts} has no key: {other:?}"),
            }
        }

        /// The instant of a ts computed from its digits alone, without chrono: the fields in
        /// order of weight, the fraction as nanoseconds.
        fn by_hand(parts: &Parts) -> (i32, u32, u32, u32, u32, u32, u32) {
            let (y, mo, d, h, mi, s, fraction) = parts.clone();
            let nanos = fraction.map_or(0, |f| format!("{f:0<9}").parse().unwrap());
            (y, mo, d, h, mi, s, nanos)
        }

        /// Pairs that are often close: the second shares the first's date and time with
        /// probability one half, so fractions (`.5` against `.500000001`, `.5` against
        /// `.500`) and equal instants are compared as often as distant ones.
        fn pairs() -> impl Strategy<Value = (Parts, Parts)> {
            (ts_parts(), ts_parts(), any::<bool>()).prop_map(|(a, mut b, close)| {
                if close {
                    b = (a.0, a.1, a.2, a.3, a.4, a.5, b.6);
                }
                (a, b)
            })
        }

        proptest! {
            #![proptest_config(crate::testing::proptest_config(1000))]

            #[test]
            fn ordering_by_the_stored_key_equals_ordering_by_the_parsed_instant(
                (a, b) in pairs()
            ) {
                let (ts_a, ts_b) = (ts_string(&a), ts_string(&b));
                let by_instant = parse_strict_utc(&ts_a).cmp(&parse_strict_utc(&ts_b));
                prop_assert_eq!(key(&ts_a).cmp(&key(&ts_b)), by_instant, "{} vs {}", ts_a, ts_b);
                prop_assert_eq!(by_hand(&a).cmp(&by_hand(&b)), by_instant, "{} vs {}", ts_a, ts_b);
                if by_instant == Ordering::Equal {
                    prop_assert_eq!(key(&ts_a), key(&ts_b));
                }
            }

            #[test]
            fn every_valid_ts_parses_as_an_instant_too(parts in ts_parts()) {
                let ts = ts_string(&parts);
                prop_assert_eq!(parse_instant(&ts), parse_strict_utc(&ts));
            }

            #[test]
            fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
                let _ = parse_strict_utc(&text);
                if let Some(instant) = parse_instant(&text) {
                    let _ = instant_key(&instant);
                }
            }
        }
    }
}
