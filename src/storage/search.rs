//! Search by `q`: what a needle matches ([`contains_ci`], Unicode case-insensitive, no
//! wildcards), the substring-search index that narrows the rows down (see
//! `migrations/V2__search_index.sql`), how a needle becomes an index query, and how the writer
//! moves new rows into the index.
//!
//! The index only narrows the rows down: a query asks for some of the needle's trigrams, and
//! `contains_ci` decides on every candidate, so an answer is exactly the one a scan gives. Two
//! things keep the index from ever missing a true match: it holds each text lower-cased by the
//! same function `contains_ci` compares with ([`search_fold`]), so any text that contains the
//! needle contains each of the lower-cased needle's trigrams; and rows not yet indexed (rowids
//! after `search_progress.indexed_through`) are always candidates too.
//!
//! Rows leave only through `prune`, which removes their entries from the index in the same
//! transaction and brings `indexed_through` down to the highest rowid left, so that a rowid
//! SQLite hands out again is never taken for one already indexed.
//!
//! A search's `total` is exact, so a common word costs a check of every candidate: `hello`'s
//! 579,459 matches among 1M rows took 0.5–0.65 s to count (p50 of the load benchmark on 2 busy
//! cores; `he`, under three characters, scans all rows in about as long). [`remembered_total`]
//! keeps the last exact totals with the rows they went through, and answers a search asked again
//! from them: the total remembered plus the matches among the rows stored since (see
//! [`Remembered`] for why that is exact). Only a delete makes a search count every row again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use hashlink::LruCache;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};

use super::error::StorageError;
use crate::filters::Filters;
use crate::timestamp::KeyBound;

/// Whether a message whose text is `text` is found by `q`: `text` contains `q`, ignoring case
/// exactly as searches do. For checking answers against what a data set holds.
pub fn search_matches(text: &str, q: &str) -> bool {
    contains_ci(text, &search_fold(q))
}

/// A text as the search index holds it: lower-cased exactly as [`contains_ci`] compares, so
/// that whatever `contains_ci` finds, the index has every trigram of.
pub(crate) fn search_fold(text: &str) -> String {
    text.to_lowercase()
}

/// True when `haystack` contains `needle_lower` ignoring case. `needle_lower` is already lower
/// case. ASCII text is compared in place; anything else is lower-cased first (a few non-ASCII
/// characters, such as the Kelvin sign, lower-case to ASCII letters).
pub(crate) fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let needle = needle_lower.as_bytes();
        haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        search_fold(haystack).contains(needle_lower)
    }
}

/// The most trigrams one query asks the index for. Fewer trigrams only let more candidates
/// through (every one is checked), so a long needle costs no more than a short one.
const MAX_TRIGRAMS: usize = 8;

