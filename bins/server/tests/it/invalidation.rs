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

/// One trial: `on` admits a token of `secret` issued a second ago (so its copy of alias `id`
/// is cached), then `change` (which returns the alias's new secret, if it made one); how long
/// until `on` refuses that token (failing past `limit`), and the alias's secret afterwards.
fn refused_after(
    on: &Client,
    id: &str,
    secret: &str,
    limit: Duration,
    what: &str,
    change: impl FnOnce() -> Option<String>,
) -> (Duration, String) {
    let old = sign_claims(
        secret,
        &json!({"alias": id, "user_id": "u", "iat": now() - 1, "exp": now() + 600}),
    );
    let retrieve = || {
        on.get(
            &format!("/api/v1/alias/{id}"),
            Some(&format!("Bearer {old}")),
        )
        .status
    };
    assert_eq!(retrieve(), 200, "{what}: admitted before the change");
    let secret = change().unwrap_or_else(|| secret.to_owned());
    let changed = Instant::now();
    while retrieve() != 401 {
        assert!(
            changed.elapsed() <= limit,
            "{what}: the old token is still admitted after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    (changed.elapsed(), secret)
}

/// [`refused_after`] with `action` made through server A and the token tried on B.
fn trial(
    on_a: &Client,
    on_b: &Client,
    id: &str,
    secret: &str,
    action: &str,
    limit: Duration,
) -> (Duration, String) {
    refused_after(on_b, id, secret, limit, action, || {
        let changed = on_a.send(
            "POST",
            &format!("/organization/api/v1/alias/{id}/{action}"),
            None,
            Some(&format!("Bearer {KEY}")),
        );
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        changed.body["data"]["jwt_secret"]
            .as_str()
            .map(str::to_owned)
    })
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
    let created = on_a.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "jwt_secret": "propagation-secret-0123456789abcdef",
                "expired_at": now() + 3600}),
        Some(&format!("Bearer {KEY}")),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let mut secret = created.body["data"]["jwt_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Both servers listen once they have started; give B's listener its first second.
    std::thread::sleep(Duration::from_millis(1500));

    // Without the notification B would admit the old token for a minute (cache.listen_ttl);
    // the bound here is only so a failure ends the test.
    let bound = Duration::from_secs(TTL + 2);
    let mut waits = Vec::new();
    for n in 0..100 {
        let action = if n % 3 == 2 {
            "revoke-tokens"
        } else {
            "rotate-secret"
        };
        let (waited, after) = trial(&on_a, &on_b, &id, &secret, action, bound);
        waits.push(waited);
        secret = after;
        if action == "revoke-tokens" {
            // Tokens issued in the revocation's second stay refused: the next one is later.
            std::thread::sleep(Duration::from_millis(1000));
        }
    }
    waits.sort();
    let (p50, p99) = (waits[49], waits[98]);
    eprintln!(
        "B refused the old token after p50 {p50:?}, p99 {p99:?}, max {:?}",
        waits[99]
    );
    assert!(
        p99 <= Duration::from_millis(100),
        "p99 {p99:?} (p50 {p50:?}): B did not hear A's changes"
    );

    // The listening connections cut, again and again: B serves with cache.ttl, and refuses a
    // rotated-out token within it, never later.
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
    let fallback = Duration::from_millis(TTL * 1000 + 500);
    let (_, after) = trial(&on_a, &on_b, &id, &secret, "rotate-secret", fallback);
    secret = after;
    cutting.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(
        cutter.join().unwrap() > 0,
        "no listening connection was found to cut"
    );

    // Listening again (it reconnects every second): fast once more.
    std::thread::sleep(Duration::from_millis(2500));
    trial(
        &on_a,
        &on_b,
        &id,
        &secret,
        "rotate-secret",
        Duration::from_secs(1),
    );
    drop((a, b));
}

/// On SQLite the CLI changes the file beside the running server: its rotate-secret and
/// revoke-tokens are heard through `cache_invalidations`, so the server refuses the old token
/// at once although it would otherwise keep its copy for `cache.ttl` (30 s here).
#[test]
fn on_sqlite_a_change_made_by_the_cli_is_refused_by_the_running_server_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("aliaskit.db");
    let url = url.to_str().unwrap();
    let env = [
        ("ALIASKIT__DATABASE__URL", url),
        ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ("ALIASKIT__TOKENS__ROTATION_GRACE", "0"),
    ];
    let server = ServerProcess::start(
        dir.path(),
        &[
            env[0],
            env[1],
            env[2],
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
            ("ALIASKIT__CACHE__TTL", "30"),
            ("ALIASKIT__CACHE__LISTEN_TTL", "60"),
        ],
    );
    let client = server.client();
    let created = client.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "conference", "jwt_secret": "sqlite-propagation-secret-0123456789",
                "expired_at": now() + 3600}),
        Some(&format!("Bearer {KEY}")),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let mut secret = "sqlite-propagation-secret-0123456789".to_owned();
    std::thread::sleep(Duration::from_millis(1500));

    for action in ["rotate-secret", "revoke-tokens"] {
        // cache.ttl is 30 s: only the server hearing the CLI's change refuses within 2 s.
        let (waited, after) = refused_after(
            &client,
            &id,
            &secret,
            Duration::from_secs(2),
            &format!("{action} by the CLI"),
            || {
                let run = cli(
                    dir.path(),
                    &env,
                    &["alias", action, "--org", "default", &id],
                );
                assert_eq!(run.code, 0, "{action}: {}", run.stderr);
                // rotate-secret prints the new secret alone; revoke-tokens, the alias.
                let printed = run.stdout.trim().to_owned();
                assert!(!printed.is_empty(), "{action} printed nothing");
                (action == "rotate-secret").then_some(printed)
            },
        );
        eprintln!("{action} by the CLI refused after {waited:?}");
        secret = after;
    }
    drop(server);
}
