//! Nothing acknowledged is ever lost: the real binary killed at random moments, stopped under
//! load, and one message id or one database hammered by many clients at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use webhook_receiver::config::Location;
use webhook_receiver::filters::RawListQuery;
use webhook_receiver::signature;
use webhook_receiver::storage::ReadOnlyStorage;

use crate::helpers::{
    PATIENCE, RawHttp, SECRET, ServerProcess, TestApp, database_url, message, signed_post_head,
};

/// Kill cycles of the crash test in the normal suite; `CRASH_CYCLES` asks for more.
const DEFAULT_CRASH_CYCLES: usize = 5;
/// Clients posting at once during each cycle.
const CRASH_CLIENTS: usize = 16;

/// A message body that is unique to `id`, so that what is stored can be compared exactly.
fn unique_message(id: &str, n: usize) -> Value {
    let from = format!("+9198765{:05}", n % 97);
    let mut body = message(
        id,
        &from,
        "2025-01-15T10:00:00Z",
        Some(&format!("text of {id}")),
    );
    body["ts"] = json!(format!("2025-01-15T10:{:02}:{:02}Z", (n / 60) % 60, n % 60));
    body
}

/// Posts `body` signed; the status, or `None` when the server never answered.
async fn post(client: &reqwest::Client, url: &str, body: &str) -> Option<StatusCode> {
    let signature = signature::sign(SECRET.as_bytes(), body.as_bytes());
    let response = client
        .post(format!("{url}/webhook"))
        .header("Content-Type", "application/json")
        .header("X-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    Some(response.status())
}

/// Keeps `clients` tasks posting new messages until the server stops answering. Returns every
/// acknowledged body and every status other than 200.
fn drive_load(
    url: &str,
    prefix: &str,
    clients: usize,
    acknowledged: &Arc<Mutex<Vec<Value>>>,
) -> JoinSet<Vec<StatusCode>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let (client, counter, acknowledged) = (
            client.clone(),
            Arc::clone(&counter),
            Arc::clone(acknowledged),
        );
        let (url, prefix) = (url.to_string(), prefix.to_string());
        tasks.spawn(async move {
            let mut unexpected = Vec::new();
            loop {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let body = unique_message(&format!("{prefix}-{n}"), n);
                match post(&client, &url, &body.to_string()).await {
                    Some(StatusCode::OK) => acknowledged.lock().unwrap().push(body),
                    Some(status) => unexpected.push(status),
                    None => return unexpected,
                }
            }
        });
    }
    tasks
}

