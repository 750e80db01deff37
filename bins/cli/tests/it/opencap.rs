//! `aliaskit opencap user list|show|unlock|delete`, on SQLite and PostgreSQL.

use std::time::Duration;

use aliaskit_domain::opencap::{Address, AddressType, CapAlias, Extensions, Password};
use aliaskit_service::{OpenCapConfig, Service, ServiceConfig, ServiceError, Signup};
use serde_json::Value;

use crate::Target;

const ADDRESS: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
const PASSWORD: &str = "correct horse battery";

/// The use cases serving `example.com`, with a lock after one failed login.
fn service(t: &Target) -> Service {
    t.service_with(ServiceConfig {
        opencap: OpenCapConfig {
            domains: vec!["example.com".to_owned()],
            open_signup: true,
            lockout_threshold: 1,
            lockout_duration: Duration::from_secs(600),
            ..OpenCapConfig::default()
        },
        cache_ttl: Duration::ZERO,
        ..ServiceConfig::default()
    })
}

fn cap(alias: &str) -> CapAlias {
    CapAlias::parse(alias).unwrap()
}

/// `alice$example.com` with a Bitcoin address, and `bob$example.com` with none.
fn users(service: &Service) {
    let password = Password::new(PASSWORD).unwrap();
    for name in ["alice$example.com", "bob$example.com"] {
        service
            .opencap()
            .signup(&cap(name), &password, Signup::Open)
            .unwrap();
    }
    let token = service
        .opencap()
        .login(&cap("alice$example.com"), &password)
        .unwrap();
    let alice = service.opencap().authenticate(&token).unwrap();
    service
        .opencap()
        .put_address(
            &alice,
            Address::new(AddressType::BitcoinP2pkh, ADDRESS).unwrap(),
            Extensions::default(),
        )
        .unwrap();
}

fn json_of(run: &crate::Run, what: &str) -> Value {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", run.stdout))
}

