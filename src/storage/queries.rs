//! The reads: one implementation each for `/messages` and `app list`, `/stats` and `app stats`.
//! Both run in one read transaction, so a page and its `total` see the same snapshot.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::aggregates::TOP_SENDERS;
use super::error::StorageError;
use super::search;
use crate::filters::{Filters, ListQuery};
use crate::timestamp::KeyBound;

/// One stored message as the API shows it; `ts` is the string that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageRow {
    #[schema(example = "m1")]
    pub message_id: String,
    #[schema(example = "+919876543210")]
    pub from: String,
    #[schema(example = "+14155550100")]
    pub to: String,
    /// Exactly the string that was sent.
    #[schema(format = DateTime, example = "2025-01-15T10:00:00Z")]
    pub ts: String,
    /// `null` when the message had no text.
    #[schema(required = true, example = "Hello")]
    pub text: Option<String>,
}

/// A page of `GET /messages`: `total` counts every row matching the filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page {
    /// The page, in `(ts as an instant, message_id)` order.
    pub data: Vec<MessageRow>,
    /// Every row matching the filters, ignoring `limit` and `offset`.
    #[schema(minimum = 0)]
    pub total: i64,
    #[schema(minimum = 1, maximum = 100)]
    pub limit: i64,
    #[schema(minimum = 0)]
    pub offset: i64,
}

/// `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    #[schema(minimum = 0)]
    pub total_messages: i64,
    /// Distinct senders.
    #[schema(minimum = 0)]
    pub senders_count: i64,
    /// The top 10 senders by count, descending; ties by `from` ascending.
    #[schema(max_items = 10)]
    pub messages_per_sender: Vec<SenderCount>,
    /// The earliest `ts` as an instant, exactly as sent; `null` when the store is empty.
    #[schema(required = true, format = DateTime, example = "2025-01-10T09:00:00Z")]
    pub first_message_ts: Option<String>,
    /// The latest `ts` as an instant, exactly as sent; `null` when the store is empty.
    #[schema(required = true, format = DateTime, example = "2025-01-15T10:00:00Z")]
    pub last_message_ts: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SenderCount {
    #[schema(example = "+919876543210")]
    pub from: String,
    #[schema(minimum = 1)]
    pub count: i64,
}

/// A page of messages in `(ts, message_id)` order, with the total for the filters.
pub(crate) fn list_messages(conn: &Connection, query: &ListQuery) -> Result<Page, StorageError> {
    let tx = conn.unchecked_transaction()?;
    let (total, data) = match Where::from_filters(&query.filters) {
        None => (0, Vec::new()),
        Some(filter) => {
            let search = query.filters.q.as_deref().and_then(search::trigram_query);
            let search::SearchTotal { total, remembered } =
                search::remembered_total(&tx, &query.filters, || match &search {
                    Some(trigrams) => count_candidates(&tx, trigrams, &filter),
                    None => count(&tx, &query.filters, &filter),
                })?;
            let plan = match (&query.filters.q, &search) {
                (None, _) => None,
                (Some(_), None) => Some(SearchPlan::Scan),
                (Some(_), Some(_)) if query.offset >= total => Some(SearchPlan::Index),
                (Some(_), Some(_)) if scan_in_order(&tx, query, total)? => {
                    Some(SearchPlan::IndexThenScanInOrder)
                }
                (Some(_), Some(_)) => Some(SearchPlan::Index),
            };
            if let (Some(plan), Some(q)) = (plan, &query.filters.q) {
                log_search_plan(&tx, plan, q, search.as_deref(), total, remembered, query)?;
            }
            let data = if query.offset >= total {
                Vec::new()
            } else {
                match (&search, plan) {
                    (Some(trigrams), Some(SearchPlan::Index)) => {
                        page(&tx, query, &filter, Some(trigrams))?
                    }
                    _ => page(&tx, query, &filter, None)?,
                }
            };
            (total, data)
        }
    };
    tx.finish()?;
    Ok(Page {
        data,
        total,
        limit: query.limit,
        offset: query.offset,
    })
}

/// How a search (`q`) reads its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchPlan {
    /// A needle under three characters: the rows in listing order, each checked.
    Scan,
    /// The index's candidates, each checked, their keys sorted, then the page's rows read.
    Index,
    /// The index counted the matches, and so many match that reading the rows in listing order
    /// (each checked) reaches the page sooner than sorting every candidate's keys.
    IndexThenScanInOrder,
}

impl SearchPlan {
    fn name(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Index => "index",
            Self::IndexThenScanInOrder => "index_count_then_scan",
        }
    }
}