/// The index query for `needle`: trigrams of the lower-cased needle that every matching text
/// contains, each quoted (so that nothing in the needle is FTS syntax), joined with `AND`.
/// `None` when the needle is shorter than three characters: no trigram to ask for, the caller
/// scans instead.
pub fn trigram_query(needle: &str) -> Option<String> {
    let chars: Vec<char> = search_fold(needle).chars().collect();
    if chars.len() < 3 {
        return None;
    }
    // Non-overlapping trigrams from the start, and the last one: together they cover the
    // needle, and each further one narrows the candidates less than the one before.
    let last = chars.len() - 3;
    let starts = (0..=last).step_by(3).chain(std::iter::once(last));
    let mut seen = HashSet::new();
    let terms: Vec<String> = starts
        .map(|start| chars[start..start + 3].iter().collect::<String>())
        // A NUL would end the query text early for SQLite's FTS parser.
        .filter(|trigram| !trigram.contains('\0'))
        .filter(|trigram| seen.insert(trigram.clone()))
        .take(MAX_TRIGRAMS)
        .map(|trigram| format!("\"{}\"", trigram.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        return None;
    }
    Some(terms.join(" AND "))
}

/// The rows that may contain a needle, as an SQL table expression with one column, `candidate`
/// (a `messages` rowid), and two parameters, the [`trigram_query`] and a rowid the candidates
/// come after (0 for all of them): the index's matches, and the rows stored after what the index
/// holds.
pub const CANDIDATES: &str =
    "SELECT rowid AS candidate FROM message_search WHERE message_search MATCH ?1 AND rowid > ?2
     UNION ALL
     SELECT rowid FROM messages
      WHERE rowid > max(?2, (SELECT indexed_through FROM search_progress))";

/// Indexes up to `limit` of the rows stored after what the index holds, in one transaction.
/// Returns how many rows it went through.
pub fn index_pending(conn: &mut Connection, limit: usize) -> Result<usize, StorageError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Immediate: take the write lock first, so that a busy database is waited for rather than
    // failing on a snapshot another writer moved past.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (from, through, rows): (i64, Option<i64>, i64) = tx
        .prepare_cached(
            "SELECT p.indexed_through, max(m.rowid), count(m.rowid)
               FROM search_progress AS p
               LEFT JOIN (SELECT rowid FROM messages
                           WHERE rowid > (SELECT indexed_through FROM search_progress)
                           ORDER BY rowid LIMIT ?1) AS m",
        )?
        .query_row([limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    let Some(through) = through else {
        return Ok(0);
    };
    tx.prepare_cached(
        "INSERT INTO message_search (rowid, text_folded)
         SELECT rowid, search_fold(text) FROM messages
          WHERE rowid > ?1 AND rowid <= ?2 AND text IS NOT NULL",
    )?
    .execute([from, through])?;
    tx.prepare_cached("UPDATE search_progress SET indexed_through = ?1")?
        .execute([through])?;
    tx.commit()?;
    Ok(usize::try_from(rows).unwrap_or(0))
}

/// How many search totals are remembered. A key holds the needle and the sender, each at most a
/// URI long (8 KiB), so this bounds the memory to about a megabyte; in practice a few KiB.
const REMEMBERED_TOTALS: usize = 64;

/// Which search a remembered total is for: the filters, with the needle folded as
/// [`contains_ci`] folds it (so `Hello` and `HELLO` share an entry: they match the same rows), on
/// one connection ([`connection_id`]). A connection belongs to one database file for its life
/// (a file replaced under the server gets new connections), so an entry never outlives the rows
/// it counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TotalKey {
    connection: i64,
    from: Option<String>,
    since: Option<String>,
    needle: String,
}

/// A total and the rows it was counted over: every rowid up to `through`, while the store's
/// deletion count (`deletions.count`, moved by every transaction that deletes messages) was
/// `deletions`.
///
/// Rows are otherwise only appended, and SQLite gives a new row the highest rowid + 1, so every
/// row stored after the count has a rowid above `through`, and no row up to it has changed what
/// a search matches (the text, sender and `ts` of a row are never rewritten). So in any later
/// snapshot with the same deletion count, the matches among the rows up to `through` are still
/// `total`, and the search's total is `total` plus the matches among the rows after `through`.
/// A delete may free the highest rowid for the next row: the count moves, and the search counts
/// every row again. Both values are read in the snapshot the count reads ([`Snapshot::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Remembered {
    total: i64,
    snapshot: Snapshot,
}

/// The two values of a snapshot that say whether a [`Remembered`] total still holds in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    /// The highest rowid stored (0 when none is).
    through: i64,
    deletions: i64,
}

impl Snapshot {
    /// Reads them in `conn`'s current transaction (in a read transaction, this first read
    /// takes the snapshot the counts then read).
    fn read(conn: &Connection) -> Result<Self, StorageError> {
        Ok(conn
            .prepare_cached(
                "SELECT coalesce((SELECT max(rowid) FROM messages), 0),
                        (SELECT count FROM deletions)",
            )?
            .query_row([], |row| {
                Ok(Self {
                    through: row.get(0)?,
                    deletions: row.get(1)?,
                })
            })?)
    }
}

static TOTALS: LazyLock<Mutex<LruCache<TotalKey, Remembered>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(REMEMBERED_TOTALS)));

fn totals() -> MutexGuard<'static, LruCache<TotalKey, Remembered>> {
    TOTALS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The rows a search's count goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    All,
    /// Those with a rowid above this one.
    After(i64),
}

impl Rows {
    /// The rowid the rows come after: 0 for all of them (SQLite numbers rows from 1).
    pub(crate) fn after(self) -> i64 {
        match self {
            Self::All => 0,
            Self::After(after) => after,
        }
    }
}

/// How a search's total was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Every row was counted.
    Counted,
    /// Remembered, and no row was stored since.
    Remembered,
    /// Remembered, plus the matches among the rows stored since, counted.
    CountedSince,
}

impl Found {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::Remembered => "remembered",
            Self::CountedSince => "counted_since",
        }
    }
}

