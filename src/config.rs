//! What the settings shared by the commands mean: where the database is (`DATABASE_URL`, read
//! into a [`Location`]), how loud the logs are (`LOG_LEVEL`), and how a secret or token is given,
//! as a variable or as a file ([`secret_or_file`]). Every setting is an environment variable
//! with a matching flag; the command line's argument groups read them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

/// The default `DATABASE_URL`: `data/app.db` under the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";

/// The address `app serve` listens on by default (`HOST`): every interface.
pub const DEFAULT_HOST: &str = "0.0.0.0";

/// The port `app serve` listens on by default (`PORT`).
pub const DEFAULT_PORT: &str = "8000";

/// Where the SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file on disk.
    File(PathBuf),
    /// A private in-memory database, gone when the process ends.
    Memory,
}

impl Location {
    /// Reads a `DATABASE_URL`. `sqlite:///data/app.db` and `sqlite:////data/app.db` both mean
    /// `/data/app.db` (most users write the first, SQLAlchemy's convention is the second);
    /// `sqlite://data/app.db` and `sqlite:data/app.db` are relative to the working directory;
    /// `sqlite::memory:` is in memory.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        // Every refusal quotes what was given, but never a password in it.
        let shown = redact_url(url);
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(format!(
                "DATABASE_URL must start with sqlite: (e.g. sqlite:////data/app.db), got {shown:?}"
            ));
        };
        if rest == ":memory:" || rest == "//:memory:" {
            return Ok(Self::Memory);
        }
        if user_info(url).is_some() {
            return Err(format!(
                "DATABASE_URL names a user or password ({shown:?}), which a SQLite file does not \
                 take: give only its path, e.g. sqlite:////data/app.db"
            ));
        }
        let path = match rest.strip_prefix("//") {
            Some(after) if after.starts_with('/') => format!("/{}", after.trim_start_matches('/')),
            Some(relative) => relative.to_string(),
            None => rest.to_string(),
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if path.is_empty() || path.ends_with('/') {
            return Err(format!("DATABASE_URL names no database file: {shown:?}"));
        }
        Ok(Self::File(PathBuf::from(path)))
    }

    /// The file, when the database is on disk.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Memory => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str(":memory:"),
        }
    }
}

/// The user info of a URL (`user:password` in `scheme://user:password@host/path`), as a byte
/// range of `url`: what comes after `//` and before an `@` in the authority, the part before the
/// next `/`, `?` or `#`.
fn user_info(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + "://".len();
    let authority = &url[start..];
    let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
    let at = authority.rfind('@')?;
    Some(start..start + at)
}

/// `url` as it may be shown: a password in its user info replaced by `***`
/// (`postgres://app:***@db/app`). Everything else is kept, so the message still says what was
/// given.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(info) = user_info(url) else {
        return Cow::Borrowed(url);
    };
    let Some(colon) = url[info.clone()].find(':') else {
        return Cow::Borrowed(url);
    };
    let password = info.start + colon + 1..info.end;
    Cow::Owned(format!(
        "{}***{}",
        &url[..password.start],
        &url[password.end..]
    ))
}

/// A secret or token given as `variable` (its `value`) or as the file `{variable}_FILE` names,
/// as Docker and Kubernetes secrets are mounted: the file is read once, and one trailing newline
/// (`\n` or `\r\n`) is stripped. Empty is unset, as Compose passes a variable through empty
/// when the caller has none. Both set, or a file that cannot be read as text: an error that names
/// the variables and the file, never what either holds.
pub fn secret_or_file(
    variable: &str,
    value: Option<String>,
    file: Option<&Path>,
) -> Result<Option<String>, String> {
    let value = value.filter(|value| !value.is_empty());
    let file = file.filter(|file| !file.as_os_str().is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(format!(
            "{variable} and {variable}_FILE are both set: set only one"
        )),
        (value, None) => Ok(value),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|error| {
                format!(
                    "{variable}_FILE: cannot read {}: {}",
                    path.display(),
                    error.kind()
                )
            })?;
            let text = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(&text);
            Ok(Some(text.to_string()).filter(|text| !text.is_empty()))
        }
    }
}