#[test]
fn list_shows_every_user_with_its_address_types_never_a_password_hash() {
    for t in Target::all() {
        let run = t.run(&["opencap", "user", "list"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "ALIAS  CREATED  ADDRESS_TYPES  STATE\n"),
            "{}: {}",
            t.name,
            run.stderr
        );
        users(&service(&t));
        let run = t.run(&["opencap", "user", "list"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let rows: Vec<Vec<&str>> = run
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows.len(), 3, "{}: {}", t.name, run.stdout);
        assert_eq!(rows[1][0], "alice$example.com");
        assert_eq!(rows[1][4..], ["100", "ok"], "{}", run.stdout);
        assert_eq!(rows[2][0], "bob$example.com");
        assert_eq!(rows[2][4..], ["-", "ok"], "{}", run.stdout);
        assert!(!run.stdout.contains("argon2"), "{}", run.stdout);

        let listed = json_of(&t.run(&["opencap", "user", "list", "--json"]), t.name);
        let entries = listed["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["alias"], "alice$example.com");
        assert_eq!(entries[0]["address_types"], serde_json::json!([100]));
        assert_eq!(entries[0]["locked"], false);
        assert_eq!(entries[1]["address_types"], serde_json::json!([]));
        assert!(!listed.to_string().contains("argon2"));
    }
}

#[test]
fn show_gives_the_lock_state_and_addresses_and_an_unknown_user_is_not_found() {
    for t in Target::all() {
        users(&service(&t));
        let run = t.run(&["opencap", "user", "show", "alice$example.com"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        for line in [
            "alias          alice$example.com",
            "state          ok",
            "failed_logins  0",
            "addresses      1",
            &format!("  address      {ADDRESS}"),
        ] {
            assert!(
                run.stdout.lines().any(|l| l == line),
                "{}: no {line:?} in\n{}",
                t.name,
                run.stdout
            );
        }
        assert!(run.stdout.contains("100 (Bitcoin P2PKH)"), "{}", run.stdout);
        assert!(!run.stdout.contains("argon2"));

        let shown = json_of(
            &t.run(&["opencap", "user", "show", "alice$example.com", "--json"]),
            t.name,
        );
        assert_eq!(shown["addresses"][0]["type"], 100);
        assert_eq!(shown["addresses"][0]["address"], ADDRESS);
        assert_eq!(shown["locked_until"], Value::Null);
        assert!(!shown.to_string().contains("argon2"));

        let run = t.run(&["opencap", "user", "show", "carol$example.com"]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (
                1,
                "",
                "cap_user_not_found: no OpenCAP user is registered as carol$example.com\n"
            ),
            "{}",
            t.name
        );
        let run = t.run(&["opencap", "user", "show", "no-dollar"]);
        assert_eq!(run.code, 2, "{}", t.name);
        assert!(run.stderr.starts_with("error: ALIAS: "), "{}", run.stderr);
    }
}

#[test]
fn unlock_lets_a_locked_user_log_in_again() {
    for t in Target::all() {
        let service = service(&t);
        users(&service);
        let alice = cap("alice$example.com");
        let right = Password::new(PASSWORD).unwrap();
        let wrong = Password::new("wrong password here").unwrap();
        assert!(matches!(
            service.opencap().login(&alice, &wrong),
            Err(ServiceError::LoginFailed)
        ));
        assert!(matches!(
            service.opencap().login(&alice, &right),
            Err(ServiceError::AccountLocked { .. })
        ));
        let shown = json_of(
            &t.run(&["opencap", "user", "show", "alice$example.com", "--json"]),
            t.name,
        );
        assert_eq!(shown["locked"], true, "{}", t.name);
        assert!(shown["locked_until"].as_i64().is_some());
        let run = t.run(&["opencap", "user", "list"]);
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("alice$example.com") && l.contains("locked until")),
            "{}",
            run.stdout
        );

        let run = t.run(&["opencap", "user", "unlock", "alice$example.com"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, ""),
            "{}: {}",
            t.name,
            run.stderr
        );
        assert!(
            run.stderr
                .starts_with("unlocked OpenCAP user alice$example.com: it was locked until "),
            "{}",
            run.stderr
        );
        service.opencap().login(&alice, &right).unwrap();
        let shown = json_of(
            &t.run(&["opencap", "user", "show", "alice$example.com", "--json"]),
            t.name,
        );
        assert_eq!(shown["locked"], false);
        assert_eq!(shown["failed_logins"], 0);

        let run = t.run(&["opencap", "user", "unlock", "bob$example.com"]);
        assert_eq!(run.code, 0, "{}", t.name);
        assert!(run.stderr.contains("it was not locked"), "{}", run.stderr);
        let run = t.run(&["opencap", "user", "unlock", "carol$example.com"]);
        assert_eq!(run.code, 1, "{}", t.name);
    }
}

#[test]
fn delete_removes_the_user_its_addresses_and_its_tokens() {
    for t in Target::all() {
        let service = service(&t);
        users(&service);
        let alice = cap("alice$example.com");
        let right = Password::new(PASSWORD).unwrap();
        let token = service.opencap().login(&alice, &right).unwrap();

        let run = t.run(&["opencap", "user", "delete", "alice$example.com"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, ""),
            "{}: {}",
            t.name,
            run.stderr
        );
        assert!(
            run.stderr
                .starts_with("deleted OpenCAP user alice$example.com")
        );
        assert!(
            service.opencap().authenticate(&token).is_err(),
            "{}",
            t.name
        );
        assert!(matches!(
            service.opencap().lookup(&alice, None),
            Err(ServiceError::CapAliasNotFound)
        ));
        let run = t.run(&["opencap", "user", "show", "alice$example.com"]);
        assert_eq!(run.code, 1, "{}", t.name);
        let run = t.run(&["opencap", "user", "delete", "alice$example.com"]);
        assert_eq!(run.code, 1, "{}", t.name);
        assert!(
            run.stderr.starts_with("cap_user_not_found: "),
            "{}",
            run.stderr
        );
        // Bob is untouched.
        assert!(service.opencap().find_user(&cap("bob$example.com")).is_ok());
    }
}
