//! `q` through the search index, and `since` totals through the time counters: every answer
//! equals the one a plain scan gives, for rows waiting for the index and for indexed rows.

use std::path::Path;

use serde_json::Value;
use webhook_receiver::config::Location;
use webhook_receiver::message::NewMessage;
use webhook_receiver::storage::{BulkLoad, Insertion, ReadOnlyStorage};

use crate::helpers::*;

/// Texts that stress case folding, FTS syntax and SQL wildcards.
const TEXTS: &[&str] = &[
    "Hello World",
    "HELLO again",
    "CAFÉ crème brûlée",
    "Straße",
    "ΣΟΦΙΑ",
    "ὈΔΥΣΣΕΎΣ",
    "Temperature 5\u{212A}",
    "İstanbul",
    "100% done_ok",
    r#"say "quoted" AND more"#,
    "a*b^c:d(e) NEAR(x y) OR NOT -z",
    "emoji 👍🏽 ok",
    "tab\there",
    "ǅungla",
    "ﬁnance",
    "nul\u{0}byte",
    "",
    "ok",
];

/// Needles: short, long, Unicode, wildcards, quotes, FTS operators alone, NUL.
const NEEDLES: &[&str] = &[
    "hello",
    "HELLO",
    "llo w",
    "o",
    "ok",
    "café",
    "CRÈME",
    "brûlée",
    "strasse",
    "straße",
    "STRASSE",
    "σοφ",
    "ΣΟΦ",
    "σσε",
    "ύς",
    "5k",
    "5K",
    "istanbul",
    "i̇stanbul",
    "İST",
    "100%",
    "%",
    "_",
    "0% d",
    "e_o",
    r#""quoted""#,
    r#"""#,
    r#""""#,
    "AND",
    "and more",
    "OR",
    "NOT",
    "NOT -z",
    "*",
    "a*b",
    "^c:",
    "(e)",
    "NEAR(",
    "👍",
    "👍🏽",
    "\t",
    "ǆ",
    "Ǆung",
    "dž",
    "fin",
    "ﬁn",
    "\u{0}",
    "l\u{0}b",
    "nul\u{0}byte",
    "hello world and more than the longest text here",
];

fn new_message(id: &str, ts: &str, text: Option<&str>) -> NewMessage {
    let body = message(id, "+919876543210", ts, text).to_string();
    NewMessage::from_json(body.as_bytes()).unwrap()
}

/// Stores `messages` straight through the storage layer, as another process would: the rows
/// wait for the search index until something indexes them.
fn insert_directly(db: &Path, messages: &[NewMessage]) {
    let insertions = BulkLoad::open(db).unwrap().insert(messages).unwrap();
    assert!(
        insertions
            .iter()
            .all(|insertion| *insertion == Insertion::Created)
    );
}

/// Moves every waiting row into the index; returns how many there were.
fn index_everything(db: &Path) -> usize {
    let mut load = BulkLoad::open(db).unwrap();
    let moved = load.index_for_search(usize::MAX).unwrap();
    assert_eq!(load.unindexed_rows().unwrap(), 0);
    moved
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect()
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Asks for every needle and compares with Rust's own lower-cased substring test.
async fn assert_every_needle_matches_a_scan(app: &TestApp, stored: &[NewMessage]) {
    for needle in NEEDLES {
        let lower = needle.to_lowercase();
        let expected: Vec<String> = stored
            .iter()
            .filter(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|text| text.to_lowercase().contains(&lower))
            })
            .map(|m| m.message_id.clone())
            .collect();
        let (status, page) = app
            .get_json(&format!("/messages?limit=100&q={}", encode(needle)))
            .await;
        assert_eq!(status, 200, "q={needle:?}: {page}");
        assert_eq!(ids(&page), expected, "q={needle:?}");
        assert_eq!(page["total"], expected.len(), "q={needle:?}");
    }
}

#[tokio::test]
async fn search_answers_what_a_scan_answers_before_and_after_rows_are_indexed() {
    let app = TestApp::spawn().await;
    let stored: Vec<NewMessage> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            new_message(
                &format!("t{i:02}"),
                &format!("2025-01-15T10:00:{i:02}Z"),
                Some(text),
            )
        })
        .chain([new_message("null-text", "2025-01-15T11:00:00Z", None)])
        .collect();
    insert_directly(&app.db_path, &stored);

    assert_every_needle_matches_a_scan(&app, &stored).await;
    assert_eq!(index_everything(&app.db_path), stored.len());
    assert_every_needle_matches_a_scan(&app, &stored).await;
}

