//! Webhooks delivered by the real server to a real HTTP receiver on loopback
//! (`docs/webhooks.md`): every event type arrives for its change, signed so that the Rust, Node
//! and Python verifications of the docs accept it; a receiver that fails gets the same event
//! again; a server killed right after a change delivers its event after the restart; two servers
//! on one PostgreSQL database send each event once; a target that resolves to a private address
//! is refused at delivery too.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aliaskit_store::testing::TestDb;
use aliaskit_token::{DEFAULT_WEBHOOK_TOLERANCE, verify_webhook};
use serde_json::{Value, json};

use crate::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    /// Header names in lower case.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn event_id(&self) -> String {
        self.header("aliaskit-event-id").to_owned()
    }
}

/// How the receiver answers its `n`th request (from 0).
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Reads the request and never answers (until the test ends).
    Hang,
}

/// A plain HTTP/1.1 server on 127.0.0.1 that records every request and answers as told.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(reply: fn(usize) -> Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hooks/aliaskit",
            listener.local_addr().unwrap().port()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen, reply));
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received.
    fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&[Received]) -> bool) {
        eventually(what, within, || done(&self.received()));
    }
}

/// Serves the requests of one connection.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Received>>, reply: fn(usize) -> Reply) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(Received { headers, body });
            seen.len() - 1
        };
        match reply(n) {
            Reply::Status(status) => {
                let answer = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                );
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
        }
    }
}

fn always_ok(_: usize) -> Reply {
    Reply::Status(200)
}

