//! The built `aliaskit-server` binary: first start prints the bootstrap key alone on stdout,
//! the next start does not, and SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Starts the binary on a SQLite file; returns the child and the port it reports.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned to the test, which waits on it; a panic ends the test process"
)]
fn start(db: &std::path::Path) -> (Child, u16, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aliaskit-server"))
        .env_clear()
        .env("ALIASKIT__DATABASE__URL", db)
        .env("ALIASKIT__SERVER__PORT", "0")
        .env("ALIASKIT__SERVER__WORKERS", "1")
        .env("ALIASKIT__LOGGING__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the server exited before listening");
        }
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["fields"]["message"] == "aliaskit-server listening" {
            let address = event["fields"]["address"].as_str().unwrap();
            let port = address.rsplit_once(':').unwrap().1.parse().unwrap();
            return (child, port, stderr);
        }
    }
    panic!("the server did not report its address");
}

/// SIGTERM through kill(1): the workspace forbids `unsafe`, and so `libc::kill`.
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn first_start_prints_the_key_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("aliaskit.db");

    let (mut child, port, mut stderr) = start(&db);
    assert!(db.exists(), "the SQLite file and its directory are created");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let health = agent
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    sigterm(&child);
    let status = wait(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let key = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the key on stdout: {stdout:?}"
    );
    assert!(key.starts_with("ak_") && key.len() == 46, "{key:?}");
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(!logs.contains(key), "the key is never logged");

    // Second start on the same database: no new key, and the first one works.
    let (mut child, port2, _stderr) = start(&db);
    let res = agent
        .get(format!(
            "http://127.0.0.1:{port2}/organization/api/v1/aliases"
        ))
        .header("Authorization", format!("Bearer {key}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    sigterm(&child);
    assert!(wait(&mut child, Duration::from_secs(20)).success());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(stdout, "", "the key is printed only on the first start");
}