#[tokio::test]
async fn messages_posted_to_the_server_are_found_before_and_after_the_writer_indexes_them() {
    let app = TestApp::spawn().await;
    app.seed(&[
        message("a", "+911", "2025-01-15T10:00:00Z", Some("Zanzibar trip")),
        message("b", "+911", "2025-01-15T10:00:01Z", Some("no match")),
    ])
    .await;
    let (_, page) = app.get_json("/messages?q=ZANZIBAR").await;
    assert_eq!(
        (ids(&page), &page["total"]),
        (vec!["a".to_string()], &1.into())
    );
    // The writer indexes new rows by itself once it has nothing else to do.
    let storage = ReadOnlyStorage::open_existing(&Location::File(app.db_path.clone())).unwrap();
    for _ in 0..1000 {
        if storage.unindexed_rows().unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        storage.unindexed_rows().unwrap(),
        0,
        "the writer left rows unindexed"
    );
    let (_, page) = app.get_json("/messages?q=ZANZIBAR").await;
    assert_eq!(
        (ids(&page), &page["total"]),
        (vec!["a".to_string()], &1.into())
    );
}

#[tokio::test]
async fn pages_of_common_and_rare_needles_are_in_listing_order_with_exact_totals() {
    let app = TestApp::spawn().await;
    // 120 rows: 100 say "common", three of them also "rarest"; ids run against time.
    let stored: Vec<NewMessage> = (0..120)
        .map(|i| {
            let text = match i {
                _ if i % 6 == 5 => "nothing to see".to_string(),
                7 | 50 | 93 => format!("common and rarest {i}"),
                _ => format!("Common {i}"),
            };
            let ts = format!("2025-01-15T10:{:02}:{:02}.{}Z", i / 60, i % 60, i % 3);
            new_message(&format!("id{:03}", 999 - i), &ts, Some(&text))
        })
        .collect();
    insert_directly(&app.db_path, &stored);
    index_everything(&app.db_path);
    let matching = |needle: &str| -> Vec<String> {
        stored
            .iter()
            .filter(|m| m.text.as_deref().unwrap().to_lowercase().contains(needle))
            .map(|m| m.message_id.clone())
            .collect()
    };
    let common = matching("common");
    assert_eq!(common.len(), 100);
    // Offsets on both sides of the switch from reading in order to sorting the candidates.
    for (offset, limit) in [(0, 50), (40, 10), (90, 50), (99, 1), (100, 50), (150, 5)] {
        let (status, page) = app
            .get_json(&format!("/messages?q=COMMON&offset={offset}&limit={limit}"))
            .await;
        assert_eq!(status, 200, "{page}");
        let expected: Vec<String> = common.iter().skip(offset).take(limit).cloned().collect();
        assert_eq!(ids(&page), expected, "offset={offset} limit={limit}");
        assert_eq!(page["total"], 100);
    }
    // Rows 7, 50 and 93 say "rarest": ids 992, 949 and 906, in time order.
    let (status, page) = app.get_json("/messages?q=rarest&limit=2&offset=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["id949", "id906"]);
    assert_eq!(page["total"], 3);
    // Row 7 is at 10:00:07, before the instant; rows 50 and 93 are after it.
    let (status, page) = app
        .get_json("/messages?q=rarest&from=%2B919876543210&since=2025-01-15T10:00:30Z")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["id949", "id906"]);
    assert_eq!(page["total"], 2);
}

