//! An exactly-once webhook receiver: HMAC-verified messages stored in SQLite, listed, counted,
//! probed and measured over HTTP, and operated from the same binary's CLI.

// A map of the modules for readers of this file. Plain comments on purpose: each module is
// documented by its own `//!` docs, and a `///` here would be joined to them, making rustdoc
// resolve their links from the crate root (rust-lang/rust#134904).

// The command line: one module per subcommand.
pub mod cli;
// Settings from the environment and flags: `DATABASE_URL`, `LOG_LEVEL`.
pub mod config;
// The filters and page of a message listing, shared by the API and the CLI.
pub mod filters;
// The HTTP API: router, handlers, errors, middleware, serving.
pub mod http;
// The inbound message and its validation.
pub mod message;
// Computing and verifying signatures: `X-Signature` and Standard Webhooks.
pub mod signature;
// SQLite: connections, migrations, the writer, the queries.
pub mod storage;
// JSON logs and metric names.
pub mod telemetry;
// Helpers for the unit tests.
#[cfg(test)]
mod testing;
// Timestamp parsing and the sortable instant key.
pub mod timestamp;
// Validation problems in FastAPI/Pydantic's shape.
pub mod validation;
// Meta's WhatsApp Cloud API deliveries: their shape, and the messages they carry.
pub mod whatsapp;
// Header names shared by the server and its clients.
pub mod wire;
