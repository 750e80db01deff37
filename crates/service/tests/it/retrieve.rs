//! The public retrieve: token, passcode, owner key, public; what each viewer sees.

use aliaskit_domain::{AliasId, NewAlias, Viewer};
use aliaskit_service::{Credentials, ServiceError};
use serde_json::json;

use crate::*;

/// A token made by another JWT library, signed with `secret`.
fn token(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn bearer(t: &str) -> Credentials<'_> {
    Credentials {
        bearer: Some(t),
        passcode: None,
        client: None,
    }
}

#[test]
fn a_host_token_shows_passcode_and_stream_key_but_never_the_secret() {
    for f in fixtures() {
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    passcode: Some("pin-2468".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        let host = token(
            SECRET,
            json!({"alias": a.id.as_str(), "user_id": "u1", "host": true, "iat": NOW, "exp": NOW + 600}),
        );
        let seen = f.service.retrieve(&a.id, bearer(&host)).unwrap();
        assert_eq!(seen.viewer, Viewer::Host);
        assert_eq!(seen.alias.jwt_secret, None);
        assert_eq!(seen.alias.passcode, Some("pin-2468".into()));
        assert_eq!(seen.alias.stream_key, Some("sk-1".into()));

        let guest = token(
            SECRET,
            json!({"alias": a.id.as_str(), "user_id": "u2", "iat": NOW, "exp": NOW + 600}),
        );
        let seen = f.service.retrieve(&a.id, bearer(&guest)).unwrap();
        assert_eq!(seen.viewer, Viewer::Guest);
        assert_eq!(
            (
                seen.alias.passcode,
                seen.alias.stream_key,
                seen.alias.jwt_secret
            ),
            (None, None, None)
        );
        assert_eq!(seen.alias.name.as_deref(), Some("Weekly sync"));
    }
}

#[test]
fn refused_tokens_say_why() {
    for f in fixtures() {
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        let other = f.service.create_alias(f.org, new_alias()).unwrap();
        let cases = [
            (
                token(
                    SECRET,
                    json!({"alias": other.id.as_str(), "user_id": "u", "iat": NOW, "exp": NOW + 60}),
                ),
                "alias_mismatch",
            ),
            (
                token(
                    SECRET,
                    json!({"alias": a.id.as_str(), "user_id": "u", "iat": NOW - 7200, "exp": NOW - 3600}),
                ),
                "token_expired",
            ),
            (
                token(
                    "ffffffffffffffffffffffffffffffff",
                    json!({"alias": a.id.as_str(), "user_id": "u", "iat": NOW, "exp": NOW + 60}),
                ),
                "bad_signature",
            ),
            (
                token(SECRET, json!({"alias": a.id.as_str(), "user_id": "u"})),
                "token_missing_expiry",
            ),
        ];
        for (t, code) in cases {
            match f.service.retrieve(&a.id, bearer(&t)) {
                Err(ServiceError::InvalidToken(e)) => assert_eq!(e.code(), code),
                other => panic!("{code}: {other:?}"),
            }
        }
        // No credential at all on a protected alias: the documented UNAUTHORIZED.
        assert!(matches!(
            f.service.retrieve(&a.id, Credentials::default()),
            Err(ServiceError::Unauthorized { .. })
        ));
    }
}

#[test]
fn the_passcode_admits_a_guest_and_a_wrong_one_does_not() {
    for f in fixtures() {
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    passcode: Some("pin-1234".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        let seen = f
            .service
            .retrieve(
                &a.id,
                Credentials {
                    bearer: None,
                    passcode: Some("pin-1234"),
                    client: None,
                },
            )
            .unwrap();
        assert_eq!(seen.viewer, Viewer::Guest);
        assert_eq!(seen.alias.passcode, None);
        for wrong in ["pin-123", "pin-12345", ""] {
            let r = f.service.retrieve(
                &a.id,
                Credentials {
                    bearer: None,
                    passcode: Some(wrong),
                    client: None,
                },
            );
            assert!(
                matches!(
                    r,
                    Err(ServiceError::WrongPasscode {
                        reason: "this alias needs its passcode",
                        began: None,
                    })
                ),
                "{wrong:?}"
            );
        }
    }
}

#[test]
fn the_owner_key_sees_the_owner_view_and_another_key_does_not() {
    for f in fixtures() {
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    passcode: Some("pin-2468".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        let seen = f.service.retrieve(&a.id, bearer(&f.key)).unwrap();
        assert_eq!(seen.viewer, Viewer::Owner);
        assert_eq!(seen.alias.jwt_secret, None);
        assert_eq!(seen.alias.stream_key, Some("sk-1".into()));
        let (_, other_key) = f
            .service
            .create_org(&aliaskit_domain::OrgName::parse("other").unwrap())
            .unwrap();
        assert!(matches!(
            f.service.retrieve(&a.id, bearer(other_key.expose())),
            Err(ServiceError::Unauthorized { .. })
        ));
    }
}

#[test]
fn a_public_alias_needs_nothing_and_shows_no_secrets() {
    for f in fixtures() {
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    ..new_alias()
                },
            )
            .unwrap();
        let seen = f.service.retrieve(&a.id, Credentials::default()).unwrap();
        assert_eq!(seen.viewer, Viewer::Guest);
        assert_eq!(seen.alias.stream_key, None);
    }
}

#[test]
fn expired_is_gone_and_unknown_is_not_found() {
    for f in fixtures() {
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        f.clock.set(NOW + 3601);
        assert!(matches!(
            f.service.retrieve(&a.id, bearer(&f.key)),
            Err(ServiceError::AliasExpired { expired_at }) if expired_at == NOW + 3600
        ));
        let missing = AliasId::parse("nope").unwrap();
        assert!(matches!(
            f.service.retrieve(&missing, Credentials::default()),
            Err(ServiceError::AliasNotFound)
        ));
    }
}

fn with_cache(f: &Fixture, ttl: std::time::Duration) -> aliaskit_service::Service {
    aliaskit_service::Service::with_clock(
        f.db.db.clone(),
        aliaskit_service::ServiceConfig {
            cache_ttl: ttl,
            ..aliaskit_service::ServiceConfig::default()
        },
        f.clock.clone(),
    )
}

#[test]
fn another_servers_change_is_seen_within_the_cache_ttl_and_a_local_one_at_once() {
    for f in fixtures() {
        let b = f.db.backend();
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        let t = token(
            SECRET,
            json!({"alias": a.id.as_str(), "user_id": "u", "iat": NOW, "exp": NOW + 600}),
        );

        // Server B caches for a long time, server C for one second.
        let b_server = with_cache(&f, std::time::Duration::from_secs(60));
        let c_server = with_cache(&f, std::time::Duration::from_secs(1));
        assert!(
            b_server.retrieve_cached(&a.id, bearer(&t)).is_none(),
            "{b:?}: not cached yet"
        );
        assert!(b_server.retrieve(&a.id, bearer(&t)).is_ok());
        assert!(c_server.retrieve(&a.id, bearer(&t)).is_ok());
        assert!(
            matches!(b_server.retrieve_cached(&a.id, bearer(&t)), Some(Ok(_))),
            "{b:?}: answered from memory"
        );

        // Deleted through server A: B still serves it within its TTL (the documented staleness)…
        f.service.delete_alias(f.org, &a.id).unwrap();
        assert!(b_server.retrieve(&a.id, bearer(&t)).is_ok(), "{b:?}");
        // …and C stops within its one second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while c_server.retrieve(&a.id, bearer(&t)).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "{b:?}: still served after 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(matches!(
            c_server.retrieve(&a.id, bearer(&t)),
            Err(ServiceError::AliasNotFound)
        ));

        // A change through the caching server itself takes effect at once.
        let a2 = b_server.create_alias(f.org, new_alias()).unwrap();
        let t2 = token(
            SECRET,
            json!({"alias": a2.id.as_str(), "user_id": "u", "iat": NOW - 10, "exp": NOW + 600}),
        );
        assert!(b_server.retrieve(&a2.id, bearer(&t2)).is_ok());
        b_server.revoke_tokens(f.org, &a2.id).unwrap();
        assert!(
            matches!(
                b_server.retrieve(&a2.id, bearer(&t2)),
                Err(ServiceError::InvalidToken(_))
            ),
            "{b:?}: revoked at once locally"
        );
        b_server.delete_alias(f.org, &a2.id).unwrap();
        assert!(
            matches!(
                b_server.retrieve(&a2.id, bearer(&t2)),
                Err(ServiceError::AliasNotFound)
            ),
            "{b:?}"
        );
    }
}

