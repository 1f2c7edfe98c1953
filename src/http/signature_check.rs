//! Which signature scheme judges a `POST /webhook`, chosen from its headers alone, and its
//! verdict. The handler calls [`SignatureCheck::judge`] on the raw body before parsing any of it.
//!
//! - `X-Signature` present, or else `X-Hub-Signature-256`: the hex scheme, exactly as before
//!   Standard Webhooks were read.
//! - Else `webhook-signature`, or else `svix-signature`: Standard Webhooks, with the id and
//!   timestamp headers of the same family (a `webhook-id` never pairs with a `svix-signature`).
//! - Neither: the hex scheme, its signature missing.
//!
//! Headers of the scheme not chosen are ignored. A header the chosen scheme reads that appears
//! more than once refuses the request, whatever its values: a verifier that read only the first
//! value would accept "right, wrong" and refuse "wrong, right", so the order of the lines, which a
//! proxy may change, would decide.

use axum::http::{HeaderMap, HeaderValue};

use super::headers::{RepeatedHeader, single_header};
use super::outcome::{SignatureRejection, SignatureScheme, SignatureVerdict};
use super::settings::Settings;
use crate::signature::{Verifier, standard};
use crate::wire::{
    HUB_SIGNATURE_HEADER, SIGNATURE_HEADER, STANDARD_ID_HEADER, STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER, SVIX_ID_HEADER, SVIX_SIGNATURE_HEADER, SVIX_TIMESTAMP_HEADER,
};

/// The hex scheme's headers, in the order they are looked for.
const HEX_HEADERS: [&str; 2] = [SIGNATURE_HEADER, HUB_SIGNATURE_HEADER];

/// The names of one family of Standard Webhooks headers.
struct StandardHeaders {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

/// The Standard Webhooks families, in the order they are looked for: the spec's own names first.
const STANDARD_FAMILIES: [StandardHeaders; 2] = [
    StandardHeaders {
        id: STANDARD_ID_HEADER,
        timestamp: STANDARD_TIMESTAMP_HEADER,
        signature: STANDARD_SIGNATURE_HEADER,
    },
    StandardHeaders {
        id: SVIX_ID_HEADER,
        timestamp: SVIX_TIMESTAMP_HEADER,
        signature: SVIX_SIGNATURE_HEADER,
    },
];

/// Both schemes' verifiers, keyed once at start-up with the current and the previous secret.
pub struct SignatureCheck {
    hex: Verifier,
    standard: standard::Verifier,
}

impl SignatureCheck {
    pub fn new(settings: &Settings) -> Self {
        let previous = settings.previous_secret.as_ref();
        Self {
            hex: Verifier::new(
                settings.secret.as_bytes(),
                previous.map(|secret| secret.as_bytes()),
            ),
            standard: standard::Verifier::new(
                settings.secret.as_str(),
                previous.map(|secret| secret.as_str()),
                settings.timestamp_tolerance.as_secs(),
            ),
        }
    }

    /// Chooses the scheme from `headers` and judges whether they sign `body`; `now` is the
    /// server's clock in Unix seconds, for Standard Webhooks' timestamps.
    pub fn judge(&self, headers: &HeaderMap, body: &[u8], now: i64) -> SignatureVerdict {
        let hex = HEX_HEADERS
            .into_iter()
            .find(|name| headers.contains_key(*name));
        let standard = || {
            STANDARD_FAMILIES
                .iter()
                .find(|family| headers.contains_key(family.signature))
        };
        let (scheme, verdict) = if let Some(name) = hex {
            (SignatureScheme::Hex, self.judge_hex(headers, name, body))
        } else if let Some(family) = standard() {
            let verdict = self.judge_standard(headers, family, body, now);
            (SignatureScheme::Standard, verdict)
        } else {
            (
                SignatureScheme::Hex,
                Err(SignatureRejection::MissingSignature),
            )
        };
        SignatureVerdict {
            scheme,
            rejection: verdict.err(),
        }
    }

    fn judge_hex(
        &self,
        headers: &HeaderMap,
        name: &str,
        body: &[u8],
    ) -> Result<(), SignatureRejection> {
        let signature = single_value(headers, name)?.map_or(&[][..], HeaderValue::as_bytes);
        if signature.trim_ascii().is_empty() {
            return Err(SignatureRejection::MissingSignature);
        }
        if self.hex.verify(signature, body) {
            Ok(())
        } else {
            Err(SignatureRejection::InvalidSignature)
        }
    }

