//! The organization's aliases: create, list, get, update, delete.

use aliaskit_domain::{AliasId, AliasKind, AliasPatch, NewAlias, OrgName, Patch};
use aliaskit_service::{ListQuery, ServiceError};

use crate::*;

#[test]
fn create_stores_what_was_sent_under_a_random_url_safe_id() {
    for f in fixtures() {
        let b = f.db.backend();
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        assert_eq!(a.id.as_str().len(), 22, "{b:?}");
        assert_eq!(
            (a.inserted_at, a.updated_at, a.expired_at),
            (NOW, NOW, NOW + 3600)
        );
        assert_eq!(f.service.get_alias(f.org, &a.id).unwrap(), a, "{b:?}");
        let other = f.service.create_alias(f.org, new_alias()).unwrap();
        assert_ne!(a.id, other.id);
    }
}

#[test]
fn create_refuses_bad_fields_naming_them() {
    for f in fixtures() {
        let err = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: (NOW + 60) * 1000,
                    ..new_alias()
                },
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expired_at 1700000060000 looks like milliseconds; send Unix time in seconds (e.g. 1700000060)"
        );
        let err = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    jwt_secret: Some("short".into()),
                    ..new_alias()
                },
            )
            .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)));
        assert!(
            err.to_string()
                .starts_with("jwt_secret is 5 bytes; at least 32 are required")
        );
    }
}

#[test]
fn another_organizations_alias_is_not_found() {
    for f in fixtures() {
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        let (evil, _) = f
            .service
            .create_org(&OrgName::parse("evil").unwrap())
            .unwrap();
        for result in [
            f.service.get_alias(evil.id, &a.id).map(|_| ()),
            f.service.delete_alias(evil.id, &a.id),
            f.service
                .update_alias(evil.id, &a.id, patch(AliasKind::Live))
                .map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(ServiceError::AliasNotFound)),
                "{result:?}"
            );
        }
        assert_eq!(f.service.get_alias(f.org, &a.id).unwrap(), a);
    }
}

fn patch(kind: AliasKind) -> AliasPatch {
    AliasPatch {
        kind,
        name: Patch::Keep,
        passcode: Patch::Keep,
        jwt_secret: Patch::Keep,
        stream_key: Patch::Keep,
        expired_at: Patch::Keep,
    }
}

#[test]
fn update_keeps_absent_fields_clears_nulls_and_validates() {
    for f in fixtures() {
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        f.clock.set(NOW + 5);
        let updated = f
            .service
            .update_alias(
                f.org,
                &a.id,
                AliasPatch {
                    name: Patch::Clear,
                    passcode: Patch::Set("pin-1234".into()),
                    ..patch(AliasKind::Live)
                },
            )
            .unwrap();
        assert_eq!(updated.kind, AliasKind::Live);
        assert_eq!(updated.name, None);
        assert_eq!(updated.passcode, Some("pin-1234".into()));
        assert_eq!(updated.jwt_secret, a.jwt_secret);
        assert_eq!(updated.updated_at, NOW + 5);
        assert_eq!(f.service.get_alias(f.org, &a.id).unwrap(), updated);

        let err = f
            .service
            .update_alias(
                f.org,
                &a.id,
                AliasPatch {
                    expired_at: Patch::Set(NOW - 1),
                    ..patch(AliasKind::Live)
                },
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("expired_at must be in the future"),
            "{err}"
        );
        let missing = AliasId::parse("missing").unwrap();
        assert!(matches!(
            f.service
                .update_alias(f.org, &missing, patch(AliasKind::Live)),
            Err(ServiceError::AliasNotFound)
        ));
    }
}

#[test]
fn delete_then_get_is_not_found() {
    for f in fixtures() {
        let a = f.service.create_alias(f.org, new_alias()).unwrap();
        f.service.delete_alias(f.org, &a.id).unwrap();
        assert!(matches!(
            f.service.get_alias(f.org, &a.id),
            Err(ServiceError::AliasNotFound)
        ));
        assert!(matches!(
            f.service.delete_alias(f.org, &a.id),
            Err(ServiceError::AliasNotFound)
        ));
    }
}