/// `LOG_LEVEL`: the least severe level written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevel> for tracing::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => Self::DEBUG,
            LogLevel::Info => Self::INFO,
            LogLevel::Warn => Self::WARN,
            LogLevel::Error => Self::ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_accept_three_or_four_slashes() {
        for url in ["sqlite:///data/app.db", "sqlite:////data/app.db"] {
            assert_eq!(
                Location::parse(url),
                Ok(Location::File("/data/app.db".into())),
                "{url}"
            );
        }
    }

    #[test]
    fn relative_paths_and_memory_are_understood() {
        assert_eq!(
            Location::parse("sqlite://data/app.db"),
            Ok(Location::File("data/app.db".into()))
        );
        assert_eq!(
            Location::parse("sqlite:app.db"),
            Ok(Location::File("app.db".into()))
        );
        assert_eq!(Location::parse("sqlite::memory:"), Ok(Location::Memory));
    }

    #[test]
    fn a_secret_comes_from_the_variable_or_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        for (content, expected) in [
            ("s3cr3t\n", "s3cr3t"),
            ("s3cr3t\r\n", "s3cr3t"),
            ("s3cr3t", "s3cr3t"),
            ("s3cr3t\n\n", "s3cr3t\n"),
        ] {
            std::fs::write(&file, content).unwrap();
            assert_eq!(
                secret_or_file("READ_TOKEN", None, Some(&file)),
                Ok(Some(expected.to_string())),
                "{content:?}"
            );
        }
        assert_eq!(
            secret_or_file("READ_TOKEN", Some("direct".into()), None),
            Ok(Some("direct".to_string()))
        );
        assert_eq!(
            secret_or_file("READ_TOKEN", Some(String::new()), None),
            Ok(None)
        );
        assert_eq!(secret_or_file("READ_TOKEN", None, None), Ok(None));
    }

    #[test]
    fn both_or_an_unreadable_file_are_refused_without_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "file-secret").unwrap();
        let both = secret_or_file("READ_TOKEN", Some("var-secret".into()), Some(&file));
        let both = both.unwrap_err();
        assert!(both.contains("READ_TOKEN and READ_TOKEN_FILE"), "{both}");
        assert!(
            !both.contains("var-secret") && !both.contains("file-secret"),
            "{both}"
        );
        let missing = secret_or_file("READ_TOKEN", None, Some(&dir.path().join("absent")));
        let missing = missing.unwrap_err();
        assert!(
            missing.starts_with("READ_TOKEN_FILE: cannot read"),
            "{missing}"
        );
    }

    #[test]
    fn passwords_in_urls_are_redacted_and_nothing_else() {
        for (url, shown) in [
            (
                "postgres://app:s3cr3t@db:5432/app",
                "postgres://app:***@db:5432/app",
            ),
            (
                "sqlite://user:s3cr3t@/tmp/x.db",
                "sqlite://user:***@/tmp/x.db",
            ),
            ("mysql://a:b:c@host", "mysql://a:***@host"),
            ("sqlite://user@/tmp/x.db", "sqlite://user@/tmp/x.db"),
            ("sqlite:////data/a@b.db", "sqlite:////data/a@b.db"),
            ("sqlite://data/app.db?x=@y", "sqlite://data/app.db?x=@y"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn a_url_with_credentials_is_refused_without_its_password() {
        for url in [
            "sqlite://user:s3cr3t@/tmp/x.db",
            "sqlite://user:s3cr3t@host/tmp/x.db",
            "postgres://user:s3cr3t@host/db",
        ] {
            let refusal = Location::parse(url).unwrap_err();
            assert!(refusal.contains("user:***@"), "{refusal}");
            assert!(!refusal.contains("s3cr3t"), "{refusal}");
        }
        assert_eq!(
            Location::parse("sqlite:////data/a@b.db"),
            Ok(Location::File("/data/a@b.db".into()))
        );
    }

    #[test]
    fn other_urls_are_refused() {
        for url in [
            "postgres://localhost/db",
            "data/app.db",
            "sqlite://",
            "sqlite:///",
            "",
        ] {
            assert!(Location::parse(url).is_err(), "{url}");
        }
    }
}
