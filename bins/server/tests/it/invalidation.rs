//! Two server processes on one PostgreSQL database hear each other's changes
//! (`docs/deployment.md#several-servers`): from the `200` of a rotate-secret or revoke-tokens on
//! A to B refusing the old token, over 100 trials with B's copy cached (`cache.listen_ttl` 60 s,
//! so only the notification can drop it), p99 at most 100 ms. With its listening connection cut
//! again and again, B falls back to `cache.ttl`: the old token is refused within that bound,
//! never later; and B listens again once it can.

use std::time::{Duration, Instant};

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

const TTL: u64 = 3;

fn start(dir: &std::path::Path, url: &str) -> ServerProcess {
    let ttl = TTL.to_string();
    ServerProcess::start(
        dir,
        &[
            ("ALIASKIT__DATABASE__URL", url),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
            ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
            ("ALIASKIT__TOKENS__ROTATION_GRACE", "0"),
            ("ALIASKIT__CACHE__TTL", &ttl),
            ("ALIASKIT__CACHE__LISTEN_TTL", "60"),
        ],
    )
}

/// Terminates the listening connections of every server on database `name`; how many.
fn cut_listeners(name: &str) -> usize {
    let admin = std::env::var("ALIASKIT_TEST_POSTGRES_URL").unwrap();
    let output = std::process::Command::new("psql")
        .args([
            &admin,
            "-XAtq",
            "-c",
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = 'aliaskit-listener' AND datname = '{name}'"
            ),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_rotation_or_revocation_on_one_server_is_refused_by_the_other_at_once() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = start(dir.path(), &db.url);
    let b = start(dir.path(), &db.url);
    let (on_a, on_b) = (a.client(), b.client());
    let org = format!("Bearer {KEY}");
    let secret = "propagation-secret-0123456789abcdef";
    let created = on_a.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "jwt_secret": secret, "expired_at": now() + 3600}),
        Some(&org),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let retrieve = |server: &Client, token: &str| {
        server
            .get(
                &format!("/api/v1/alias/{id}"),
                Some(&format!("Bearer {token}")),
            )
            .status
    };
    // Both servers listen once they have started; give B's listener its first second.
    std::thread::sleep(Duration::from_millis(1500));

    let mut secret = secret.to_owned();
    let mut waits = Vec::new();
    for trial in 0..100 {
        // A token issued a second ago, with B's copy of the alias cached.
        let old = sign_claims(
            &secret,
            &json!({"alias": id, "user_id": "u", "iat": now() - 1, "exp": now() + 600}),
        );
        assert_eq!(
            retrieve(&on_b, &old),
            200,
            "trial {trial}: B admits it first"
        );
        let action = if trial % 2 == 0 {
            "rotate-secret"
        } else {
            "revoke-tokens"
        };
        let changed = on_a.send(
            "POST",
            &format!("/organization/api/v1/alias/{id}/{action}"),
            None,
            Some(&org),
        );
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        let answered = Instant::now();
        if action == "rotate-secret" {
            secret = changed.body["data"]["jwt_secret"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        while retrieve(&on_b, &old) != 401 {
            assert!(
                answered.elapsed() < Duration::from_secs(TTL + 2),
                "trial {trial} ({action}): B still admits the old token"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        waits.push(answered.elapsed());
        // Tokens issued after the revocation's second are admitted again.
        std::thread::sleep(Duration::from_millis(if action == "revoke-tokens" {
            1000
        } else {
            0
        }));
    }
    waits.sort();
    let p50 = waits[49];
    let p99 = waits[98];
    eprintln!(
        "B refused the old token after p50 {p50:?}, p99 {p99:?}, max {:?}",
        waits[99]
    );
    assert!(
        p99 <= Duration::from_millis(100),
        "p99 {p99:?} (p50 {p50:?}): B did not hear A's changes"
    );

    // The listening connections cut, again and again: B serves with cache.ttl, and refuses a
    // rotated-out token within it.
    let cutting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let cutter = {
        let cutting = cutting.clone();
        let name = db.url.rsplit('/').next().unwrap().to_owned();
        std::thread::spawn(move || {
            let mut cut = 0;
            while cutting.load(std::sync::atomic::Ordering::Relaxed) {
                cut += cut_listeners(&name);
                std::thread::sleep(Duration::from_millis(20));
            }
            cut
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let old = sign_claims(
        &secret,
        &json!({"alias": id, "user_id": "u", "iat": now() - 1, "exp": now() + 600}),
    );
    assert_eq!(retrieve(&on_b, &old), 200);
    let changed = on_a.send(
        "POST",
        &format!("/organization/api/v1/alias/{id}/rotate-secret"),
        None,
        Some(&org),
    );
    assert_eq!(changed.status, 200);
    let answered = Instant::now();
    while retrieve(&on_b, &old) != 401 {
        assert!(
            answered.elapsed() <= Duration::from_millis(TTL * 1000 + 500),
            "without its listener B admitted the old token beyond cache.ttl"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    cutting.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(
        cutter.join().unwrap() > 0,
        "no listening connection was found to cut"
    );

    // Listening again: fast once more.
    secret = changed.body["data"]["jwt_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    std::thread::sleep(Duration::from_millis(2500));
    let old = sign_claims(
        &secret,
        &json!({"alias": id, "user_id": "u", "iat": now() - 1, "exp": now() + 600}),
    );
    assert_eq!(retrieve(&on_b, &old), 200);
    let changed = on_a.send(
        "POST",
        &format!("/organization/api/v1/alias/{id}/rotate-secret"),
        None,
        Some(&org),
    );
    assert_eq!(changed.status, 200);
    let answered = Instant::now();
    while retrieve(&on_b, &old) != 401 {
        assert!(
            answered.elapsed() < Duration::from_secs(1),
            "B did not listen again after its connection came back"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    drop((a, b));
}
