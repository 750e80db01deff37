//! Slow clients against the real server, over raw TCP: a request body that stalls is answered
//! `408` in its route family's JSON shape once `server.body_timeout` has passed, and the
//! connection is closed; a body that arrives in full within that time, however slowly, is
//! served.
//!
//! The timeout is the HTTP layer's, the same on every backend: SQLite only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

use crate::hostile::{Raw, complete, parse, port};
use crate::*;

/// `server.body_timeout` in these tests, in seconds.
const BODY_TIMEOUT: u64 = 2;

/// How long a test waits for the server to answer and close, at most: the timeout plus a
/// generous margin for a loaded machine.
const WITHIN: Duration = Duration::from_secs(10);

fn spawn(db: &TestDb) -> TestApp {
    TestApp::spawn_with(
        &db.url,
        &[("ALIASKIT__SERVER__BODY_TIMEOUT", &BODY_TIMEOUT.to_string())],
    )
}

/// The head of a `POST path` with a JSON body of `length` bytes.
fn head(path: &str, authorization: Option<&str>, length: usize) -> String {
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{authorization}Content-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

fn connect(app: &TestApp) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port(app))).unwrap();
    stream.set_read_timeout(Some(WITHIN)).unwrap();
    stream
}

/// Reads one whole response from `stream`, failing the test if it does not come within
/// [`WITHIN`] of `since`.
fn read_response(stream: &mut TcpStream, since: Instant) -> Raw {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !complete(&received) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "no whole answer within {:?} ({e}); got {:?}",
                since.elapsed(),
                String::from_utf8_lossy(&received)
            ),
        }
    }
    assert!(
        since.elapsed() < WITHIN,
        "the answer took {:?}",
        since.elapsed()
    );
    parse(&received)
}

/// A head announcing 100 bytes of body, and 10 of them.
fn partial(path: &str, authorization: Option<&str>) -> String {
    let head = head(path, authorization, 100);
    let body = "{\"alias\": ";
    assert_eq!(body.len(), 10);
    format!("{head}{body}")
}

/// Sends `request`, the start of one, then nothing: the answer, and how long after the request
/// it came. Asserts that the server then closes the connection.
fn stall(app: &TestApp, request: &str) -> (Raw, Duration) {
    let mut stream = connect(app);
    stream.write_all(request.as_bytes()).unwrap();
    let sent = Instant::now();
    let answer = read_response(&mut stream, sent);
    let took = sent.elapsed();
    // The server closes its side: the next read ends the stream instead of waiting.
    let mut rest = [0u8; 64];
    match stream.read(&mut rest) {
        Ok(0) => {}
        Ok(n) => panic!(
            "more bytes after the answer: {:?}",
            String::from_utf8_lossy(&rest[..n])
        ),
        Err(e) => panic!("the connection stayed open after the 408 ({e})"),
    }
    assert!(sent.elapsed() < WITHIN, "closed after {:?}", sent.elapsed());
    (answer, took)
}

/// The parts of a stalled body's answer a client sees: status, `Connection`, content type.
fn assert_timed_out(what: &str, answer: &Raw, took: Duration) {
    assert_eq!(
        (
            answer.status,
            answer.header("connection"),
            answer.header("content-type")
        ),
        (408, Some("close"), Some("application/json")),
        "{what}: {answer:?}"
    );
    // Not refused at once: the server waited for the body (a loose bound; timers never fire
    // early, but the clocks start at slightly different moments).
    assert!(
        took >= Duration::from_secs(BODY_TIMEOUT) / 2,
        "{what}: answered after {took:?}"
    );
}

#[test]
fn a_stalled_body_on_a_datagram_route_is_answered_408_and_the_connection_closed() {
    let db = TestDb::sqlite().unwrap();
    let app = spawn(&db);
    let (answer, took) = stall(
        &app,
        &partial(
            "/organization/api/v1/alias/create",
            Some(&format!("Bearer {KEY}")),
        ),
    );
    assert_timed_out("create", &answer, took);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{BODY_TIMEOUT} s")),
        "the message says how long the server waited: {message}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert_eq!(app.get("/healthz", None).status, 200, "still serving");
}

#[test]
fn a_stalled_body_on_an_opencap_route_is_answered_408_in_the_opencap_shape() {
    let db = TestDb::sqlite().unwrap();
    let app = spawn(&db);
    let (answer, took) = stall(&app, &partial("/v1/auth", None));
    assert_timed_out("login", &answer, took);
    let body = answer.json();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message"], "{body}");
    assert_eq!(body["code"], "request_timeout", "{body}");
    assert_eq!(app.get("/healthz", None).status, 200, "still serving");
}

/// A chunked body that stops after its first chunk: actix-http reads on to the end of a chunked
/// body its handler dropped, so the connection must be closed on purpose.
#[test]
fn a_stalled_chunked_body_is_answered_408_and_the_connection_closed() {
    let db = TestDb::sqlite().unwrap();
    let app = spawn(&db);
    let request = "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\n\r\na\r\n{\"alias\": \r\n";
    let (answer, took) = stall(&app, request);
    assert_timed_out("signup", &answer, took);
    assert_eq!(answer.json()["code"], "request_timeout", "{answer:?}");
    assert_eq!(app.get("/healthz", None).status, 200, "still serving");
}

/// Sends `body` to `path` in four pieces, 300 ms apart (about half the timeout in all): the
/// answer.
fn trickle(app: &TestApp, path: &str, authorization: Option<&str>, body: &Value) -> Raw {
    let body = body.to_string();
    let mut stream = connect(app);
    stream
        .write_all(head(path, authorization, body.len()).as_bytes())
        .unwrap();
    let start = Instant::now();
    let bytes = body.as_bytes();
    let piece = bytes.len().div_ceil(4);
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        stream.write_all(chunk).unwrap();
        stream.flush().unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(BODY_TIMEOUT),
        "the test itself was too slow: {:?}",
        start.elapsed()
    );
    read_response(&mut stream, start)
}

#[test]
fn a_body_that_arrives_slowly_but_in_time_is_served() {
    let db = TestDb::sqlite().unwrap();
    let app = spawn(&db);

    let created = trickle(
        &app,
        "/organization/api/v1/alias/create",
        Some(&format!("Bearer {KEY}")),
        &json!({"type": "live", "name": "slowly", "expired_at": now() + 3600}),
    );
    let body = created.json();
    assert_eq!(created.status, 200, "{body}");
    assert_eq!(body["data"]["name"], "slowly", "{body}");

    let signed_up = trickle(
        &app,
        "/v1/users",
        None,
        &json!({"alias": "slow$example.com", "password": "correct horse battery"}),
    );
    let body = signed_up.json();
    assert_eq!(signed_up.status, 200, "{body}");
    assert_eq!(body["alias"], "slow$example.com", "{body}");
}
