//! Aliases: create, read, keyset listing, update, delete, ownership.

use aliaskit_domain::{AliasId, AliasKind, Sensitive};
use aliaskit_store::StoreError;
use aliaskit_store::repo::aliases::{self, After, Status};

use crate::*;

#[test]
fn an_alias_round_trips_with_every_field() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let mut a = alias(acme.id, "room-1", NOW);
        a.previous_secret = Some(Sensitive::from("old-secret-old-secret-old-secret"));
        a.previous_secret_until = Some(NOW + 300);
        a.tokens_valid_after = Some(NOW - 5);
        let mut conn = db.db.conn().unwrap();
        aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        assert_eq!(
            aliases::find(&mut conn, db.db.vault(), &a.id).unwrap(),
            Some(a.clone()),
            "{b:?}"
        );
        assert_eq!(
            aliases::find_owned(&mut conn, db.db.vault(), acme.id, &a.id).unwrap(),
            Some(a.clone())
        );
        // Nullable fields come back as None.
        let bare = aliaskit_domain::Alias {
            name: None,
            passcode: None,
            jwt_secret: None,
            stream_key: None,
            ..alias(acme.id, "bare", NOW)
        };
        aliases::insert(&mut conn, db.db.vault(), &bare).unwrap();
        assert_eq!(
            aliases::find(&mut conn, db.db.vault(), &bare.id).unwrap(),
            Some(bare),
            "{b:?}"
        );
        assert!(
            matches!(
                aliases::insert(&mut conn, db.db.vault(), &a),
                Err(StoreError::AliasTaken)
            ),
            "{b:?}"
        );
    }
}

#[test]
fn another_organization_cannot_see_change_or_delete_an_alias() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let evil = org(&db, "evil");
        let a = alias(acme.id, "room-1", NOW);
        let mut conn = db.db.conn().unwrap();
        aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        assert_eq!(
            aliases::find_owned(&mut conn, db.db.vault(), evil.id, &a.id).unwrap(),
            None,
            "{b:?}"
        );
        let hijack = aliaskit_domain::Alias {
            org: evil.id,
            name: Some("mine".into()),
            ..a.clone()
        };
        assert!(
            !aliases::update(&mut conn, db.db.vault(), &hijack).unwrap(),
            "{b:?}"
        );
        assert!(
            !aliases::delete(&mut conn, evil.id, &a.id).unwrap(),
            "{b:?}"
        );
        assert_eq!(
            aliases::find(&mut conn, db.db.vault(), &a.id).unwrap(),
            Some(a),
            "{b:?}"
        );
    }
}

#[test]
fn update_writes_every_field_and_null_clears() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let a = alias(acme.id, "room-1", NOW);
        let mut conn = db.db.conn().unwrap();
        aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        let changed = aliaskit_domain::Alias {
            kind: AliasKind::Live,
            passcode: None,
            name: Some("renamed".into()),
            updated_at: NOW + 1,
            ..a.clone()
        };
        assert!(aliases::update(&mut conn, db.db.vault(), &changed).unwrap());
        assert_eq!(
            aliases::find(&mut conn, db.db.vault(), &a.id).unwrap(),
            Some(changed),
            "{b:?}"
        );
    }
}

#[test]
fn delete_removes_only_that_alias() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let mut conn = db.db.conn().unwrap();
        for id in ["a", "b"] {
            aliases::insert(&mut conn, db.db.vault(), &alias(acme.id, id, NOW)).unwrap();
        }
        let a = AliasId::parse("a").unwrap();
        assert!(aliases::delete(&mut conn, acme.id, &a).unwrap());
        assert!(!aliases::delete(&mut conn, acme.id, &a).unwrap(), "{b:?}");
        assert_eq!(aliases::find(&mut conn, db.db.vault(), &a).unwrap(), None);
        assert_eq!(aliases::count(&mut conn, acme.id).unwrap(), 1, "{b:?}");
    }
}

