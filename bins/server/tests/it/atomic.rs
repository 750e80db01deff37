//! Every acknowledged change survives concurrent changes (docs/deployment.md, "Several
//! servers"): two server processes on one database, clients changing different fields of one
//! alias at the same moment through both. Each field's final value is the one its last
//! acknowledged change wrote; above all, a `rotate-secret` answered 200 is never undone by a
//! change that read the row before it.

use std::sync::Barrier;

use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

use crate::*;

const ROUNDS: usize = 4;
const CHANGES: usize = 8;

fn start(dir: &std::path::Path, url: &str) -> ServerProcess {
    ServerProcess::start(
        dir,
        &[
            ("ALIASKIT__DATABASE__URL", url),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
            ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
            // No grace: a secret that was undone would leave the newest one refused.
            ("ALIASKIT__TOKENS__ROTATION_GRACE", "0"),
            ("ALIASKIT__CACHE__TTL", "0"),
        ],
    )
}

/// One writer: `CHANGES` changes of one field, alternating between the servers, each answered
/// 200; returns the value the last one wrote.
fn writer(servers: &[Client], start: &Barrier, change: impl Fn(&Client, usize) -> Value) -> Value {
    start.wait();
    let mut last = Value::Null;
    for i in 0..CHANGES {
        last = change(&servers[i % servers.len()], i);
    }
    last
}

fn acknowledged(answer: &Answer, what: &str) -> Value {
    assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
    answer.body["data"].clone()
}

#[test]
fn concurrent_changes_of_one_alias_on_two_servers_all_survive() {
    for db in TestDb::all().unwrap() {
        let backend = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (start(dir.path(), &db.url), start(dir.path(), &db.url));
        let servers = [a.client(), b.client()];
        let org = format!("Bearer {KEY}");
        for round in 0..ROUNDS {
            let created = servers[0].post(
                "/organization/api/v1/alias/create",
                &json!({"type": "conference", "name": "start", "passcode": "pass-start",
                        "jwt_secret": "atomic-secret-0123456789abcdef0123",
                        "expired_at": now() + 3600}),
                Some(&org),
            );
            let id = acknowledged(&created, "create")["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let update = format!("/organization/api/v1/alias/update/{id}");
            let action = |name: &str| format!("/organization/api/v1/alias/{id}/{name}");
            let patch = |server: &Client, body: Value| {
                acknowledged(&server.post(&update, &body, Some(&org)), "update")
            };
            let post = |server: &Client, name: &str| {
                acknowledged(&server.send("POST", &action(name), None, Some(&org)), name)
            };
            let base = now() + 7200;
            let start = Barrier::new(6);
            let (name, passcode, expiry, stream_key, secret) = std::thread::scope(|s| {
                let name = s.spawn(|| {
                    writer(&servers, &start, |c, i| {
                        patch(
                            c,
                            json!({"type": "conference", "name": format!("name-{i}")}),
                        )["name"]
                            .clone()
                    })
                });
                let passcode = s.spawn(|| {
                    writer(&servers, &start, |c, i| {
                        patch(
                            c,
                            json!({"type": "conference", "passcode": format!("pass-{i}")}),
                        )["passcode"]
                            .clone()
                    })
                });
                let expiry = s.spawn(|| {
                    writer(&servers, &start, |c, i| {
                        let at = base + i as i64;
                        patch(c, json!({"type": "conference", "expired_at": at}))["expired_at"]
                            .clone()
                    })
                });
                let stream_key = s.spawn(|| {
                    writer(&servers, &start, |c, _| {
                        post(c, "rotate-stream-key")["stream_key"].clone()
                    })
                });
                let secret = s.spawn(|| {
                    writer(&servers, &start, |c, _| {
                        post(c, "rotate-secret")["jwt_secret"].clone()
                    })
                });
                // Revocations write the row too: more chances to undo the others.
                let revoke = s.spawn(|| {
                    writer(&servers, &start, |c, _| {
                        post(c, "revoke-tokens")["id"].clone()
                    })
                });
                let joined = (
                    name.join().unwrap(),
                    passcode.join().unwrap(),
                    expiry.join().unwrap(),
                    stream_key.join().unwrap(),
                    secret.join().unwrap(),
                );
                revoke.join().unwrap();
                joined
            });

            for server in &servers {
                let stored = acknowledged(
                    &server.get(&format!("/organization/api/v1/alias/{id}"), Some(&org)),
                    "get",
                );
                let at = format!("{backend:?}, round {round}");
                assert_eq!(
                    stored["jwt_secret"], secret,
                    "{at}: the last rotate-secret was undone"
                );
                assert_eq!(stored["stream_key"], stream_key, "{at}: stream key");
                assert_eq!(stored["name"], name, "{at}: name");
                assert_eq!(stored["passcode"], passcode, "{at}: passcode");
                assert_eq!(stored["expired_at"], expiry, "{at}: expiry");
                // The secret in force is the last one acknowledged: its tokens are accepted.
                // Issued after the last revocation's second.
                let token = sign_claims(
                    secret.as_str().unwrap(),
                    &json!({"alias": id, "user_id": "u", "iat": now() + 1, "exp": now() + 600}),
                );
                let retrieved = server.get(
                    &format!("/api/v1/alias/{id}"),
                    Some(&format!("Bearer {token}")),
                );
                assert_eq!(retrieved.status, 200, "{at}: {:?}", retrieved.body);
            }
        }
    }
}
