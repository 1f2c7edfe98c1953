//! `GET /messages`: pagination, each filter alone and combined, ordering by instant.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect()
}

/// Five messages from two senders over two days; `e` and `d` share an instant.
async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed(&[
        message(
            "a",
            "+919876543210",
            "2025-01-15T09:00:00Z",
            Some("Earlier"),
        ),
        message(
            "b",
            "+911234567890",
            "2025-01-15T09:30:00Z",
            Some("Hello again"),
        ),
        message(
            "e",
            "+919876543210",
            "2025-01-15T10:00:00Z",
            Some("hello, world"),
        ),
        message("d", "+911234567890", "2025-01-15T10:00:00Z", None),
        message(
            "c",
            "+919876543210",
            "2025-01-16T08:00:00Z",
            Some("100% done_ok"),
        ),
    ])
    .await;
    app
}

#[tokio::test]
async fn the_default_page_is_everything_in_order_with_the_total() {
    let app = seeded().await;
    let (status, page) = app.get_json("/messages").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), ["a", "b", "d", "e", "c"]);
    assert_eq!(
        (&page["total"], &page["limit"], &page["offset"]),
        (&json!(5), &json!(50), &json!(0))
    );
    assert_eq!(
        page["data"][2],
        json!({"message_id": "d", "from": "+911234567890", "to": "+14155550100",
               "ts": "2025-01-15T10:00:00Z", "text": null})
    );
}

#[tokio::test]
async fn limit_and_offset_page_through_and_are_echoed() {
    let app = seeded().await;
    let (_, page) = app.get_json("/messages?limit=2&offset=0").await;
    assert_eq!(ids(&page), ["a", "b"]);
    assert_eq!(
        (&page["total"], &page["limit"], &page["offset"]),
        (&json!(5), &json!(2), &json!(0))
    );
    let (_, page) = app.get_json("/messages?limit=2&offset=2").await;
    assert_eq!(ids(&page), ["d", "e"]);
    let (_, page) = app.get_json("/messages?limit=2&offset=4").await;
    assert_eq!(ids(&page), ["c"]);
    let (_, page) = app.get_json("/messages?limit=100&offset=50").await;
    assert_eq!(ids(&page), Vec::<&str>::new());
    assert_eq!((&page["total"], &page["offset"]), (&json!(5), &json!(50)));
}

#[tokio::test]
async fn the_default_limit_is_50_of_more() {
    let app = TestApp::spawn().await;
    let messages: Vec<Value> = (0..55)
        .map(|i| {
            message(
                &format!("m{i:02}"),
                "+911",
                &format!("2025-01-15T10:00:{i:02}Z"),
                None,
            )
        })
        .collect();
    app.seed(&messages).await;
    let (_, page) = app.get_json("/messages").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 50);
    assert_eq!(page["total"], 55);
    assert_eq!(ids(&page)[49], "m49");
}

