//! The budget of wrong passcodes (`repo::passcode_failures`), at chosen moments: the window, the
//! share of one address, the block that doubles with each budget spent in a row and starts over
//! a day after, concurrent failures on PostgreSQL counted one after the other, the state a
//! retrieve caches with the alias, the purge of stale counts, and an alias deleted meanwhile.

use aliaskit_domain::AliasId;
use aliaskit_store::repo::passcode_failures::{self, Block, Budget, Scope, Verdict};
use aliaskit_store::testing::TestDb;

use crate::*;

const BUDGET: Budget = Budget {
    per_alias: 4,
    per_client: 2,
    window: 60,
};

fn record(db: &TestDb, id: &AliasId, client: &str, at: i64) -> Verdict {
    db.db
        .transaction(|c| passcode_failures::record(c, id, Some(client), at, &BUDGET))
        .unwrap()
}

fn setup(db: &TestDb) -> AliasId {
    let acme = org(db, "acme");
    let a = alias(acme.id, "guarded", NOW);
    let mut conn = db.db.conn().unwrap();
    repo::aliases::insert(&mut conn, db.db.vault(), &a).unwrap();
    a.id
}

#[test]
fn blocks_double_with_each_budget_spent_and_start_over_a_day_after() {
    for db in dbs() {
        let b = db.backend();
        let id = setup(&db);
        let alias_block = |until| {
            Verdict::Counted(Some(Block {
                scope: Scope::Alias,
                until,
            }))
        };
        // Four addresses, one wrong passcode each: the fourth spends the budget.
        let mut t = NOW;
        for n in 0..3 {
            assert_eq!(
                record(&db, &id, &format!("10.0.0.{n}"), t),
                Verdict::Counted(None),
                "{b:?}"
            );
        }
        assert_eq!(
            record(&db, &id, "10.0.0.3", t),
            alias_block(t + 60),
            "{b:?}"
        );
        // During the block: refused, not counted.
        let blocked = Verdict::Blocked(Block {
            scope: Scope::Alias,
            until: t + 60,
        });
        assert_eq!(record(&db, &id, "10.0.0.9", t + 59), blocked, "{b:?}");
        let mut conn = db.db.conn().unwrap();
        assert_eq!(
            passcode_failures::block(&mut conn, &id, Some("10.0.0.1"), t + 30).unwrap(),
            Some(Block {
                scope: Scope::Alias,
                until: t + 60
            })
        );
        // Spent again right after: twice as long, then four times.
        for (round, length) in [(1, 120), (2, 240)] {
            t = match round {
                1 => t + 60,
                _ => t + 120,
            };
            for n in 0..3 {
                assert_eq!(
                    record(&db, &id, &format!("10.1.{round}.{n}"), t),
                    Verdict::Counted(None)
                );
            }
            assert_eq!(
                record(&db, &id, &format!("10.1.{round}.9"), t),
                alias_block(t + length),
                "{b:?}"
            );
        }
        // A day after the last block ended, the next block is one window again.
        t += 240 + 86_400;
        for n in 0..3 {
            assert_eq!(
                record(&db, &id, &format!("10.2.0.{n}"), t),
                Verdict::Counted(None)
            );
        }
        assert_eq!(
            record(&db, &id, "10.2.0.9", t),
            alias_block(t + 60),
            "{b:?}"
        );
        assert_eq!(
            passcode_failures::block(&mut conn, &id, None, t + 61).unwrap(),
            None
        );
    }
}

#[test]
fn one_address_spends_its_share_and_a_window_forgets() {
    for db in dbs() {
        let b = db.backend();
        let id = setup(&db);
        assert_eq!(record(&db, &id, "10.0.0.1", NOW), Verdict::Counted(None));
        assert_eq!(
            record(&db, &id, "10.0.0.1", NOW + 1),
            Verdict::Counted(Some(Block {
                scope: Scope::Client,
                until: NOW + 61
            })),
            "{b:?}"
        );
        // The noisy address is refused without spending the alias's budget.
        for s in 2..10 {
            assert_eq!(
                record(&db, &id, "10.0.0.1", NOW + s),
                Verdict::Blocked(Block {
                    scope: Scope::Client,
                    until: NOW + 61
                })
            );
        }
        // Another address has the rest (4 - 2 = 2, of which its own share is 2).
        assert_eq!(
            record(&db, &id, "10.0.0.2", NOW + 10),
            Verdict::Counted(None),
            "{b:?}"
        );
        // The window passed: the alias's count starts over (it had 3 of 4).
        assert_eq!(
            record(&db, &id, "10.0.0.3", NOW + 70),
            Verdict::Counted(None),
            "{b:?}"
        );
        assert_eq!(
            record(&db, &id, "10.0.0.4", NOW + 71),
            Verdict::Counted(None),
            "{b:?}"
        );
    }
}