/// A search's `total`, and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SearchTotal {
    pub(crate) total: i64,
    pub(crate) found: Found,
}

/// The total of a search (`filters.q` set) in `conn`'s current transaction: counted by `count`
/// over every row, or, when the same search was counted on this connection before and no row was
/// deleted since, the total then plus `count` over the rows stored since (see [`Remembered`]).
/// Without a needle, `count` is just called.
pub(crate) fn remembered_total(
    conn: &Connection,
    filters: &Filters,
    count: impl FnOnce(Rows) -> Result<i64, StorageError>,
) -> Result<SearchTotal, StorageError> {
    let Some(key) = total_key(conn, filters)? else {
        return Ok(SearchTotal {
            total: count(Rows::All)?,
            found: Found::Counted,
        });
    };
    let now = Snapshot::read(conn)?;
    let before = totals().get(&key).copied();
    let (total, found) = match before {
        Some(before) if before.snapshot == now => (before.total, Found::Remembered),
        Some(before)
            if before.snapshot.deletions == now.deletions
                && before.snapshot.through < now.through =>
        {
            let since = count(Rows::After(before.snapshot.through))?;
            (before.total + since, Found::CountedSince)
        }
        _ => (count(Rows::All)?, Found::Counted),
    };
    totals().insert(
        key,
        Remembered {
            total,
            snapshot: now,
        },
    );
    Ok(SearchTotal { total, found })
}

fn total_key(conn: &Connection, filters: &Filters) -> Result<Option<TotalKey>, StorageError> {
    let Some(q) = &filters.q else {
        return Ok(None);
    };
    let since = match &filters.since {
        None | Some(KeyBound::BeforeAll) => None,
        Some(KeyBound::Key(key)) => Some(key.clone()),
        Some(KeyBound::AfterAll) => return Ok(None),
    };
    Ok(Some(TotalKey {
        connection: connection_id(conn)?,
        from: filters.from.clone(),
        since,
        needle: search_fold(q),
    }))
}

