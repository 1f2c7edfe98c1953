//! Standard Webhooks signatures (standardwebhooks.com, spec v1), as Svix-powered and other
//! providers send them: computing them (`app sign`, `app send`) and verifying them
//! (`POST /webhook`). Pure code, no I/O: the caller passes the clock.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`, HMAC-SHA256; the
//! `webhook-signature` header holds space-separated `v1,<base64>` entries, and any `v1` entry that
//! matches passes. A `whsec_<base64>` secret is base64-decoded to the key; any other secret is its
//! UTF-8 bytes.
//!
//! Written here rather than taken from the reference crate (`standardwebhooks` 1.0): that one
//! has a fixed five-minute tolerance, no previous key for rotations, no reason for a rejection,
//! and a second base64 and HMAC stack beside the ones this crate already uses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a secret given in the spec's serialized form.
pub const SECRET_PREFIX: &str = "whsec_";
/// The only signature version this spec defines; entries of other versions are ignored.
const VERSION: &[u8] = b"v1";
/// A SHA-256 MAC is 32 bytes; any other decoded length is refused before comparing.
const MAC_BYTES: usize = 32;

/// Why a request's Standard Webhooks headers did not verify. Logged (`reason`), never answered:
/// a sender gets the same 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `webhook-id` is missing or empty.
    MissingId,
    /// `webhook-timestamp` is missing or empty.
    MissingTimestamp,
    /// The timestamp is not integer Unix seconds.
    InvalidTimestamp,
    /// The timestamp is further in the past than the tolerance: a replay, or a very late retry.
    TimestampTooOld,
    /// The timestamp is further in the future than the tolerance.
    TimestampTooNew,
    /// No `v1` entry matches under any key (wrong key, altered body or id, truncated or malformed
    /// entries, or only entries of other versions).
    NoMatchingSignature,
}

impl Rejection {
    /// The value of the log line's `reason` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingId => "missing_webhook_id",
            Self::MissingTimestamp => "missing_webhook_timestamp",
            Self::InvalidTimestamp => "invalid_webhook_timestamp",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::TimestampTooNew => "timestamp_too_new",
            Self::NoMatchingSignature => "no_matching_signature",
        }
    }
}

