//! What the HTTP layer is configured with, typed: `app serve` turns its arguments into
//! [`Settings`] once, and [`super::AppState::new`] builds the state from them, so that nothing
//! adjusts the state afterwards.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Default `POST /webhook` body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default time a request may take, its headers arriving included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on the webhook deliveries handled at once (read, verified, waiting for the
/// writer); one more is answered 503 before its body is read. It is the writer's largest batch:
/// more waiting would not make commits bigger, only hold more requests in memory. A sender's
/// ordinary concurrency (32 to 128 connections) never reaches it.
pub const DEFAULT_MAX_WEBHOOKS_IN_FLIGHT: usize = 512;
/// Default distance from the server's clock a Standard Webhooks `webhook-timestamp` may have,
/// in either direction: the spec's recommended five minutes.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);
/// The tolerances `app serve` accepts, in seconds: at least a second (zero would refuse a
/// delivery signed a moment ago), at most a day (beyond that, replay protection means little).
pub const TIMESTAMP_TOLERANCE_SECS: RangeInclusive<u64> = 1..=86_400;

/// An HMAC key (`X-Signature`'s and Standard Webhooks' — decoded first when it is a `whsec_`
/// secret —, or the WhatsApp app secret): never empty, because an empty key would make every
/// signature computable by anyone (`app serve` refuses to start without `X-Signature`'s). Never
/// printed.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// The secret, or `None` when it is empty.
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let secret = secret.into();
        (!secret.is_empty()).then_some(Self(secret))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A token a caller presents and the server compares: Meta's `hub.verify_token` in the
/// subscription handshake (`WHATSAPP_VERIFY_TOKEN`), or a reader's `Authorization: Bearer`
/// (`READ_TOKEN` for `/messages` and `/stats`, `METRICS_TOKEN` for `/metrics`). Never empty, as
/// an empty one would let anyone in. Never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// The token, or `None` when it is empty.
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        (!token.is_empty()).then_some(Self(token))
    }

    /// True when `given` is the token, compared in constant time (see `same_token`).
    pub fn matches(&self, given: &str) -> bool {
        same_token(&self.0, given)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Whether `given` is `expected`. Both are hashed first and the digests compared in constant
/// time, so the time taken tells neither where they differ nor the token's length.
fn same_token(expected: &str, given: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let expected = Sha256::digest(expected.as_bytes());
    Sha256::digest(given.as_bytes()).ct_eq(&expected).into()
}

/// Everything the server is configured with, as the server uses it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The key senders sign with.
    pub secret: WebhookSecret,
    /// A second key accepted during a rotation.
    pub previous_secret: Option<WebhookSecret>,
    /// How far a Standard Webhooks timestamp may be from the server's clock, either way: older
    /// deliveries are refused as replays.
    pub timestamp_tolerance: Duration,
    /// The key of `X-Hub-Signature-256` on `POST /webhook/whatsapp` (the Meta app's secret);
    /// unset, every delivery there is refused.
    pub whatsapp_app_secret: Option<WebhookSecret>,
    /// The token of the `GET /webhook/whatsapp` handshake; unset, every handshake fails.
    pub whatsapp_verify_token: Option<Token>,
    /// `READ_TOKEN`: the bearer token `GET /messages` and `GET /stats` need; unset, they are
    /// open.
    pub read_token: Option<Token>,
    /// `METRICS_TOKEN`: the bearer token `GET /metrics` needs; unset, it is open.
    pub metrics_token: Option<Token>,
    /// The largest `POST /webhook` (or `/webhook/whatsapp`) body read; a larger one is answered
    /// 413.
    pub max_body_bytes: usize,
    /// How long a request may take, its headers arriving included (408, or the connection
    /// closed when the headers are not in by then).
    pub request_timeout: Duration,
    /// After the shutdown signal, how long to keep serving (readiness 503) before closing, so
    /// that load balancers stop sending first.
    pub shutdown_drain: Duration,
    /// How many webhook deliveries (`POST /webhook` and `/webhook/whatsapp` together) are
    /// handled at once; one more is answered 503 with `Retry-After` before its body is read.
    pub max_webhooks_in_flight: usize,
}

impl Settings {
    /// The defaults around `secret`: no previous secret, no WhatsApp route, no drain time.
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secret,
            previous_secret: None,
            timestamp_tolerance: DEFAULT_TIMESTAMP_TOLERANCE,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            read_token: None,
            metrics_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_drain: Duration::ZERO,
            max_webhooks_in_flight: DEFAULT_MAX_WEBHOOKS_IN_FLIGHT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_secret_does_not_exist() {
        assert!(WebhookSecret::new("").is_none());
        assert_eq!(WebhookSecret::new("k").unwrap().as_bytes(), b"k");
    }

    #[test]
    fn a_secret_is_never_printed() {
        let mut settings = Settings::new(WebhookSecret::new("value-of-the-secret").unwrap());
        settings.whatsapp_app_secret = WebhookSecret::new("value-of-the-app-secret");
        settings.whatsapp_verify_token = Token::new("value-of-the-verify-token");
        settings.read_token = Token::new("value-of-the-read-token");
        settings.metrics_token = Token::new("value-of-the-metrics-token");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("value-of"), "{printed}");
    }

    #[test]
    fn a_token_matches_only_itself() {
        assert!(Token::new("").is_none());
        for (value, others) in [
            (
                "meatyhamhock",
                [
                    "",
                    "meatyhamhoc",
                    "meatyhamhockk",
                    "MEATYHAMHOCK",
                    " meatyhamhock",
                ]
                .as_slice(),
            ),
            (
                "reader-token",
                ["", "reader-toke", "reader-tokenn", "READER-TOKEN"].as_slice(),
            ),
        ] {
            let token = Token::new(value).unwrap();
            assert!(token.matches(value));
            for other in others {
                assert!(!token.matches(other), "{other:?}");
            }
        }
    }
}