/// One `DEBUG` line per search naming its plan, so that an operator can see why a search was
/// slow: the plan, how many rows the index handed over as candidates, how many matched, and the
/// needle's length (never the needle: it is a piece of someone's message), and whether the
/// total was `counted` or `remembered` (see [`search::remembered_total`]). The candidate count
/// costs a query of its own, so it is made only when the line is written.
fn log_search_plan(
    conn: &Connection,
    plan: SearchPlan,
    q: &str,
    trigrams: Option<&str>,
    total: i64,
    remembered: bool,
    query: &ListQuery,
) -> Result<(), StorageError> {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return Ok(());
    }
    let candidates: i64 = match trigrams {
        Some(trigrams) => conn
            .prepare_cached(&format!("SELECT count(*) FROM ({})", search::CANDIDATES))?
            .query_row([trigrams], |row| row.get(0))?,
        None => conn
            .prepare_cached("SELECT messages FROM totals")?
            .query_row([], |row| row.get(0))?,
    };
    tracing::debug!(
        plan = plan.name(),
        needle_chars = q.chars().count(),
        trigrams = trigrams.map_or(0, |t| t.matches(" AND ").count() + 1),
        candidates,
        matches = total,
        total = if remembered { "remembered" } else { "counted" },
        offset = query.offset,
        limit = query.limit,
        "search plan"
    );
    Ok(())
}

/// The rows that may contain `q` ([`search::CANDIDATES`], whose parameter comes first), each
/// read by rowid: the candidates come first, as `CROSS JOIN` keeps SQLite from turning the join
/// around.
fn candidates_from() -> String {
    format!(
        "({}) AS candidates CROSS JOIN messages ON messages.rowid = candidates.candidate",
        search::CANDIDATES
    )
}

/// One page of the rows matching `filter`: read in listing order from an index, stopping at the
/// page's end, or, given `trigrams`, from the search candidates, sorted.
///
/// Only keys are ever sorted: the inner query orders the matching rows' `(ts_key, message_id,
/// rowid)` and keeps the page's rowids, and only then are those few rows read whole. Sorting the
/// whole rows instead put every matching text into SQLite's temporary B-tree (20,000 texts of
/// 4 KB for a deep page are 80 MB, spilled to a temporary file) and failed with "database or
/// disk is full" on a container's 16 MiB `/tmp`; the keys of the same rows take about 1 MB.
fn page(
    conn: &Connection,
    query: &ListQuery,
    filter: &Where,
    trigrams: Option<&str>,
) -> Result<Vec<MessageRow>, StorageError> {
    let mut args = Vec::with_capacity(filter.args.len() + 3);
    let from = match trigrams {
        Some(trigrams) => {
            args.push(SqlValue::Text(trigrams.to_string()));
            candidates_from()
        }
        None => "messages".to_string(),
    };
    args.extend(filter.args.iter().cloned());
    args.extend([
        SqlValue::Integer(query.limit),
        SqlValue::Integer(query.offset),
    ]);
    let sql = format!(
        "SELECT found.message_id, found.from_msisdn, found.to_msisdn, found.ts, found.text
           FROM (SELECT messages.rowid AS id, ts_key, message_id FROM {from} {}
                  ORDER BY ts_key, message_id LIMIT ? OFFSET ?) AS keys
           CROSS JOIN messages AS found ON found.rowid = keys.id
          ORDER BY keys.ts_key, keys.message_id",
        filter.sql
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| {
        Ok(MessageRow {
            message_id: row.get(0)?,
            from: row.get(1)?,
            to: row.get(2)?,
            ts: row.get(3)?,
            text: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a search's page is cheaper read in listing order (checking each row until the page
/// is full: about `(offset + limit) * rows / total` rows) than from its `total` candidates
/// sorted. Many matches favour the first, few the second.
fn scan_in_order(conn: &Connection, query: &ListQuery, total: i64) -> Result<bool, StorageError> {
    let rows: i64 = conn
        .prepare_cached("SELECT messages FROM totals")?
        .query_row([], |row| row.get(0))?;
    let in_order = (query.offset.saturating_add(query.limit) as f64) * rows as f64;
    Ok(in_order < (total as f64) * (total as f64))
}

/// How many search candidates match every filter (`contains_ci` among them).
fn count_candidates(
    conn: &Connection,
    trigrams: &str,
    filter: &Where,
) -> Result<i64, StorageError> {
    let mut args = vec![SqlValue::Text(trigrams.to_string())];
    args.extend(filter.args.iter().cloned());
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM {} {}",
            candidates_from(),
            filter.sql
        ))?
        .query_row(params_from_iter(args), |row| row.get(0))?)
}

/// Rows matching the filters. Unfiltered, sender-only and `since`-only counts come from the
/// aggregates; the others count index entries.
fn count(conn: &Connection, filters: &Filters, filter: &Where) -> Result<i64, StorageError> {
    let since = match &filters.since {
        Some(KeyBound::BeforeAll) | None => None,
        Some(bound) => Some(bound),
    };
    let total = match (&filters.from, since, &filters.q) {
        (None, None, None) => {
            conn.prepare_cached("SELECT messages FROM totals")?.query_row([], |row| row.get(0))?
        }
        (Some(from), None, None) => conn
            .prepare_cached(
                "SELECT coalesce((SELECT message_count FROM sender_counts WHERE from_msisdn = ?1), 0)",
            )?
            .query_row([from], |row| row.get(0))?,
        (None, Some(KeyBound::Key(key)), None) => match TimePrefixes::of(key) {
            Some(prefixes) => count_since(conn, key, &prefixes)?,
            None => count_rows(conn, filter)?,
        },
        _ => count_rows(conn, filter)?,
    };
    Ok(total)
}

/// Rows matching `filter`, counted one by one from the best index.
fn count_rows(conn: &Connection, filter: &Where) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM messages {}", filter.sql))?
        .query_row(params_from_iter(filter.args.iter()), |row| row.get(0))?)
}

