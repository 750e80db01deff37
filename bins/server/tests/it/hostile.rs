//! Hostile requests against the real server, byte for byte over TCP: what the HTTP/1 codec
//! refuses before the application sees the request (heads over 128 KiB, more than 96 headers,
//! URIs over 64 KiB, bytes that are not HTTP), and what reaches the application.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

use crate::*;

/// What came back on a raw connection.
#[derive(Debug)]
pub(crate) struct Raw {
    /// The status code, or 0 if nothing parseable came back.
    pub(crate) status: u16,
    /// Header lines, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    /// The body bytes.
    pub(crate) body: Vec<u8>,
}

impl Raw {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub(crate) fn port(app: &TestApp) -> u16 {
    app.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// Writes `request` on a new connection and reads until the server closes it (or has sent
/// `Content-Length` bytes of body). Write errors are ignored: the server may answer and close
/// before it has read everything.
fn send_raw(app: &TestApp, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(("127.0.0.1", port(app))).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut received = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
        if complete(&received) {
            break;
        }
    }
    parse(&received)
}

fn split_head(received: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((&received[..at], &received[at + 4..]))
}

pub(crate) fn complete(received: &[u8]) -> bool {
    let Some((head, body)) = split_head(received) else {
        return false;
    };
    let length = String::from_utf8_lossy(head).lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|n| body.len() >= n)
}