/// The HMAC key a secret stands for: a `whsec_<base64>` secret decoded, any other its bytes.
/// A `whsec_` secret whose rest is not base64 is taken as it is, like any other string.
pub fn key_from_secret(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value for a delivery: `v1,<base64 HMAC-SHA256>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = keyed(&key_from_secret(secret));
    update(
        &mut mac,
        id.as_bytes(),
        timestamp.to_string().as_bytes(),
        body,
    );
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The three headers of one delivery, as received (bytes: header values need not be UTF-8).
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub id: Option<&'a [u8]>,
    pub timestamp: Option<&'a [u8]>,
    pub signature: &'a [u8],
}

/// Checks Standard Webhooks signatures against the current secret and, during a rotation, the
/// previous one, within a timestamp tolerance.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<HmacSha256>,
    tolerance_secs: i64,
}

impl Verifier {
    /// A verifier for `current` and, when given and non-empty, `previous` (each a `whsec_` or
    /// plain secret), accepting timestamps at most `tolerance_secs` away from the clock.
    pub fn new(current: &str, previous: Option<&str>, tolerance_secs: u64) -> Self {
        let keys = std::iter::once(current)
            .chain(previous.filter(|secret| !secret.is_empty()))
            .map(|secret| keyed(&key_from_secret(secret)))
            .collect();
        Self {
            keys,
            tolerance_secs: i64::try_from(tolerance_secs).unwrap_or(i64::MAX),
        }
    }

    /// `Ok` when `headers` sign `body` under one of the keys, at a timestamp within the tolerance
    /// of `now` (Unix seconds). Every comparison of MACs runs in constant time.
    pub fn verify(&self, headers: Headers<'_>, body: &[u8], now: i64) -> Result<(), Rejection> {
        let id = present(headers.id).ok_or(Rejection::MissingId)?;
        let timestamp = present(headers.timestamp).ok_or(Rejection::MissingTimestamp)?;
        let sent = parse_timestamp(timestamp).ok_or(Rejection::InvalidTimestamp)?;
        if now.saturating_sub(sent) > self.tolerance_secs {
            return Err(Rejection::TimestampTooOld);
        }
        if sent.saturating_sub(now) > self.tolerance_secs {
            return Err(Rejection::TimestampTooNew);
        }
        let candidates: Vec<[u8; MAC_BYTES]> = headers
            .signature
            .split(u8::is_ascii_whitespace)
            .filter_map(v1_mac)
            .collect();
        let matched = self.keys.iter().any(|key| {
            let mut mac = key.clone();
            update(&mut mac, id, timestamp, body);
            // `verify_slice` compares in constant time.
            candidates
                .iter()
                .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        });
        if matched {
            Ok(())
        } else {
            Err(Rejection::NoMatchingSignature)
        }
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Feeds the signed content `{id}.{timestamp}.{body}`.
fn update(mac: &mut HmacSha256, id: &[u8], timestamp: &[u8], body: &[u8]) {
    mac.update(id);
    mac.update(b".");
    mac.update(timestamp);
    mac.update(b".");
    mac.update(body);
}

fn present(value: Option<&[u8]>) -> Option<&[u8]> {
    value.filter(|value| !value.is_empty())
}

/// Integer Unix seconds: ASCII digits only (no sign, no fraction, no spaces), as the spec sends.
fn parse_timestamp(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// The MAC of a `v1,<base64>` entry; `None` for another version, a malformed entry, or a
/// decoded length other than a whole SHA-256 MAC (a truncated signature never matches).
fn v1_mac(entry: &[u8]) -> Option<[u8; MAC_BYTES]> {
    let comma = entry.iter().position(|&byte| byte == b',')?;
    let (version, encoded) = (&entry[..comma], &entry[comma + 1..]);
    if version != VERSION {
        return None;
    }
    let decoded = BASE64.decode(encoded).ok()?;
    decoded.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vector published with the spec.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn verify(id: &str, timestamp: &str, signature: &str, now: i64) -> Result<(), Rejection> {
        Verifier::new(SECRET, None, 300).verify(
            Headers {
                id: Some(id.as_bytes()),
                timestamp: Some(timestamp.as_bytes()),
                signature: signature.as_bytes(),
            },
            BODY,
            now,
        )
    }

    fn verify_now(signature: &str) -> Result<(), Rejection> {
        verify(ID, &TIMESTAMP.to_string(), signature, TIMESTAMP)
    }

    #[test]
    fn sign_matches_the_specs_published_vector() {
        assert_eq!(sign(SECRET, ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn the_published_vector_verifies() {
        assert_eq!(verify_now(SIGNATURE), Ok(()));
    }

    #[test]
    fn a_whsec_secret_is_decoded_and_any_other_is_its_bytes() {
        assert_eq!(key_from_secret("whsec_dGVzdA=="), b"test");
        assert_eq!(key_from_secret("testsecret"), b"testsecret");
        // Not base64 after the prefix: the whole string is the key.
        assert_eq!(key_from_secret("whsec_not base64!"), b"whsec_not base64!");
    }

    #[test]
    fn any_matching_v1_entry_passes_even_last() {
        let wrong = sign("whsec_dGVzdA==", ID, TIMESTAMP, BODY);
        let entries = format!("v2,abc {wrong} v1,AAAA {SIGNATURE}");
        assert_eq!(verify_now(&entries), Ok(()));
    }

    #[test]
    fn an_empty_v1_entry_fails() {
        assert_eq!(verify_now("v1,"), Err(Rejection::NoMatchingSignature));
        assert_eq!(verify_now("v1"), Err(Rejection::NoMatchingSignature));
        assert_eq!(verify_now(""), Err(Rejection::NoMatchingSignature));
    }

    #[test]
    fn a_truncated_signature_fails() {
        // A verifier that compared only the shorter length would accept these.
        for cut in [4, 8, 20, 40] {
            let truncated = &SIGNATURE[..SIGNATURE.len() - cut];
            assert_eq!(
                verify_now(truncated),
                Err(Rejection::NoMatchingSignature),
                "{truncated}"
            );
        }
        let unpadded = SIGNATURE.trim_end_matches('=');
        assert_eq!(verify_now(unpadded), Err(Rejection::NoMatchingSignature));
    }

    #[test]
    fn entries_of_another_version_are_ignored() {
        let v2 = SIGNATURE.replacen("v1,", "v2,", 1);
        assert_eq!(verify_now(&v2), Err(Rejection::NoMatchingSignature));
        let v1a = SIGNATURE.replacen("v1,", "v1a,", 1);
        assert_eq!(verify_now(&v1a), Err(Rejection::NoMatchingSignature));
    }

    #[test]
    fn a_signature_made_for_another_id_or_timestamp_fails() {
        let other_id = sign(SECRET, "msg_other", TIMESTAMP, BODY);
        assert_eq!(verify_now(&other_id), Err(Rejection::NoMatchingSignature));
        let other_time = sign(SECRET, ID, TIMESTAMP + 1, BODY);
        assert_eq!(verify_now(&other_time), Err(Rejection::NoMatchingSignature));
    }

    #[test]
    fn stale_and_future_timestamps_fail_outside_the_tolerance() {
        let ts = TIMESTAMP.to_string();
        assert_eq!(verify(ID, &ts, SIGNATURE, TIMESTAMP + 300), Ok(()));
        assert_eq!(verify(ID, &ts, SIGNATURE, TIMESTAMP - 300), Ok(()));
        assert_eq!(
            verify(ID, &ts, SIGNATURE, TIMESTAMP + 301),
            Err(Rejection::TimestampTooOld)
        );
        assert_eq!(
            verify(ID, &ts, SIGNATURE, TIMESTAMP - 301),
            Err(Rejection::TimestampTooNew)
        );
    }

    #[test]
    fn a_non_integer_timestamp_fails() {
        for timestamp in [
            "1649367553.0",
            "-1649367553",
            "+1649367553",
            " 1649367553",
            "1e9",
            "x",
        ] {
            assert_eq!(
                verify(ID, timestamp, SIGNATURE, TIMESTAMP),
                Err(Rejection::InvalidTimestamp),
                "{timestamp}"
            );
        }
        assert_eq!(
            verify(ID, "99999999999999999999", SIGNATURE, TIMESTAMP),
            Err(Rejection::InvalidTimestamp)
        );
    }

    #[test]
    fn missing_or_empty_id_and_timestamp_fail_with_their_reason() {
        let verifier = Verifier::new(SECRET, None, 300);
        let headers = |id: Option<&'static [u8]>, timestamp: Option<&'static [u8]>| Headers {
            id,
            timestamp,
            signature: SIGNATURE.as_bytes(),
        };
        let ts = b"1649367553".as_slice();
        assert_eq!(
            verifier.verify(headers(None, Some(ts)), BODY, TIMESTAMP),
            Err(Rejection::MissingId)
        );
        assert_eq!(
            verifier.verify(headers(Some(b""), Some(ts)), BODY, TIMESTAMP),
            Err(Rejection::MissingId)
        );
        assert_eq!(
            verifier.verify(
                headers(Some(b"msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"), None),
                BODY,
                TIMESTAMP
            ),
            Err(Rejection::MissingTimestamp)
        );
    }

    #[test]
    fn the_previous_secret_verifies_during_a_rotation() {
        let rotated = Verifier::new("whsec_bmV3IGtleQ==", Some(SECRET), 300);
        let headers = Headers {
            id: Some(ID.as_bytes()),
            timestamp: Some(b"1649367553"),
            signature: SIGNATURE.as_bytes(),
        };
        assert_eq!(rotated.verify(headers, BODY, TIMESTAMP), Ok(()));
        let without = Verifier::new("whsec_bmV3IGtleQ==", Some(""), 300);
        assert_eq!(
            without.verify(headers, BODY, TIMESTAMP),
            Err(Rejection::NoMatchingSignature)
        );
    }

    #[test]
    fn a_plain_secret_signs_with_its_bytes() {
        let signature = sign("testsecret", ID, TIMESTAMP, BODY);
        let verifier = Verifier::new("testsecret", None, 300);
        let headers = Headers {
            id: Some(ID.as_bytes()),
            timestamp: Some(b"1649367553"),
            signature: signature.as_bytes(),
        };
        assert_eq!(verifier.verify(headers, BODY, TIMESTAMP), Ok(()));
    }
}
