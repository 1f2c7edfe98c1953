//! Names on the wire that the server and its clients (`app send`, `app healthcheck`) share, so
//! that neither side imports the other.

/// The signature header: the hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// The header GitHub and Meta send (`sha256=<hex>`), read when [`SIGNATURE_HEADER`] is absent.
pub const HUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// Tells a sender whether its message was `created` or a `duplicate` (the body is the same).
pub const RESULT_HEADER: &str = "x-webhook-result";
/// The request id: taken from the request when sane, else generated; echoed in the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
