//! The argument groups several commands flatten into theirs (the database, the signing scheme
//! and its key, the output format), and the set-up they share.

use std::io;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Serialize;

use super::exit::usage;
use super::output;
use crate::config::{self, DEFAULT_DATABASE_URL, Location};
use crate::storage::{OpenError, ReadOnlyStorage};

/// `--database-url` / `DATABASE_URL`, for every command that opens the database.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:
    // Its value stays out of `--help`: a URL may carry a password.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL
    )]
    pub url: String,
}

impl DatabaseArgs {
    pub fn location(&self) -> Result<Location, String> {
        Location::parse(&self.url)
    }

    /// The existing database file at this binary's schema version, opened to read, for `list`
    /// and `stats`.
    ///
    /// Reading never creates anything: a missing file, an in-memory URL, a file without our
    /// schema or at another version is a usage error that says what to do.
    pub fn open_current(&self) -> anyhow::Result<(Location, ReadOnlyStorage)> {
        self.open_with(ReadOnlyStorage::open_current)
    }

    /// The existing, migrated database file at any schema version, opened to read, for
    /// `backup` (a copy of an older file is a good copy).
    pub fn open_existing(&self) -> anyhow::Result<(Location, ReadOnlyStorage)> {
        self.open_with(ReadOnlyStorage::open_existing)
    }

    fn open_with(
        &self,
        open: impl FnOnce(&Location) -> Result<ReadOnlyStorage, OpenError>,
    ) -> anyhow::Result<(Location, ReadOnlyStorage)> {
        let location = self.location().map_err(usage)?;
        match open(&location) {
            Ok(storage) => Ok((location, storage)),
            Err(error) => Err(cannot_open(&location, error, "read", |found, expected| {
                if found < expected {
                    "run `app migrate` (or start `app serve`) first"
                } else {
                    "read it with the binary that wrote it"
                }
            })),
        }
    }
}

/// What a command says when it cannot open the existing database at `location`, in one line (a
/// usage error where the user can act): `to` is what it would do with the file ("read",
/// "change"), and `other_version` its advice for a file at another schema version (given the
/// file's and this binary's).
pub fn cannot_open(
    location: &Location,
    error: OpenError,
    to: &str,
    other_version: impl FnOnce(i64, i64) -> &'static str,
) -> anyhow::Error {
    match error {
        OpenError::InMemory => usage(format!(
            "DATABASE_URL is in memory (sqlite::memory:): only the `app serve` process that \
             holds it can {to} it; point DATABASE_URL at the server's database file"
        )),
        missing @ OpenError::Missing(_) => usage(format!(
            "{missing} (run `app migrate` or start `app serve` first)"
        )),
        OpenError::NoSchema(_) => usage(format!(
            "{location} has no schema yet: run `app migrate` (or start `app serve`) first"
        )),
        version @ OpenError::SchemaVersion {
            found, expected, ..
        } => usage(format!("{version}: {}", other_version(found, expected))),
        other => other.into(),
    }
}

