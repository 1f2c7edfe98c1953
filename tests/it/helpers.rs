//! Test fixtures: [`TestApp`], a real server on `127.0.0.1:0` over a temporary database, and
//! [`ServerProcess`], the real `app serve` binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use webhook_receiver::config::Location;
use webhook_receiver::http::{self, AppState, Settings, WebhookSecret};
use webhook_receiver::signature;
use webhook_receiver::storage::Storage;

pub const SECRET: &str = "testsecret";

/// How long a server may take to exit after a signal before a test fails.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// A server running in this process on a real port, over a database file in a temp folder.
pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose settings `configure` may adjust first (limits, a previous secret…).
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("nested").join("app.db");
        Self::spawn_at(dir, db_path, configure).await
    }

    /// A server over the database file `db_path` (a mount the test controls, say); `dir` is
    /// removed when the app is dropped.
    pub async fn spawn_at(
        dir: TempDir,
        db_path: PathBuf,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let storage = Storage::open(&Location::File(db_path.clone())).unwrap();
        let mut settings = Settings::new(secret(SECRET));
        configure(&mut settings);
        let state = AppState::new(storage, &settings);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(http::serve(listener, state.clone(), async {
            let _ = stop.await;
        }));
        Self {
            url,
            client: reqwest::Client::new(),
            db_path,
            state,
            shutdown: Some(shutdown),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Posts `body` signed with the test secret.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
        self.post(body.to_string(), &[("X-Signature", &signature)])
            .await
    }

    /// Posts `body` to `/webhook` with exactly these headers.
    pub async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/webhook", self.url))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Stores messages through the API, asserting each is created.
    pub async fn seed(&self, messages: &[Value]) {
        for message in messages {
            let response = self.post_signed(&message.to_string()).await;
            assert_eq!(response.status(), StatusCode::OK, "{message}");
            assert_eq!(
                response.headers()["x-webhook-result"],
                "created",
                "{message}"
            );
        }
    }

    /// GETs `path_and_query` and returns the status and JSON body.
    pub async fn get_json(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self.get(path_and_query).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// GETs `path_and_query` and returns the status and text body.
    pub async fn get_text(&self, path_and_query: &str) -> (StatusCode, String) {
        let response = self.get(path_and_query).await;
        (response.status(), response.text().await.unwrap())
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        let url = format!("{}{path_and_query}", self.url);
        self.client.get(url).send().await.unwrap()
    }

    /// Rows in `messages`, read straight from the file.
    pub fn row_count(&self) -> i64 {
        let conn = rusqlite::Connection::open(&self.db_path).unwrap();
        conn.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
            .unwrap()
    }

    /// Shuts the server down and waits for it (and its writer) to finish.
    pub async fn stop(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

/// A webhook secret for the settings of a [`TestApp`].
pub fn secret(secret: &str) -> WebhookSecret {
    WebhookSecret::new(secret).expect("a test secret is not empty")
}

/// A message body with the given fields.
pub fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Value {
    json!({"message_id": id, "from": from, "to": "+14155550100", "ts": ts, "text": text})
}

/// The real `app serve` on a free port. Once it has announced itself, its stdout and stderr are
/// read on threads, so that a busy server never blocks on a full pipe.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    start_line: String,
    /// Taken by [`ServerProcess::wait_for_exit`].
    stdout: Option<std::thread::JoinHandle<Vec<String>>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// A test that fails (panics) before it stops its server must not leave the server running.
impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts `app serve` with `env` (and nothing inherited that configures it), and waits for
    /// its `listening` line.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut command = app_command(env);
        command.arg("serve");
        Self::start_command(command)
    }

    /// Starts `command`, which runs `app serve` (under a wrapper that sets up its surroundings,
    /// say), and waits for its `listening` line.
    pub fn start_command(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let start: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("start-up line is not JSON ({e}): {line:?}"));
        assert_eq!(start["msg"], "listening", "{line}");
        let url = format!("http://127.0.0.1:{}", start["port"]);
        let stdout = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
            rest.lines().map(str::to_string).collect()
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
            text
        });
        Self {
            child,
            url,
            start_line: line.trim_end().to_string(),
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Sends `signal` (a name such as `TERM` or `KILL`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits at most `patience` for the process to end (killing it after that, and failing);
    /// returns its status, every stdout line (start-up line first) and its stderr.
    pub fn wait_for_exit(
        mut self,
        patience: std::time::Duration,
    ) -> (std::process::ExitStatus, Vec<String>, String) {
        let deadline = std::time::Instant::now() + patience;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the server did not exit within {patience:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut lines = vec![std::mem::take(&mut self.start_line)];
        lines.extend(self.stdout.take().unwrap().join().unwrap());
        (status, lines, self.stderr.take().unwrap().join().unwrap())
    }
}

/// The `app` binary with a clean environment: only `env` configures it.
pub fn app_command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_app"));
    for variable in [
        "WEBHOOK_SECRET",
        "WEBHOOK_SECRET_PREVIOUS",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "WEBHOOK_SECRET_FILE",
        "WEBHOOK_SECRET_PREVIOUS_FILE",
        "WHATSAPP_APP_SECRET_FILE",
        "WHATSAPP_VERIFY_TOKEN_FILE",
        "READ_TOKEN",
        "READ_TOKEN_FILE",
        "METRICS_TOKEN",
        "METRICS_TOKEN_FILE",
        "DATABASE_URL",
        "LOG_LEVEL",
        "HOST",
        "PORT",
        "APP_URL",
        "HEALTHCHECK_URL",
        "MAX_BODY_BYTES",
        "REQUEST_TIMEOUT_SECS",
        "SHUTDOWN_DRAIN_SECS",
        "WEBHOOK_TOLERANCE_SECS",
        "RETENTION",
        "SQLITE_AUTOCHECKPOINT_PAGES",
    ] {
        command.env_remove(variable);
    }
    command.env("HOST", "127.0.0.1").env("PORT", "0");
    command.envs(env.iter().copied());
    command
}

impl TestApp {
    /// The `DATABASE_URL` of this server's database file.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.db_path.display())
    }
}

