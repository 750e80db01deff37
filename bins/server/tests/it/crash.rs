//! The process dies or is stopped while it works, against the built binary:
//!
//! * SIGKILL in the middle of a burst of creates loses no acknowledged alias, on SQLite and
//!   PostgreSQL: after a restart on the same database, every create that was answered `200`
//!   reads back exactly as it was answered. Creates whose connection was cut may or may not
//!   exist; nothing else may.
//! * SIGTERM lets the requests in flight finish: a burst of OpenCAP logins (argon2id, queued
//!   in the hashing queue) all get their token, the process exits 0, and the port is
//!   closed afterwards.
//!
//! (A database outage while the server runs is `faults.rs`.)

use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

/// Creates answered `200` before the kill: the test fails rather than pass on fewer.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;
/// Client threads creating at once.
const CLIENTS: usize = 8;

/// What the clients saw during the burst.
#[derive(Default)]
struct Burst {
    /// Creates answered 200: the alias id and the whole answer.
    acknowledged: Mutex<Vec<(String, Value)>>,
    /// Names of every create sent, answered or not.
    sent: Mutex<HashSet<String>>,
    /// Answers other than 200 (there should be none).
    refused: Mutex<Vec<(u16, String)>>,
    /// Transport errors, one per client at most (each stops at its first).
    cut: Mutex<Vec<String>>,
    /// Requests sent and not yet answered.
    in_flight: AtomicUsize,
}

fn create_body(client: usize, n: usize, expires: i64) -> Value {
    json!({
        "type": if n.is_multiple_of(2) { "conference" } else { "live" },
        "name": format!("burst-{client}-{n}"),
        "passcode": format!("passcode-{client}-{n}"),
        "jwt_secret": format!("jwt-secret-{client}-{n}-0123456789abcdefghijklmnop"),
        "stream_key": format!("stream-key-{client}-{n}"),
        "expired_at": expires,
    })
}

/// One client: creates until the server goes away (or a generous cap is reached).
fn hammer(base: String, client: usize, burst: Arc<Burst>) {
    let agent = agent();
    let expires = now() + 3600;
    let url = format!("{base}/organization/api/v1/alias/create");
    for n in 0..20_000 {
        let body = create_body(client, n, expires);
        burst
            .sent
            .lock()
            .unwrap()
            .insert(body["name"].as_str().unwrap().to_owned());
        burst.in_flight.fetch_add(1, Ordering::SeqCst);
        let sent = agent
            .post(&url)
            .header("Authorization", format!("Bearer {KEY}"))
            .header("Content-Type", "application/json")
            .send(body.to_string());
        let answer = sent.and_then(|mut res| {
            let status = res.status().as_u16();
            res.body_mut().read_to_string().map(|text| (status, text))
        });
        burst.in_flight.fetch_sub(1, Ordering::SeqCst);
        match answer {
            Ok((200, text)) => {
                let answer: Value = serde_json::from_str(&text).unwrap();
                let data = &answer["data"];
                for field in ["type", "name", "passcode", "jwt_secret", "stream_key"] {
                    assert_eq!(data[field], body[field], "{field} is echoed");
                }
                let id = data["id"].as_str().unwrap().to_owned();
                burst.acknowledged.lock().unwrap().push((id, answer));
            }
            Ok((status, text)) => burst.refused.lock().unwrap().push((status, text)),
            Err(e) => {
                burst.cut.lock().unwrap().push(e.to_string());
                return;
            }
        }
    }
}

/// Every alias of the organization, by id, paging through the listing.
fn list_all(server: &ServerProcess) -> HashMap<String, Value> {
    let agent = agent();
    let mut all = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/organization/api/v1/aliases?limit=200", server.base);
        if let Some(cursor) = &after {
            url.push_str(&format!("&after={cursor}"));
        }
        let mut res = agent
            .get(&url)
            .header("Authorization", format!("Bearer {KEY}"))
            .call()
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let page: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        for entry in page["data"]["entries"].as_array().unwrap() {
            let id = entry["id"].as_str().unwrap().to_owned();
            assert!(
                all.insert(id.clone(), entry.clone()).is_none(),
                "{id} listed twice"
            );
        }
        match page["data"]["after"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => return all,
        }
    }
}