fn passcode(p: &str) -> Credentials<'_> {
    Credentials {
        passcode: Some(p),
        ..Credentials::default()
    }
}

/// Spends the default budget of wrong passcodes for alias `id` through `service`.
fn spend_budget(service: &Service, id: &aliaskit_domain::AliasId) {
    for n in 0..ServiceConfig::default().passcode_failures {
        let wrong = format!("wrong-{n:04}");
        let r = service.retrieve(id, passcode(&wrong));
        assert!(
            matches!(r, Err(ServiceError::WrongPasscode { .. })),
            "{n}: {r:?}"
        );
    }
}

/// Whatever a server has or has not cached, a block holds for the right passcode too: a server
/// with its cache off, and a server that never saw a wrong passcode for the alias (its own
/// fresh cache), both refuse it — missing knowledge is never taken for "no wrong passcode".
#[test]
fn a_block_holds_for_the_right_passcode_on_any_server_and_without_a_cache() {
    for f in fixtures() {
        let b = f.db.backend();
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    passcode: Some("pin-1234".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        // Another server: its cache holds the alias, loaded before any wrong passcode.
        let other = Service::with_clock(f.db.db.clone(), ServiceConfig::default(), f.clock.clone());
        assert!(other.retrieve(&a.id, passcode("pin-1234")).is_ok());
        let uncached = Service::with_clock(
            f.db.db.clone(),
            ServiceConfig {
                cache_max_entries: 0,
                ..ServiceConfig::default()
            },
            f.clock.clone(),
        );
        spend_budget(&uncached, &a.id);
        assert!(
            matches!(
                uncached.retrieve(&a.id, passcode("pin-1234")),
                Err(ServiceError::PasscodeLocked { .. })
            ),
            "{b:?}: a server without a cache"
        );
        let fresh = Service::with_clock(f.db.db.clone(), ServiceConfig::default(), f.clock.clone());
        assert!(
            matches!(
                fresh.retrieve(&a.id, passcode("pin-1234")),
                Err(ServiceError::PasscodeLocked { .. })
            ),
            "{b:?}: a server that loads the alias during the block"
        );
        // The server whose copy predates the block learns of it at its next wrong guess, and
        // from then on refuses the right passcode too.
        assert!(matches!(
            other.retrieve(&a.id, passcode("still-wrong")),
            Err(ServiceError::PasscodeLocked { .. })
        ));
        assert!(
            matches!(
                other.retrieve(&a.id, passcode("pin-1234")),
                Err(ServiceError::PasscodeLocked { .. })
            ),
            "{b:?}"
        );
        // A token-less retrieve by the owner's key is not affected.
        assert!(
            other
                .retrieve(
                    &a.id,
                    Credentials {
                        bearer: Some(&f.key),
                        passcode: Some("pin-1234"),
                        client: None,
                    }
                )
                .is_ok()
        );
    }
}

/// A wrong passcode for an alias another server deleted (still in this server's cache) is
/// "not found", not a storage failure.
#[test]
fn a_wrong_passcode_for_an_alias_deleted_elsewhere_is_not_found() {
    for f in fixtures() {
        let b = f.db.backend();
        let a = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    passcode: Some("pin-1234".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        assert!(f.service.retrieve(&a.id, passcode("pin-1234")).is_ok());
        let elsewhere =
            Service::with_clock(f.db.db.clone(), ServiceConfig::default(), f.clock.clone());
        elsewhere.delete_alias(f.org, &a.id).unwrap();
        let r = f.service.retrieve(&a.id, passcode("wrong-pin"));
        assert!(
            matches!(r, Err(ServiceError::AliasNotFound)),
            "{b:?}: {r:?}"
        );
    }
}

/// A reader thread answers the retrieves queued together with one read of their aliases; each
/// answer is what the request would get alone: the viewer and fields for a token, a passcode,
/// the owner's key and nothing; the refusals for a wrong token, an expired and an unknown
/// alias; an alias asked twice, and one already cached.
#[test]
fn a_batch_answers_each_request_as_if_alone() {
    for f in fixtures() {
        let secret = f.service.create_alias(f.org, new_alias()).unwrap();
        let pin = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    passcode: Some("pin-2468".into()),
                    ..new_alias()
                },
            )
            .unwrap();
        let public = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: None,
                    ..new_alias()
                },
            )
            .unwrap();
        let soon_expired = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 10,
                    ..new_alias()
                },
            )
            .unwrap();
        f.clock.set(NOW + 11);
        let unknown = AliasId::parse("no-such-alias").unwrap();
        let host = token(
            SECRET,
            json!({"alias": secret.id.as_str(), "user_id": "u1", "host": true, "iat": NOW, "exp": NOW + 600}),
        );
        let wrong = token(
            "another-secret-0123456789abcdef0123",
            json!({"alias": secret.id.as_str(), "user_id": "u1", "iat": NOW, "exp": NOW + 600}),
        );
        let requests = [
            (&secret.id, bearer(&host)),
            (&pin.id, passcode("pin-2468")),
            (&public.id, Credentials::default()),
            (&soon_expired.id, bearer(&host)),
            (&unknown, Credentials::default()),
            (&secret.id, bearer(&wrong)),
            (&pin.id, bearer(&f.key)),
            (&secret.id, Credentials::default()),
        ];
        // Each alone, on a server of its own (nothing cached), and as one batch twice: with
        // nothing cached, then with everything found cached.
        let alone: Vec<String> = requests
            .iter()
            .map(|(id, credentials)| {
                let server = with_cache(&f, std::time::Duration::from_secs(60));
                format!("{:?}", server.retrieve(id, *credentials))
            })
            .collect();
        let server = with_cache(&f, std::time::Duration::from_secs(60));
        for round in ["cold", "cached"] {
            let batch: Vec<String> = server
                .retrieve_batch(&requests)
                .iter()
                .map(|answer| format!("{answer:?}"))
                .collect();
            assert_eq!(batch, alone, "{round}");
        }
        assert!(alone[0].starts_with("Ok(Retrieved"), "{}", alone[0]);
        assert!(alone[3].contains("AliasExpired"), "{}", alone[3]);
        assert!(alone[4].contains("AliasNotFound"), "{}", alone[4]);
        assert!(alone[5].contains("InvalidToken"), "{}", alone[5]);
        assert!(alone[7].contains("Unauthorized"), "{}", alone[7]);
        let (reads, _) = server.cache_reads();
        assert_eq!(
            reads.hits + reads.misses,
            16,
            "each request read the cache once"
        );
    }
}