#[test]
fn listing_is_newest_first_by_keyset_with_a_type_filter() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let other = org(&db, "other");
        let mut conn = db.db.conn().unwrap();
        // Five aliases; two share a second, so the id breaks the tie.
        let made = [
            ("a1", NOW),
            ("a2", NOW + 1),
            ("a3", NOW + 1),
            ("a4", NOW + 2),
            ("a5", NOW + 3),
        ];
        for (i, (id, at)) in made.iter().enumerate() {
            let mut a = alias(acme.id, id, *at);
            if i % 2 == 1 {
                a.kind = AliasKind::Live;
            }
            aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        }
        aliases::insert(
            &mut conn,
            db.db.vault(),
            &alias(other.id, "theirs", NOW + 9),
        )
        .unwrap();

        let ids = |v: Vec<aliaskit_domain::Alias>| {
            v.into_iter().map(|a| a.id.to_string()).collect::<Vec<_>>()
        };
        let first = aliases::list(&mut conn, db.db.vault(), acme.id, None, None, None, 2).unwrap();
        assert_eq!(ids(first.clone()), ["a5", "a4"], "{b:?}");
        let after = After {
            inserted_at: first[1].inserted_at,
            id: first[1].id.clone(),
        };
        let second = aliases::list(
            &mut conn,
            db.db.vault(),
            acme.id,
            None,
            None,
            Some(&after),
            2,
        )
        .unwrap();
        assert_eq!(ids(second.clone()), ["a3", "a2"], "{b:?}");
        let after = After {
            inserted_at: second[1].inserted_at,
            id: second[1].id.clone(),
        };
        assert_eq!(
            ids(aliases::list(
                &mut conn,
                db.db.vault(),
                acme.id,
                None,
                None,
                Some(&after),
                2
            )
            .unwrap()),
            ["a1"],
            "{b:?}"
        );

        let live = aliases::list(
            &mut conn,
            db.db.vault(),
            acme.id,
            Some(AliasKind::Live),
            None,
            None,
            10,
        )
        .unwrap();
        assert_eq!(ids(live), ["a4", "a2"], "{b:?}");

        // By expiry: a1 expires first.
        let mut a1 = aliases::find(&mut conn, db.db.vault(), &AliasId::parse("a1").unwrap())
            .unwrap()
            .unwrap();
        a1.expired_at = NOW - 1;
        aliases::update(&mut conn, db.db.vault(), &a1).unwrap();
        let expired = aliases::list(
            &mut conn,
            db.db.vault(),
            acme.id,
            None,
            Some((Status::Expired, NOW)),
            None,
            10,
        )
        .unwrap();
        assert_eq!(ids(expired), ["a1"], "{b:?}");
        let active = aliases::list(
            &mut conn,
            db.db.vault(),
            acme.id,
            None,
            Some((Status::Active, NOW)),
            None,
            10,
        )
        .unwrap();
        assert_eq!(ids(active), ["a5", "a4", "a3", "a2"], "{b:?}");
    }
}

#[test]
fn purge_deletes_only_what_expired_before_the_cutoff_in_batches() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let other = org(&db, "other");
        let mut conn = db.db.conn().unwrap();
        for (i, org) in [acme.id, other.id, acme.id, acme.id]
            .into_iter()
            .enumerate()
        {
            let mut a = alias(org, &format!("p{i}"), NOW);
            a.expired_at = NOW - 100 + i as i64 * 50; // -100, -50, 0, +50
            aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
        }
        assert_eq!(
            aliases::purge_expired(&mut conn, NOW, 1).unwrap(),
            1,
            "{b:?}: one batch of one"
        );
        assert_eq!(
            aliases::purge_expired(&mut conn, NOW, 10).unwrap(),
            1,
            "{b:?}"
        );
        assert_eq!(aliases::purge_expired(&mut conn, NOW, 10).unwrap(), 0);
        let left: Vec<_> = ["p0", "p1", "p2", "p3"]
            .into_iter()
            .filter(|id| {
                aliases::find(&mut conn, db.db.vault(), &AliasId::parse(id).unwrap())
                    .unwrap()
                    .is_some()
            })
            .collect();
        assert_eq!(
            left,
            ["p2", "p3"],
            "{b:?}: expiring at the cutoff is not yet expired"
        );
    }
}