/// The SIGKILL scenario on `database_url`; `dir` is the servers' working directory.
fn kill_in_the_middle_of_a_burst(dir: &Path, database_url: &str) {
    let env = [
        ("ALIASKIT__DATABASE__URL", database_url),
        ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
        ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ("ALIASKIT__SERVER__WORKERS", "2"),
        // The burst and the check afterwards go far beyond the default 60 requests a second.
        ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
    ];
    let mut server = ServerProcess::start(dir, &env);
    let burst = Arc::new(Burst::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (base, burst) = (server.base.clone(), burst.clone());
            std::thread::spawn(move || hammer(base, client, burst))
        })
        .collect();

    // Kill once enough creates were acknowledged, at a moment when some are in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let acknowledged = burst.acknowledged.lock().unwrap().len();
        if acknowledged >= ACKNOWLEDGED_BEFORE_KILL && burst.in_flight.load(Ordering::SeqCst) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {acknowledged} creates acknowledged in 120 s; refused: {:?}",
            burst.refused.lock().unwrap().first()
        );
        assert!(
            burst.cut.lock().unwrap().is_empty(),
            "a client was cut off before the kill: {:?}",
            burst.cut.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let in_flight_at_kill = burst.in_flight.load(Ordering::SeqCst);
    server.signal("KILL");
    let status = server.wait(Duration::from_secs(30));
    assert_eq!(status.signal(), Some(9), "{status:?}");
    for client in clients {
        client.join().unwrap();
    }
    drop(server);

    let acknowledged = std::mem::take(&mut *burst.acknowledged.lock().unwrap());
    let sent = std::mem::take(&mut *burst.sent.lock().unwrap());
    let cut = std::mem::take(&mut *burst.cut.lock().unwrap());
    assert!(
        burst.refused.lock().unwrap().is_empty(),
        "creates answered with an error: {:?}",
        burst.refused.lock().unwrap()
    );
    assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);
    eprintln!(
        "SIGKILL: {} creates acknowledged, {} sent, {in_flight_at_kill} in flight at the kill; \
         the clients saw: {cut:?}",
        acknowledged.len(),
        sent.len()
    );

    // Restart on the same database: every acknowledged alias is there, as it was answered.
    let server = ServerProcess::start(dir, &env);
    let agent = agent();
    for (id, answered) in &acknowledged {
        let mut res = agent
            .get(format!("{}/organization/api/v1/alias/{id}", server.base))
            .header("Authorization", format!("Bearer {KEY}"))
            .call()
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged alias {id} was lost"
        );
        let stored: Value =
            serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(&stored, answered, "acknowledged alias {id} changed");
    }
    // Nothing else exists but creates whose answer was lost in the kill, each at most once.
    let listed = list_all(&server);
    let acknowledged_ids: HashSet<&str> = acknowledged.iter().map(|(id, _)| id.as_str()).collect();
    let mut unacknowledged = 0;
    for (id, alias) in &listed {
        let name = alias["name"].as_str().unwrap();
        assert!(sent.contains(name), "{id} was never created: {alias}");
        if !acknowledged_ids.contains(id.as_str()) {
            unacknowledged += 1;
        }
    }
    assert_eq!(listed.len() - unacknowledged, acknowledged.len());
    assert!(
        unacknowledged <= cut.len(),
        "{unacknowledged} unacknowledged aliases exist, but only {} requests were cut",
        cut.len()
    );
    let names: HashSet<&str> = listed
        .values()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), listed.len(), "a create was applied twice");
    eprintln!(
        "after the restart: all {} acknowledged aliases intact; {unacknowledged} of the cut \
         creates had been committed",
        acknowledged.len()
    );
}

#[test]
fn sigkill_in_a_burst_of_creates_loses_no_acknowledged_alias_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aliaskit.db");
    kill_in_the_middle_of_a_burst(dir.path(), db.to_str().unwrap());
}

#[test]
fn sigkill_in_a_burst_of_creates_loses_no_acknowledged_alias_on_postgres() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    kill_in_the_middle_of_a_burst(dir.path(), &db.url);
}

/// Logins sent at once: enough that most of them still wait in the hashing queue (half
/// the cores hash at a time) when SIGTERM arrives.
fn logins() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    16.max(4 * cores)
}

