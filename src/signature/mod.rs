//! HMAC-SHA256 request signatures: computing them (`app sign`, `app send`) and verifying them
//! (`POST /webhook`, `POST /webhook/whatsapp`). Pure code, no I/O.
//!
//! This file is the hex scheme: `X-Signature` (and `X-Hub-Signature-256`, as GitHub and Meta
//! send it) over the raw body. [`standard`] is the Standard Webhooks scheme.

pub mod standard;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The lower-case hex HMAC-SHA256 of `body` keyed with `secret`: the value of `X-Signature`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks signatures against the current secret and, during a rotation, the previous one.
///
/// The keyed HMAC states are built once; each check clones one, which skips re-hashing the key.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<HmacSha256>,
}

impl Verifier {
    /// A verifier accepting `current` and, when given and non-empty, `previous`.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        let keys = std::iter::once(current)
            .chain(previous.filter(|key| !key.is_empty()))
            .map(|key| HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length"))
            .collect();
        Self { keys }
    }

    /// True when `header` (the `X-Signature` value) is the HMAC of `body` under one of the keys.
    ///
    /// The header is hex, either case, optionally prefixed `sha256=` as GitHub and Meta send it.
    /// The comparison runs in constant time on the decoded bytes.
    pub fn verify(&self, header: &[u8], body: &[u8]) -> bool {
        let Some(expected) = decode_header(header) else {
            return false;
        };
        self.keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
    }
}

/// The 32 signature bytes of a header value, or `None` when it is not a hex SHA-256 digest.
fn decode_header(header: &[u8]) -> Option<[u8; 32]> {
    let header = header.trim_ascii();
    let hex_digits = match header.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"sha256=") => &header[7..],
        _ => header,
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's published example for X-Hub-Signature-256.
    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_BODY: &[u8] = b"Hello, World!";
    const GITHUB_HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn sign_matches_githubs_published_vector() {
        assert_eq!(sign(GITHUB_SECRET, GITHUB_BODY), GITHUB_HEX);
    }

    #[test]
    fn verify_accepts_lower_upper_and_prefixed_hex() {
        let verifier = Verifier::new(GITHUB_SECRET, None);
        for header in [
            GITHUB_HEX.to_string(),
            GITHUB_HEX.to_uppercase(),
            format!("sha256={GITHUB_HEX}"),
            format!("SHA256={GITHUB_HEX}"),
            format!(" {GITHUB_HEX} "),
        ] {
            assert!(verifier.verify(header.as_bytes(), GITHUB_BODY), "{header}");
        }
    }

    #[test]
    fn verify_rejects_wrong_truncated_non_hex_and_empty_signatures() {
        let verifier = Verifier::new(GITHUB_SECRET, None);
        let wrong_key = sign(b"another secret", GITHUB_BODY);
        for header in [
            "",
            "123",
            &GITHUB_HEX[..62],
            &wrong_key,
            &GITHUB_HEX.replace('7', "g"),
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            assert!(!verifier.verify(header.as_bytes(), GITHUB_BODY), "{header}");
        }
        assert!(!verifier.verify(GITHUB_HEX.as_bytes(), b"Hello, World?"));
    }

    #[test]
    fn verify_accepts_the_previous_secret_during_a_rotation() {
        let verifier = Verifier::new(b"new", Some(GITHUB_SECRET));
        assert!(verifier.verify(GITHUB_HEX.as_bytes(), GITHUB_BODY));
        assert!(!Verifier::new(b"new", Some(b"")).verify(GITHUB_HEX.as_bytes(), GITHUB_BODY));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(any::<u8>(), 0..=max)
        }

        proptest! {
            #![proptest_config(crate::testing::proptest_config(256))]

            #[test]
            fn a_signature_always_verifies_in_every_accepted_spelling(
                secret in bytes(80), body in bytes(1024)
            ) {
                let verifier = Verifier::new(&secret, None);
                let signature = sign(&secret, &body);
                for header in [
                    signature.clone(),
                    signature.to_uppercase(),
                    format!("sha256={signature}"),
                ] {
                    prop_assert!(verifier.verify(header.as_bytes(), &body));
                }
            }

            #[test]
            fn any_single_byte_change_of_the_body_fails_verification(
                secret in bytes(80),
                body in proptest::collection::vec(any::<u8>(), 1..=1024),
                at in any::<prop::sample::Index>(),
                flip in 1..=255u8,
            ) {
                let verifier = Verifier::new(&secret, None);
                let signature = sign(&secret, &body);
                let mut changed = body.clone();
                changed[at.index(body.len())] ^= flip;
                prop_assert!(!verifier.verify(signature.as_bytes(), &changed));
            }

            #[test]
            fn a_signature_under_another_secret_fails(
                secret in bytes(80), other in bytes(80), body in bytes(256)
            ) {
                // HMAC pads short keys with zero bytes, so a key and the same key followed by zero
                // bytes are one key (an environment variable cannot hold a NUL, so secrets cannot).
                let unpadded = |key: &[u8]| key.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                prop_assume!(secret[..unpadded(&secret)] != other[..unpadded(&other)]);
                let verifier = Verifier::new(&secret, None);
                prop_assert!(!verifier.verify(sign(&other, &body).as_bytes(), &body));
            }

            #[test]
            fn verify_never_panics_on_arbitrary_headers(header in bytes(200), body in bytes(64)) {
                let _ = Verifier::new(b"secret", Some(b"previous")).verify(&header, &body);
            }
        }
    }
}
