//! The server under test: the real `app serve` release binary as a child process on a free
//! 127.0.0.1 port, its JSON log drained on a thread (as a container runtime would), its
//! readiness timed and its peak memory read from `/proc`.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{self, Prepared};

pub const SECRET: &str = "bench-secret";
/// The WhatsApp app secret the server verifies `POST /webhook/whatsapp` with.
pub const WHATSAPP_APP_SECRET: &str = "bench-app-secret";

pub struct Server {
    child: Child,
    pub address: SocketAddr,
    /// The start-up line (`"msg":"listening"`), parsed.
    pub start_line: Value,
    /// From spawning the process to the first `200` from `/health/ready`.
    pub ready: Duration,
    drain: Option<JoinHandle<u64>>,
}

impl Server {
    /// Starts `app serve` on `database` and waits until it is ready.
    pub async fn start(database: &Path) -> Self {
        Self::start_with(database, &[]).await
    }

    /// The same, with more environment variables for `app serve`.
    pub async fn start_with(database: &Path, extra_env: &[(&str, &str)]) -> Self {
        let started = Instant::now();
        // `BENCH_APP` runs another build of the same program (one with symbols, to profile).
        let program = std::env::var_os("BENCH_APP").unwrap_or(env!("CARGO_BIN_EXE_app").into());
        let mut child = Command::new(program)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WEBHOOK_SECRET", SECRET)
            .env("WHATSAPP_APP_SECRET", WHATSAPP_APP_SECRET)
            .env("DATABASE_URL", format!("sqlite://{}", database.display()))
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_LEVEL", "INFO")
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the app binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server writes a start-up line");
        let start_line: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("start-up line is not JSON ({error}): {line:?}"));
        assert_eq!(start_line["msg"], "listening", "{line}");
        let port = start_line["port"]
            .as_u64()
            .expect("the start-up line has the port");
        let address = SocketAddr::from(([127, 0, 0, 1], u16::try_from(port).expect("a port")));
        // The log is read and dropped as fast as it comes, so the server never blocks on it.
        let drain = std::thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            let mut bytes = 0u64;
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                bytes += n as u64;
            }
            bytes
        });
        let ready_probe = Prepared::get("/health/ready");
        loop {
            if let Some((200, _)) = client::once(address, &ready_probe).await {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not become ready within a minute"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Self {
            child,
            address,
            start_line,
            ready: started.elapsed(),
            drain: Some(drain),
        }
    }

    /// The most memory the process has had resident so far (`VmHWM`), in MiB.
    pub fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status is readable");
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM is reported");
        kib / 1024.0
    }

    /// The process's soft limit on open files (`Max open files` in `/proc/PID/limits`);
    /// `None` when unlimited or unreadable.
    pub fn max_open_files(&self) -> Option<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id())).ok()?;
        let line = limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))?;
        line.split_whitespace().next()?.parse().ok()
    }

    /// The server's `/metrics` page (Prometheus text format); `None` if it does not answer 200.
    pub async fn metrics(&self) -> Option<String> {
        match client::once(self.address, &Prepared::get("/metrics")).await {
            Some((200, body)) => String::from_utf8(body.to_vec()).ok(),
            _ => None,
        }
    }

    /// CPU time used so far by the thread (or threads) called `name`.
    pub fn thread_cpu(&self, name: &str) -> Duration {
        self.cpu_by_thread().get(name).copied().unwrap_or_default()
    }

    /// CPU time used so far by each kind of thread (tokio workers, the SQLite writer…), by name
    /// (`/proc/PID/task/*/schedstat` and `comm`).
    pub fn cpu_by_thread(&self) -> std::collections::BTreeMap<String, Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .expect("/proc/PID/task is readable");
        let mut by_name = std::collections::BTreeMap::new();
        for task in tasks.flatten() {
            let read = |file: &str| std::fs::read_to_string(task.path().join(file)).ok();
            let (Some(stat), Some(name)) = (read("schedstat"), read("comm")) else {
                continue;
            };
            let Some(cpu) = crate::on_cpu(&stat) else {
                continue;
            };
            *by_name.entry(name.trim().to_string()).or_default() += cpu;
        }
        by_name
    }

    /// Stops the server with SIGTERM (a graceful drain) and returns the log volume it wrote.
    pub fn stop(mut self) -> u64 {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "the server could be signalled");
        let exit = self.child.wait().expect("the server exits");
        assert!(
            exit.success(),
            "the server exits cleanly on SIGTERM: {exit}"
        );
        self.drain
            .take()
            .map(|drain| drain.join().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached when a phase panicked: do not leave a server behind.
        if self.drain.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