    fn judge_standard(
        &self,
        headers: &HeaderMap,
        family: &StandardHeaders,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureRejection> {
        let signature = single_value(headers, family.signature)?;
        let id = single_value(headers, family.id)?;
        let timestamp = single_value(headers, family.timestamp)?;
        let received = standard::Headers {
            id: id.map(HeaderValue::as_bytes),
            timestamp: timestamp.map(HeaderValue::as_bytes),
            signature: signature.map_or(&[][..], HeaderValue::as_bytes),
        };
        self.standard
            .verify(received, body, now)
            .map_err(SignatureRejection::Standard)
    }
}

/// The one value of the header `name` (`None` when it is absent); two or more are refused.
fn single_value<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a HeaderValue>, SignatureRejection> {
    single_header(headers, name)
        .map_err(|RepeatedHeader| SignatureRejection::MultipleSignatureHeaders)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderName;

    use super::*;
    use crate::http::WebhookSecret;
    use crate::signature::sign;
    use crate::signature::standard::Rejection;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const BODY: &[u8] = br#"{"message_id":"m1"}"#;
    const NOW: i64 = 1_700_000_000;

    fn check() -> SignatureCheck {
        SignatureCheck::new(&Settings::new(WebhookSecret::new(SECRET).unwrap()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn judge(pairs: &[(&'static str, &str)]) -> (SignatureScheme, Option<&'static str>) {
        let verdict = check().judge(&headers(pairs), BODY, NOW);
        (
            verdict.scheme,
            verdict.rejection.map(SignatureRejection::as_str),
        )
    }

    fn hex() -> String {
        // `X-Signature` keys with the secret as given, `whsec_` or not.
        sign(SECRET.as_bytes(), BODY)
    }

    fn standard() -> String {
        standard::sign(SECRET, "msg_1", NOW, BODY)
    }

    #[test]
    fn no_signature_header_is_the_hex_scheme_missing() {
        assert_eq!(
            judge(&[("webhook-id", "msg_1")]),
            (SignatureScheme::Hex, Some("missing_signature"))
        );
        assert_eq!(
            judge(&[("x-signature", " ")]),
            (SignatureScheme::Hex, Some("missing_signature"))
        );
    }

    #[test]
    fn a_hex_header_chooses_the_hex_scheme_even_beside_valid_standard_headers() {
        let ts = NOW.to_string();
        let standard = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", &standard()),
        ];
        assert_eq!(judge(&standard), (SignatureScheme::Standard, None));
        let mut with_hex = standard.to_vec();
        with_hex.push(("x-hub-signature-256", "00"));
        assert_eq!(
            judge(&with_hex),
            (SignatureScheme::Hex, Some("invalid_signature"))
        );
    }

    #[test]
    fn standard_headers_come_from_one_family_webhook_first() {
        let ts = NOW.to_string();
        let svix = [
            ("svix-id", "msg_1"),
            ("svix-timestamp", ts.as_str()),
            ("svix-signature", &standard()),
        ];
        assert_eq!(judge(&svix), (SignatureScheme::Standard, None));
        // A `webhook-signature` is judged with `webhook-id`, never with `svix-id`.
        let mixed = [
            ("svix-id", "msg_1"),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", &standard()),
        ];
        assert_eq!(
            judge(&mixed),
            (
                SignatureScheme::Standard,
                Some(Rejection::MissingId.as_str())
            )
        );
        let mut both = svix.to_vec();
        both.push(("webhook-signature", "v1,AAAA"));
        assert_eq!(
            judge(&both),
            (
                SignatureScheme::Standard,
                Some(Rejection::MissingId.as_str())
            )
        );
    }

    #[test]
    fn a_judged_header_sent_twice_is_refused_in_either_order() {
        let (right, ts) = (hex(), NOW.to_string());
        for name in ["x-signature", "x-hub-signature-256"] {
            for pair in [[right.as_str(), "00"], ["00", right.as_str()]] {
                assert_eq!(
                    judge(&[(name, pair[0]), (name, pair[1])]),
                    (SignatureScheme::Hex, Some("multiple_signature_headers")),
                    "{name}: {pair:?}"
                );
            }
        }
        let right = standard();
        let valid = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", right.as_str()),
        ];
        let mut twice: Vec<Vec<(&'static str, &str)>> = Vec::new();
        for pair in [[right.as_str(), "v1,AAAA"], ["v1,AAAA", right.as_str()]] {
            let mut pairs = valid[..2].to_vec();
            pairs.extend(pair.map(|value| ("webhook-signature", value)));
            twice.push(pairs);
        }
        for repeated in valid {
            // Even the same value twice.
            let mut pairs = valid.to_vec();
            pairs.push(repeated);
            twice.push(pairs);
        }
        for pairs in twice {
            assert_eq!(
                judge(&pairs),
                (
                    SignatureScheme::Standard,
                    Some("multiple_signature_headers")
                ),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn headers_of_the_scheme_not_chosen_may_repeat() {
        let right = hex();
        let pairs = [
            ("x-signature", right.as_str()),
            ("x-hub-signature-256", "00"),
            ("x-hub-signature-256", "11"),
            ("webhook-signature", "v1,AAAA"),
            ("webhook-signature", "v1,BBBB"),
        ];
        assert_eq!(judge(&pairs), (SignatureScheme::Hex, None));
    }
}