/// Waits until `acknowledged` holds at least `count` messages, failing after [`PATIENCE`]: a
/// signal is sent once the server is under load, not after a guessed delay.
async fn wait_for_acknowledged(acknowledged: &Mutex<Vec<Value>>, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while acknowledged.lock().unwrap().len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fewer than {count} messages acknowledged within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every acknowledged message is in the database file exactly once, as sent; the file passes
/// `integrity_check` and the aggregates agree with the listed rows (a killed server may leave
/// rows it had not listed yet: reads add them). Returns the number of rows.
fn assert_all_stored(path: &std::path::Path, acknowledged: &[Value]) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
        .unwrap();
    let (totals, listed): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT messages FROM totals),
                    (SELECT count(*) FROM messages
                      WHERE rowid <= (SELECT listed_through FROM list_progress))",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        totals, listed,
        "the totals row disagrees with the listed rows"
    );
    let mut statement = conn
        .prepare(
            "SELECT count(*), from_msisdn, to_msisdn, ts, text FROM messages
             WHERE message_id = ?1",
        )
        .unwrap();
    let mut lost = Vec::new();
    for body in acknowledged {
        let id = body["message_id"].as_str().unwrap();
        let (copies, from, to, ts, text): (
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = statement
            .query_row([id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .unwrap();
        if copies != 1 {
            lost.push(id.to_string());
            continue;
        }
        let stored = json!({"message_id": id, "from": from, "to": to, "ts": ts, "text": text});
        assert_eq!(&stored, body, "stored differently");
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost: {lost:?}",
        lost.len()
    );
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_message_survives_sigkill_at_random_moments() {
    let cycles = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_CRASH_CYCLES);
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = database_url(&path);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    for cycle in 0..cycles {
        let server = ServerProcess::start(&[("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", &url)]);
        let mut load = drive_load(
            &server.url,
            &format!("c{cycle}"),
            CRASH_CLIENTS,
            &acknowledged,
        );
        // The kill lands after a random number of acknowledgements in this cycle, so at a
        // different point of the writer's work each time.
        let already = acknowledged.lock().unwrap().len();
        wait_for_acknowledged(&acknowledged, already + rng.usize(1..200)).await;
        server.signal("KILL");
        while let Some(unexpected) = load.join_next().await {
            let unexpected = unexpected.unwrap();
            assert!(
                unexpected.is_empty(),
                "answers other than 200: {unexpected:?}"
            );
        }
        let (status, _, stderr) = server.wait_for_exit(Duration::from_secs(10));
        assert!(
            !status.success(),
            "cycle {cycle}: the server was not killed"
        );
        assert_eq!(stderr, "", "cycle {cycle}: the server wrote to stderr");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let rows = assert_all_stored(&path, &acknowledged);
    let acked = acknowledged.len() as i64;
    println!(
        "crash durability: seed {seed}, {cycles} SIGKILL cycles, {acked} acknowledged, \
         {rows} stored ({} committed but cut off before their answer), 0 lost",
        rows - acked
    );
    assert!(acked > 0, "no message was acknowledged at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_turns_ready_503_finishes_accepted_requests_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = database_url(&path);
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &url),
        ("SHUTDOWN_DRAIN_SECS", "1"),
    ]);

    // One kept-alive connection, ready before the signal.
    let mut kept = RawHttp::connect(&server.url).await;
    assert_eq!(kept.get("/health/ready").await.unwrap().status, 200);
    // One request in flight: its head and half of its body sent.
    let slow = unique_message("slow", 0).to_string();
    let (first_half, second_half) = slow.as_bytes().split_at(slow.len() / 2);
    let mut in_flight = RawHttp::connect(&server.url).await;
    in_flight
        .send(signed_post_head(slow.as_bytes()).as_bytes())
        .await
        .unwrap();
    in_flight.send(first_half).await.unwrap();
    // And steady load.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut load = drive_load(&server.url, "load", 8, &acknowledged);
    wait_for_acknowledged(&acknowledged, 50).await;

    server.signal("TERM");
    let before_signal = acknowledged.lock().unwrap().len();
    // The signal lands a moment later: readiness turns from 200 to 503 on the same connection.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut ready = kept.get("/health/ready").await.unwrap();
    while ready.status == 200 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ready = kept.get("/health/ready").await.unwrap();
    }
    assert_eq!(ready.status, 503);
    let ready = ready.json();
    assert_eq!(ready["status"], "unavailable");
    assert_eq!(ready["detail"], "not ready: accepting");
    assert_eq!(ready["checks"]["accepting"], "shutting down");

    // Past the drain period the server stops accepting; the request in flight still completes.
    let address = server.url.trim_start_matches("http://").to_string();
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused,
        "still accepting connections long after the drain period"
    );
    in_flight.send(second_half).await.unwrap();
    let answer = in_flight.response().await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"status": "ok"}));

    while let Some(unexpected) = load.join_next().await {
        assert_eq!(unexpected.unwrap(), Vec::<StatusCode>::new());
    }
    let (status, lines, stderr) = server.wait_for_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    assert_eq!(stderr, "");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["msg"], "stopped: every accepted message is committed");

    let mut acknowledged = acknowledged.lock().unwrap().clone();
    let served_while_draining = acknowledged.len() - before_signal;
    assert!(
        served_while_draining > 0,
        "nothing was served while draining"
    );
    acknowledged.push(serde_json::from_str(&slow).unwrap());
    let rows = assert_all_stored(&path, &acknowledged);
    println!(
        "graceful shutdown: {} acknowledged ({served_while_draining} after SIGTERM), {rows} \
         stored, 0 lost",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_32_concurrent_copies_of_one_new_message_stores_one_row_and_answers_200() {
    let app = Arc::new(TestApp::spawn().await);
    let body = message(
        "storm",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("once"),
    )
    .to_string();
    let mut posts = JoinSet::new();
    for _ in 0..32 {
        let (app, body) = (Arc::clone(&app), body.clone());
        posts.spawn(async move {
            let response = app.post_signed(&body).await;
            let result = response.headers()["x-webhook-result"]
                .to_str()
                .unwrap()
                .to_string();
            (
                response.status(),
                result,
                response.json::<Value>().await.unwrap(),
            )
        });
    }
    let mut results: HashMap<String, usize> = HashMap::new();
    while let Some(outcome) = posts.join_next().await {
        let (status, result, body) = outcome.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "ok"}));
        *results.entry(result).or_default() += 1;
    }
    assert_eq!(
        results,
        HashMap::from([("created".to_string(), 1), ("duplicate".to_string(), 31)])
    );
    assert_eq!(app.row_count(), 1);
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["total_messages"], 1);
    Arc::into_inner(app).unwrap().stop().await;
}

