//! `GET /stats`: totals, top senders with their tie-break, first and last instants.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn an_empty_store_has_zeroes_and_nulls() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get_json("/stats").await,
        (
            StatusCode::OK,
            json!({"total_messages": 0, "senders_count": 0, "messages_per_sender": [],
                   "first_message_ts": null, "last_message_ts": null})
        )
    );
}

#[tokio::test]
async fn stats_count_messages_and_senders_with_ties_broken_by_sender() {
    let app = TestApp::spawn().await;
    app.seed(&[
        message("1", "+33", "2025-01-15T10:00:00.5Z", None),
        message("2", "+22", "2025-01-15T10:00:00Z", None),
        message("3", "+11", "2025-01-14T23:59:59.999Z", Some("first")),
        message("4", "+33", "2025-01-16T00:00:00Z", Some("last")),
        message("5", "+22", "2025-01-15T12:00:00Z", None),
        message("6", "+44", "2025-01-15T12:00:00Z", None),
    ])
    .await;
    // A duplicate counts nothing.
    let duplicate = message("6", "+44", "2025-01-15T12:00:00Z", None).to_string();
    assert_eq!(app.post_signed(&duplicate).await.status(), StatusCode::OK);
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(
        stats,
        json!({
            "total_messages": 6,
            "senders_count": 4,
            "messages_per_sender": [
                {"from": "+22", "count": 2}, {"from": "+33", "count": 2},
                {"from": "+11", "count": 1}, {"from": "+44", "count": 1},
            ],
            "first_message_ts": "2025-01-14T23:59:59.999Z",
            "last_message_ts": "2025-01-16T00:00:00Z",
        })
    );
}

#[tokio::test]
async fn only_the_top_ten_of_twelve_senders_are_listed() {
    let app = TestApp::spawn().await;
    let mut messages = Vec::new();
    for sender in 1..=12 {
        for n in 0..sender {
            messages.push(message(
                &format!("s{sender}-{n}"),
                &format!("+{sender:02}"),
                "2025-01-15T10:00:00Z",
                None,
            ));
        }
    }
    app.seed(&messages).await;
    let (_, stats) = app.get_json("/stats").await;
    assert_eq!(stats["total_messages"], 78);
    assert_eq!(stats["senders_count"], 12);
    let top: Vec<(String, i64)> = stats["messages_per_sender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["from"].as_str().unwrap().to_string(),
                s["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64)> = (3..=12).rev().map(|s| (format!("+{s:02}"), s)).collect();
    assert_eq!(top, expected);
    assert_eq!(top.iter().map(|(_, c)| c).sum::<i64>(), 75);
    let (_, page) = app.get_json("/messages?limit=1").await;
    assert_eq!(page["total"], stats["total_messages"]);
    let _: &Value = &stats;
}