#[tokio::test]
async fn vacuum_keeps_the_rows_the_index_points_at() {
    let app = TestApp::spawn().await;
    let stored: Vec<NewMessage> = (0..50)
        .map(|i| {
            new_message(
                &format!("v{i:02}"),
                &format!("2025-01-15T10:00:{i:02}Z"),
                Some(&format!("text number {i}")),
            )
        })
        .collect();
    insert_directly(&app.db_path, &stored);
    index_everything(&app.db_path);
    let (_, before) = app.get_json("/messages?q=number%204").await;
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    let rowids = |conn: &rusqlite::Connection| -> Vec<(String, i64)> {
        let mut statement = conn
            .prepare("SELECT message_id, rowid FROM messages ORDER BY message_id")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let rowids_before = rowids(&conn);
    conn.execute_batch("VACUUM").unwrap();
    assert_eq!(rowids(&conn), rowids_before, "VACUUM renumbered rows");
    let (_, after) = app.get_json("/messages?q=number%204").await;
    assert_eq!(after, before);
    assert_eq!(after["total"], 11);
}

#[tokio::test]
async fn since_totals_equal_a_count_of_the_rows_at_or_after_the_instant() {
    let app = TestApp::spawn().await;
    let stamps = [
        "2024-12-31T23:59:59.999999999Z",
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00.5Z",
        "2025-01-01T00:00:59Z",
        "2025-01-01T00:01:00Z",
        "2025-01-01T00:01:00Z",
        "2025-01-01T09:59:00Z",
        "2025-01-01T10:00:00.000000001Z",
        "2025-01-02T00:00:00Z",
        "2025-02-01T12:30:45.25Z",
        "2026-01-01T00:00:00Z",
    ];
    let stored: Vec<NewMessage> = stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| new_message(&format!("s{i:02}"), ts, None))
        .collect();
    insert_directly(&app.db_path, &stored);
    let instant = |ts: &str| webhook_receiver::timestamp::parse_instant(ts).unwrap();
    let mut probes: Vec<String> = stamps.iter().map(|ts| ts.to_string()).collect();
    probes.extend(
        [
            "2000-01-01T00:00:00Z",
            "2024-12-31T23:59:59.999999998Z",
            "2025-01-01T00:00:00.000000001Z",
            "2025-01-01T00:00:30Z",
            "2025-01-01T00:01:00.000000001Z",
            "2025-01-01T05:30:00+05:30",
            "2025-01-01T15:29:00+05:30",
            "2025-01-01T10:00:00Z",
            "2025-01-01T23:59:59Z",
            "2025-01-31T00:00:00-12:00",
            "2025-12-31T23:59:59.999999999Z",
            "2026-01-01T00:00:00.000000001Z",
            "2999-01-01T00:00:00Z",
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
        ]
        .map(str::to_string),
    );
    for since in probes {
        let expected = stamps
            .iter()
            .filter(|ts| instant(ts) >= instant(&since))
            .count();
        let (status, page) = app
            .get_json(&format!("/messages?since={}", encode(&since)))
            .await;
        assert_eq!(status, 200, "{since}: {page}");
        assert_eq!(page["total"], expected, "since={since}");
        assert_eq!(ids(&page).len(), expected, "since={since}");
    }
}

/// Needles and the ids of [`TEXTS`] (`tNN` is `TEXTS[NN]`) they must find, worked out by hand
/// rather than by any folding function, so that a scan and the index cannot agree on a wrong
/// answer.
const HAND_COUNTED: &[(&str, &[&str])] = &[
    // `É` is `é` folded: "CAFÉ crème brûlée", and no other text has either.
    ("É", &["t02"]),
    ("é", &["t02"]),
    ("CRÈME", &["t02"]),
    ("hello", &["t00", "t01"]),
    ("llo w", &["t00"]),
    // "hello wORld", "mORe", "OR".
    ("OR", &["t00", "t09", "t10"]),
    ("AND", &["t09"]),
    ("NOT", &["t10"]),
    ("ok", &["t08", "t11", "t17"]),
    ("%", &["t08"]),
    ("_", &["t08"]),
    ("e_o", &["t08"]),
    ("ΣΟΦ", &["t04"]),
    ("σσε", &["t05"]),
    ("ύς", &["t05"]),
    // The Kelvin sign folds to `k`.
    ("5k", &["t06"]),
    // `İ` lower-cases to `i` and a combining dot, so the dotless spelling finds nothing.
    ("istanbul", &[]),
    ("İST", &["t07"]),
    // `ß` is not `ss`, nor the `ﬁ` ligature `fi`; the title-case `ǅ` is the lower-case `ǆ`.
    ("strasse", &[]),
    ("straße", &["t03"]),
    ("fin", &[]),
    ("ﬁn", &["t14"]),
    ("ǆ", &["t13"]),
    ("dž", &[]),
    ("👍", &["t11"]),
    ("\t", &["t12"]),
    ("\u{0}", &["t15"]),
    ("hello world and more than the longest text here", &[]),
];

