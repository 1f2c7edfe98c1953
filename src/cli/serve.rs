//! `app serve`: the HTTP API, configured from the environment (every variable has a flag).

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use super::args::DatabaseArgs;
use super::prune::Age;
use crate::config::{self, Location, LogLevel};
use crate::http::{self, AppState, Settings, Token, WebhookSecret};
use crate::storage::{self, AutoCheckpoint, Retention, Storage};
use crate::telemetry;

/// Exit code for a configuration the server refuses to start with.
const EXIT_CONFIG: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// HMAC-SHA256 key for X-Signature (required)
    #[arg(long = "secret", env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// A file holding the HMAC-SHA256 key for X-Signature, instead of WEBHOOK_SECRET
    #[arg(long = "secret-file", env = "WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub secret_file: Option<PathBuf>,

    /// A second key accepted during a rotation
    #[arg(
        long = "previous-secret",
        env = "WEBHOOK_SECRET_PREVIOUS",
        hide_env_values = true
    )]
    pub previous_secret: Option<String>,

    /// A file holding the second key, instead of WEBHOOK_SECRET_PREVIOUS
    #[arg(
        long = "previous-secret-file",
        env = "WEBHOOK_SECRET_PREVIOUS_FILE",
        value_name = "PATH"
    )]
    pub previous_secret_file: Option<PathBuf>,

    /// Seconds a Standard Webhooks timestamp may be from the server's clock, either way (1 to 86400)
    // Read as text and checked in `Config`, so that a bad value is refused like every other
    // setting, with one JSON log line naming the variable, not clap's plain-text error.
    #[arg(
        long = "tolerance-secs",
        env = "WEBHOOK_TOLERANCE_SECS",
        default_value_t = http::DEFAULT_TIMESTAMP_TOLERANCE.as_secs().to_string()
    )]
    pub tolerance_secs: String,

    /// The Meta app's secret: the key of X-Hub-Signature-256 on POST /webhook/whatsapp (unset:
    /// every delivery there is refused)
    #[arg(
        long = "whatsapp-app-secret",
        env = "WHATSAPP_APP_SECRET",
        hide_env_values = true
    )]
    pub whatsapp_app_secret: Option<String>,

    /// A file holding the Meta app's secret, instead of WHATSAPP_APP_SECRET
    #[arg(
        long = "whatsapp-app-secret-file",
        env = "WHATSAPP_APP_SECRET_FILE",
        value_name = "PATH"
    )]
    pub whatsapp_app_secret_file: Option<PathBuf>,

    /// The token Meta's subscription handshake (GET /webhook/whatsapp) must present (unset:
    /// every handshake fails)
    #[arg(
        long = "whatsapp-verify-token",
        env = "WHATSAPP_VERIFY_TOKEN",
        hide_env_values = true
    )]
    pub whatsapp_verify_token: Option<String>,

    /// A file holding the handshake's token, instead of WHATSAPP_VERIFY_TOKEN
    #[arg(
        long = "whatsapp-verify-token-file",
        env = "WHATSAPP_VERIFY_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub whatsapp_verify_token_file: Option<PathBuf>,

    /// The bearer token GET /messages and GET /stats need (unset: they are open)
    #[arg(long = "read-token", env = "READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<String>,

    /// A file holding the read token, instead of READ_TOKEN
    #[arg(long = "read-token-file", env = "READ_TOKEN_FILE", value_name = "PATH")]
    pub read_token_file: Option<PathBuf>,

    /// The bearer token GET /metrics needs (unset: it is open)
    #[arg(long = "metrics-token", env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// A file holding the metrics token, instead of METRICS_TOKEN
    #[arg(
        long = "metrics-token-file",
        env = "METRICS_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub metrics_token_file: Option<PathBuf>,

    /// Least severe level logged: DEBUG, INFO, WARN or ERROR (any case)
    #[arg(long, env = "LOG_LEVEL", default_value = "INFO", ignore_case = true)]
    pub log_level: LogLevel,

    /// Address to listen on
    #[arg(long, env = "HOST", default_value = config::DEFAULT_HOST)]
    pub host: String,

    /// Port to listen on (0 to 65535; 0 picks a free one)
    // The four numbers below are read as text and checked in `Config`, like the tolerance.
    #[arg(long, env = "PORT", default_value = config::DEFAULT_PORT)]
    pub port: String,

    /// Largest accepted POST /webhook or /webhook/whatsapp body, in bytes (1 to 16777216)
    #[arg(
        long,
        env = "MAX_BODY_BYTES",
        default_value_t = http::DEFAULT_MAX_BODY_BYTES.to_string()
    )]
    pub max_body_bytes: String,

    /// Seconds a request may take before it is answered 408, so that shutdown always ends (1 to
    /// 3600)
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = http::DEFAULT_REQUEST_TIMEOUT.as_secs().to_string()
    )]
    pub request_timeout_secs: String,

    /// Seconds to keep serving after SIGTERM, readiness answering 503, before closing (0 to 3600)
    #[arg(long, env = "SHUTDOWN_DRAIN_SECS", default_value = "0")]
    pub shutdown_drain_secs: String,

    /// Keep messages this long after their ts, then delete them, in small batches while the
    /// writer is idle: a whole number and a unit, s, m, h, d or w, from 1h (e.g. 90d; unset or
    /// empty: keep every message)
    // Read as text and checked in `Config`, like WEBHOOK_TOLERANCE_SECS.
    #[arg(long, env = "RETENTION", value_name = "AGE")]
    pub retention: Option<String>,

    /// Pages of write-ahead log after which the server checkpoints it into the database file
    /// itself (0 to 1000000); 0: never, for when Litestream replicates and checkpoints
    // Text checked in `Config`, like the tolerance: a bad value is one JSON line naming it.
    #[arg(
        long = "sqlite-autocheckpoint-pages",
        env = "SQLITE_AUTOCHECKPOINT_PAGES",
        default_value_t = AutoCheckpoint::SQLITE_DEFAULT.as_pages().to_string()
    )]
    pub autocheckpoint_pages: String,
}

