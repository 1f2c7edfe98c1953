//! `app healthcheck`: asks a server's `/health/ready`, so a container needs no curl.
//!
//! The server asked is the one `app serve` would start with the same environment: `HOST` and
//! `PORT`, read as `app serve` reads them, with an address that means "every interface"
//! (`0.0.0.0`, `::`) asked on loopback. `HEALTHCHECK_URL` (`--url`) names another one. A failure
//! is one line that names its cause: the connection refused, no answer in time, the checks
//! that are not ready, or a URL that is not one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use serde_json::Value;

use super::args::http_base_url;
use super::exit::usage;
use crate::config::{DEFAULT_HOST, DEFAULT_PORT};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the server to ask, instead of the one HOST and PORT say `app serve` listens on
    #[arg(long, env = "HEALTHCHECK_URL")]
    pub url: Option<String>,

    /// The address `app serve` listens on (0.0.0.0 or ::, every interface, is asked on loopback)
    #[arg(long, env = "HOST", default_value = DEFAULT_HOST)]
    pub host: String,

    /// The port `app serve` listens on
    #[arg(long, env = "PORT", default_value = DEFAULT_PORT)]
    pub port: String,

    /// Seconds to wait for an answer
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = match &args.url {
        Some(base) => http_base_url(base, "--url")?,
        None => http_base_url(&serve_url(&args.host, &args.port)?, "HOST and PORT")?,
    };
    let url = url
        .join("health/ready")
        .map_err(|error| usage(error.to_string()))?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        let response = client.get(url.clone()).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    });
    match answer {
        Ok((status, _)) if status.is_success() => Ok(ExitCode::SUCCESS),
        Ok((status, body)) => Err(anyhow!("{url} answered {status}: {}", not_ready(&body))),
        Err(error) => Err(anyhow!("{url}: {}", unreachable(&error, args.timeout_secs))),
    }
}

/// The base URL of the server `app serve` starts with `host` and `port`.
fn serve_url(host: &str, port: &str) -> anyhow::Result<String> {
    let port: u16 = port
        .parse()
        .map_err(|_| usage(format!("PORT must be a port from 1 to 65535, not {port:?}")))?;
    if port == 0 {
        return Err(usage(
            "PORT is 0: `app serve` then listens on a free port it picks, which only its \
             start-up line names; pass that server's address as --url (or HEALTHCHECK_URL)",
        ));
    }
    Ok(match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => {
            format!("http://{}:{port}", Ipv4Addr::LOCALHOST)
        }
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => {
            format!("http://[{}]:{port}", Ipv6Addr::LOCALHOST)
        }
        Ok(IpAddr::V6(ip)) => format!("http://[{ip}]:{port}"),
        Ok(IpAddr::V4(ip)) => format!("http://{ip}:{port}"),
        Err(_) => format!("http://{host}:{port}"),
    })
}

/// What a readiness answer other than 2xx says: `not ready: schema (at version 0, expected 3)`,
/// each failing check with what it reported; the start of any other body.
fn not_ready(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        return if text.is_empty() {
            "no body (not this app's readiness?)".to_string()
        } else {
            text.chars().take(200).collect()
        };
    };
    let failing: Vec<String> = value["checks"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, state)| state.as_str() != Some("ok"))
        .map(|(name, state)| {
            let state = state
                .as_str()
                .map_or_else(|| state.to_string(), str::to_string);
            format!("{name} ({state})")
        })
        .collect();
    if failing.is_empty() {
        value["detail"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string)
    } else {
        format!("not ready: {}", failing.join(", "))
    }
}

/// Why there was no answer: `connection refused`, `timed out after 3 s`, or the most specific
/// error below reqwest's own.
fn unreachable(error: &reqwest::Error, timeout_secs: u64) -> String {
    if error.is_timeout() {
        return format!("timed out after {timeout_secs} s");
    }
    let causes =
        std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |cause| {
            cause.source()
        });
    let mut innermost = error.to_string();
    for cause in causes {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused (is `app serve` running there?)".to_string();
                }
                std::io::ErrorKind::TimedOut => return format!("timed out after {timeout_secs} s"),
                _ => {}
            }
        }
        innermost = cause.to_string();
    }
    innermost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_is_asked_on_loopback() {
        assert_eq!(
            serve_url("0.0.0.0", "8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(serve_url("::", "9000").unwrap(), "http://[::1]:9000");
        assert_eq!(serve_url("10.0.0.7", "80").unwrap(), "http://10.0.0.7:80");
        assert_eq!(serve_url("fe80::1", "80").unwrap(), "http://[fe80::1]:80");
        assert_eq!(serve_url("localhost", "81").unwrap(), "http://localhost:81");
        assert!(serve_url("0.0.0.0", "0").is_err());
        assert!(serve_url("0.0.0.0", "http").is_err());
    }

    #[test]
    fn failing_checks_are_named_with_what_they_say() {
        let body = br#"{"status":"unavailable","detail":"not ready: schema",
            "checks":{"database":"ok","schema":"at version 0, expected 3","accepting":"ok"}}"#;
        assert_eq!(
            not_ready(body),
            "not ready: schema (at version 0, expected 3)"
        );
        assert_eq!(not_ready(b"<h1>Not\n Found</h1>"), "<h1>Not Found</h1>");
        assert_eq!(not_ready(b""), "no body (not this app's readiness?)");
    }

    #[test]
    fn base_urls_keep_their_path() {
        let url = http_base_url("http://127.0.0.1:8000/app", "--url").unwrap();
        assert_eq!(
            url.join("health/ready").unwrap().as_str(),
            "http://127.0.0.1:8000/app/health/ready"
        );
        assert!(http_base_url("nonsense", "--url").is_err());
        assert!(http_base_url("https://example.com", "--url").is_err());
    }
}