async fn assert_hand_counted_answers(app: &TestApp) {
    for (needle, expected) in HAND_COUNTED {
        let (status, page) = app
            .get_json(&format!("/messages?limit=100&q={}", encode(needle)))
            .await;
        assert_eq!(status, 200, "q={needle:?}: {page}");
        assert_eq!(ids(&page), *expected, "q={needle:?}");
        assert_eq!(page["total"], expected.len(), "q={needle:?}");
    }
}

#[tokio::test]
async fn search_finds_exactly_the_ids_listed_by_hand_before_and_after_indexing() {
    let app = TestApp::spawn().await;
    let stored: Vec<NewMessage> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            new_message(
                &format!("t{i:02}"),
                &format!("2025-01-15T10:00:{i:02}Z"),
                Some(text),
            )
        })
        .collect();
    insert_directly(&app.db_path, &stored);
    assert_hand_counted_answers(&app).await;
    assert_eq!(index_everything(&app.db_path), stored.len());
    assert_hand_counted_answers(&app).await;
}

/// `app serve` whose temporary files can only go to a fresh tmpfs of `size` (a container's
/// small `/tmp`): `SQLITE_TMPDIR` names it, mounted in a mount namespace of the server's own,
/// so that nothing outside sees it and it goes when the server does.
fn serve_with_small_temp_dir(database_url: &str, temp_dir: &Path, size: &str) -> ServerProcess {
    let app = app_command(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", database_url),
        ("SQLITE_TMPDIR", temp_dir.to_str().unwrap()),
    ]);
    let mut command = std::process::Command::new("unshare");
    command
        .args(["--mount", "--map-root-user", "sh", "-c"])
        .arg(format!(
            r#"mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@""#
        ))
        .arg(temp_dir)
        .arg(app.get_program())
        .arg("serve");
    for (name, value) in app.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    ServerProcess::start_command(command)
}

#[tokio::test]
async fn a_deep_page_of_a_search_matching_megabytes_of_text_fits_a_small_temp_dir() {
    // 3,000 texts of about 4 KB, 2,000 of them with "zebra": 8 MB of matching rows, four
    // times SQLite's page cache, against a temporary directory of 1 MiB.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let filler = "lorem ipsum dolor sit amet ".repeat(150);
    let stored: Vec<NewMessage> = (0..3000)
        .map(|i| {
            let word = if i % 3 == 0 { "quagga" } else { "Zebra" };
            let ts = format!(
                "2025-01-15T{:02}:{:02}:{:02}Z",
                i / 3600,
                i / 60 % 60,
                i % 60
            );
            new_message(
                &format!("id{:04}", 9999 - i),
                &ts,
                Some(&format!("{word} {i} {filler}")),
            )
        })
        .collect();
    let mut load = BulkLoad::open(&db).unwrap();
    load.insert(&stored).unwrap();
    load.finish().unwrap();
    let matching: Vec<String> = stored
        .iter()
        .filter(|m| m.text.as_deref().unwrap().starts_with("Zebra"))
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(matching.len(), 2000);

    let temp_dir = dir.path().join("tmp");
    std::fs::create_dir(&temp_dir).unwrap();
    let server = serve_with_small_temp_dir(&database_url(&db), &temp_dir, "1m");
    for (offset, limit) in [(1900, 50), (1990, 100), (0, 3)] {
        let response = reqwest::get(format!(
            "{}/messages?q=zebra&offset={offset}&limit={limit}",
            server.url
        ))
        .await
        .unwrap();
        let status = response.status();
        let page: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "offset={offset}: {page}");
        let expected: Vec<String> = matching.iter().skip(offset).take(limit).cloned().collect();
        assert_eq!(ids(&page), expected, "offset={offset} limit={limit}");
        assert_eq!(page["total"], 2000);
        for row in page["data"].as_array().unwrap() {
            let id = row["message_id"].as_str().unwrap();
            let sent = stored.iter().find(|m| m.message_id == id).unwrap();
            assert_eq!(
                row["text"].as_str(),
                sent.text.as_deref(),
                "{id}: the whole text"
            );
        }
    }
    server.signal("TERM");
    let (status, _, stderr) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{stderr}");
}