/// What `app serve` runs with: the arguments checked and typed once, before anything starts.
#[derive(Debug)]
struct Config {
    location: Location,
    autocheckpoint: AutoCheckpoint,
    host: String,
    port: u16,
    settings: Settings,
    /// `RETENTION`: how long messages are kept, `None` for ever.
    retention: Option<Age>,
}

/// A setting the server refuses to start with: the variable, and why.
#[derive(Debug)]
struct Refusal {
    variable: &'static str,
    message: String,
}

impl TryFrom<Args> for Config {
    type Error = Refusal;

    fn try_from(args: Args) -> Result<Self, Refusal> {
        let secret = secret_or_file("WEBHOOK_SECRET", args.secret, args.secret_file)?;
        let Some(secret) = secret.and_then(WebhookSecret::new) else {
            return Err(Refusal {
                variable: "WEBHOOK_SECRET",
                message: "WEBHOOK_SECRET is not set: refusing to start".to_string(),
            });
        };
        let location = args.database.location().map_err(|message| Refusal {
            variable: "DATABASE_URL",
            message,
        })?;
        let timestamp_tolerance = timestamp_tolerance(&args.tolerance_secs)?;
        // Empty is unset, as Compose passes a variable through when the caller has none.
        let retention = args
            .retention
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(retention)
            .transpose()?;
        let autocheckpoint = autocheckpoint(&args.autocheckpoint_pages)?;
        let previous_secret = secret_or_file(
            "WEBHOOK_SECRET_PREVIOUS",
            args.previous_secret,
            args.previous_secret_file,
        )?;
        let whatsapp_app_secret = secret_or_file(
            "WHATSAPP_APP_SECRET",
            args.whatsapp_app_secret,
            args.whatsapp_app_secret_file,
        )?;
        let whatsapp_verify_token = secret_or_file(
            "WHATSAPP_VERIFY_TOKEN",
            args.whatsapp_verify_token,
            args.whatsapp_verify_token_file,
        )?;
        let read_token = secret_or_file("READ_TOKEN", args.read_token, args.read_token_file)?;
        let metrics_token =
            secret_or_file("METRICS_TOKEN", args.metrics_token, args.metrics_token_file)?;
        let port = number_in("PORT", &args.port, PORTS, "a whole number")?;
        let max_body_bytes = number_in(
            "MAX_BODY_BYTES",
            &args.max_body_bytes,
            BODY_BYTES,
            "whole bytes",
        )?;
        let request_timeout = Duration::from_secs(number_in(
            "REQUEST_TIMEOUT_SECS",
            &args.request_timeout_secs,
            REQUEST_TIMEOUT_SECS,
            "whole seconds",
        )?);
        let shutdown_drain = Duration::from_secs(number_in(
            "SHUTDOWN_DRAIN_SECS",
            &args.shutdown_drain_secs,
            SHUTDOWN_DRAIN_SECS,
            "whole seconds",
        )?);
        Ok(Self {
            location,
            autocheckpoint,
            host: args.host,
            port,
            retention,
            settings: Settings {
                secret,
                previous_secret: previous_secret.and_then(WebhookSecret::new),
                timestamp_tolerance,
                whatsapp_app_secret: whatsapp_app_secret.and_then(WebhookSecret::new),
                whatsapp_verify_token: whatsapp_verify_token.and_then(Token::new),
                read_token: read_token.and_then(Token::new),
                metrics_token: metrics_token.and_then(Token::new),
                max_body_bytes,
                request_timeout,
                shutdown_drain,
                max_webhooks_in_flight: http::DEFAULT_MAX_WEBHOOKS_IN_FLIGHT,
            },
        })
    }
}

/// A secret or token from its variable or its `_FILE` ([`config::secret_or_file`]); the refusal
/// names the variable, and the file when it is the file that is wrong.
fn secret_or_file(
    variable: &'static str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<String>, Refusal> {
    config::secret_or_file(variable, value, file.as_deref()).map_err(|message| Refusal {
        variable,
        message: format!("{message}: refusing to start"),
    })
}

