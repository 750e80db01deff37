//! Passcodes cannot be guessed (docs/security.md, "Passcodes"): a budget of wrong passcodes per
//! alias, held in the database and shared by every server; a share of it per client address; a
//! block answered `429` with `Retry-After` that never touches tokens or the owner's key; the
//! `X-Alias-Passcode` header; a floor on passcode length. Through the real server binary, on
//! SQLite (one server) and PostgreSQL (two servers on one database).

use std::time::Duration;

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

/// The alias budget of these tests; each address may spend half of it.
const BUDGET: usize = 6;
const PASSCODE: &str = "correct-horse-7";
const SECRET: &str = "passcode-test-secret-0123456789abcdef";

fn servers(db: &TestDb, dir: &std::path::Path, extra: &[(&str, &str)]) -> Vec<ServerProcess> {
    let budget = BUDGET.to_string();
    let mut env = vec![
        ("ALIASKIT__DATABASE__URL", db.url.as_str()),
        ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
        ("ALIASKIT__LIMITS__RETRIEVE_PER_SECOND", "0"),
        ("ALIASKIT__LIMITS__ORG_PER_SECOND", "0"),
        // The tests speak for many client addresses through X-Forwarded-For.
        ("ALIASKIT__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
        ("ALIASKIT__ALIASES__PASSCODE_FAILURES", &budget),
        ("ALIASKIT__ALIASES__PASSCODE_WINDOW", "60"),
    ];
    env.extend_from_slice(extra);
    let count = match db.backend() {
        aliaskit_store::Backend::Postgres => 2,
        aliaskit_store::Backend::Sqlite => 1,
    };
    (0..count)
        .map(|_| ServerProcess::start(dir, &env))
        .collect()
}

fn create(server: &ServerProcess, body: serde_json::Value) -> Answer {
    server.client().post(
        "/organization/api/v1/alias/create",
        &body,
        Some(&format!("Bearer {KEY}")),
    )
}

fn protected(server: &ServerProcess) -> String {
    let created = create(
        server,
        json!({"type": "conference", "passcode": PASSCODE, "jwt_secret": SECRET,
               "expired_at": now() + 3600}),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    created.body["data"]["id"].as_str().unwrap().to_owned()
}

/// A passcode attempt from `address`, in the header or (`in_query`) the query string.
fn attempt(
    server: &ServerProcess,
    id: &str,
    address: &str,
    passcode: &str,
    in_query: bool,
) -> Answer {
    let client = server.client();
    if in_query {
        client.get_with(
            &format!("/api/v1/alias/{id}?passcode={passcode}"),
            &[("X-Forwarded-For", address)],
        )
    } else {
        client.get_with(
            &format!("/api/v1/alias/{id}"),
            &[("X-Forwarded-For", address), ("X-Alias-Passcode", passcode)],
        )
    }
}

fn locked(answer: &Answer, code: &str, what: &str) {
    assert_eq!(answer.status, 429, "{what}: {:?}", answer.body);
    assert_eq!(
        answer.body["error"]["code"], code,
        "{what}: {:?}",
        answer.body
    );
    let retry: u64 = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
}

/// The sum over the servers of one series of `/metrics`.
fn metric(servers: &[ServerProcess], series: &str) -> f64 {
    servers
        .iter()
        .map(|s| {
            let text = agent()
                .get(format!("{}/metrics", s.base))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum()
}

#[test]
fn a_guessing_run_gets_at_most_the_budget_from_any_mix_of_servers_and_addresses() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let mut servers = servers(&db, dir.path(), &[]);
        let id = protected(&servers[0]);

        // Ten addresses guess in turn, on every server in turn, half in the header and half in
        // the query string: 40 wrong guesses.
        let mut answered = 0;
        let mut guesses = Vec::new();
        for round in 0..4 {
            for n in 1..=10 {
                let guess = format!("guess-{round}-{n:02}");
                let server = &servers[(round * 10 + n) % servers.len()];
                let answer = attempt(server, &id, &format!("10.0.0.{n}"), &guess, n % 2 == 0);
                guesses.push(guess);
                match answer.status {
                    401 => answered += 1,
                    _ => locked(
                        &answer,
                        "passcode_locked",
                        &format!("{b:?}, guess {round}/{n}"),
                    ),
                }
            }
        }
        assert_eq!(answered, BUDGET, "{b:?}: wrong guesses answered 401");

        // During the block: the right passcode is refused too (no oracle), on every server, from
        // a new address; tokens and the owner's key are untouched.
        for (i, server) in servers.iter().enumerate() {
            let what = format!("{b:?}, server {i}");
            locked(
                &attempt(server, &id, "10.0.1.1", PASSCODE, false),
                "passcode_locked",
                &what,
            );
            let with_token = server.client().get(
                &format!("/api/v1/alias/{id}"),
                Some(&format!("Bearer {}", access_token(SECRET, &id))),
            );
            assert_eq!(with_token.status, 200, "{what}: {:?}", with_token.body);
            let owner = server.client().get(
                &format!("/api/v1/alias/{id}"),
                Some(&format!("Bearer {KEY}")),
            );
            assert_eq!(owner.status, 200, "{what}: {:?}", owner.body);
        }

        // Seen by the operator: the metrics, and one log line without any passcode.
        let counted = r#"aliaskit_passcode_failures_total{result="counted"}"#;
        assert_eq!(metric(&servers, counted), BUDGET as f64, "{b:?}");
        let blocked = r#"aliaskit_passcode_failures_total{result="blocked"}"#;
        assert!(metric(&servers, blocked) >= (40 - BUDGET) as f64, "{b:?}");
        let lockouts = r#"aliaskit_passcode_lockouts_total{scope="alias"}"#;
        assert_eq!(metric(&servers, lockouts), 1.0, "{b:?}");
        let mut logs = String::new();
        for server in &mut servers {
            server.signal("TERM");
            server.wait(Duration::from_secs(30));
            logs.push_str(&server.output().1);
        }
        assert_eq!(
            logs.matches("an alias went over its budget of wrong passcodes")
                .count(),
            1,
            "{b:?}: {logs}"
        );
        assert!(logs.contains(&id), "{b:?}: the log names the alias");
        for passcode in guesses.iter().map(String::as_str).chain([PASSCODE]) {
            assert!(!logs.contains(passcode), "{b:?}: {passcode} in the log");
        }
    }
}

#[test]
fn one_address_spends_only_its_share_of_the_budget() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let servers = servers(&db, dir.path(), &[]);
        let id = protected(&servers[0]);
        let on = |n: usize| &servers[n % servers.len()];

        // A noisy address: its share (half the budget) is answered, then it is blocked alone.
        for n in 0..BUDGET / 2 {
            let answer = attempt(on(n), &id, "10.0.0.66", &format!("noise-{n}"), false);
            assert_eq!(answer.status, 401, "{b:?}: {:?}", answer.body);
        }
        locked(
            &attempt(on(1), &id, "10.0.0.66", "noise-x", false),
            "passcode_locked_for_address",
            &format!("{b:?}"),
        );
        locked(
            &attempt(on(0), &id, "10.0.0.66", PASSCODE, true),
            "passcode_locked_for_address",
            &format!("{b:?}: even the right passcode"),
        );

        // Another address is not blocked: its right passcode works, in either form.
        for (n, in_query) in [(0, false), (1, true)] {
            let answer = attempt(on(n), &id, "10.0.0.77", PASSCODE, in_query);
            assert_eq!(answer.status, 200, "{b:?}: {:?}", answer.body);
            assert_eq!(answer.body["data"]["id"], id.as_str());
        }
        // Until the alias's own budget is spent: the rest of it, then everyone is blocked.
        for n in 0..BUDGET - BUDGET / 2 {
            let answer = attempt(on(n), &id, "10.0.0.77", &format!("wrong-{n}"), n % 2 == 1);
            assert_eq!(answer.status, 401, "{b:?}: {:?}", answer.body);
        }
        for n in 0..servers.len() {
            locked(
                &attempt(on(n), &id, "10.0.0.88", PASSCODE, false),
                "passcode_locked",
                &format!("{b:?}, server {n}"),
            );
        }
    }
}

