//! The database goes away and comes back while the server runs: `/readyz` and the data routes
//! answer 503 meanwhile, and the server recovers by itself, without a restart.
//!
//! PostgreSQL is reached through a TCP proxy the test cuts and restores; a SQLite file is made
//! immutable (`chattr +i`) and writable again.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

/// Forwards a local port to PostgreSQL until cut.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, streams2) = (up.clone(), streams.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut all = streams2.lock().unwrap();
                all.push(client.try_clone().unwrap());
                all.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, up, streams }
    }

    /// Refuses new connections and cuts the open ones, as a database crash would.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// `postgres://user@host:port/db` with host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    (
        format!("{scheme}://{at}127.0.0.1:{port}/{path}"),
        host.to_owned(),
    )
}

#[test]
fn a_database_outage_is_503_and_the_server_recovers_by_itself() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let (_, upstream) = through(&db.url, 0);
    let proxy = Proxy::start(upstream);
    let (url, _) = through(&db.url, proxy.port);
    let app = TestApp::spawn(&url);
    let auth = format!("Bearer {KEY}");
    let body = json!({"type": "live", "expired_at": now() + 600});

    assert_eq!(app.get("/readyz", None).status, 200);
    assert_eq!(
        app.post("/organization/api/v1/alias/create", &body, Some(&auth))
            .status,
        200
    );

    proxy.cut();
    eventually("503 from /readyz", Duration::from_secs(15), || {
        app.get("/readyz", None).status == 503
    });
    let down = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
    assert_eq!(down.status, 503, "{:?}", down.body);
    assert_eq!(down.body["error"]["code"], "unavailable");
    assert_eq!(
        app.get("/healthz", None).status,
        200,
        "the process itself is alive"
    );

    proxy.restore();
    eventually("200 from /readyz", Duration::from_secs(15), || {
        app.get("/readyz", None).status == 200
    });
    let back = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
    assert_eq!(back.status, 200, "{:?}", back.body);
    let listed = app.get("/organization/api/v1/aliases", Some(&auth));
    assert_eq!(
        listed.body["data"]["entries"].as_array().unwrap().len(),
        2,
        "nothing acknowledged was lost"
    );
}

/// `chattr +i` on files, undone when dropped, also on a panic. (Root ignores `chmod`.)
struct Immutable {
    files: Vec<std::path::PathBuf>,
}

impl Immutable {
    /// `None`, saying why, when chattr is missing or refuses (a file system without the flag).
    fn set(files: Vec<std::path::PathBuf>) -> Option<Immutable> {
        let mut done = Immutable { files: Vec::new() };
        for file in files {
            match std::process::Command::new("chattr")
                .arg("+i")
                .arg(&file)
                .output()
            {
                Ok(out) if out.status.success() => done.files.push(file),
                Ok(out) => {
                    eprintln!(
                        "skipped: chattr +i {}: {}",
                        file.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                    return None;
                }
                Err(e) => {
                    eprintln!("skipped: cannot run chattr: {e}");
                    return None;
                }
            }
        }
        Some(done)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for file in self.files.drain(..) {
            let undone = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&file)
                .status();
            if !matches!(undone, Ok(s) if s.success()) {
                eprintln!("could not chattr -i {}: {undone:?}", file.display());
            }
        }
    }
}

/// A SQLite file that cannot be written (immutable, as a read-only or failing disk would be):
/// creates answer 503 with the JSON error body, reads still answer, and once the file is
/// writable again creates succeed without a restart — also on connections the pool opened
/// meanwhile.
#[test]
fn an_unwritable_sqlite_file_is_503_and_recovers_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aliaskit.db");
    let app = TestApp::spawn_with(
        path.to_str().unwrap(),
        &[("ALIASKIT__LIMITS__ORG_PER_SECOND", "0")],
    );
    let auth = format!("Bearer {KEY}");
    let body = json!({"type": "live", "expired_at": now() + 600});
    let first = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
    assert_eq!(first.status, 200, "{:?}", first.body);

    // The database and its write-ahead log. Not the `-shm` index: SQLite maps it into memory,
    // and a write to an immutable mapping is a SIGBUS, not an error.
    let files: Vec<_> = ["aliaskit.db", "aliaskit.db-wal"]
        .iter()
        .map(|f| dir.path().join(f))
        .filter(|f| f.exists())
        .collect();
    let Some(frozen) = Immutable::set(files) else {
        return;
    };
    let refused = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(
        refused.body["error"]["code"], "unavailable",
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["error"]["message"].is_string(),
        "{:?}",
        refused.body
    );
    // Reads at once, so the pool opens connections while the file cannot be written.
    let reads: Vec<_> = std::thread::scope(|s| {
        let running: Vec<_> = (0..16)
            .map(|_| s.spawn(|| app.get("/organization/api/v1/aliases", Some(&auth))))
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for read in &reads {
        assert_eq!(read.status, 200, "reads still answer: {:?}", read.body);
        assert_eq!(read.body["data"]["entries"].as_array().unwrap().len(), 1);
    }

    drop(frozen);
    // Rounds of concurrent creates, so that every connection in the pool, among them those
    // opened while the file could not be written, serves a write.
    for _ in 0..3 {
        let creates: Vec<_> = std::thread::scope(|s| {
            let running: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| app.post("/organization/api/v1/alias/create", &body, Some(&auth)))
                })
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for created in &creates {
            assert_eq!(
                created.status, 200,
                "writable again, no restart: {:?}",
                created.body
            );
        }
    }
    let listed = app.get("/organization/api/v1/aliases", Some(&auth));
    assert_eq!(listed.body["data"]["entries"].as_array().unwrap().len(), 49);
}
