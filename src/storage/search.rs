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
//! keeps the last exact totals and answers a search asked again from them for as long as nothing
//! was committed since (see [`TotalKey`] for why that is exact): the same benchmark's p50 fell to
//! 0.5 ms. The first search after a commit still counts.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use hashlink::LruCache;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, MAIN_DB, TransactionBehavior};

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
/// (a `messages` rowid), and one parameter, the [`trigram_query`]: the index's matches, and the
/// rows stored after what the index holds.
pub const CANDIDATES: &str =
    "SELECT rowid AS candidate FROM message_search WHERE message_search MATCH ?
     UNION ALL
     SELECT rowid FROM messages
      WHERE rowid > (SELECT indexed_through FROM search_progress)";

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

/// What a remembered total was counted on: one connection's view of the database at one
/// `PRAGMA data_version`, and the filters, with the needle folded as [`contains_ci`] folds it
/// (so `Hello` and `HELLO` share an entry: they match the same rows).
///
/// SQLite changes a connection's `data_version` whenever another connection has committed
/// since it last looked, whichever process that was (the writer, `app prune`, a restore), and
/// inside a read transaction the value belongs to the transaction's snapshot. So two reads on
/// one connection with the same `data_version` see the same rows, and a total counted in the
/// first is the total in the second. The value is only comparable on one connection, hence the
/// connection in the key ([`connection_id`]), and it ignores the connection's own commits, hence
/// read-only connections only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TotalKey {
    connection: i64,
    data_version: i64,
    from: Option<String>,
    since: Option<String>,
    needle: String,
}

static TOTALS: LazyLock<Mutex<LruCache<TotalKey, i64>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(REMEMBERED_TOTALS)));

fn totals() -> MutexGuard<'static, LruCache<TotalKey, i64>> {
    TOTALS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A search's `total`, and whether it was remembered rather than counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SearchTotal {
    pub(crate) total: i64,
    pub(crate) remembered: bool,
}

/// The total of a search (`filters.q` set), as `count` counts it in `conn`'s current read
/// transaction, or as it counted it before on the same connection when nothing has been
/// committed since. Without a needle, or on a connection that writes, `count` is just called.
pub(crate) fn remembered_total(
    conn: &Connection,
    filters: &Filters,
    count: impl FnOnce() -> Result<i64, StorageError>,
) -> Result<SearchTotal, StorageError> {
    let counted = |total| SearchTotal {
        total,
        remembered: false,
    };
    let Some(key) = total_key(conn, filters)? else {
        return count().map(counted);
    };
    if let Some(&total) = totals().get(&key) {
        return Ok(SearchTotal {
            total,
            remembered: true,
        });
    }
    let total = count()?;
    totals().insert(key, total);
    Ok(counted(total))
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
    if !conn.is_readonly(MAIN_DB)? {
        return Ok(None);
    }
    // Read first: in a read transaction this takes the snapshot the count then reads.
    let data_version: i64 = conn.pragma_query_value(None, "data_version", |row| row.get(0))?;
    Ok(Some(TotalKey {
        connection: connection_id(conn)?,
        data_version,
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
    use rusqlite::{Connection, OpenFlags};

    use super::{contains_ci, remembered_total, search_matches, trigram_query};
    use crate::filters::Filters;

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

    /// Totals counted by `count` on `conn` for the same search asked twice: whether each
    /// was remembered.
    fn asked_twice(conn: &Connection) -> [bool; 2] {
        let filters = Filters {
            q: Some("hello".to_string()),
            ..Filters::default()
        };
        [(); 2].map(|()| {
            let tx = conn.unchecked_transaction().unwrap();
            let total = remembered_total(&tx, &filters, || Ok(7)).unwrap();
            assert_eq!(total.total, 7);
            total.remembered
        })
    }

    #[test]
    fn only_a_connection_that_cannot_write_remembers_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("CREATE TABLE t (x)").unwrap();
        // Its own commits leave its data_version as it was: it must count every time.
        assert_eq!(asked_twice(&writer), [false, false]);
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        assert_eq!(asked_twice(&reader), [false, true]);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(asked_twice(&reader), [false, true]);
    }
}