#[test]
fn short_passcodes_are_refused_at_create_and_update() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let servers = servers(&db, dir.path(), &[]);
        let server = &servers[0];
        let refused = create(
            server,
            json!({"type": "live", "passcode": "4821", "expired_at": now() + 600}),
        );
        assert_eq!(refused.status, 400, "{b:?}");
        assert_eq!(refused.body["error"]["code"], "invalid_request");
        assert_eq!(
            refused.body["error"]["message"],
            "passcode is 4 characters; at least 6 are required, because a short passcode can be \
             guessed: use 6 or more characters, or give guests access tokens instead",
            "{b:?}"
        );
        let created = create(
            server,
            json!({"type": "live", "passcode": "482193", "expired_at": now() + 600}),
        );
        assert_eq!(created.status, 200, "{b:?}: {:?}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap();
        let update = server.client().post(
            &format!("/organization/api/v1/alias/update/{id}"),
            &json!({"type": "live", "passcode": "12345"}),
            Some(&format!("Bearer {KEY}")),
        );
        assert_eq!(update.status, 400, "{b:?}: {:?}", update.body);
        assert!(
            update.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("passcode is 5 characters; at least 6 are required"),
            "{b:?}: {:?}",
            update.body
        );
        drop(servers);

        // Lowered for a migration, the floor admits shorter passcodes.
        let servers = self::servers(
            &db,
            dir.path(),
            &[("ALIASKIT__ALIASES__MIN_PASSCODE_LEN", "4")],
        );
        let created = create(
            &servers[0],
            json!({"type": "live", "passcode": "4821", "expired_at": now() + 600}),
        );
        assert_eq!(created.status, 200, "{b:?}: {:?}", created.body);
    }
}
