//! The reads: one implementation each for `/messages` and `app list`, `/stats` and `app stats`.
//! Both run in one read transaction, so a page and its `total` see the same snapshot.
//!
//! Every read is the listed rows (the partial listing indexes, `AND listed`, and the aggregates)
//! merged with the tail, the rows not listed yet (`rowid > listed_through`, a short rowid range;
//! see [`super::listing`]): so every answer is exact whenever listing runs.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::aggregates::TOP_SENDERS;
use super::error::StorageError;
use super::search::Rows;
use super::{listing, search};
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
            let search::SearchTotal { total, found } =
                search::remembered_total(&tx, &query.filters, |rows| match (&search, rows) {
                    (Some(trigrams), rows) => {
                        count_candidates(&tx, trigrams, &filter, rows.after())
                    }
                    (None, Rows::All) => count(&tx, &query.filters, &filter),
                    (None, Rows::After(after)) => {
                        count_rows(&tx, &filter.tail_sql(), filter.tail_args(after))
                    }
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
                log_search_plan(&tx, plan, q, search.as_deref(), total, found, query)?;
            }
            let data = if query.offset >= total {
                Vec::new()
            } else {
                match (&search, plan) {
                    (Some(trigrams), Some(SearchPlan::Index)) => {
                        page_of_candidates(&tx, query, &filter, trigrams)?
                    }
                    _ => page_in_order(&tx, query, &filter)?,
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
/// needle's length (never the needle: it is a piece of someone's message), and how the total
/// was found (see [`search::remembered_total`]). The candidate count
/// costs a query of its own, so it is made only when the line is written.
fn log_search_plan(
    conn: &Connection,
    plan: SearchPlan,
    q: &str,
    trigrams: Option<&str>,
    total: i64,
    found: search::Found,
    query: &ListQuery,
) -> Result<(), StorageError> {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return Ok(());
    }
    let candidates: i64 = match trigrams {
        Some(trigrams) => conn
            .prepare_cached(&format!("SELECT count(*) FROM ({})", search::CANDIDATES))?
            .query_row(params![trigrams, 0], |row| row.get(0))?,
        None => stored_messages(conn)?,
    };
    tracing::debug!(
        plan = plan.name(),
        needle_chars = q.chars().count(),
        trigrams = trigrams.map_or(0, |t| t.matches(" AND ").count() + 1),
        candidates,
        matches = total,
        total = found.name(),
        offset = query.offset,
        limit = query.limit,
        "search plan"
    );
    Ok(())
}

/// The rows that may contain `q` ([`search::CANDIDATES`], whose two parameters come first), each
/// read by rowid: the candidates come first, as `CROSS JOIN` keeps SQLite from turning the join
/// around.
fn candidates_from() -> String {
    format!(
        "({}) AS candidates CROSS JOIN messages ON messages.rowid = candidates.candidate",
        search::CANDIDATES
    )
}

/// One page of a search's candidates matching `filter`, sorted.
///
/// Only keys are ever sorted: the inner query orders the matching rows' `(ts_key, message_id,
/// rowid)` and keeps the page's rowids, and only then are those few rows read whole. Sorting the
/// whole rows instead put every matching text into SQLite's temporary B-tree (20,000 texts of
/// 4 KB for a deep page are 80 MB, spilled to a temporary file) and failed with "database or
/// disk is full" on a container's 16 MiB `/tmp`; the keys of the same rows take about 1 MB.
/// The candidates are rowids, listed or not, so nothing needs merging.
fn page_of_candidates(
    conn: &Connection,
    query: &ListQuery,
    filter: &Where,
    trigrams: &str,
) -> Result<Vec<MessageRow>, StorageError> {
    let mut args = Vec::with_capacity(filter.args.len() + 4);
    args.extend([SqlValue::Text(trigrams.to_string()), SqlValue::Integer(0)]);
    args.extend(filter.args.iter().cloned());
    args.extend([
        SqlValue::Integer(query.limit),
        SqlValue::Integer(query.offset),
    ]);
    let sql = format!(
        "SELECT found.message_id, found.from_msisdn, found.to_msisdn, found.ts, found.text
           FROM (SELECT messages.rowid AS id, ts_key, message_id FROM {} {}
                  ORDER BY ts_key, message_id LIMIT ? OFFSET ?) AS keys
           CROSS JOIN messages AS found ON found.rowid = keys.id
          ORDER BY keys.ts_key, keys.message_id",
        candidates_from(),
        filter.sql()
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn message_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        message_id: row.get(0)?,
        from: row.get(1)?,
        to: row.get(2)?,
        ts: row.get(3)?,
        text: row.get(4)?,
    })
}

/// A row's place in the listing order, and where to read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ListKey {
    ts_key: String,
    message_id: String,
    rowid: i64,
}