pub(crate) fn parse(received: &[u8]) -> Raw {
    let (head, body) = split_head(received).unwrap_or((received, &[]));
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Raw {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// `GET target` with `extra` header lines, closing the connection after the answer.
fn get(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

/// A valid access token for alias `id`, signed with [`SECRET`].
fn good_token(id: &str) -> String {
    access_token(SECRET, id)
}

/// A 32-byte `jwt_secret`.
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Creates an alias with [`SECRET`] and returns its id.
fn protected_alias(app: &TestApp) -> String {
    let created = app.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "jwt_secret": SECRET, "expired_at": now() + 3600}),
        Some(&format!("Bearer {KEY}")),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    created.body["data"]["id"].as_str().unwrap().to_owned()
}

/// The server still answers: `/healthz` and a retrieve with a good token are `200`.
fn assert_still_serving(app: &TestApp, id: &str) {
    assert_eq!(app.get("/healthz", None).status, 200);
    let answer = app.get(
        &format!("/api/v1/alias/{id}"),
        Some(&format!("Bearer {}", good_token(id))),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// Requests the HTTP/1 codec (actix-http) refuses before any middleware or route sees them.
/// It answers with a status, `Content-Length: 0`, no body and no `Content-Type`, and closes
/// the connection — the JSON error shape cannot be applied there (see docs/api.md, "Limits
/// below the application").
#[test]
fn the_codec_refuses_oversized_and_malformed_heads_with_an_empty_body_and_keeps_serving() {
    // These never reach the database: one backend is enough.
    let db = TestDb::sqlite().unwrap();
    let app = TestApp::spawn(&db.url);
    let id = protected_alias(&app);
    let retrieve = format!("/api/v1/alias/{id}");
    let auth = |n: usize| format!("Authorization: Bearer {}\r\n", "a".repeat(n));
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("X-Junk-{i}: j\r\n"))
            .collect::<String>()
    };
    let raw = |target: &[u8], header: &[u8]| {
        [
            b"GET ".as_slice(),
            target,
            b" HTTP/1.1\r\nHost: x\r\n",
            header,
            b"Connection: close\r\n\r\n",
        ]
        .concat()
    };
    let post = |headers: &str, body: &str| {
        format!("POST /organization/api/v1/alias/create HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n{body}").into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        // The head (request line and headers) is over 128 KiB.
        (
            "Authorization of 130 KiB",
            get(&retrieve, &auth(130 * 1024)),
            431,
        ),
        (
            "Authorization of 1 MiB",
            get(&retrieve, &auth(1024 * 1024)),
            431,
        ),
        // More than 96 headers.
        ("100 headers", get(&retrieve, &many(100)), 431),
        // A URI over 65 534 bytes (the `http` crate's limit): 400, not 414.
        (
            "query string of 100 KiB",
            get(
                &format!("{retrieve}?passcode={}", "p".repeat(100 * 1024)),
                "",
            ),
            400,
        ),
        (
            "path of 70 KiB",
            get(&format!("/api/v1/alias/{}", "x".repeat(70 * 1024)), ""),
            400,
        ),
        // Bytes that are not allowed in a request target.
        ("a space in the path", get("/api/v1/alias/a b", ""), 400),
        (
            "UTF-8 in the path",
            raw(b"/api/v1/alias/\xc3\xa9", b""),
            400,
        ),
        ("0xff in the path", raw(b"/api/v1/alias/\xff", b""), 400),
        ("NUL in the path", raw(b"/api/v1/alias/a\x00b", b""), 400),
        ("a tab in the path", raw(b"/api/v1/alias/a\tb", b""), 400),
        ("a target without /", get("api/v1/alias/x", ""), 400),
        // Header lines that are not HTTP.
        (
            "a control byte in a header value",
            get(&retrieve, "Authorization: Bearer a\x01b\r\n"),
            400,
        ),
        (
            "DEL in a header value",
            get(&retrieve, "Authorization: Bearer a\x7fb\r\n"),
            400,
        ),
        (
            "a header without a colon",
            get(&retrieve, "Authorization Bearer x\r\n"),
            400,
        ),
        (
            "a space before the colon",
            get(&retrieve, "Authorization : Bearer x\r\n"),
            400,
        ),
        (
            "an obs-fold continuation line",
            get(&retrieve, "Authorization: Bearer\r\n x.y.z\r\n"),
            400,
        ),
        (
            "a control byte in the method",
            raw(b"/healthz", b"")
                .iter()
                .enumerate()
                .map(|(i, &b)| if i == 1 { 1 } else { b })
                .collect(),
            400,
        ),
        (
            "HTTP/9.9",
            b"GET /healthz HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a TLS ClientHello",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n".to_vec(),
            400,
        ),
        // Framing that could smuggle a request.
        (
            "Content-Length and Transfer-Encoding",
            post(
                "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\n",
            ),
            400,
        ),
        (
            "two Content-Lengths",
            post("Content-Length: 2\r\nContent-Length: 3\r\n", "{}"),
            400,
        ),
        (
            "a negative Content-Length",
            post("Content-Length: -1\r\n", ""),
            400,
        ),
        (
            "Transfer-Encoding: gzip",
            post("Transfer-Encoding: gzip\r\n", ""),
            400,
        ),
    ];
    let mut failures = Vec::new();
    for (label, request, status) in cases {
        let r = send_raw(&app, &request);
        let got = (
            r.status,
            r.header("content-length"),
            r.header("content-type"),
            r.header("connection"),
            r.body.len(),
        );
        if got != (status, Some("0"), None, Some("close"), 0) {
            failures.push(format!(
                "{label}: wanted {status} with an empty body, got {got:?} {:?}",
                String::from_utf8_lossy(&r.body)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_still_serving(&app, &id);
}

/// Oversized and odd requests that pass the codec reach the application and get its JSON
/// errors, over a real socket.
#[test]
fn large_but_legal_heads_and_odd_targets_get_json_errors_from_the_real_server() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let app = TestApp::spawn(&db.url);
        let id = protected_alias(&app);
        let retrieve = format!("/api/v1/alias/{id}");
        let auth = |n: usize| format!("Authorization: Bearer {}\r\n", "a".repeat(n));
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("X-Junk-{i}: j\r\n"))
                .collect::<String>()
        };
        let unauthorized = (401, "unauthorized");
        let alias_not_found = (404, "alias_not_found");
        let no_route = (404, "not_found");
        let near_limit = "p".repeat(65_534 - retrieve.len() - "?passcode=".len());
        let cases: Vec<(&str, Vec<u8>, (u16, &str))> = vec![
            ("Authorization of 16 KiB", get(&retrieve, &auth(16 * 1024)), unauthorized),
            ("Authorization of 64 KiB", get(&retrieve, &auth(64 * 1024)), unauthorized),
            ("Authorization of 127 KiB", get(&retrieve, &auth(127 * 1024)), unauthorized),
            ("a 16 KiB three-segment token", get(&retrieve, &format!("Authorization: Bearer {0}.{0}.{0}\r\n", "a".repeat(5 * 1024))), (401, "malformed_token")),
            ("92 headers", get(&retrieve, &many(92)), unauthorized),
            ("UTF-8 in the Authorization value", [b"GET ".as_slice(), retrieve.as_bytes(), b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xc3\xa9\r\nConnection: close\r\n\r\n"].concat(), unauthorized),
            ("query string of 60 KiB", get(&format!("{retrieve}?passcode={}", "p".repeat(60 * 1024)), ""), unauthorized),
            ("a URI of 65 534 bytes", get(&format!("{retrieve}?passcode={near_limit}"), ""), unauthorized),
            ("an absolute-form target", get(&format!("http://evil.example{retrieve}"), ""), unauthorized),
            ("an 8 KiB alias id", get(&format!("/api/v1/alias/{}", "x".repeat(8 * 1024)), ""), alias_not_found),
            ("a 65-character alias id", get(&format!("/api/v1/alias/{}", "x".repeat(65)), ""), alias_not_found),
            ("%2F", get("/api/v1/alias/%2F", ""), alias_not_found),
            ("%00", get("/api/v1/alias/%00", ""), alias_not_found),
            ("an encoded emoji", get("/api/v1/alias/%F0%9F%98%80", ""), alias_not_found),
            ("a lone %", get("/api/v1/alias/%", ""), alias_not_found),
            ("%zz", get("/api/v1/alias/%zz", ""), alias_not_found),
            ("a raw quote", get("/api/v1/alias/a\"b", ""), alias_not_found),
            ("a raw backslash", get("/api/v1/alias/a\\b", ""), alias_not_found),
            ("raw braces", get("/api/v1/alias/{}", ""), alias_not_found),
            ("..%2F..%2F", get("/api/v1/alias/..%2F..%2F", ""), alias_not_found),
            ("../../etc/passwd", get("/api/v1/alias/../../etc/passwd", ""), no_route),
            ("an empty id", get("/api/v1/alias/", ""), no_route),
            ("the * target", get("*", ""), no_route),
            ("a lower-case method", b"get /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), (405, "method_not_allowed")),
            ("a Content-Length of 99 999 999 999", format!("POST /organization/api/v1/alias/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{{}}").into_bytes(), (413, "payload_too_large")),
        ];
        let mut failures = Vec::new();
        for (label, request, (status, code)) in cases {
            let r = send_raw(&app, &request);
            let body = r.json();
            let shape_ok = body.as_object().is_some_and(|o| o.len() == 1)
                && body["error"]["message"].is_string();
            if (r.status, body["error"]["code"].as_str()) != (status, Some(code))
                || !shape_ok
                || r.header("content-type") != Some("application/json")
            {
                failures.push(format!(
                    "{b:?} {label}: wanted {status} {code}, got {} {:?} {}",
                    r.status,
                    r.header("content-type"),
                    String::from_utf8_lossy(&r.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // The OpenCAP routes: the same limits, the OpenCAP shape.
        for (label, request, status) in [
            ("a 64 KiB bearer", format!("DELETE /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", "a".repeat(64 * 1024)).into_bytes(), 401),
            ("a 60 KiB alias", get(&format!("/v1/addresses?alias={}%24example.com", "a".repeat(60 * 1024)), ""), 400),
            ("an alias with %00", get("/v1/addresses?alias=alice%00%24example.com", ""), 400),
            ("an address type of 10 000 digits", get(&format!("/v1/addresses?alias=alice%24example.com&address_type={}", "1".repeat(10_000)), ""), 400),
            ("a refused preflight", b"OPTIONS /v1/addresses HTTP/1.1\r\nHost: x\r\nOrigin: https://w.example\r\nAccess-Control-Request-Method: PATCH\r\nConnection: close\r\n\r\n".to_vec(), 400),
        ] {
            let r = send_raw(&app, &request);
            let body = r.json();
            let mut keys: Vec<&str> = body
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            keys.sort_unstable();
            assert_eq!(
                (r.status, keys, r.header("content-type")),
                (status, vec!["code", "message"], Some("application/json")),
                "{b:?} {label}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        assert_still_serving(&app, &id);
    }
}
