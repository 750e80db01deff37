//! OpenCAP use cases: signup, login with lockout, addresses, lookup, deletion, and login
//! tokens signed by a key ring that lives in the database.

use std::sync::Arc;
use std::time::Duration;

use aliaskit_domain::opencap::{Address, AddressType, CapAlias, Extensions, Password};
use aliaskit_service::{Lookup, OpenCapConfig, Service, ServiceConfig, ServiceError, Signup};
use serde_json::json;

use crate::*;

fn config() -> ServiceConfig {
    ServiceConfig {
        opencap: OpenCapConfig {
            domains: vec!["example.com".into()],
            open_signup: true,
            lockout_threshold: 3,
            lockout_duration: Duration::from_secs(600),
            ..OpenCapConfig::default()
        },
        ..ServiceConfig::default()
    }
}

fn service(f: &Fixture, config: ServiceConfig) -> Service {
    Service::with_clock(f.db.db.clone(), config, f.clock.clone())
}

fn alice() -> CapAlias {
    CapAlias::parse("alice$example.com").unwrap()
}

fn pw(s: &str) -> Password {
    Password::new(s).unwrap()
}

/// Signs `alice$example.com` up and in: her login token, and the user it speaks for.
fn signed_in(s: &Service) -> (String, aliaskit_domain::opencap::CapUser) {
    s.opencap()
        .signup(&alice(), &pw("correct horse battery"), Signup::Open)
        .unwrap();
    let token = s
        .opencap()
        .login(&alice(), &pw("correct horse battery"))
        .unwrap();
    let user = s.opencap().authenticate(&token).unwrap();
    (token, user)
}

fn btc() -> Address {
    Address::new(
        AddressType::BitcoinP2pkh,
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    )
    .unwrap()
}

#[test]
fn the_reference_scenario_signup_login_publish_resolve_delete() {
    for f in fixtures() {
        let b = f.db.backend();
        let s = service(&f, config());
        let (token, user) = signed_in(&s);
        assert_eq!(user.alias, alice());

        let nano = Address::new(
            AddressType::Nano,
            "nano_1os1zf6ne5ydfmugdnqhwqbgze3p6f6x4k7fsz7epadknw7fae7qmihkaj8i",
        )
        .unwrap();
        s.opencap()
            .put_address(&user, btc(), Extensions::default())
            .unwrap();
        s.opencap()
            .put_address(
                &user,
                nano.clone(),
                Extensions::new(json!({"memo": "tips"})).unwrap(),
            )
            .unwrap();
        let Lookup::One(one) = s
            .opencap()
            .lookup(&alice(), Some(AddressType::BitcoinP2pkh))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(one.address, btc(), "{b:?}");
        let Lookup::All(all) = s.opencap().lookup(&alice(), None).unwrap() else {
            panic!()
        };
        assert_eq!(
            all.iter()
                .map(|a| a.address.address_type().code())
                .collect::<Vec<_>>(),
            [100, 300]
        );
        assert_eq!(all[1].extensions.as_map()["memo"], "tips");

        // Replacing keeps one per type.
        let other = Address::new(
            AddressType::BitcoinP2pkh,
            "1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i",
        )
        .unwrap();
        s.opencap()
            .put_address(&user, other.clone(), Extensions::default())
            .unwrap();
        let Lookup::One(one) = s
            .opencap()
            .lookup(&alice(), Some(AddressType::BitcoinP2pkh))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(one.address, other);

        s.opencap()
            .delete_address(&user, AddressType::BitcoinP2pkh)
            .unwrap();
        s.opencap()
            .delete_address(&user, AddressType::Nano)
            .unwrap();
        assert!(matches!(
            s.opencap().lookup(&alice(), Some(AddressType::Nano)),
            Err(ServiceError::AddressNotFound { address_type: 300 })
        ));
        assert!(matches!(
            s.opencap().delete_address(&user, AddressType::Nano),
            Err(ServiceError::AddressNotFound { .. })
        ));
        let Lookup::All(none) = s.opencap().lookup(&alice(), None).unwrap() else {
            panic!()
        };
        assert!(none.is_empty());

        s.opencap()
            .put_address(&user, btc(), Extensions::default())
            .unwrap();
        s.opencap().delete_user(&user).unwrap();
        assert!(matches!(
            s.opencap().login(&alice(), &pw("correct horse battery")),
            Err(ServiceError::LoginFailed)
        ));
        assert!(
            matches!(
                s.opencap().authenticate(&token),
                Err(ServiceError::Unauthorized { .. })
            ),
            "{b:?}"
        );
        assert!(matches!(
            s.opencap().lookup(&alice(), None),
            Err(ServiceError::CapAliasNotFound)
        ));

        // Signed up again under the same alias: the old token stays dead.
        s.opencap()
            .signup(&alice(), &pw("another password"), Signup::Open)
            .unwrap();
        assert!(matches!(
            s.opencap().authenticate(&token),
            Err(ServiceError::Unauthorized { .. })
        ));
    }
}