/// The sender styles `sign` and `send` speak: how a request is signed, and with which key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheme {
    /// `X-Signature`: the hex HMAC-SHA256 of the body with WEBHOOK_SECRET (POST /webhook)
    #[default]
    Hex,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>`
    /// over id, timestamp and body) with WEBHOOK_SECRET, `whsec_` or not (POST /webhook)
    Standard,
    /// Meta's WhatsApp Cloud API: `X-Hub-Signature-256: sha256=<hex>` with WHATSAPP_APP_SECRET
    /// (POST /webhook/whatsapp)
    Whatsapp,
}

/// `--scheme` and the key it signs with: `--secret` / `WEBHOOK_SECRET` for `hex` and
/// `standard`, `--whatsapp-app-secret` / `WHATSAPP_APP_SECRET` for `whatsapp`, each also from the
/// file its `_FILE` names, as `app serve` reads them.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningArgs {
    /// The sender style to sign as
    #[arg(long, value_enum, default_value_t)]
    pub scheme: Scheme,

    /// HMAC-SHA256 key for hex and standard: the server's WEBHOOK_SECRET (prefer the variable:
    /// flags show in `ps`)
    #[arg(long = "secret", env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// A file holding the key for hex and standard, instead of WEBHOOK_SECRET
    #[arg(long = "secret-file", env = "WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub secret_file: Option<PathBuf>,

    /// HMAC-SHA256 key for whatsapp: the Meta app's secret, the server's WHATSAPP_APP_SECRET
    /// (prefer the variable: flags show in `ps`)
    #[arg(
        long = "whatsapp-app-secret",
        value_name = "SECRET",
        env = "WHATSAPP_APP_SECRET",
        hide_env_values = true
    )]
    pub whatsapp_app_secret: Option<String>,

    /// A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET
    #[arg(
        long = "whatsapp-app-secret-file",
        env = "WHATSAPP_APP_SECRET_FILE",
        value_name = "PATH"
    )]
    pub whatsapp_app_secret_file: Option<PathBuf>,
}

impl SigningArgs {
    /// The scheme with its key, or a usage error naming the variable when that key is unset or
    /// empty, given twice (the variable and its file), or in a file that cannot be read. Only
    /// the chosen scheme's key is required.
    pub fn signer(&self) -> anyhow::Result<Signer> {
        let present = |variable: &str, value: &Option<String>, file: &Option<PathBuf>| {
            config::secret_or_file(variable, value.clone(), file.as_deref()).map_err(usage)
        };
        match self.scheme {
            Scheme::Hex | Scheme::Standard => {
                let secret = present("WEBHOOK_SECRET", &self.secret, &self.secret_file)?;
                let secret = secret.ok_or_else(|| {
                    usage("no secret: set WEBHOOK_SECRET (or pass --secret) to the server's key")
                })?;
                Ok(if self.scheme == Scheme::Hex {
                    Signer::Hex(secret.into_bytes())
                } else {
                    Signer::Standard(secret)
                })
            }
            Scheme::Whatsapp => {
                let secret = present(
                    "WHATSAPP_APP_SECRET",
                    &self.whatsapp_app_secret,
                    &self.whatsapp_app_secret_file,
                )?;
                let secret = secret.ok_or_else(|| {
                    usage(
                        "no app secret: set WHATSAPP_APP_SECRET (or pass --whatsapp-app-secret) \
                         to the Meta app's secret, as the server has it",
                    )
                })?;
                Ok(Signer::WhatsApp(secret.into_bytes()))
            }
        }
    }
}

/// A scheme with its key, ready to sign. Not `Debug`: it holds the key.
#[derive(Clone)]
pub enum Signer {
    /// The key's bytes, as the server uses WEBHOOK_SECRET for `X-Signature`.
    Hex(Vec<u8>),
    /// The secret as given: [`crate::signature::standard::sign`] decodes a `whsec_` one.
    Standard(String),
    /// The app secret's bytes.
    WhatsApp(Vec<u8>),
}

impl Signer {
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Hex(_) => Scheme::Hex,
            Self::Standard(_) => Scheme::Standard,
            Self::WhatsApp(_) => Scheme::Whatsapp,
        }
    }
}

/// A new Standard Webhooks message id, `msg_` and 32 random hex digits, as Svix-powered senders
/// prefix theirs: unique per delivery, so a receiver that dedupes by id sees each as new.
pub fn new_standard_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// `--json`, for every command that prints figures.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (for `list` and `stats` exactly the API's body) instead of tables
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Prints `value` as one line of JSON with `--json`, else as `table` lays it out for people.
    pub fn print<T: Serialize>(
        &self,
        value: &T,
        table: impl FnOnce(&T) -> String,
    ) -> io::Result<()> {
        if self.json {
            output::print_json(value)
        } else {
            output::print(&table(value))
        }
    }
}

/// The bytes of a file named on the command line; a file that cannot be read is a usage error.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| usage(format!("cannot read {}: {error}", path.display())))
}

/// `base`, the server a command talks to, as an `http://` URL ending in `/`, so that a path
/// joined to it goes below any path it has; a refusal (a usage error) names `source`, the flag
/// or variable it came from, and says what is wrong with it.
pub fn http_base_url(base: &str, source: &str) -> anyhow::Result<Url> {
    let invalid = |why: String| usage(format!("invalid {source} {base:?}: {why}"));
    if !base.contains("://") {
        return Err(invalid(
            "not an absolute URL: give the scheme and host, e.g. http://127.0.0.1:8000".to_string(),
        ));
    }
    let mut url = Url::parse(base).map_err(|error| invalid(error.to_string()))?;
    if url.scheme() != "http" {
        return Err(invalid(
            "only http:// is supported (this build has no TLS client)".to_string(),
        ));
    }
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}