/// The `search plan` lines a server wrote while answering `queries`, at `log_level`.
async fn search_plan_lines(log_level: &str, queries: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    // Five say "zebra"; "zebu and cobra" holds both of its trigrams asked for ("zeb", "bra")
    // without it, so the index hands over six candidates for five matches.
    let texts = [
        "Zebra 1",
        "zebra 2",
        "zebu and cobra",
        "ZEBRA 3",
        "nothing",
        "a zebra 4",
        "zebra 5",
    ];
    let stored: Vec<NewMessage> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            new_message(
                &format!("p{i}"),
                &format!("2025-01-15T10:00:0{i}Z"),
                Some(text),
            )
        })
        .collect();
    insert_directly(&db, &stored);
    index_everything(&db);
    let server = ServerProcess::start(&[
        ("WEBHOOK_SECRET", SECRET),
        ("DATABASE_URL", &database_url(&db)),
        ("LOG_LEVEL", log_level),
    ]);
    for query in queries {
        let response = reqwest::get(format!("{}/messages?{query}", server.url))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
    }
    server.signal("TERM");
    let (status, lines, stderr) = server.wait_for_exit(PATIENCE);
    assert!(status.success(), "{stderr}");
    lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["msg"] == "search plan")
        .collect()
}

#[tokio::test]
async fn at_debug_each_search_logs_the_plan_it_chose_and_its_candidates() {
    let lines = search_plan_lines(
        "DEBUG",
        &[
            "q=zebra",
            "q=ZEBRA&limit=1&offset=2",
            "q=ze&offset=1",
            "from=%2B919876543210",
        ],
    )
    .await;
    let plans: Vec<Value> = lines
        .iter()
        .map(|line| {
            assert_eq!(line["level"], "DEBUG", "{line}");
            let mut line = line.clone();
            let fields = line.as_object_mut().unwrap();
            fields.remove("ts");
            fields.remove("level");
            fields.remove("msg");
            line
        })
        .collect();
    assert_eq!(
        plans,
        [
            // Few matches among the candidates: their keys sorted.
            serde_json::json!({"plan": "index", "needle_chars": 5, "trigrams": 2,
                "candidates": 6, "matches": 5, "total": "counted", "offset": 0, "limit": 50}),
            // Most rows match and the page is near the start: read in order instead. The same
            // needle folded, nothing stored since: its total is remembered.
            serde_json::json!({"plan": "index_count_then_scan", "needle_chars": 5, "trigrams": 2,
                "candidates": 6, "matches": 5, "total": "remembered", "offset": 2, "limit": 1}),
            // Under three characters: no trigram, every row is a candidate.
            serde_json::json!({"plan": "scan", "needle_chars": 2, "trigrams": 0,
                "candidates": 7, "matches": 6, "total": "counted", "offset": 1, "limit": 50}),
        ],
        "one line per search, none for a listing without q"
    );
}

#[tokio::test]
async fn at_info_searches_log_no_plan() {
    let lines = search_plan_lines("INFO", &["q=zebra", "q=ze"]).await;
    assert_eq!(lines, Vec::<Value>::new());
}

/// A server (the real binary, at `DEBUG`) over `db`, asked searches and sent messages in
/// turn; its `search plan` lines say whether each total was counted or remembered.
struct LoggedServer {
    server: ServerProcess,
    db: std::path::PathBuf,
}

impl LoggedServer {
    fn start(db: &Path) -> Self {
        let server = ServerProcess::start(&[
            ("WEBHOOK_SECRET", SECRET),
            ("DATABASE_URL", &database_url(db)),
            ("LOG_LEVEL", "DEBUG"),
        ]);
        Self {
            server,
            db: db.to_path_buf(),
        }
    }