#[test]
fn signup_rules() {
    for f in fixtures() {
        let s = service(&f, config());
        s.opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        assert!(matches!(
            s.opencap()
                .signup(&alice(), &pw("other password"), Signup::Open),
            Err(ServiceError::CapUserTaken)
        ));
        let foreign = CapAlias::parse("bob$example.org").unwrap();
        assert_eq!(
            s.opencap()
                .signup(&foreign, &pw("correct horse battery"), Signup::Open)
                .unwrap_err()
                .to_string(),
            "this server does not hold aliases of example.org"
        );
        let closed = service(
            &f,
            ServiceConfig {
                opencap: OpenCapConfig {
                    open_signup: false,
                    ..config().opencap
                },
                ..config()
            },
        );
        let bob = CapAlias::parse("bob$example.com").unwrap();
        assert!(matches!(
            closed
                .opencap()
                .signup(&bob, &pw("correct horse battery"), Signup::Open),
            Err(ServiceError::SignupClosed)
        ));
        closed
            .opencap()
            .signup(&bob, &pw("correct horse battery"), Signup::ByOrg(f.org))
            .unwrap();
    }
}

#[test]
fn repeated_failures_lock_the_account_and_the_lock_expires() {
    for f in fixtures() {
        let b = f.db.backend();
        let s = service(&f, config());
        s.opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        for _ in 0..3 {
            assert!(matches!(
                s.opencap().login(&alice(), &pw("wrong password!")),
                Err(ServiceError::LoginFailed)
            ));
        }
        // Locked now, even with the right password; and another process sees it too.
        let elsewhere = service(&f, config());
        for s in [&s, &elsewhere] {
            match s.opencap().login(&alice(), &pw("correct horse battery")) {
                Err(ServiceError::AccountLocked { retry_after }) => {
                    assert_eq!(retry_after, 600, "{b:?}")
                }
                other => panic!("{b:?}: {other:?}"),
            }
        }
        f.clock.set(NOW + 601);
        assert!(
            s.opencap()
                .login(&alice(), &pw("correct horse battery"))
                .is_ok(),
            "{b:?}"
        );
        // A success resets the count: two more failures do not lock.
        for _ in 0..2 {
            let _ = s.opencap().login(&alice(), &pw("wrong password!"));
        }
        assert!(
            s.opencap()
                .login(&alice(), &pw("correct horse battery"))
                .is_ok()
        );
    }
}

/// A right password whose check began before another server locked the account does not
/// undo the lock: the login is refused and the lock holds.
#[test]
fn a_lock_set_while_a_login_checks_its_password_holds() {
    for f in fixtures() {
        let b = f.db.backend();
        let s = service(&f, config());
        let elsewhere = service(&f, config());
        s.opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        for _ in 0..2 {
            let _ = s.opencap().login(&alice(), &pw("wrong password!"));
        }
        let checked = s
            .opencap()
            .login_start(&alice())
            .unwrap()
            .verify(&pw("correct horse battery"));
        // Meanwhile the third failure, on another server, locks the account.
        assert!(matches!(
            elsewhere.opencap().login(&alice(), &pw("wrong password!")),
            Err(ServiceError::LoginFailed)
        ));
        match s.opencap().login_finish(checked) {
            Err(ServiceError::AccountLocked { retry_after }) => {
                assert_eq!(retry_after, 600, "{b:?}")
            }
            other => panic!("{b:?}: the login went through a lock: {other:?}"),
        }
        assert!(
            matches!(
                elsewhere
                    .opencap()
                    .login(&alice(), &pw("correct horse battery")),
                Err(ServiceError::AccountLocked { .. })
            ),
            "{b:?}: the lock holds"
        );
    }
}

