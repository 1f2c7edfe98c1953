//! `app healthcheck`: asks a server's `/health/ready`, so a container needs no curl.

use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the server to ask
    #[arg(long, env = "HEALTHCHECK_URL", default_value = "http://127.0.0.1:8000")]
    pub url: String,

    /// Seconds to wait for an answer
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = format!("{}/health/ready", args.url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ready = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout_secs))
            .build()?;
        let response = client.get(&url).send().await?;
        anyhow::Ok(response.status().is_success())
    });
    match ready {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => {
            eprintln!("app: {url} is not ready");
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("app: cannot reach {url}: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