#[tokio::test]
async fn out_of_range_and_malformed_paging_is_422_on_the_query() {
    let app = seeded().await;
    for (query, kind, name) in [
        ("limit=0", "greater_than_equal", "limit"),
        ("limit=101", "less_than_equal", "limit"),
        ("limit=-5", "greater_than_equal", "limit"),
        ("limit=ten", "int_parsing", "limit"),
        ("limit=2.5", "int_parsing", "limit"),
        ("offset=-1", "greater_than_equal", "offset"),
        ("offset=x", "int_parsing", "offset"),
        ("since=yesterday", "datetime_parsing", "since"),
    ] {
        let (status, body) = app.get_json(&format!("/messages?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["detail"][0]["type"], kind, "{query}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", name]), "{query}");
    }
    let (_, body) = app.get_json("/messages?limit=0&offset=-1").await;
    assert_eq!(body["detail"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn from_matches_the_sender_exactly_even_with_an_unencoded_plus() {
    let app = seeded().await;
    for query in [
        "from=+919876543210",
        "from=%2B919876543210",
        "from=919876543210",
    ] {
        let (_, page) = app.get_json(&format!("/messages?{query}")).await;
        assert_eq!(ids(&page), ["a", "e", "c"], "{query}");
        assert_eq!(page["total"], 3, "{query}");
    }
    let (_, page) = app.get_json("/messages?from=+9198765432").await;
    assert_eq!(page["total"], 0);
    let (_, page) = app.get_json("/messages?from=").await;
    assert_eq!(page["total"], 5);
}

#[tokio::test]
async fn since_keeps_messages_at_or_after_the_instant() {
    let app = seeded().await;
    for (since, expected) in [
        ("2025-01-15T09:30:00Z", vec!["b", "d", "e", "c"]),
        ("2025-01-15T09:30:00.000001Z", vec!["d", "e", "c"]),
        ("2025-01-15T15:00:01%2B05:30", vec!["d", "e", "c"]),
        ("2025-01-15T15:00:01+05:30", vec!["d", "e", "c"]),
        ("2025-01-15T15:00:00+05:30", vec!["b", "d", "e", "c"]),
        ("2025-01-16T08:00:00Z", vec!["c"]),
        ("2030-01-01T00:00:00Z", vec![]),
        ("", vec!["a", "b", "d", "e", "c"]),
    ] {
        let (status, page) = app.get_json(&format!("/messages?since={since}")).await;
        assert_eq!(status, StatusCode::OK, "{since}");
        assert_eq!(ids(&page), expected, "{since}");
        assert_eq!(page["total"], expected.len(), "{since}");
    }
}

#[tokio::test]
async fn q_is_a_case_insensitive_literal_substring_of_text() {
    let app = seeded().await;
    for (q, expected) in [
        ("Hello", vec!["b", "e"]),
        ("HELLO", vec!["b", "e"]),
        ("o, w", vec!["e"]),
        ("100%25", vec!["c"]),
        ("%25", vec!["c"]),
        ("_", vec!["c"]),
        ("e_x", vec![]),
        ("h%25o", vec![]),
        ("", vec!["a", "b", "d", "e", "c"]),
    ] {
        let (_, page) = app.get_json(&format!("/messages?q={q}")).await;
        assert_eq!(ids(&page), expected, "q={q}");
        assert_eq!(page["total"], expected.len(), "q={q}");
    }
}

#[tokio::test]
async fn q_folds_case_beyond_ascii() {
    let app = TestApp::spawn().await;
    app.seed(&[
        message("fr", "+911", "2025-01-15T10:00:00Z", Some("CAFÉ CRÈME")),
        message("de", "+911", "2025-01-15T10:00:01Z", Some("Straße")),
        message("gr", "+911", "2025-01-15T10:00:02Z", Some("ΣΟΦΙΑ")),
    ])
    .await;
    for (q, expected) in [
        ("café", vec!["fr"]),
        ("crème", vec!["fr"]),
        ("STRASSE", vec![]),
        ("straße", vec!["de"]),
        ("σοφ", vec!["gr"]),
    ] {
        let (_, page) = app.get_json(&format!("/messages?q={q}")).await;
        assert_eq!(ids(&page), expected, "q={q}");
    }
}

#[tokio::test]
async fn filters_combine_and_total_counts_all_matches() {
    let app = seeded().await;
    let (_, page) = app
        .get_json("/messages?from=+919876543210&since=2025-01-15T09:30:00Z&q=hello&limit=1")
        .await;
    assert_eq!(ids(&page), ["e"]);
    assert_eq!(page["total"], 1);
    let (_, page) = app
        .get_json("/messages?from=+919876543210&since=2025-01-15T09:30:00Z&limit=1&offset=1")
        .await;
    assert_eq!(ids(&page), ["c"]);
    assert_eq!(
        (&page["total"], &page["limit"], &page["offset"]),
        (&json!(2), &json!(1), &json!(1))
    );
}

#[tokio::test]
async fn ordering_is_by_instant_then_message_id_with_fractional_seconds() {
    let app = TestApp::spawn().await;
    app.seed(&[
        message("z-later", "+911", "2025-01-15T10:00:01Z", None),
        message("y-half", "+911", "2025-01-15T10:00:00.5Z", None),
        message("x-whole", "+911", "2025-01-15T10:00:00Z", None),
        message("b-tie", "+911", "2025-01-15T10:00:00.000Z", None),
        message("a-nano", "+911", "2025-01-15T10:00:00.000000001Z", None),
        message("w-before", "+911", "2025-01-15T09:59:59.999Z", None),
    ])
    .await;
    let (_, page) = app.get_json("/messages").await;
    assert_eq!(
        ids(&page),
        [
            "w-before", "b-tie", "x-whole", "a-nano", "y-half", "z-later"
        ]
    );
    assert_eq!(
        page["data"][1]["ts"], "2025-01-15T10:00:00.000Z",
        "ts is echoed as sent"
    );
}