/// Wrong passwords at once on several servers: the account locks at the threshold, failures
/// that finish during the lock count nothing, and after the lock the full threshold applies
/// again.
#[test]
fn concurrent_failures_on_several_servers_lock_once() {
    for f in fixtures() {
        let b = f.db.backend();
        let servers: Vec<Service> = (0..4).map(|_| service(&f, config())).collect();
        servers[0]
            .opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        let answers: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = servers
                .iter()
                .flat_map(|s| std::iter::repeat_n(s, 3))
                .map(|s| scope.spawn(move || s.opencap().login(&alice(), &pw("wrong password!"))))
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for answer in &answers {
            assert!(
                matches!(
                    answer,
                    Err(ServiceError::LoginFailed | ServiceError::AccountLocked { .. })
                ),
                "{b:?}: {answer:?}"
            );
        }
        for s in &servers {
            assert!(
                matches!(
                    s.opencap().login(&alice(), &pw("correct horse battery")),
                    Err(ServiceError::AccountLocked { .. })
                ),
                "{b:?}: locked on every server"
            );
        }
        f.clock.set(NOW + 601);
        for _ in 0..2 {
            assert!(matches!(
                servers[1].opencap().login(&alice(), &pw("wrong password!")),
                Err(ServiceError::LoginFailed)
            ));
        }
        assert!(
            servers[2]
                .opencap()
                .login(&alice(), &pw("correct horse battery"))
                .is_ok(),
            "{b:?}: two failures after the lock do not lock again"
        );
    }
}

/// An address PUT whose user was deleted after its token was checked (`DELETE /v1/users`
/// racing the PUT) is refused as the deleted user's token now is, not a storage failure; and
/// nothing is stored.
#[test]
fn an_address_put_for_a_user_deleted_meanwhile_is_unauthorized() {
    for f in fixtures() {
        let b = f.db.backend();
        let s = service(&f, config());
        let (_, user) = signed_in(&s);
        s.opencap().delete_user(&user).unwrap();
        match s.opencap().put_address(&user, btc(), Extensions::default()) {
            Err(ServiceError::Unauthorized { reason }) => {
                assert_eq!(reason, "the user of this token no longer exists", "{b:?}")
            }
            other => panic!("{b:?}: {other:?}"),
        }
        assert!(matches!(
            s.opencap().lookup(&alice(), None),
            Err(ServiceError::CapAliasNotFound)
        ));
    }
}

#[test]
fn unknown_aliases_and_unserved_domains_fail_like_wrong_passwords() {
    for f in fixtures() {
        let s = service(&f, config());
        for alias in ["nobody$example.com", "alice$elsewhere.org"] {
            let alias = CapAlias::parse(alias).unwrap();
            assert!(matches!(
                s.opencap().login(&alias, &pw("correct horse battery")),
                Err(ServiceError::LoginFailed)
            ));
            assert!(matches!(
                s.opencap().lookup(&alias, None),
                Err(ServiceError::CapAliasNotFound)
            ));
        }
    }
}