/// The keys of the rows matching `filter` in listing order, from `sql`'s `FROM ... WHERE`
/// (`args` first), `LIMIT`ed and `OFFSET` as given (`-1`: no limit).
fn keys(
    conn: &Connection,
    from_where: &str,
    args: Vec<SqlValue>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListKey>, StorageError> {
    let sql = format!(
        "SELECT rowid, ts_key, message_id FROM messages {from_where}
          ORDER BY ts_key, message_id LIMIT ? OFFSET ?"
    );
    let mut args = args;
    args.extend([SqlValue::Integer(limit), SqlValue::Integer(offset)]);
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| {
        Ok(ListKey {
            rowid: row.get(0)?,
            ts_key: row.get(1)?,
            message_id: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of the rows matching `filter`, in listing order: the listed rows read from a
/// listing index, stopping at the page's end, merged with the matching rows of the tail.
///
/// Only the first `offset + limit` tail keys can come before the page's end, so no more are
/// read; with `t` read, `t` is every matching tail row or at least `offset`. The listed rows on
/// the page are among the listed rows from `s = max(0, offset - t)` to `offset + limit`: at most
/// `t` tail rows come before any of them. So the listed keys from `s` (`limit + min(offset, t)`
/// of them) and the tail's keys are merged; the first listed key read is at `s` plus the tail
/// keys before it. When `s > 0`, every matching tail row was read (`t < offset`), and those
/// before it are before the page (at most `s - 1 + t < offset`), so they are only counted.
fn page_in_order(
    conn: &Connection,
    query: &ListQuery,
    filter: &Where,
) -> Result<Vec<MessageRow>, StorageError> {
    let mark = listing::listed_through(conn)?;
    let reach = query.offset.saturating_add(query.limit);
    let tail = keys(conn, &filter.tail_sql(), filter.tail_args(mark), reach, 0)?;
    let t = i64::try_from(tail.len()).unwrap_or(i64::MAX);
    let start = query.offset.saturating_sub(t).max(0);
    let listed = keys(
        conn,
        &filter.listed_sql(),
        filter.args.clone(),
        query.limit.saturating_add(query.offset.min(t)),
        start,
    )?;
    let (before, tail): (Vec<ListKey>, Vec<ListKey>) = match listed.first() {
        None if start > 0 => return Ok(Vec::new()),
        Some(first) if start > 0 => tail.into_iter().partition(|key| key < first),
        _ => (Vec::new(), tail),
    };
    let mut merged = listed;
    merged.extend(tail);
    merged.sort_unstable();
    let base = start.saturating_add(i64::try_from(before.len()).unwrap_or(i64::MAX));
    let skip = usize::try_from(query.offset.saturating_sub(base).max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(query.limit).unwrap_or(0);
    let mut read = conn.prepare_cached(
        "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages WHERE rowid = ?1",
    )?;
    merged
        .iter()
        .skip(skip)
        .take(take)
        .map(|key| Ok(read.query_row([key.rowid], message_row)?))
        .collect()
}

/// Whether a search's page is cheaper read in listing order (checking each row until the page
/// is full: about `(offset + limit) * rows / total` rows) than from its `total` candidates
/// sorted. Many matches favour the first, few the second.
fn scan_in_order(conn: &Connection, query: &ListQuery, total: i64) -> Result<bool, StorageError> {
    let rows = stored_messages(conn)?;
    let in_order = (query.offset.saturating_add(query.limit) as f64) * rows as f64;
    Ok(in_order < (total as f64) * (total as f64))
}

/// How many search candidates with a rowid above `after` match every filter (`contains_ci`
/// among them).
fn count_candidates(
    conn: &Connection,
    trigrams: &str,
    filter: &Where,
    after: i64,
) -> Result<i64, StorageError> {
    let mut args = vec![
        SqlValue::Text(trigrams.to_string()),
        SqlValue::Integer(after),
    ];
    args.extend(filter.args.iter().cloned());
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM {} {}",
            candidates_from(),
            filter.sql()
        ))?
        .query_row(params_from_iter(args), |row| row.get(0))?)
}

/// Rows matching the filters: the listed ones and the tail's. Unfiltered, sender-only and
/// `since`-only counts of listed rows come from the aggregates; the others count index entries.
fn count(conn: &Connection, filters: &Filters, filter: &Where) -> Result<i64, StorageError> {
    let since = match &filters.since {
        Some(KeyBound::BeforeAll) | None => None,
        Some(bound) => Some(bound),
    };
    let listed: i64 = match (&filters.from, since, &filters.q) {
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
            None => count_rows(conn, &filter.listed_sql(), filter.args.clone())?,
        },
        // Only `q`: every text is read, so the table is scanned in its own order. (Said plainly,
        // `listed` would send SQLite through a listing index to each row: a lookup per row.)
        (None, None, Some(_)) => count_rows(
            conn,
            &filter.listed_sql().replacen("WHERE listed", "WHERE +listed", 1),
            filter.args.clone(),
        )?,
        _ => count_rows(conn, &filter.listed_sql(), filter.args.clone())?,
    };
    let mark = listing::listed_through(conn)?;
    let tail = count_rows(conn, &filter.tail_sql(), filter.tail_args(mark))?;
    Ok(listed + tail)
}

/// Rows of `from_where` (`FROM messages` and a `WHERE` clause), counted one by one.
fn count_rows(
    conn: &Connection,
    from_where: &str,
    args: Vec<SqlValue>,
) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM messages {from_where}"))?
        .query_row(params_from_iter(args), |row| row.get(0))?)
}