/// The readers' two listings: the query, its page size, the field and value every row must
/// have, and the total once every writer is done, counted by hand: all 480 messages say
/// "hello", and 480 / 5 = 96 come from +15550000001. The bare `+` decodes to a space, which the
/// contract reads as `+`.
const READER_QUERIES: [(&str, i64, &str, &str, i64); 2] = [
    ("/messages?limit=100&q=HELLO", 100, "text", "hello", 480),
    (
        "/messages?from=+15550000001&since=2025-01-01T00:00:00Z",
        50,
        "from",
        "+15550000001",
        96,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_while_the_writer_writes_never_fail_and_always_see_consistent_totals() {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 60;
    const SENDERS: usize = 5;
    let app = Arc::new(TestApp::spawn().await);
    let writing = Arc::new(AtomicBool::new(true));

    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let app = Arc::clone(&app);
        writers.spawn(async move {
            for n in 0..PER_WRITER {
                let id = format!("w{writer}-{n}");
                let from = format!("+1555000000{}", (writer + n) % SENDERS);
                let body = message(&id, &from, "2025-01-15T10:00:00Z", Some("hello"));
                let response = app.post_signed(&body.to_string()).await;
                assert_eq!(response.status(), StatusCode::OK);
            }
        });
    }

    // API readers: every answer 200, totals never go backwards, a page agrees with itself:
    // as many rows as its total and limit allow, each one matching its filter.
    let mut readers = JoinSet::new();
    for reader in 0..6 {
        let (app, writing) = (Arc::clone(&app), Arc::clone(&writing));
        readers.spawn(async move {
            let mut last_total = 0;
            let mut last_page_total = 0;
            let mut reads = 0;
            while writing.load(Ordering::SeqCst) || reads == 0 {
                let (status, stats) = app.get_json("/stats").await;
                assert_eq!(status, StatusCode::OK, "{stats}");
                let per_sender: i64 = stats["messages_per_sender"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|sender| sender["count"].as_i64().unwrap())
                    .sum();
                let total = stats["total_messages"].as_i64().unwrap();
                assert_eq!(per_sender, total, "a /stats snapshot disagrees with itself");
                assert!(total >= last_total, "the total went backwards");
                last_total = total;
                let (query, limit, field, value, final_total) = READER_QUERIES[reader % 2];
                let (status, page) = app.get_json(query).await;
                assert_eq!(status, StatusCode::OK, "{page}");
                let rows = page["data"].as_array().unwrap();
                let page_total = page["total"].as_i64().unwrap();
                assert_eq!(page["limit"], limit, "{page}");
                assert_eq!(page["offset"], 0, "{page}");
                assert_eq!(
                    rows.len() as i64,
                    page_total.min(limit),
                    "{query}: a page shorter or longer than its total allows"
                );
                for row in rows {
                    assert_eq!(row[field], value, "{query}: {row}");
                }
                assert!(
                    page_total >= last_page_total,
                    "{query}: the total went backwards"
                );
                assert!(page_total <= final_total, "{query}: {page_total}");
                last_page_total = page_total;
                reads += 1;
            }
            reads
        });
    }

    // A library reader on its own read-only connection, as `app list` and `app stats` read.
    let location = Location::File(app.db_path.clone());
    let library_reader = {
        let writing = Arc::clone(&writing);
        std::thread::spawn(move || {
            let storage = ReadOnlyStorage::open_existing(&location).unwrap();
            let query = RawListQuery::default().parse().unwrap();
            let mut reads = 0;
            while writing.load(Ordering::SeqCst) || reads == 0 {
                let page = storage.list_messages(&query).unwrap();
                let stats = storage.stats().unwrap();
                assert!(stats.total_messages >= page.total);
                reads += 1;
            }
            reads
        })
    };

    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    let mut api_reads = 0;
    while let Some(reads) = readers.join_next().await {
        api_reads += reads.unwrap();
    }
    let library_reads = library_reader.join().unwrap();

    let expected = (WRITERS * PER_WRITER) as i64;
    let (status, stats) = app.get_json("/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["total_messages"], expected);
    for (query, _, _, _, final_total) in READER_QUERIES {
        let (status, page) = app.get_json(query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], final_total, "{query}");
    }
    assert_eq!(stats["senders_count"], SENDERS);
    assert_eq!(app.row_count(), expected);
    println!(
        "concurrent reads: {expected} messages written while {api_reads} API reads and \
         {library_reads} library reads ran, 0 errors"
    );
    Arc::into_inner(app).unwrap().stop().await;
}
