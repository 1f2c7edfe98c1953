//! `RawListQuery::parse` with arbitrary values, and `ListQuery::from_query_string` with an
//! arbitrary query string: it never panics, every failure is a query problem, and every success
//! is within bounds.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use webhook_receiver::filters::{ListQuery, MAX_LIMIT, RawListQuery};
use webhook_receiver::validation::Problem;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    limit: Option<&'a str>,
    offset: Option<&'a str>,
    from: Option<&'a str>,
    since: Option<&'a str>,
    q: Option<&'a str>,
    query_string: &'a [u8],
}

fn check(parsed: Result<ListQuery, Vec<Problem>>) {
    match parsed {
        Ok(query) => {
            assert!((1..=MAX_LIMIT).contains(&query.limit));
            assert!(query.offset >= 0);
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|problem| problem.loc[0] == "query"));
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let raw = RawListQuery {
        limit: input.limit,
        offset: input.offset,
        from: input.from,
        since: input.since,
        q: input.q,
    };
    check(raw.parse());
    check(ListQuery::from_query_string(&String::from_utf8_lossy(
        input.query_string,
    )));
});
