//! Two server processes on one PostgreSQL database behave as one (docs/deployment.md): what one
//! creates the other serves; what one deletes or rotates the other refuses within `cache.ttl`;
//! OpenCAP lockout and signing keys are shared; the purge runs once per interval, not once per
//! server. Servers started together on an empty database take turns migrating it.

use std::time::{Duration, Instant};

use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

use crate::*;

const TTL: u64 = 2;
const PURGE_INTERVAL: u64 = 2;

fn start(dir: &std::path::Path, url: &str) -> ServerProcess {
    let ttl = TTL.to_string();
    let interval = PURGE_INTERVAL.to_string();
    ServerProcess::start(
        dir,
        &[
            ("ALIASKIT__DATABASE__URL", url),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__OPENCAP__DOMAINS", "example.com"),
            ("ALIASKIT__OPENCAP__OPEN_SIGNUP", "true"),
            ("ALIASKIT__OPENCAP__LOCKOUT_THRESHOLD", "3"),
            ("ALIASKIT__OPENCAP__AUTH_LIMIT_PER_MINUTE", "0"),
            ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
            ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
            ("ALIASKIT__TOKENS__ROTATION_GRACE", "0"),
            ("ALIASKIT__CACHE__TTL", &ttl),
            ("ALIASKIT__ALIASES__PURGE_AFTER", "0"),
            ("ALIASKIT__ALIASES__PURGE_INTERVAL", &interval),
        ],
    )
}

/// Servers started at the same moment on an empty database, each migrating on start, all come
/// up ready: they take turns applying the migrations (and creating the first organization, the
/// master key record and the signing key).
#[test]
fn servers_started_together_on_an_empty_database_all_come_up() {
    let Some(db) = TestDb::postgres_empty().unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<ServerProcess> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..3)
            .map(|_| s.spawn(|| start(dir.path(), &db.url)))
            .collect();
        starting.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for server in &servers {
        let answer = server.client().get("/readyz", None);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let answer = server.client().get(
            "/organization/api/v1/aliases",
            Some(&format!("Bearer {KEY}")),
        );
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
}

#[test]
fn two_servers_on_one_postgres_behave_as_one() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut a = start(dir.path(), &db.url);
    let mut b = start(dir.path(), &db.url);
    let (on_a, on_b) = (a.client(), b.client());
    let org = format!("Bearer {KEY}");
    let within = Duration::from_secs(TTL * 5);

    // Created on A, retrieved on B.
    let secret = "scale-out-secret-0123456789abcdef";
    let created = on_a.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "jwt_secret": secret, "expired_at": now() + 3600}),
        Some(&org),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let retrieve = |server: &Client, t: &str| {
        server
            .get(&format!("/api/v1/alias/{id}"), Some(&format!("Bearer {t}")))
            .status
    };
    let old = access_token(secret, &id);
    assert_eq!(retrieve(&on_b, &old), 200);

    // Rotated on A (no grace): B refuses the old secret within the TTL, and takes the new one.
    let rotated = on_a.send(
        "POST",
        &format!("/organization/api/v1/alias/{id}/rotate-secret"),
        None,
        Some(&org),
    );
    assert_eq!(rotated.status, 200);
    let new = access_token(rotated.body["data"]["jwt_secret"].as_str().unwrap(), &id);
    assert_eq!(
        retrieve(&on_a, &old),
        401,
        "A refuses the old secret at once"
    );
    eventually("B refusing the rotated-out secret", within, || {
        retrieve(&on_b, &old) == 401
    });
    assert_eq!(retrieve(&on_b, &new), 200);

    // Deleted on A: B refuses it within the TTL.
    let deleted = on_a.delete(
        &format!("/organization/api/v1/alias/delete/{id}"),
        Some(&org),
    );
    assert_eq!(deleted.status, 200);
    eventually("B forgetting the deleted alias", within, || {
        retrieve(&on_b, &new) == 404
    });

    // OpenCAP: signed up on A, locked out by failures on B, refused on A too; a login token
    // signed by A is verified by B.
    let credentials = json!({"alias": "alice$example.com", "password": "correct horse battery"});
    assert_eq!(on_a.post("/v1/users", &credentials, None).status, 200);
    let login = on_a.post("/v1/auth", &credentials, None);
    assert_eq!(login.status, 200);
    let jwt = format!("Bearer {}", login.body["jwt"].as_str().unwrap());
    let put = on_b.put(
        "/v1/addresses",
        &json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}),
        Some(&jwt),
    );
    assert_eq!(
        put.status, 200,
        "B verifies A's login token: {:?}",
        put.body
    );
    let wrong = json!({"alias": "alice$example.com", "password": "wrong password!"});
    for _ in 0..3 {
        assert_eq!(on_b.post("/v1/auth", &wrong, None).status, 401);
    }
    let locked = on_a.post("/v1/auth", &credentials, None);
    assert_eq!(
        (locked.status, locked.body["code"].as_str()),
        (429, Some("account_locked")),
        "the lock holds on A"
    );

    // The purge: an alias that expires in a second is purged once, by one of the two.
    let short = on_b.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "live", "expired_at": now() + 1}),
        Some(&org),
    );
    assert_eq!(short.status, 200);
    let short = short.body["data"]["id"].as_str().unwrap().to_owned();
    eventually(
        "the purge of the expired alias",
        Duration::from_secs(30),
        || {
            on_a.get(&format!("/organization/api/v1/alias/{short}"), Some(&org))
                .status
                == 404
        },
    );
    std::thread::sleep(Duration::from_secs(PURGE_INTERVAL * 2));
    let lifetime = started.elapsed().as_secs() + 1;
    a.signal("TERM");
    b.signal("TERM");
    assert!(a.wait(Duration::from_secs(30)).success());
    assert!(b.wait(Duration::from_secs(30)).success());
    let mut passes = 0;
    let mut purged = 0;
    for server in [&mut a, &mut b] {
        let (_, logs) = server.output();
        for line in logs
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if line["fields"]["message"] == "purged aliases expired longer than aliases.purge_after"
            {
                passes += 1;
                purged += line["fields"]["purged"].as_u64().unwrap();
            }
        }
    }
    assert_eq!(purged, 1, "the expired alias was purged exactly once");
    // Once per interval across both servers (each ticks every interval): two servers purging on
    // their own would make about twice as many passes.
    assert!(passes >= 1, "no purge pass at all");
    assert!(
        passes <= lifetime / PURGE_INTERVAL + 2,
        "{passes} passes in {lifetime} s: more than one per {PURGE_INTERVAL} s"
    );
}
