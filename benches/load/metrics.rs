//! Reading the server's `/metrics` page (Prometheus text format).

/// The `_sum` and `_count` of histogram `name` in a Prometheus text page, each summed over its
/// label sets; `None` when the page has no such series (a server without the histogram).
pub fn histogram_sum_count(page: &str, name: &str) -> Option<(f64, f64)> {
    let series = |suffix: &str| -> Option<f64> {
        let full = format!("{name}_{suffix}");
        let mut found = None;
        for line in page.lines() {
            let Some(rest) = line.strip_prefix(&full) else {
                continue;
            };
            // `name_sum 12` or `name_sum{label="value"} 12`, an optional timestamp after.
            let value = if let Some(labelled) = rest.strip_prefix('{') {
                labelled.rsplit_once('}').map(|(_, value)| value)
            } else if rest.starts_with(' ') {
                Some(rest)
            } else {
                None // another series whose name starts the same way
            };
            let Some(value) = value.and_then(|v| v.split_whitespace().next()) else {
                continue;
            };
            if let Ok(value) = value.parse::<f64>() {
                *found.get_or_insert(0.0) += value;
            }
        }
        found
    };
    Some((series("sum")?, series("count")?))
}

/// Checks the parser on a page shaped as the server writes it; run by `cargo test` (the bench
/// target without `--bench`).
pub fn self_check() {
    let page = "# HELP storage_commit_batch_messages messages per commit\n\
        # TYPE storage_commit_batch_messages histogram\n\
        storage_commit_batch_messages_bucket{le=\"1\"} 3\n\
        storage_commit_batch_messages_bucket{le=\"+Inf\"} 7\n\
        storage_commit_batch_messages_sum 96\n\
        storage_commit_batch_messages_count 7\n\
        storage_commit_batch_messages_sum_extra 1000\n\
        labelled_sum{path=\"/a\"} 2.5\n\
        labelled_sum{path=\"/b\"} 1.5 1700000000000\n\
        labelled_count{path=\"/a\"} 1\n\
        labelled_count{path=\"/b\"} 3\n";
    assert_eq!(
        histogram_sum_count(page, "storage_commit_batch_messages"),
        Some((96.0, 7.0))
    );
    assert_eq!(histogram_sum_count(page, "labelled"), Some((4.0, 4.0)));
    assert_eq!(histogram_sum_count(page, "absent"), None);
    assert_eq!(histogram_sum_count("x_sum 1\n", "x"), None, "no _count");
}