/// The settings that let a server send to the receiver on loopback over plain HTTP.
const LOOPBACK: [(&str, &str); 4] = [
    ("ALIASKIT__WEBHOOKS__ALLOW_INSECURE", "true"),
    ("ALIASKIT__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
    ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
    ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
];

fn org() -> String {
    format!("Bearer {KEY}")
}

/// Registers `url` for every event; the webhook's id and secret.
fn subscribe(client: &Client, url: &str) -> (String, String) {
    let answer = client.post(
        "/organization/api/v1/webhooks",
        &json!({"url": url, "events": ["*"]}),
        Some(&org()),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    (
        answer.body["data"]["id"].as_str().unwrap().to_owned(),
        answer.body["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

fn create(client: &Client, name: &str, expired_at: i64) -> String {
    let answer = client.post(
        "/organization/api/v1/alias/create",
        &json!({
            "type": "conference",
            "name": name,
            "passcode": "passcode-0123",
            "jwt_secret": "webhook-test-secret-0123456789abcdef",
            "stream_key": "stream-key-0123",
            "expired_at": expired_at,
        }),
        Some(&org()),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"]["id"].as_str().unwrap().to_owned()
}

fn post_ok(client: &Client, path: &str, body: &Value) {
    let answer = client.post(path, body, Some(&org()));
    assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
}

/// The event types received for `alias`, in the order they arrived.
fn types_for(received: &[Received], alias: &str) -> Vec<String> {
    received
        .iter()
        .map(Received::json)
        .filter(|e| e["data"]["alias"]["id"] == alias)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The fenced block of `language` in docs/webhooks.md: the snippet the docs show is the one
/// the test runs.
fn snippet(language: &str) -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhooks.md");
    let text = std::fs::read_to_string(docs).unwrap();
    let start = text
        .find(&format!("```{language}\n"))
        .unwrap_or_else(|| panic!("docs/webhooks.md has no {language} block"));
    let code = &text[start + language.len() + 4..];
    code[..code.find("```").unwrap()].to_owned()
}

/// Runs the docs' `language` verification (`node` or `python3`) on a delivery; true when it
/// accepts it.
fn verified_by(program: &str, language: &str, driver: &str, secret: &str, got: &Received) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    std::fs::write(&body, &got.body).unwrap();
    let script = format!("{}\n{driver}", snippet(language));
    let output = Command::new(program)
        .args([if program == "node" { "-e" } else { "-c" }, &script])
        .env("SECRET", secret)
        .env("HEADER", got.header("aliaskit-signature"))
        .env("BODY", &body)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed.trim() == "valid"
}

const NODE_DRIVER: &str = r#"
const body = require("fs").readFileSync(process.env.BODY);
const ok = verify([process.env.SECRET], process.env.HEADER, body, Math.floor(Date.now() / 1000));
console.log(ok ? "valid" : "invalid");
"#;

const PYTHON_DRIVER: &str = r#"
import os, time
body = open(os.environ["BODY"], "rb").read()
ok = verify([os.environ["SECRET"]], os.environ["HEADER"], body, int(time.time()))
print("valid" if ok else "invalid")
"#;

#[test]
fn every_change_arrives_as_a_signed_event_the_documented_snippets_verify() {
    let receiver = Receiver::start(always_ok);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let mut settings = LOOPBACK.to_vec();
    settings.push(("ALIASKIT__ALIASES__PURGE_INTERVAL", "1"));
    let app = TestApp::spawn_with(&url, &settings);
    let (_, secret) = subscribe(&app, &receiver.url);

    let id = create(&app, "Every event", now() + 3600);
    let base = format!("/organization/api/v1/alias/{id}");
    post_ok(
        &app,
        &format!("/organization/api/v1/alias/update/{id}"),
        &json!({"type": "conference", "name": "Renamed"}),
    );
    post_ok(&app, &format!("{base}/rotate-secret"), &json!({}));
    post_ok(&app, &format!("{base}/revoke-tokens"), &json!({}));
    post_ok(&app, &format!("{base}/rotate-stream-key"), &json!({}));
    let answer = app.delete(
        &format!("/organization/api/v1/alias/delete/{id}"),
        Some(&org()),
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // Expires two seconds from now; the purge job (every second here) reports it.
    let expiring = create(&app, "Expiring", now() + 2);

    let expected = [
        "alias.created",
        "alias.updated",
        "alias.secret_rotated",
        "alias.tokens_revoked",
        "alias.stream_key_rotated",
        "alias.deleted",
    ];
    receiver.wait_for(
        "every event of the first alias",
        Duration::from_secs(30),
        |got| types_for(got, &id).len() >= expected.len(),
    );
    receiver.wait_for("alias.expired", Duration::from_secs(30), |got| {
        types_for(got, &expiring).contains(&"alias.expired".to_owned())
    });
    let got = receiver.received();
    assert_eq!(
        types_for(&got, &id),
        expected,
        "one of each, in the order of the changes"
    );
    assert_eq!(
        types_for(&got, &expiring),
        ["alias.created", "alias.expired"]
    );

    for delivery in &got {
        let event = delivery.json();
        assert_eq!(delivery.header("content-type"), "application/json");
        assert_eq!(delivery.event_id(), event["id"].as_str().unwrap());
        assert!(delivery.event_id().starts_with("evt_"), "{event}");
        assert_eq!(event["organization"], "default");
        assert!(
            event["created_at"].as_i64().unwrap() > now() - 120,
            "{event}"
        );
        for hidden in ["jwt_secret", "passcode", "stream_key"] {
            assert_eq!(event["data"]["alias"][hidden], Value::Null, "{event}");
        }
        let text = String::from_utf8_lossy(&delivery.body);
        for secret in [
            "webhook-test-secret",
            "passcode-0123",
            "stream-key-0123",
            &secret,
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let header = delivery.header("aliaskit-signature");
        assert!(
            verify_webhook(
                &[&secret],
                header,
                &delivery.body,
                now(),
                DEFAULT_WEBHOOK_TOLERANCE
            )
            .is_ok(),
            "{header}"
        );
    }

    // The docs' Node and Python verifications accept a real delivery, and refuse it with one
    // byte of the body changed or under another secret.
    let real = &got[0];
    let mut tampered = real.clone();
    tampered.body[10] ^= 1;
    for (program, language, driver) in [
        ("node", "js", NODE_DRIVER),
        ("python3", "python", PYTHON_DRIVER),
    ] {
        assert!(
            verified_by(program, language, driver, &secret, real),
            "{program}"
        );
        assert!(
            !verified_by(program, language, driver, &secret, &tampered),
            "{program}"
        );
        let other = "whsec_another-secret-entirely-0123456789abc";
        assert!(
            !verified_by(program, language, driver, other, real),
            "{program}"
        );
    }
}

#[test]
fn a_receiver_that_fails_gets_the_same_event_again() {
    fn fail_first(n: usize) -> Reply {
        Reply::Status(if n == 0 { 500 } else { 200 })
    }
    let receiver = Receiver::start(fail_first);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let app = TestApp::spawn_with(&url, &LOOPBACK);
    let (hook, _) = subscribe(&app, &receiver.url);
    create(&app, "Retried", now() + 3600);

    // The first retry is due about 5 s (4 to 6 s with the jitter) after the failure.
    receiver.wait_for("the retry", Duration::from_secs(20), |got| got.len() >= 2);
    std::thread::sleep(Duration::from_millis(500));
    let got = receiver.received();
    assert_eq!(got.len(), 2, "delivered once the receiver answered 200");
    assert_eq!(got[0].event_id(), got[1].event_id());
    assert_eq!(got[0].body, got[1].body, "the same event, byte for byte");

    let attempts = app.get(
        &format!("/organization/api/v1/webhooks/{hook}/deliveries"),
        Some(&org()),
    );
    assert_eq!(attempts.status, 200, "{:?}", attempts.body);
    let entries = attempts.body["data"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (second, first) = (&entries[0], &entries[1]);
    assert_eq!(first["status"], 500, "newest first: {entries:?}");
    assert_eq!(first["attempt"], 1);
    assert!(first["next_attempt_at"].is_i64(), "{first}");
    assert_eq!(first["delivered_at"], Value::Null);
    assert_eq!(second["status"], 200);
    assert_eq!(second["attempt"], 2);
    assert!(second["delivered_at"].is_i64(), "{second}");
    assert_eq!(second["event_id"], got[0].event_id().as_str());
    assert_eq!(second["event_type"], "alias.created");
}

/// A receiver that takes the request and never answers costs one attempt of 10 s, on the
/// sender's thread: retrieves meanwhile answer as ever, and the event is sent again.
#[test]
fn a_receiver_that_hangs_times_out_and_is_retried() {
    fn hang_first(n: usize) -> Reply {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::Status(204)
        }
    }
    let receiver = Receiver::start(hang_first);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let app = TestApp::spawn_with(&url, &LOOPBACK);
    let (hook, _) = subscribe(&app, &receiver.url);
    let id = create(&app, "Hanging", now() + 3600);
    receiver.wait_for("the first attempt", Duration::from_secs(10), |got| {
        !got.is_empty()
    });
    let token = access_token("webhook-test-secret-0123456789abcdef", &id);
    for _ in 0..20 {
        let answer = app.get(
            &format!("/api/v1/alias/{id}"),
            Some(&format!("Bearer {token}")),
        );
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    receiver.wait_for("the retry", Duration::from_secs(30), |got| got.len() >= 2);
    let got = receiver.received();
    assert_eq!(got[0].event_id(), got[1].event_id());
    let path = format!("/organization/api/v1/webhooks/{hook}/deliveries");
    eventually("both attempts recorded", Duration::from_secs(10), || {
        app.get(&path, Some(&org())).body["data"]["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
    });
    let answer = app.get(&path, Some(&org()));
    let first = &answer.body["data"]["entries"][1];
    assert_eq!(first["error"], "no answer within 10 s", "{first}");
    assert!(first["duration_ms"].as_i64().unwrap() >= 9_000, "{first}");
    assert_eq!(answer.body["data"]["entries"][0]["status"], 204);
}

/// A target that resolves to a private address is refused at creation without
/// `webhooks.allow_private_targets`, and at delivery too: a server without the setting does not
/// send to an endpoint another server (with it) registered.
#[test]
fn a_private_target_is_refused_at_creation_and_at_delivery() {
    let receiver = Receiver::start(always_ok);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let insecure_only = [("ALIASKIT__WEBHOOKS__ALLOW_INSECURE", "true")];

    let strict = TestApp::spawn_with(&url, &insecure_only);
    for target in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
    ] {
        let answer = strict.post(
            "/organization/api/v1/webhooks",
            &json!({"url": target, "events": ["*"]}),
            Some(&org()),
        );
        assert_eq!(answer.status, 400, "{target}: {:?}", answer.body);
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("url"),
            "{:?}",
            answer.body
        );
    }
    drop(strict);

    // Registered by a server that allows it (and sends nothing)…
    let mut lenient = LOOPBACK.to_vec();
    lenient.push(("ALIASKIT__WEBHOOKS__SENDERS", "0"));
    let registrar = TestApp::spawn_with(&url, &lenient);
    let (hook, _) = subscribe(&registrar, &receiver.url);
    create(&registrar, "Private", now() + 3600);
    drop(registrar);

    // …then left to one that does not: it refuses to connect.
    let strict = TestApp::spawn_with(&url, &insecure_only);
    let path = format!("/organization/api/v1/webhooks/{hook}/deliveries");
    eventually("a refused attempt", Duration::from_secs(20), || {
        let answer = strict.get(&path, Some(&org()));
        answer.body["data"]["entries"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    });
    let answer = strict.get(&path, Some(&org()));
    let attempt = &answer.body["data"]["entries"][0];
    assert_eq!(attempt["status"], Value::Null, "{attempt}");
    let error = attempt["error"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.1") && error.contains("allow_private_targets"),
        "{error}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

/// The settings of a server process sending to the receiver.
fn process_env(database: &str) -> Vec<(&str, &str)> {
    let mut env = vec![
        ("ALIASKIT__DATABASE__URL", database),
        ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
    ];
    env.extend(LOOPBACK);
    env
}

/// SIGKILL right after changes were answered `200`: after the restart every one of their
/// events arrives (the outbox row was written with the change, and a lease the dead server held
/// runs out).
#[test]
fn a_server_killed_after_a_change_delivers_its_event_after_restart() {
    let receiver = Receiver::start(always_ok);
    for db in [Some(TestDb::sqlite().unwrap()), TestDb::postgres().unwrap()]
        .into_iter()
        .flatten()
    {
        let dir = tempfile::tempdir().unwrap();
        let env = process_env(&db.url);
        let server = ServerProcess::start(dir.path(), &env);
        subscribe(&server.client(), &receiver.url);
        let ids: Vec<String> = (0..20)
            .map(|n| create(&server.client(), &format!("Killed {n}"), now() + 3600))
            .collect();
        server.signal("KILL");
        drop(server);

        let _restarted = ServerProcess::start(dir.path(), &env);
        // Up to the 30 s lease of a delivery the killed server had claimed, plus a retry.
        receiver.wait_for(
            "every acknowledged change's event",
            Duration::from_secs(60),
            |got| {
                ids.iter()
                    .all(|id| types_for(got, id).contains(&"alias.created".to_owned()))
            },
        );
    }
}

/// Two server processes on one PostgreSQL database, both sending: hundreds of changes made
/// through both arrive, each event id once, in order per alias.
#[test]
fn two_servers_on_postgres_deliver_each_event_once() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let receiver = Receiver::start(always_ok);
    let dir = tempfile::tempdir().unwrap();
    let env = process_env(&db.url);
    let a = ServerProcess::start(dir.path(), &env);
    let b = ServerProcess::start(dir.path(), &env);
    let (on_a, on_b) = (a.client(), b.client());
    subscribe(&on_a, &receiver.url);

    let mut ids = Vec::new();
    let mut changes = 0;
    for n in 0..100 {
        let (first, second) = if n % 2 == 0 {
            (&on_a, &on_b)
        } else {
            (&on_b, &on_a)
        };
        let id = create(first, &format!("Shared {n}"), now() + 3600);
        post_ok(
            second,
            &format!("/organization/api/v1/alias/update/{id}"),
            &json!({"type": "live", "name": format!("Shared {n}, renamed")}),
        );
        post_ok(
            first,
            &format!("/organization/api/v1/alias/{id}/rotate-secret"),
            &json!({}),
        );
        changes += 3;
        ids.push(id);
    }
    receiver.wait_for("every event", Duration::from_secs(60), |got| {
        got.iter()
            .map(Received::event_id)
            .collect::<HashSet<_>>()
            .len()
            >= changes
    });
    // Time for a duplicate to show up, had one been sent.
    std::thread::sleep(Duration::from_secs(3));
    let got = receiver.received();
    let unique: HashSet<String> = got.iter().map(Received::event_id).collect();
    assert_eq!(unique.len(), changes);
    assert_eq!(got.len(), changes, "an event was delivered twice");
    for id in &ids {
        assert_eq!(
            types_for(&got, id),
            ["alias.created", "alias.updated", "alias.secret_rotated"],
            "order per alias"
        );
    }
    drop((a, b));
}