/// The bounds that split a `since` count over `time_counts` (see its migration).
struct TimePrefixes<'a> {
    day: &'a str,
    minute: &'a str,
}

impl<'a> TimePrefixes<'a> {
    /// `None` unless `key` has the fixed shape of an instant key, `YYYY-MM-DDTHH:MM:…`.
    fn of(key: &'a str) -> Option<Self> {
        let bytes = key.as_bytes();
        (bytes.len() >= 17 && bytes[10] == b'T' && bytes[16] == b':').then(|| Self {
            day: &key[..10],
            minute: &key[..16],
        })
    }
}

/// Rows with `ts_key >= key`: whole days after its day, whole minutes after its minute in its
/// day (both from `time_counts`), and the rows of its own minute from `key` on (from the index).
fn count_since(
    conn: &Connection,
    key: &str,
    prefixes: &TimePrefixes<'_>,
) -> Result<i64, StorageError> {
    // After a day prefix comes `T`, after a minute prefix `:`: the next characters bound them.
    let day_end = format!("{}U", prefixes.day);
    let minute_end = format!("{};", prefixes.minute);
    Ok(conn
        .prepare_cached(
            "SELECT
               (SELECT coalesce(sum(message_count), 0) FROM time_counts
                 WHERE prefix_length = 10 AND prefix > ?1)
             + (SELECT coalesce(sum(message_count), 0) FROM time_counts
                 WHERE prefix_length = 16 AND prefix > ?2 AND prefix < ?3)
             + (SELECT count(*) FROM messages WHERE ts_key >= ?4 AND ts_key < ?5)",
        )?
        .query_row(
            params![prefixes.day, prefixes.minute, day_end, key, minute_end],
            |row| row.get(0),
        )?)
}

/// A `WHERE` clause with its arguments, holding only the filters that are set so that SQLite
/// can pick the index for them.
struct Where {
    sql: String,
    args: Vec<SqlValue>,
}

impl Where {
    /// `None` when the filters can match nothing.
    fn from_filters(filters: &Filters) -> Option<Self> {
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        if let Some(from) = &filters.from {
            clauses.push("from_msisdn = ?");
            args.push(SqlValue::Text(from.clone()));
        }
        match &filters.since {
            None | Some(KeyBound::BeforeAll) => {}
            Some(KeyBound::AfterAll) => return None,
            Some(KeyBound::Key(key)) => {
                clauses.push("ts_key >= ?");
                args.push(SqlValue::Text(key.clone()));
            }
        }
        if let Some(q) = &filters.q {
            clauses.push("contains_ci(text, ?)");
            args.push(SqlValue::Text(q.clone()));
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        Some(Self { sql, args })
    }
}

/// The `/stats` figures, from the aggregates and the two ends of the time index.
pub(crate) fn stats(conn: &Connection) -> Result<Stats, StorageError> {
    let tx = conn.unchecked_transaction()?;
    let (total_messages, senders_count) = tx
        .prepare_cached("SELECT messages, senders FROM totals")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let messages_per_sender = tx
        .prepare_cached(
            "SELECT from_msisdn, message_count FROM top_senders
             ORDER BY message_count DESC, from_msisdn LIMIT ?1",
        )?
        .query_map([TOP_SENDERS], |row| {
            Ok(SenderCount {
                from: row.get(0)?,
                count: row.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let end = |sql: &str| -> Result<Option<String>, StorageError> {
        let mut statement = tx.prepare_cached(sql)?;
        let mut rows = statement.query([])?;
        Ok(rows.next()?.map(|row| row.get(0)).transpose()?)
    };
    let first_message_ts = end("SELECT ts FROM messages ORDER BY ts_key, message_id LIMIT 1")?;
    let last_message_ts =
        end("SELECT ts FROM messages ORDER BY ts_key DESC, message_id DESC LIMIT 1")?;
    tx.finish()?;
    Ok(Stats {
        total_messages,
        senders_count,
        messages_per_sender,
        first_message_ts,
        last_message_ts,
    })
}