/// A number that names `conn` for as long as the process runs, never reused by another
/// connection: an SQL function holding it is added to the connection the first time it is
/// asked. (Should the first call fail for another reason, the connection gets another number,
/// which costs one count and nothing else.)
fn connection_id(conn: &Connection) -> Result<i64, StorageError> {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    if let Ok(id) = conn
        .prepare_cached("SELECT search_totals_connection()")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
    {
        return Ok(id);
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    conn.create_scalar_function(
        "search_totals_connection",
        0,
        FunctionFlags::SQLITE_UTF8,
        move |_| Ok(id),
    )?;
    Ok(id)
}

/// How many rows wait for the index.
pub fn backlog(conn: &Connection) -> Result<usize, StorageError> {
    let count: i64 = conn.query_row(
        "SELECT coalesce((SELECT max(rowid) FROM messages), 0) - indexed_through
           FROM search_progress",
        [],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(count).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{contains_ci, remembered_total, search_matches, trigram_query};
    use crate::config::Location;
    use crate::filters::Filters;
    use crate::message::NewMessage;
    use crate::storage::connection::{self, Filename};
    use crate::storage::prune::delete_older;
    use crate::storage::{insert, migrations};
    use crate::timestamp::{instant_key, parse_instant};

    #[test]
    fn substring_search_ignores_case_across_unicode() {
        assert!(contains_ci("Hello World", "world"));
        assert!(contains_ci("CAFÉ au lait", "café"));
        assert!(contains_ci("Temperature 5\u{212A}", "5k"));
        assert!(!contains_ci("Hello", "hellos"));
        assert!(!contains_ci("100 percent", "100%"));
        assert!(contains_ci("a_b", "a_b"));
        assert!(!contains_ci("axb", "a_b"));
    }

    #[test]
    fn a_search_matches_whatever_the_case_of_its_needle() {
        assert!(search_matches("hello there", "HELLO"));
        assert!(search_matches("ÉCOLE", "école"));
        assert!(!search_matches("hello", "zanzibar"));
    }

    #[test]
    fn needles_under_three_characters_have_no_index_query() {
        for needle in ["", "a", "ok", "é!", "\u{0}\u{0}"] {
            assert_eq!(trigram_query(needle), None, "{needle:?}");
        }
    }

    #[test]
    fn the_query_asks_for_lower_cased_trigrams_covering_the_needle() {
        assert_eq!(
            trigram_query("Hello").as_deref(),
            Some(r#""hel" AND "llo""#)
        );
        assert_eq!(
            trigram_query("ZANZIBAR").as_deref(),
            Some(r#""zan" AND "zib" AND "bar""#)
        );
        assert_eq!(
            trigram_query("ÉCOLE").as_deref(),
            Some(r#""éco" AND "ole""#)
        );
        assert_eq!(trigram_query("aaaa").as_deref(), Some(r#""aaa""#));
    }

    #[test]
    fn fts_syntax_in_the_needle_stays_literal() {
        assert_eq!(
            trigram_query(r#"a"b"#).as_deref(),
            Some(r#""a""b""#),
            "a quote is doubled inside the quoted trigram"
        );
        assert_eq!(
            trigram_query("AND OR NOT").as_deref(),
            Some(r#""and" AND " or" AND " no" AND "not""#)
        );
        assert_eq!(
            trigram_query("*^:()").as_deref(),
            Some(r#""*^:" AND ":()""#)
        );
    }

    #[test]
    fn nul_characters_are_left_out_of_the_query() {
        assert_eq!(trigram_query("ab\u{0}cde").as_deref(), Some(r#""cde""#));
        assert_eq!(trigram_query("\u{0}\u{0}\u{0}"), None);
    }

    #[test]
    fn long_needles_ask_for_a_bounded_number_of_trigrams() {
        let query = trigram_query(&"abcdefghijklmnopqrstuvwxyz".repeat(10)).unwrap();
        assert_eq!(query.matches(" AND ").count() + 1, super::MAX_TRIGRAMS);
    }

    fn store(conn: &mut Connection, id: &str, ts: &str, text: &str) -> i64 {
        let body = serde_json::json!({
            "message_id": id, "from": "+1", "to": "+2", "ts": ts, "text": text,
        });
        let message = NewMessage::from_json(body.to_string().as_bytes()).unwrap();
        let tx = conn.transaction().unwrap();
        insert::insert_messages(&tx, &[message], "2025-01-01T00:00:00.000Z").unwrap();
        tx.commit().unwrap();
        conn.last_insert_rowid()
    }

    /// The total of a search for `hello`, counting with a plain scan of the rows it is asked
    /// for, and how it was found.
    fn hello_total(conn: &Connection) -> (i64, &'static str) {
        let filters = Filters {
            q: Some("HeLLo".to_string()),
            ..Filters::default()
        };
        let tx = conn.unchecked_transaction().unwrap();
        let total = remembered_total(&tx, &filters, |rows| {
            Ok(tx.query_row(
                "SELECT count(*) FROM messages WHERE rowid > ?1 AND text LIKE '%hello%'",
                [rows.after()],
                |row| row.get(0),
            )?)
        })
        .unwrap();
        (total.total, total.found.name())
    }

    #[test]
    fn a_remembered_total_adds_the_rows_stored_since_and_a_delete_makes_it_count_again() {
        let filename = Filename::resolve(&Location::Memory).unwrap();
        let mut conn = connection::open_writer(&filename).unwrap();
        migrations::run(&mut conn).unwrap();
        assert_eq!(hello_total(&conn), (0, "counted"));
        store(&mut conn, "a", "2025-01-15T10:00:00Z", "hello a");
        store(&mut conn, "b", "2025-01-15T10:00:01Z", "other");
        assert_eq!(hello_total(&conn), (1, "counted_since"));
        assert_eq!(hello_total(&conn), (1, "remembered"));
        store(&mut conn, "c", "2025-01-15T10:00:02Z", "Hello c");
        // The oldest message holds the highest rowid: the prune frees it for the next row.
        let old = store(&mut conn, "old", "2020-01-01T00:00:00Z", "hello long ago");
        assert_eq!(hello_total(&conn), (3, "counted_since"));
        let bound = instant_key(&parse_instant("2021-01-01T00:00:00Z").unwrap());
        assert_eq!(delete_older(&mut conn, &bound, 10).unwrap(), 1);
        assert_eq!(
            store(&mut conn, "d", "2025-01-15T10:00:03Z", "nothing"),
            old
        );
        // The highest rowid is what it was when 3 was remembered, the rows are not.
        assert_eq!(hello_total(&conn), (2, "counted"));
        assert_eq!(hello_total(&conn), (2, "remembered"));
    }
}