#[test]
fn listing_pages_through_everything_newest_first_with_opaque_cursors() {
    for f in fixtures() {
        let b = f.db.backend();
        let mut made = Vec::new();
        for i in 0..7 {
            f.clock.set(NOW + i / 2); // pairs share a second: the id breaks the tie
            let kind = if i % 3 == 0 {
                AliasKind::Live
            } else {
                AliasKind::Conference
            };
            made.push(
                f.service
                    .create_alias(
                        f.org,
                        NewAlias {
                            kind,
                            ..new_alias()
                        },
                    )
                    .unwrap(),
            );
        }
        let mut seen = Vec::new();
        let mut query = ListQuery {
            limit: Some(3),
            ..ListQuery::default()
        };
        loop {
            let page = f.service.list_aliases(f.org, &query).unwrap();
            assert!(page.entries.len() <= 3);
            seen.extend(page.entries.into_iter().map(|a| (a.inserted_at, a.id)));
            match page.after {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        let mut expected: Vec<_> = made.iter().map(|a| (a.inserted_at, a.id.clone())).collect();
        expected.sort_by(|x, y| y.cmp(x));
        assert_eq!(seen, expected, "{b:?}");

        let live = f
            .service
            .list_aliases(
                f.org,
                &ListQuery {
                    kind: Some(AliasKind::Live),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        assert_eq!(live.entries.len(), 3, "{b:?}");
        assert_eq!(live.after, None);
        assert!(live.entries.iter().all(|a| a.kind == AliasKind::Live));
    }
}

#[test]
fn listing_refuses_bad_limits_and_cursors() {
    for f in fixtures() {
        for (query, message) in [
            (
                ListQuery {
                    limit: Some(0),
                    ..ListQuery::default()
                },
                "limit must be between 1 and 200, not 0",
            ),
            (
                ListQuery {
                    limit: Some(201),
                    ..ListQuery::default()
                },
                "limit must be between 1 and 200, not 201",
            ),
            (
                ListQuery {
                    after: Some("garbage!".into()),
                    ..ListQuery::default()
                },
                "after is not a cursor this server returned; pass the `after` value of the previous page",
            ),
        ] {
            assert_eq!(
                f.service
                    .list_aliases(f.org, &query)
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
        let empty = f
            .service
            .list_aliases(f.org, &ListQuery::default())
            .unwrap();
        assert_eq!((empty.entries.len(), empty.after), (0, None));
    }
}

#[test]
fn the_purge_deletes_long_expired_aliases_once_per_interval_across_servers() {
    for f in fixtures() {
        let b = f.db.backend();
        // `keep` expires 30 s before the second pass: expired, but not for long enough.
        let keep = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 3630,
                    ..new_alias()
                },
            )
            .unwrap();
        let old = f
            .service
            .create_alias(
                f.org,
                NewAlias {
                    expired_at: NOW + 10,
                    ..new_alias()
                },
            )
            .unwrap();
        let config = aliaskit_service::ServiceConfig {
            purge_after: std::time::Duration::from_secs(60),
            purge_interval: std::time::Duration::from_secs(3600),
            ..aliaskit_service::ServiceConfig::default()
        };
        let one =
            aliaskit_service::Service::with_clock(f.db.db.clone(), config.clone(), f.clock.clone());
        let two = aliaskit_service::Service::with_clock(f.db.db.clone(), config, f.clock.clone());

        // 50 s after `old` expired: not yet purgeable, but the pass runs (and finds nothing).
        f.clock.set(NOW + 60);
        assert_eq!(one.purge_expired().unwrap(), Some(0), "{b:?}");
        assert_eq!(
            two.purge_expired().unwrap(),
            None,
            "{b:?}: the other server's pass counts"
        );
        // An interval later, 71 s after expiry: purged, once.
        f.clock.set(NOW + 60 + 3600);
        assert_eq!(two.purge_expired().unwrap(), Some(1), "{b:?}");
        assert_eq!(one.purge_expired().unwrap(), None);
        assert!(matches!(
            f.service.get_alias(f.org, &old.id),
            Err(ServiceError::AliasNotFound)
        ));
        assert!(
            f.service.get_alias(f.org, &keep.id).is_ok(),
            "{b:?}: expired less than purge_after ago"
        );

        // The listing tells expired from active.
        let expired = f
            .service
            .list_aliases(
                f.org,
                &ListQuery {
                    status: Some(aliaskit_service::AliasStatus::Expired),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        let ids: Vec<_> = expired.entries.iter().map(|a| &a.id).collect();
        assert_eq!(ids, [&keep.id]);
        let active = f
            .service
            .list_aliases(
                f.org,
                &ListQuery {
                    status: Some(aliaskit_service::AliasStatus::Active),
                    ..ListQuery::default()
                },
            )
            .unwrap();
        assert!(active.entries.is_empty());
    }
}
