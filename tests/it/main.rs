//! The one integration test binary: every module drives real servers on real ports, real SQLite
//! files on disk, and the real `app` binary.

mod helpers;

mod cli;
mod health;
mod logs_and_shutdown;
mod messages;
mod metrics;
mod search;
mod stats;
mod webhook;