/// `WEBHOOK_TOLERANCE_SECS`: whole seconds within [`http::TIMESTAMP_TOLERANCE_SECS`].
fn timestamp_tolerance(text: &str) -> Result<Duration, Refusal> {
    let range = http::TIMESTAMP_TOLERANCE_SECS;
    number_in("WEBHOOK_TOLERANCE_SECS", text, range, "whole seconds").map(Duration::from_secs)
}

/// `PORT`: any TCP port; 0 lets the system pick a free one.
const PORTS: RangeInclusive<u16> = 0..=u16::MAX;

/// `MAX_BODY_BYTES`: at least a byte (0 would refuse every delivery), at most 16 MiB, beyond
/// which a few concurrent requests could hold a large share of memory.
const BODY_BYTES: RangeInclusive<usize> = 1..=16 * 1_024 * 1_024;

/// `REQUEST_TIMEOUT_SECS`: at least a second (0 would answer every request 408, readiness
/// included), at most an hour (beyond, a deadline can overflow the clock, and shutdown waits as
/// long for a stuck request).
const REQUEST_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3_600;
/// `SHUTDOWN_DRAIN_SECS`: none to an hour, longer than any orchestrator waits after SIGTERM.
const SHUTDOWN_DRAIN_SECS: RangeInclusive<u64> = 0..=3_600;

/// A whole number within `range`, or the refusal naming `variable`, whose message says what the
/// value must be (`what`: "whole seconds", say) and the range.
fn number_in<T>(
    variable: &'static str,
    text: &str,
    range: RangeInclusive<T>,
    what: &str,
) -> Result<T, Refusal>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    text.parse::<T>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| Refusal {
            variable,
            message: format!(
                "{variable} must be {what} from {} to {}, not {text:?}: refusing to start",
                range.start(),
                range.end()
            ),
        })
}

/// The shortest `RETENTION`: anything shorter would delete messages that senders may still be
/// retrying, or that were acknowledged a moment ago.
const MIN_RETENTION: Duration = Duration::from_secs(3_600);

/// `RETENTION`: an [`Age`] of at least [`MIN_RETENTION`].
fn retention(text: &str) -> Result<Age, Refusal> {
    text.parse::<Age>()
        .ok()
        .filter(|age| age.duration() >= MIN_RETENTION)
        .ok_or_else(|| Refusal {
            variable: "RETENTION",
            message: format!(
                "RETENTION must be a whole number and a unit, s, m, h, d or w, of at least 1h \
                 (e.g. 90d), not {text:?}: refusing to start"
            ),
        })
}

/// `SQLITE_AUTOCHECKPOINT_PAGES`: whole pages within [`storage::AUTOCHECKPOINT_PAGES`].
fn autocheckpoint(text: &str) -> Result<AutoCheckpoint, Refusal> {
    let range = storage::AUTOCHECKPOINT_PAGES;
    text.parse::<u32>()
        .ok()
        .and_then(AutoCheckpoint::pages)
        .ok_or_else(|| Refusal {
            variable: "SQLITE_AUTOCHECKPOINT_PAGES",
            message: format!(
                "SQLITE_AUTOCHECKPOINT_PAGES must be whole pages from {} to {} (0: never), not \
                 {text:?}: refusing to start",
                range.start(),
                range.end()
            ),
        })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _logs = telemetry::init_json_logs(args.log_level.into());
    let config = match Config::try_from(args) {
        Ok(config) => config,
        Err(Refusal { variable, message }) => {
            tracing::error!(variable, "{message}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let location = config.location;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let retention = config.retention.map(|age| Retention::new(age.duration()));
        let storage = match Storage::open_with(&location, config.autocheckpoint, retention) {
            Ok(storage) => storage,
            Err(error) => {
                tracing::error!(database = %location, error = %error, "cannot open the database");
                return Ok(ExitCode::FAILURE);
            }
        };
        let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(host = %config.host, port = config.port, error = %error, "cannot listen");
                return Ok(ExitCode::FAILURE);
            }
        };
        let durability = storage.durability().clone();
        let state = AppState::new(storage, &config.settings);
        let address = listener.local_addr()?;
        tracing::info!(
            address = %address,
            port = address.port(),
            database = %location,
            journal_mode = %durability.journal_mode,
            synchronous = %durability.synchronous,
            retention = config.retention.map(|age| age.to_string()),
            wal_autocheckpoint = durability.wal_autocheckpoint,
            version = env!("CARGO_PKG_VERSION"),
            "listening"
        );
        if config.settings.read_token.is_none() && !address.ip().is_loopback() {
            tracing::warn!(
                address = %address,
                "READ_TOKEN is not set: anyone who can reach this address can read every stored \
                 message (GET /messages, GET /stats)"
            );
        }
        http::serve(listener, state, shutdown).await?;
        tracing::info!("stopped: every accepted message is committed");
        Ok(ExitCode::SUCCESS)
    })
}

/// A future resolving on SIGINT (ctrl-c) or SIGTERM, logging which. The handlers are installed
/// here, before the server announces itself, so a signal right after start-up is not fatal.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        let signal = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(
            signal,
            "shutting down: draining requests and committing queued messages"
        );
    })
}