/// Every stored message: the listed ones the totals count, and the tail.
pub(crate) fn stored_messages(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT messages FROM totals)
                  + (SELECT count(*) FROM messages
                      WHERE rowid > (SELECT listed_through FROM list_progress))",
        )?
        .query_row([], |row| row.get(0))?)
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

/// Listed rows with `ts_key >= key`: whole days after its day, whole minutes after its minute in
/// its day (both from `time_counts`), and the rows of its own minute from `key` on (from the
/// index).
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
             + (SELECT count(*) FROM messages WHERE listed AND ts_key >= ?4 AND ts_key < ?5)",
        )?
        .query_row(
            params![prefixes.day, prefixes.minute, day_end, key, minute_end],
            |row| row.get(0),
        )?)
}

/// The filters that are set, as `WHERE` conditions with their arguments, so that SQLite can
/// pick the index for them.
struct Where {
    clauses: Vec<&'static str>,
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
        Some(Self { clauses, args })
    }

    /// The conditions alone, over every row (listed or not).
    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Over the listed rows: `listed` first, so that SQLite may use a partial listing index.
    fn listed_sql(&self) -> String {
        std::iter::once("WHERE listed")
            .chain(self.clauses.iter().copied())
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Over the tail, with [`Where::tail_args`]: the rows after the listing mark.
    fn tail_sql(&self) -> String {
        std::iter::once("WHERE rowid > ?")
            .chain(self.clauses.iter().copied())
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn tail_args(&self, mark: i64) -> Vec<SqlValue> {
        std::iter::once(SqlValue::Integer(mark))
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// The `/stats` figures, from the aggregates and the two ends of the time index, merged with
/// the tail: its rows added to the totals, its senders' counts added to theirs (a tail sender
/// may overtake a top sender; nobody else can), and its first and last rows compared.
pub(crate) fn stats(conn: &Connection) -> Result<Stats, StorageError> {
    let tx = conn.unchecked_transaction()?;
    let mark = listing::listed_through(&tx)?;
    let (mut total_messages, mut senders_count): (i64, i64) = tx
        .prepare_cached("SELECT messages, senders FROM totals")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut ranked: Vec<SenderCount> = tx
        .prepare_cached("SELECT from_msisdn, message_count FROM top_senders")?
        .query_map([], |row| {
            Ok(SenderCount {
                from: row.get(0)?,
                count: row.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let tail_senders: Vec<(String, i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT tail.from_msisdn, tail.n, counted.message_count
               FROM (SELECT from_msisdn, count(*) AS n FROM messages
                      WHERE rowid > ?1 GROUP BY from_msisdn) AS tail
               LEFT JOIN sender_counts AS counted ON counted.from_msisdn = tail.from_msisdn",
        )?
        .query_map([mark], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (from, added, stored) in tail_senders {
        total_messages += added;
        if stored.is_none() {
            senders_count += 1;
        }
        let count = stored.unwrap_or(0) + added;
        match ranked.iter_mut().find(|sender| sender.from == from) {
            Some(sender) => sender.count = count,
            None => ranked.push(SenderCount { from, count }),
        }
    }
    ranked.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.from.cmp(&b.from)));
    ranked.truncate(usize::try_from(TOP_SENDERS).unwrap_or(10));
    let end = |sql: &str, mark: Option<i64>| -> Result<Option<(String, ListKey)>, StorageError> {
        let mut statement = tx.prepare_cached(sql)?;
        let mut rows = match mark {
            Some(mark) => statement.query([mark])?,
            None => statement.query([])?,
        };
        Ok(rows
            .next()?
            .map(|row| -> rusqlite::Result<_> {
                Ok((
                    row.get(0)?,
                    ListKey {
                        ts_key: row.get(1)?,
                        message_id: row.get(2)?,
                        rowid: 0,
                    },
                ))
            })
            .transpose()?)
    };
    let first = [
        end(
            "SELECT ts, ts_key, message_id FROM messages WHERE listed
              ORDER BY ts_key, message_id LIMIT 1",
            None,
        )?,
        end(
            "SELECT ts, ts_key, message_id FROM messages WHERE rowid > ?1
              ORDER BY ts_key, message_id LIMIT 1",
            Some(mark),
        )?,
    ]
    .into_iter()
    .flatten()
    .min_by(|a, b| a.1.cmp(&b.1));
    let last = [
        end(
            "SELECT ts, ts_key, message_id FROM messages WHERE listed
              ORDER BY ts_key DESC, message_id DESC LIMIT 1",
            None,
        )?,
        end(
            "SELECT ts, ts_key, message_id FROM messages WHERE rowid > ?1
              ORDER BY ts_key DESC, message_id DESC LIMIT 1",
            Some(mark),
        )?,
    ]
    .into_iter()
    .flatten()
    .max_by(|a, b| a.1.cmp(&b.1));
    tx.finish()?;
    Ok(Stats {
        total_messages,
        senders_count,
        messages_per_sender: ranked,
        first_message_ts: first.map(|(ts, _)| ts),
        last_message_ts: last.map(|(ts, _)| ts),
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::Where;
    use crate::filters::Filters;
    use crate::storage::migrations;
    use crate::timestamp::{instant_key, parse_instant};

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let count = statement.parameter_count();
        let args = vec![rusqlite::types::Value::Integer(0); count];
        statement
            .query_map(rusqlite::params_from_iter(args), |row| {
                row.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .join("; ")
    }

    #[test]
    fn reads_of_listed_rows_use_the_partial_listing_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations::run(&mut conn).unwrap();
        let since = Some(instant_key(&parse_instant("2025-01-01T00:00:00Z").unwrap()));
        for (filters, index) in [
            (Filters::default(), "COVERING INDEX messages_by_ts"),
            (
                Filters {
                    from: Some("+1".into()),
                    ..Filters::default()
                },
                "COVERING INDEX messages_by_sender",
            ),
            (
                Filters {
                    since: since.clone(),
                    ..Filters::default()
                },
                "COVERING INDEX messages_by_ts",
            ),
            (
                Filters {
                    from: Some("+1".into()),
                    since,
                    ..Filters::default()
                },
                "COVERING INDEX messages_by_sender",
            ),
        ] {
            let filter = Where::from_filters(&filters).unwrap();
            let page = plan(
                &conn,
                &format!(
                    "SELECT rowid, ts_key, message_id FROM messages {}
                      ORDER BY ts_key, message_id LIMIT ? OFFSET ?",
                    filter.listed_sql()
                ),
            );
            assert!(page.contains(index), "{filters:?}: {page}");
            assert!(!page.contains("TEMP B-TREE"), "{filters:?}: {page}");
            let count = plan(
                &conn,
                &format!("SELECT count(*) FROM messages {}", filter.listed_sql()),
            );
            assert!(count.contains("COVERING INDEX"), "{filters:?}: {count}");
            let tail = plan(
                &conn,
                &format!("SELECT count(*) FROM messages {}", filter.tail_sql()),
            );
            assert!(tail.contains("rowid>?"), "{filters:?}: {tail}");
        }
        let first = plan(
            &conn,
            "SELECT ts, ts_key, message_id FROM messages WHERE listed
              ORDER BY ts_key DESC, message_id DESC LIMIT 1",
        );
        assert!(first.contains("INDEX messages_by_ts"), "{first}");
        let prune = plan(
            &conn,
            "SELECT rowid, from_msisdn, ts_key, text FROM messages
              WHERE listed AND ts_key < ?1 ORDER BY ts_key LIMIT ?2",
        );
        assert!(prune.contains("INDEX messages_by_ts"), "{prune}");
    }
}
