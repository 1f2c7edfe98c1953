//! The one integration test binary: every module drives real servers on real ports, real SQLite
//! files on disk, and the real `app` binary.

mod helpers;

mod health;
mod logs_and_shutdown;
mod messages;
mod metrics;
mod openapi;
mod stats;
mod webhook;
