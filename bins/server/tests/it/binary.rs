//! The built `aliaskit-server` binary: first start prints the bootstrap key alone on stdout,
//! the next start does not, and SIGTERM stops it cleanly.

use std::time::Duration;

use crate::*;

/// Starts the binary on the SQLite file `db`, in `db`'s temporary directory.
fn start(dir: &Path, db: &Path) -> ServerProcess {
    let db = db.to_str().unwrap();
    ServerProcess::start(
        dir,
        &[
            ("ALIASKIT__DATABASE__URL", db),
            ("ALIASKIT__SERVER__WORKERS", "1"),
        ],
    )
}

/// Answers one `/healthz` (so the server is past its start, signal handlers included), stops
/// it with SIGTERM, asserts a clean exit, and returns its stdout and logs.
fn serve_once_and_stop(server: &mut ServerProcess) -> (String, String) {
    assert_eq!(server.client().get("/healthz", None).status, 200);
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    server.output()
}

#[test]
fn first_start_prints_the_key_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("aliaskit.db");

    let mut server = start(dir.path(), &db);
    assert!(db.exists(), "the SQLite file and its directory are created");
    let (stdout, logs) = serve_once_and_stop(&mut server);
    let key = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the key on stdout: {stdout:?}"
    );
    assert!(key.starts_with("ak_") && key.len() == 46, "{key:?}");
    assert!(!logs.contains(key), "the key is never logged");

    // Second start on the same database: no new key, and the first one works.
    let mut server = start(dir.path(), &db);
    let listed = server.client().get(
        "/organization/api/v1/aliases",
        Some(&format!("Bearer {key}")),
    );
    assert_eq!(listed.status, 200);
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).success());
    let (stdout, _) = server.output();
    assert_eq!(stdout, "", "the key is printed only on the first start");
}

#[test]
fn a_busy_port_stops_the_start_before_the_database_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("aliaskit.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let failed = failed_start(
        dir.path(),
        &[
            ("ALIASKIT__SERVER__HOST", "127.0.0.1"),
            ("ALIASKIT__SERVER__PORT", &port),
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
        ],
    );
    assert!(
        failed
            .error_line()
            .starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
        "{}",
        failed.stderr
    );
    assert_eq!(
        failed.code,
        Some(1),
        "not a settings error: {}",
        failed.stderr
    );
    // Nothing was created, so the first start that can listen still shows the key.
    assert!(
        !db.exists(),
        "the database was created by a start that could not listen"
    );
    drop(taken);
    let mut server = start(dir.path(), &db);
    let (stdout, _) = serve_once_and_stop(&mut server);
    assert!(stdout.trim().starts_with("ak_"), "{stdout:?}");
}
