//! The Makefile's Compose targets as an operator meets them, without a Docker engine: `make up`
//! without the key, and `make logs` handing over the container's lines and nothing of its own.
//! Stand-ins for `docker` and Compose show what `make` runs; the container end-to-end
//! (`scripts/e2e.sh --compose`) runs the real ones.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// `make ARGS` in the repository, with `WEBHOOK_SECRET` set to `secret` (`None`: unset).
fn make(secret: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new("make");
    command
        .arg("--no-print-directory")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("WEBHOOK_SECRET");
    if let Some(secret) = secret {
        command.env("WEBHOOK_SECRET", secret);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// An executable shell script at `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn make_up_without_the_secret_says_so_in_one_line_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    // A Compose that leaves a mark if it is ever run.
    let compose = script(dir.path(), "compose", &format!("touch {}", ran.display()));
    for (target, secret) in [("up", None), ("up", Some("")), ("up-replica", None)] {
        let output = make(secret, &[target, &format!("COMPOSE={compose}")]);
        assert!(!output.status.success(), "{target} {secret:?}");
        assert_eq!(
            text(&output.stdout),
            "",
            "{target} {secret:?}: nothing echoed"
        );
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{target} {secret:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "WEBHOOK_SECRET is not set: export WEBHOOK_SECRET=<the webhook HMAC key>, then make {target}"
            )),
            "{stderr}"
        );
        assert!(!ran.exists(), "{target} {secret:?}: Compose ran");
    }
}

#[test]
fn make_logs_prints_the_containers_lines_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let compose = script(
        dir.path(),
        "compose",
        r#"[ "$*" = "ps -q api" ] && echo c0ffee"#,
    );
    // The container's log: one JSON line naming the arguments `docker` got.
    let docker = script(dir.path(), "docker", r#"printf '{"docker":"%s"}\n' "$*""#);
    for (args, expected) in [
        (vec![], r#"{"docker":"logs --follow c0ffee"}"#),
        (
            vec!["LOGS_ARGS=--tail 20"],
            r#"{"docker":"logs --tail 20 c0ffee"}"#,
        ),
    ] {
        let mut make_args = vec![
            "logs".to_string(),
            format!("COMPOSE={compose}"),
            format!("DOCKER={docker}"),
        ];
        make_args.extend(args.iter().map(|arg| arg.to_string()));
        let make_args: Vec<&str> = make_args.iter().map(String::as_str).collect();
        // No secret needed to read the logs.
        let output = make(None, &make_args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout), format!("{expected}\n"));
        assert_eq!(text(&output.stderr), "");
    }
}

#[test]
fn make_logs_without_a_container_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let compose = script(dir.path(), "compose", "true");
    let docker = script(dir.path(), "docker", "echo docker ran");
    let output = make(
        None,
        &[
            "logs",
            &format!("COMPOSE={compose}"),
            &format!("DOCKER={docker}"),
        ],
    );
    assert!(!output.status.success());
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the api service has no container: make up starts it"),
        "{stderr}"
    );
}