/// How many connections actix's workers said they were finishing when the shutdown began
/// (actix-server logs "graceful worker shutdown; finishing N connections" per busy worker).
fn connections_finished_by_the_shutdown(logs: &str) -> usize {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|event| {
            let message = event["fields"]["message"].as_str()?.to_owned();
            let rest = message.strip_prefix("graceful worker shutdown; finishing ")?;
            rest.split(' ').next()?.parse::<usize>().ok()
        })
        .sum()
}

/// A complete HTTP/1.1 answer read to EOF from a `Connection: close` request.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    body: String,
}

/// Sends `POST path` with a JSON body over a fresh connection, calls `sent` once the request
/// is written, and reads the answer to the end; `Err` if the connection was cut or the answer
/// is incomplete.
fn post_raw(port: u16, path: &str, body: &str, sent: impl FnOnce()) -> Result<RawAnswer, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    sent();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read after {} bytes: {e}", raw.len()))?;
    let raw = String::from_utf8(raw).map_err(|e| e.to_string())?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete head: {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or_else(|| format!("no Content-Length: {head:?}"))?;
    if body.len() != length {
        return Err(format!("body cut at {} of {length} bytes", body.len()));
    }
    Ok(RawAnswer {
        status,
        body: body.to_owned(),
    })
}

#[test]
fn sigterm_lets_in_flight_logins_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aliaskit.db");
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("ALIASKIT__DATABASE__URL", db.to_str().unwrap()),
            ("ALIASKIT__SERVER__WORKERS", "2"),
            ("ALIASKIT__SERVER__SHUTDOWN_TIMEOUT", "120"),
            ("ALIASKIT__OPENCAP__DOMAINS", "example.com"),
            ("ALIASKIT__OPENCAP__OPEN_SIGNUP", "true"),
            ("ALIASKIT__OPENCAP__AUTH_LIMIT_PER_MINUTE", "0"),
        ],
    );
    let port = server.port;
    let credentials =
        json!({"alias": "alice$example.com", "password": "correct horse battery"}).to_string();
    let signup = post_raw(port, "/v1/users", &credentials, || {}).unwrap();
    assert_eq!(signup.status, 200, "{signup:?}");

    let sent = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let count = logins();
    let start = Arc::new(Barrier::new(count));
    let logins: Vec<_> = (0..count)
        .map(|_| {
            let (sent, answered, start) = (sent.clone(), answered.clone(), start.clone());
            let credentials = credentials.clone();
            std::thread::spawn(move || {
                start.wait();
                let answer = post_raw(port, "/v1/auth", &credentials, || {
                    sent.fetch_add(1, Ordering::SeqCst);
                });
                answered.fetch_add(1, Ordering::SeqCst);
                answer
            })
        })
        .collect();

    // SIGTERM once every login is on the wire and the server has answered the first one.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent.load(Ordering::SeqCst) < count || answered.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the logins did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    let answered_before = answered.load(Ordering::SeqCst);
    server.signal("TERM");

    let answers: Vec<_> = logins.into_iter().map(|t| t.join().unwrap()).collect();
    let status = server.wait(Duration::from_secs(150));
    let (_, logs) = server.output();
    for (i, answer) in answers.iter().enumerate() {
        let answer = answer
            .as_ref()
            .unwrap_or_else(|e| panic!("login {i} was dropped by the shutdown: {e}"));
        assert_eq!(answer.status, 200, "login {i}: {answer:?}");
        let jwt = serde_json::from_str::<Value>(&answer.body).unwrap()["jwt"]
            .as_str()
            .unwrap()
            .to_owned();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert!(header.kid.is_some(), "login {i}: {header:?}");
        assert_eq!(jwt.split('.').count(), 3, "login {i}");
    }
    let finishing = connections_finished_by_the_shutdown(&logs);
    assert!(
        finishing > 0,
        "no request was in flight when the shutdown began (or actix-server no longer logs \
         \"graceful worker shutdown; finishing N connections\")"
    );
    assert!(status.success(), "exit status {status:?}");
    assert!(
        logs.contains("aliaskit-server stopped"),
        "the server logs its stop"
    );
    match TcpStream::connect(("127.0.0.1", port)) {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
        other => panic!("a connection after the shutdown: {other:?}"),
    }
    eprintln!(
        "SIGTERM: {answered_before} of {count} logins answered before it was sent; the workers \
         were finishing {finishing} connections when the shutdown began; all {count} answered \
         200 with a token; {status}"
    );
}
