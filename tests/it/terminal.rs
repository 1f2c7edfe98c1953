//! The CLI on a terminal: the real binary on a pseudo-terminal of a chosen width, as a person
//! runs it, beside the same command piped.

use std::io::Read as _;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use unicode_width::UnicodeWidthStr;

use crate::helpers::{TestApp, message, run_app};

/// What `app args` prints on a terminal `columns` wide, with `env` (and no other setting).
fn on_terminal(columns: u16, env: &[(&str, &str)], args: &[&str]) -> String {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols: columns,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_app"));
    command.env_clear();
    command.env("PATH", "/usr/bin:/bin");
    command.env("TERM", "xterm");
    for (name, value) in env {
        command.env(name, value);
    }
    command.args(args);
    let mut child = pair.slave.spawn_command(command).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    // Read as it comes, so that the child never waits on a full terminal buffer; the read
    // ends (an error on Linux) once the child has exited and closed the terminal.
    let output = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(read) = reader.read(&mut chunk) {
            if read == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..read]);
        }
        bytes
    });
    let status = child.wait().unwrap();
    drop(pair.master);
    let text = String::from_utf8(output.join().unwrap()).unwrap();
    assert!(status.success(), "{status:?}: {text}");
    // The terminal turns each newline into a carriage return and a newline.
    text.replace("\r\n", "\n")
}

/// Three messages: a 200-character id, a long text, and a short one.
async fn app_with_long_values() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let long_id = format!("wamid.{}", "A1b2C3d4".repeat(25))
        .chars()
        .take(200)
        .collect::<String>();
    let long_text = "The quick brown fox jumps over the lazy dog. ".repeat(6);
    app.seed(&[
        message(
            &long_id,
            "+919876543210",
            "2025-01-15T10:00:00Z",
            Some("Hello"),
        ),
        message(
            "m2",
            "+14155550123",
            "2025-01-15T09:00:00Z",
            Some(long_text.trim()),
        ),
        message("m3", "+919876543210", "2025-01-15T11:00:00Z", Some("Short")),
    ])
    .await;
    (app, long_id)
}

#[tokio::test]
async fn list_fits_the_terminal_and_cuts_long_cells_with_an_ellipsis() {
    let (app, long_id) = app_with_long_values().await;
    let url = app.database_url();
    for columns in [80u16, 120] {
        let url = url.clone();
        let shown = tokio::task::spawn_blocking(move || {
            on_terminal(columns, &[("DATABASE_URL", &url)], &["list"])
        })
        .await
        .unwrap();
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines.len() >= 8, "{columns}: {shown}");
        for line in &lines {
            assert!(
                line.width() <= usize::from(columns),
                "{columns} columns, a line of {}:\n{shown}",
                line.width()
            );
        }
        // One line a row: a border, the header, a rule, three rows, a border, the counts.
        assert_eq!(lines.len(), 8, "{columns}: {shown}");
        assert!(!shown.contains(&long_id), "{columns}: {shown}");
        let first_row = lines.iter().find(|line| line.contains("wamid.")).unwrap();
        assert!(first_row.contains('…'), "{columns}: {shown}");
        // What identifies a row stays whole: timestamps and phone numbers.
        for whole in [
            "2025-01-15T09:00:00Z",
            "+14155550123",
            "+919876543210",
            "Short",
        ] {
            assert!(shown.contains(whole), "{columns}: {whole} in {shown}");
        }
        assert!(
            lines[7].starts_with("3 of 3 messages (offset 0, limit 50)"),
            "{shown}"
        );
    }

    // Piped, and as JSON, every value is whole.
    let piped = run_app(&[("DATABASE_URL", &url)], &["list"], None).await;
    assert!(piped.stdout.contains(&long_id), "{piped:?}");
    assert!(!piped.stdout.contains('…'), "{piped:?}");
    let json = run_app(&[("DATABASE_URL", &url)], &["list", "--json"], None).await;
    assert!(json.stdout.contains(&long_id), "{json:?}");
    app.stop().await;
}

#[tokio::test]
async fn stats_on_a_terminal_fit_it() {
    let (app, _) = app_with_long_values().await;
    let url = app.database_url();
    let shown =
        tokio::task::spawn_blocking(move || on_terminal(80, &[("DATABASE_URL", &url)], &["stats"]))
            .await
            .unwrap();
    assert!(shown.contains("+919876543210"), "{shown}");
    for line in shown.lines() {
        assert!(line.width() <= 80, "{shown}");
    }
    app.stop().await;
}