#[test]
fn a_job_runs_once_per_interval_whoever_claims_it() {
    for db in dbs() {
        let b = db.backend();
        let mut conn = db.db.conn().unwrap();
        assert!(
            aliaskit_store::repo::jobs::claim(&mut conn, "purge", NOW, 60).unwrap(),
            "{b:?}: first run"
        );
        assert!(
            !aliaskit_store::repo::jobs::claim(&mut conn, "purge", NOW + 30, 60).unwrap(),
            "{b:?}: too soon"
        );
        assert!(
            aliaskit_store::repo::jobs::claim(&mut conn, "purge", NOW + 60, 60).unwrap(),
            "{b:?}: due"
        );
        assert!(
            !aliaskit_store::repo::jobs::claim(&mut conn, "purge", NOW + 60, 60).unwrap(),
            "{b:?}: claimed once"
        );
        assert!(aliaskit_store::repo::jobs::claim(&mut conn, "other-job", NOW + 60, 60).unwrap());
    }
}

#[test]
fn find_many_answers_the_aliases_found_and_is_planned_once_on_postgres() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let mut conn = db.db.conn().unwrap();
        let rooms: Vec<_> = (0..12)
            .map(|n| alias(acme.id, &format!("room-{n}"), NOW + n))
            .collect();
        for a in &rooms {
            aliases::insert(&mut conn, db.db.vault(), a).unwrap();
        }
        if b == aliaskit_store::Backend::Postgres {
            // PostgreSQL plans a prepared statement's first five runs for their values, then
            // keeps a generic plan unless the custom ones were estimated cheaper, as they are
            // for a list of a few ids among thousands of aliases unless it is padded
            // (`aliases::planned_ids`): every batch of misses would be planned anew.
            db.db
                .transaction(|c| {
                    for n in 0..3000 {
                        aliases::insert(
                            c,
                            db.db.vault(),
                            &alias(acme.id, &format!("more-{n}"), NOW),
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            use diesel::prelude::*;
            diesel::sql_query("ANALYZE aliases")
                .execute(&mut *conn)
                .unwrap();
            let plans = |conn: &mut aliaskit_store::DbConn| -> (i64, i64) {
                diesel::select(diesel::dsl::sql::<(
                    diesel::sql_types::BigInt,
                    diesel::sql_types::BigInt,
                )>(
                    "coalesce(sum(generic_plans), 0)::bigint, \
                     coalesce(sum(custom_plans), 0)::bigint FROM pg_prepared_statements \
                     WHERE statement LIKE '%= ANY(%' AND statement NOT LIKE '%pg_prepared%'",
                ))
                .get_result(conn)
                .unwrap()
            };
            let before = plans(&mut conn);
            for _ in 0..20 {
                let ids = [&rooms[3].id, &rooms[7].id];
                assert_eq!(
                    aliases::find_many(&mut conn, db.db.vault(), &ids)
                        .unwrap()
                        .len(),
                    2
                );
            }
            let after = plans(&mut conn);
            // Five runs planned for their values, then the generic plan.
            let (generic, custom) = (after.0 - before.0, after.1 - before.1);
            assert!(
                generic >= 15 && custom <= 5,
                "of 20 runs, {generic} with the generic plan, {custom} with their own"
            );
        }
        let unknown = AliasId::parse("no-such-room").unwrap();
        // Shorter and longer than the length a list is padded to on PostgreSQL, with an
        // unknown id last (the one the padding repeats) or not at all.
        for n in 1..=rooms.len() {
            let mut ids: Vec<&AliasId> = rooms[..n].iter().map(|a| &a.id).collect();
            if n % 2 == 0 {
                ids.push(&unknown);
            }
            let mut found = aliases::find_many(&mut conn, db.db.vault(), &ids).unwrap();
            found.sort_by_key(|x| x.inserted_at);
            assert_eq!(found, rooms[..n], "{b:?}, {n} aliases");
        }
    }
}