    /// The `total` of `GET /messages?q=…`.
    async fn total(&self, q: &str) -> i64 {
        let response = reqwest::get(format!("{}/messages?q={}", self.server.url, encode(q)))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "q={q:?}");
        let page: Value = response.json().await.unwrap();
        page["total"].as_i64().unwrap()
    }

    /// Stores a message through `POST /webhook`, then waits until the writer has indexed it:
    /// that is a commit too, and the searches after it should see no other.
    async fn store(&self, id: &str, ts: &str, text: &str) {
        let body = message(id, "+919876543210", ts, Some(text)).to_string();
        let response = reqwest::Client::new()
            .post(format!("{}/webhook", self.server.url))
            .header("Content-Type", "application/json")
            .header(
                "X-Signature",
                webhook_receiver::signature::sign(SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-webhook-result"], "created");
        let storage = ReadOnlyStorage::open_existing(&Location::File(self.db.clone())).unwrap();
        for _ in 0..1000 {
            if storage.unindexed_rows().unwrap() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the writer left rows unindexed");
    }

    /// Stops the server; `(matches, "counted" or "remembered")` of each search, in order.
    fn stop(self) -> Vec<(i64, String)> {
        self.server.signal("TERM");
        let (status, lines, stderr) = self.server.wait_for_exit(PATIENCE);
        assert!(status.success(), "{stderr}");
        lines
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|line| line["msg"] == "search plan")
            .map(|line| {
                (
                    line["matches"].as_i64().unwrap(),
                    line["total"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// A database file in `dir` holding `texts` (all indexed), stored in this order.
fn indexed_database(dir: &Path, texts: &[(&str, &str)]) -> std::path::PathBuf {
    let db = dir.join("app.db");
    let stored: Vec<NewMessage> = texts
        .iter()
        .enumerate()
        .map(|(i, (ts, text))| new_message(&format!("r{i}"), ts, Some(text)))
        .collect();
    insert_directly(&db, &stored);
    index_everything(&db);
    db
}

fn counted(matches: i64) -> (i64, String) {
    (matches, "counted".to_string())
}

fn remembered(matches: i64) -> (i64, String) {
    (matches, "remembered".to_string())
}

fn counted_since(matches: i64) -> (i64, String) {
    (matches, "counted_since".to_string())
}

#[tokio::test]
async fn a_search_asked_again_is_remembered_whatever_the_case_and_counts_only_rows_stored_since() {
    let dir = tempfile::tempdir().unwrap();
    let db = indexed_database(
        dir.path(),
        &[
            ("2025-01-15T10:00:00Z", "Hello 1"),
            ("2025-01-15T10:00:01Z", "hello 2"),
            ("2025-01-15T10:00:02Z", "nothing"),
            ("2025-01-15T10:00:03Z", "HELLO 3"),
        ],
    );
    let server = LoggedServer::start(&db);
    let mut totals = Vec::new();
    for q in ["hello", "HELLO", "hElLo", "he", "HE"] {
        totals.push(server.total(q).await);
    }
    server
        .store("new", "2025-01-15T10:00:04Z", "well, hello there")
        .await;
    for q in ["Hello", "hello", "He", "he"] {
        totals.push(server.total(q).await);
    }
    assert_eq!(totals, [3, 3, 3, 3, 3, 4, 4, 4, 4]);
    assert_eq!(
        server.stop(),
        [
            counted(3),
            // The needle folded: one entry for every case of it.
            remembered(3),
            remembered(3),
            // Under three characters (no index query): remembered the same way.
            counted(3),
            remembered(3),
            // A message was stored: each total adds the matches among the rows stored since.
            counted_since(4),
            remembered(4),
            counted_since(4),
            remembered(4),
        ]
    );
}

#[tokio::test]
async fn a_prune_by_another_process_makes_searches_count_again_even_when_rowids_come_back() {
    let dir = tempfile::tempdir().unwrap();
    // The old message is stored last: it holds the highest rowid, which the prune frees and the
    // next message takes again, so that the newest rowid and the number of rows are both what
    // they were before the prune while the rows that match are not.
    let db = indexed_database(
        dir.path(),
        &[
            ("2025-01-15T10:00:00Z", "hello a"),
            ("2025-01-15T10:00:01Z", "hello b"),
            ("2025-01-15T10:00:02Z", "other"),
            ("2020-01-01T00:00:00Z", "hello from long ago"),
        ],
    );
    let server = LoggedServer::start(&db);
    let mut totals = vec![server.total("hello").await, server.total("hello").await];
    let run = run_app(
        &[("DATABASE_URL", &database_url(&db))],
        &["prune", "--before", "2021-01-01T00:00:00Z", "--json"],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    server
        .store("after", "2025-01-15T10:00:05Z", "no greeting")
        .await;
    let rows_and_newest: (i64, i64) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*), max(rowid) FROM messages", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(rows_and_newest, (4, 4), "the freed rowid was taken again");
    totals.push(server.total("hello").await);
    totals.push(server.total("hello").await);
    server
        .store("later", "2025-01-15T10:00:06Z", "hello again")
        .await;
    totals.push(server.total("hello").await);
    assert_eq!(totals, [3, 3, 2, 2, 3]);
    assert_eq!(
        server.stop(),
        [
            counted(3),
            remembered(3),
            // The newest rowid is the one 3 was remembered at, but a row was deleted.
            counted(2),
            remembered(2),
            counted_since(3),
        ]
    );
}
