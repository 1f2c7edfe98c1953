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
/// Default distance from the server's clock a Standard Webhooks `webhook-timestamp` may have,
/// in either direction: the spec's recommended five minutes.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);
/// The tolerances `app serve` accepts, in seconds: at least a second (zero would refuse a
/// delivery signed a moment ago), at most a day (beyond that, replay protection means little).
pub const TIMESTAMP_TOLERANCE_SECS: RangeInclusive<u64> = 1..=86_400;

/// The HMAC key of `X-Signature`, and of Standard Webhooks (decoded first when it is a `whsec_`
/// secret): never empty, because `app serve` refuses to start without one
/// (an empty key would make every signature computable by anyone). Never printed.
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
    /// The largest `POST /webhook` body read; a larger one is answered 413.
    pub max_body_bytes: usize,
    /// How long a request may take, its headers arriving included (408, or the connection
    /// closed when the headers are not in by then).
    pub request_timeout: Duration,
    /// After the shutdown signal, how long to keep serving (readiness 503) before closing, so
    /// that load balancers stop sending first.
    pub shutdown_drain: Duration,
}

impl Settings {
    /// The defaults around `secret`: no previous secret, no drain time.
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secret,
            previous_secret: None,
            timestamp_tolerance: DEFAULT_TIMESTAMP_TOLERANCE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_drain: Duration::ZERO,
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
        let settings = Settings::new(WebhookSecret::new("value-of-the-secret").unwrap());
        assert!(!format!("{settings:?}").contains("value-of-the-secret"));
    }
}