#[test]
fn login_tokens_expire_name_their_key_and_are_shared_by_every_process() {
    for f in fixtures() {
        let b = f.db.backend();
        let s = service(&f, config());
        s.opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        let token = s
            .opencap()
            .login(&alice(), &pw("correct horse battery"))
            .unwrap();
        let (header, payload) = aliaskit_token::decode_unverified(&token).unwrap();
        assert!(header["kid"].is_string(), "{header:?}");
        assert_eq!(payload["exp"], NOW + 1800, "integer exp, 30 min");
        assert_eq!(payload["aud"], "opencap");

        // Another process on the same database verifies it (same key ring).
        let other = Service::with_clock(f.db.db.clone(), config(), f.clock.clone());
        assert_eq!(
            other.opencap().authenticate(&token).unwrap().alias,
            alice(),
            "{b:?}"
        );

        // After a key rotation the old token still verifies; `other` signs with the new key at
        // once, and `s`, which has not seen that key yet, verifies its tokens (an unknown kid
        // reloads the ring).
        let mut listener = f.db.db.listener().unwrap();
        let new_kid = other.opencap().rotate_signing_key().unwrap();
        // A process that hears the rotation signs with the new key at once (its ring is
        // otherwise kept a minute).
        let mut heard = Vec::new();
        for _ in 0..200 {
            heard.extend(listener.poll().unwrap());
            if !heard.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(heard, ["signing_keys"], "{b:?}");
        for what in &heard {
            s.heard(what);
        }
        let signed = s
            .opencap()
            .login(&alice(), &pw("correct horse battery"))
            .unwrap();
        let (header, _) = aliaskit_token::decode_unverified(&signed).unwrap();
        assert_eq!(header["kid"], new_kid.as_str(), "{b:?}");
        assert!(s.opencap().authenticate(&token).is_ok());
        let fresh = other
            .opencap()
            .login(&alice(), &pw("correct horse battery"))
            .unwrap();
        let (header, _) = aliaskit_token::decode_unverified(&fresh).unwrap();
        assert_eq!(header["kid"], new_kid.as_str());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(s.opencap().authenticate(&fresh).is_ok(), "{b:?}");

        f.clock.set(NOW + 1800 + 61);
        match s.opencap().authenticate(&token) {
            Err(ServiceError::InvalidToken(e)) => assert_eq!(e.code(), "token_expired"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_token_from_another_key_or_for_another_purpose_is_refused() {
    for f in fixtures() {
        let s = service(&f, config());
        s.opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        let token = s
            .opencap()
            .login(&alice(), &pw("correct horse battery"))
            .unwrap();
        // Another server with its own database: its keys are not ours.
        let foreign_db = aliaskit_store::testing::TestDb::sqlite().unwrap();
        let foreign = Service::with_clock(
            foreign_db.db.clone(),
            config(),
            Arc::new(ManualClock::default()),
        );
        foreign
            .opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        match foreign.opencap().authenticate(&token) {
            Err(ServiceError::InvalidToken(e)) => assert_eq!(e.code(), "bad_signature"),
            other => panic!("{other:?}"),
        }
        // A Datagram access token is not a login token.
        let access = token_for_alias();
        assert!(matches!(
            s.opencap().authenticate(&access),
            Err(ServiceError::InvalidToken(_))
        ));
    }
}

fn token_for_alias() -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"alias": "room", "user_id": "u", "iat": NOW, "exp": NOW + 60}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[test]
fn two_servers_starting_or_rotating_at_once_leave_one_signing_key_active() {
    for f in fixtures() {
        let b = f.db.backend();
        service(&f, config())
            .opencap()
            .signup(&alice(), &pw("correct horse battery"), Signup::Open)
            .unwrap();
        let servers = [
            Service::with_clock(f.db.db.clone(), config(), f.clock.clone()),
            Service::with_clock(f.db.db.clone(), config(), f.clock.clone()),
        ];
        let active = || {
            let mut conn = f.db.db.conn().unwrap();
            aliaskit_store::repo::signing_keys::usable(&mut conn, f.db.db.vault(), NOW)
                .unwrap()
                .into_iter()
                .filter(|k| k.retired_at.is_none())
                .count()
        };
        // The first logins on a new database create the first key, once.
        let kids: Vec<serde_json::Value> = std::thread::scope(|scope| {
            let logins: Vec<_> = servers
                .iter()
                .map(|server| {
                    scope.spawn(move || {
                        let token = server
                            .opencap()
                            .login(&alice(), &pw("correct horse battery"))
                            .unwrap();
                        aliaskit_token::decode_unverified(&token).unwrap().0["kid"].clone()
                    })
                })
                .collect();
            logins.into_iter().map(|l| l.join().unwrap()).collect()
        });
        assert_eq!(kids[0], kids[1], "{b:?}: both sign with the one key");
        assert_eq!(active(), 1, "{b:?}");
        // Rotations on both at once leave the newest key alone active.
        std::thread::scope(|scope| {
            for server in &servers {
                scope.spawn(move || {
                    for _ in 0..10 {
                        server.opencap().rotate_signing_key().unwrap();
                    }
                });
            }
        });
        assert_eq!(active(), 1, "{b:?}");
    }
}
