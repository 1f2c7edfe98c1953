//! Names on the wire that the server and its clients (`app send`, `app healthcheck`) share, so
//! that neither side imports the other.

/// The signature header: the hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// The header GitHub and Meta send (`sha256=<hex>`), read when [`SIGNATURE_HEADER`] is absent.
pub const HUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// Tells a sender what its 200 did: `created` or `duplicate` (the body is the same), or for a
/// WhatsApp delivery without messages `acknowledged`.
pub const RESULT_HEADER: &str = "x-webhook-result";
/// The request id: taken from the request when sane, else generated; echoed in the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Standard Webhooks' headers (standardwebhooks.com, spec v1): the delivery's id, its Unix
/// timestamp in seconds, and space-separated `v1,<base64>` signatures over
/// `{id}.{timestamp}.{body}`.
pub const STANDARD_ID_HEADER: &str = "webhook-id";
pub const STANDARD_TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const STANDARD_SIGNATURE_HEADER: &str = "webhook-signature";
/// The same three, as Svix-powered senders name them.
pub const SVIX_ID_HEADER: &str = "svix-id";
pub const SVIX_TIMESTAMP_HEADER: &str = "svix-timestamp";
pub const SVIX_SIGNATURE_HEADER: &str = "svix-signature";

/// Meta's WhatsApp Cloud API posts deliveries to this path and verifies it with a `GET` there.
pub const WHATSAPP_PATH: &str = "/webhook/whatsapp";
