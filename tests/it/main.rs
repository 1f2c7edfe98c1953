//! The one integration test binary: every module drives real servers on real ports, real SQLite
//! files on disk, and the real `app` binary.

mod helpers;

mod abuse;
mod access;
mod cli;
mod compose;
mod docs;
mod faults;
mod health;
mod limits;
mod listing;
mod logs_and_shutdown;
mod messages;
mod metrics;
mod observability;
mod openapi;
mod operations;
mod overload;
mod reliability;
mod replication;
mod search;
mod security;
mod standard_webhooks;
mod stats;
mod terminal;
mod webhook;
mod whatsapp;