/// Twenty failures at once through four pools (as four servers): exactly the budget is counted,
/// the rest refused.
#[test]
fn concurrent_failures_on_several_servers_are_counted_one_after_the_other() {
    for db in dbs() {
        let b = db.backend();
        let id = setup(&db);
        let pools: Vec<aliaskit_store::Database> = (0..4)
            .map(|_| {
                aliaskit_store::Database::open(
                    &db.url,
                    aliaskit_store::PoolOptions::default(),
                    db.db.vault().clone(),
                )
                .unwrap()
            })
            .collect();
        let verdicts: Vec<Verdict> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..20)
                .map(|n| {
                    let (pool, id) = (&pools[n % 4], &id);
                    s.spawn(move || {
                        let client = format!("10.9.0.{n}");
                        pool.transaction(|c| {
                            passcode_failures::record(c, id, Some(&client), NOW, &BUDGET)
                        })
                        .unwrap()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let counted = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Counted(_)))
            .count();
        assert_eq!(counted, 4, "{b:?}: {verdicts:?}");
        let began = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Counted(Some(_))))
            .count();
        assert_eq!(began, 1, "{b:?}: one failure began the block");
    }
}

#[test]
fn the_state_shows_watch_and_block_and_stale_rows_are_purged() {
    for db in dbs() {
        let b = db.backend();
        let id = setup(&db);
        let state = |at| {
            let mut conn = db.db.conn().unwrap();
            passcode_failures::state(&mut conn, &id, at, BUDGET.window).unwrap()
        };
        assert_eq!(state(NOW), passcode_failures::State::default(), "{b:?}");
        // One wrong passcode: watched to the end of its window, not blocked.
        record(&db, &id, "10.0.0.1", NOW);
        let watched = passcode_failures::State {
            watched_until: Some(NOW + 60),
            blocked_until: None,
        };
        assert_eq!(state(NOW + 1), watched, "{b:?}");
        assert_eq!(
            state(NOW + 60),
            passcode_failures::State::default(),
            "{b:?}"
        );
        // The budget spent: blocked, and watched as long as the block.
        for n in 2..5 {
            record(&db, &id, &format!("10.0.0.{n}"), NOW + 1);
        }
        assert_eq!(
            state(NOW + 2),
            passcode_failures::State {
                watched_until: Some(NOW + 61),
                blocked_until: Some(NOW + 61),
            },
            "{b:?}"
        );
        // A purge drops the rows whose window began before `before`, unless their block
        // reaches it: first the four addresses' rows, then the alias's, blocked to NOW + 61.
        let purge = |before| {
            let mut conn = db.db.conn().unwrap();
            passcode_failures::purge_stale(&mut conn, before).unwrap()
        };
        assert_eq!(purge(NOW), 0, "{b:?}");
        assert_eq!(purge(NOW + 61), 4, "{b:?}");
        assert_eq!(state(NOW + 2).blocked_until, Some(NOW + 61), "{b:?}");
        assert_eq!(purge(NOW + 62), 1, "{b:?}");
        assert_eq!(state(NOW + 2), passcode_failures::State::default(), "{b:?}");
    }
}

#[test]
fn a_wrong_passcode_for_a_deleted_alias_is_gone_and_counts_nothing() {
    for db in dbs() {
        let b = db.backend();
        let acme = org(&db, "acme");
        let guarded = alias(acme.id, "guarded", NOW);
        let id = guarded.id.clone();
        let mut conn = db.db.conn().unwrap();
        repo::aliases::insert(&mut conn, db.db.vault(), &guarded).unwrap();
        drop(conn);
        record(&db, &id, "10.0.0.1", NOW);
        let mut conn = db.db.conn().unwrap();
        assert!(repo::aliases::delete(&mut conn, acme.id, &id).unwrap());
        drop(conn);
        assert_eq!(record(&db, &id, "10.0.0.2", NOW), Verdict::Gone, "{b:?}");
        let mut conn = db.db.conn().unwrap();
        assert_eq!(
            passcode_failures::state(&mut conn, &id, NOW, BUDGET.window).unwrap(),
            passcode_failures::State::default(),
            "{b:?}"
        );
    }
}