/// What a run of the real binary left.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real `app` with `args`, a clean environment plus `env`, and `stdin` as its input
/// (empty when `None`), off the async threads so that an in-process server keeps serving.
pub async fn run_app(env: &[(&str, &str)], args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = app_command(env);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.unwrap_or_default().to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        // A command that does not read stdin may exit first: a failed write is not the test's.
        let writer = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut input, &stdin);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

/// One HTTP/1.1 connection driven by hand, for what a client library will not do: trickle
/// bytes, stop in the middle of a body, or keep one particular connection alive.
pub struct RawHttp {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

/// A response read off a [`RawHttp`] connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

impl RawHttp {
    /// Connects to `url` (`http://host:port`).
    pub async fn connect(url: &str) -> Self {
        let address = url.trim_start_matches("http://");
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Writes a whole GET request (kept alive).
    pub async fn get(&mut self, path: &str) -> std::io::Result<RawResponse> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.send(request.as_bytes()).await?;
        self.response().await
    }

    /// Reads one response: its head (parsed by `httparse`), then a `Content-Length` body.
    pub async fn response(&mut self) -> std::io::Result<RawResponse> {
        let (head_length, mut response) = loop {
            if let Some(head) = parse_head(&self.buffer) {
                break head;
            }
            self.fill().await?;
        };
        self.buffer.drain(..head_length);
        // Every response these tests read has a length; a chunked one would otherwise be read
        // as an empty body, its chunks left to be mistaken for the next response.
        assert!(
            response.header("transfer-encoding").is_none(),
            "a chunked response: only Content-Length bodies are read here"
        );
        let length: usize = response
            .header("content-length")
            .map_or(0, |value| value.parse().unwrap());
        while self.buffer.len() < length {
            self.fill().await?;
        }
        response.body = self.buffer.drain(..length).collect();
        Ok(response)
    }

    /// True once the server has closed the connection (end of stream or reset), reading and
    /// discarding anything it still sends.
    pub async fn closed(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

/// The response head at the start of `bytes`: how many bytes it takes, and the response it
/// starts (its body still empty); `None` while the head is incomplete.
fn parse_head(bytes: &[u8]) -> Option<(usize, RawResponse)> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut slots);
    let length = match head.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return None,
        Err(e) => panic!(
            "not an HTTP response ({e}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    };
    let headers = head
        .headers
        .iter()
        .map(|header| {
            let value = String::from_utf8_lossy(header.value).into_owned();
            (header.name.to_string(), value)
        })
        .collect();
    let response = RawResponse {
        status: head.code.expect("a complete head has a status"),
        headers,
        body: Vec::new(),
    };
    Some((length, response))
}

/// The head of a signed `POST /webhook` of `body`, with its `Content-Length`.
pub fn signed_post_head(body: &[u8]) -> String {
    let signature = signature::sign(SECRET.as_bytes(), body);
    format!(
        "POST /webhook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         X-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
}

/// `DATABASE_URL` for a database file.
pub fn database_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Asserts that `app serve`, with the secret, an in-memory database, `env` and `args`, refuses to
/// start: exit code 2 and exactly one JSON line, an `ERROR` naming `variable` whose message
/// contains `says`.
pub fn assert_serve_refuses(env: &[(&str, &str)], args: &[&str], variable: &str, says: &str) {
    let mut env = env.to_vec();
    env.extend([
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", "sqlite::memory:"),
    ]);
    let output = app_command(&env).arg("serve").args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(2), "{env:?} {args:?}: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let event: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        (&event["level"], &event["variable"]),
        (&json!("ERROR"), &json!(variable)),
        "{event}"
    );
    assert!(event["msg"].as_str().unwrap().contains(says), "{event}");
}
