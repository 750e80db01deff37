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

/// Every request of the outage tests must be answered within this: the 5 s of
/// `database.timeout` (docs/configuration.md) and a margin for a loaded machine.
const BOUND: Duration = Duration::from_millis(5_500);

/// A client that gives up after 30 s, so a request the server holds fails the test instead of
/// hanging it (without the timeouts, a dropped packet is retransmitted for 15 minutes).
fn impatient(base: &str) -> Client {
    Client {
        base: base.to_owned(),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into(),
    }
}

/// `client.send(…)` and how long it took; `None` if no answer came.
fn timed(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    auth: Option<&str>,
) -> (Duration, Option<Answer>) {
    let started = std::time::Instant::now();
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.send(method, path, body, auth)
    }))
    .ok();
    (started.elapsed(), answer)
}

/// Runs `program args…`; `false`, saying on stderr that the test is skipped and why, when it
/// cannot run or fails (not root, the tool missing, a file system without the flag).
fn run_or_skip(program: &str, args: &[&str]) -> bool {
    match std::process::Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "skipped: {program} {} refused: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("skipped: cannot run {program}: {e}");
            false
        }
    }
}

/// iptables rules that drop every packet to and from a local TCP port, as a database host that
/// vanished from the network would (no FIN, no RST). Removed when dropped, also on a panic.
struct Blackhole {
    rules: Vec<[String; 2]>,
}

impl Blackhole {
    /// `None`, saying why, when iptables is missing or refuses (not root).
    fn drop_port(port: u16) -> Option<Blackhole> {
        let mut hole = Blackhole { rules: Vec::new() };
        for direction in ["--dport", "--sport"] {
            let rule = [direction.to_owned(), port.to_string()];
            let insert = ["-I", "INPUT", "-p", "tcp", &rule[0], &rule[1], "-j", "DROP"];
            if !run_or_skip("iptables", &insert) {
                return None;
            }
            hole.rules.push(rule);
        }
        Some(hole)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        for rule in self.rules.drain(..) {
            let removed = std::process::Command::new("iptables")
                .args(["-D", "INPUT", "-p", "tcp", &rule[0], &rule[1], "-j", "DROP"])
                .status();
            if !matches!(removed, Ok(s) if s.success()) {
                eprintln!("could not remove the iptables rule {rule:?}: {removed:?}");
            }
        }
    }
}

/// A PostgreSQL server that stops answering without closing (every packet dropped): `/readyz`,
/// a create, a list and eight concurrent OpenCAP logins each answer 503 within the bound;
/// `/healthz` stays 200; once the packets flow again the server recovers by itself and
/// everything it acknowledged is there.
#[test]
fn a_database_that_stops_answering_is_503_within_the_bound_and_recovers() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let (_, upstream) = through(&db.url, 0);
    let proxy = Proxy::start(upstream);
    let (url, _) = through(&db.url, proxy.port);
    let app = TestApp::spawn_with(&url, &[("ALIASKIT__OPENCAP__AUTH_LIMIT_PER_MINUTE", "0")]);
    let auth = format!("Bearer {KEY}");
    let body = json!({"type": "live", "expired_at": now() + 600});
    let credentials = json!({"alias": "alice$example.com", "password": "correct horse battery"});

    assert_eq!(app.post("/v1/users", &credentials, None).status, 200);
    assert_eq!(app.post("/v1/auth", &credentials, None).status, 200);
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        let created = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
        assert_eq!(created.status, 200, "{:?}", created.body);
        acknowledged.push(created.body["data"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(app.get("/readyz", None).status, 200);

    let Some(hole) = Blackhole::drop_port(proxy.port) else {
        return;
    };
    let client = impatient(&app.base);
    // Everything at once: the pool's idle connections hang, new ones cannot connect, and the
    // logins must not queue behind each other on the password hashing thread.
    let mut requests: Vec<(&str, &str, Option<&serde_json::Value>, Option<&str>)> = vec![
        ("GET", "/readyz", None, None),
        (
            "POST",
            "/organization/api/v1/alias/create",
            Some(&body),
            Some(&auth),
        ),
        ("GET", "/organization/api/v1/aliases", None, Some(&auth)),
    ];
    requests.extend((0..8).map(|_| ("POST", "/v1/auth", Some(&credentials), None)));
    let answers: Vec<_> = std::thread::scope(|s| {
        let running: Vec<_> = requests
            .iter()
            .map(|&(method, path, body, auth)| {
                let client = &client;
                s.spawn(move || (method, path, timed(client, method, path, body, auth)))
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    // Then one by one, on a pool whose connections are all hanging or gone.
    let later: [(&str, &str, Option<&serde_json::Value>, Option<&str>); 4] = [
        ("GET", "/readyz", None, None),
        (
            "POST",
            "/organization/api/v1/alias/create",
            Some(&body),
            Some(&auth),
        ),
        ("GET", "/organization/api/v1/aliases", None, Some(&auth)),
        ("POST", "/v1/auth", Some(&credentials), None),
    ];
    let answers = answers
        .into_iter()
        .chain(later.iter().map(|&(method, path, body, auth)| {
            (method, path, timed(&client, method, path, body, auth))
        }));
    let mut slowest = Duration::ZERO;
    for (method, path, (took, answer)) in answers {
        eprintln!("during the outage: {method} {path} answered in {took:?}");
        let answer = answer.unwrap_or_else(|| panic!("{method} {path}: no answer in {took:?}"));
        assert_eq!(
            answer.status, 503,
            "{method} {path} after {took:?}: {:?}",
            answer.body
        );
        let code = if path.starts_with("/v1/") {
            &answer.body["code"]
        } else {
            &answer.body["error"]["code"]
        };
        assert_eq!(code, "unavailable", "{method} {path}: {:?}", answer.body);
        assert!(took < BOUND, "{method} {path} took {took:?}");
        slowest = slowest.max(took);
    }
    eprintln!("the slowest 503 took {slowest:?}");
    assert_eq!(
        app.get("/healthz", None).status,
        200,
        "the process itself is alive"
    );

    drop(hole);
    eventually("200 from /readyz", Duration::from_secs(30), || {
        app.get("/readyz", None).status == 200
    });
    let back = app.post("/organization/api/v1/alias/create", &body, Some(&auth));
    assert_eq!(back.status, 200, "{:?}", back.body);
    acknowledged.push(back.body["data"]["id"].as_str().unwrap().to_owned());
    let listed = app.get("/organization/api/v1/aliases?limit=200", Some(&auth));
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let ids: Vec<&str> = listed.body["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in &acknowledged {
        assert!(
            ids.contains(&id.as_str()),
            "acknowledged alias {id} lost: {ids:?}"
        );
    }
    let login = app.post("/v1/auth", &credentials, None);
    assert_eq!(
        login.status, 200,
        "the user logs in again: {:?}",
        login.body
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
            if !run_or_skip("chattr", &["+i", &file.display().to_string()]) {
                return None;
            }
            done.files.push(file);
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
