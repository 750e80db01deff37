//! Transactions that read and then write, run at once from several threads: each one waits
//! for the write lock instead of failing. (On SQLite a deferred `BEGIN` fails such a
//! transaction at once with "database is locked" when another writer committed since its read;
//! `busy_timeout` does not apply to that case. Found by `.ci/schemathesis`.)

use aliaskit_store::repo;

use crate::{NOW, alias, dbs, org};

#[test]
fn concurrent_read_then_write_transactions_all_succeed() {
    for db in dbs() {
        let acme = org(&db, "acme");
        for i in 0..4 {
            db.db
                .transaction(|c| {
                    repo::aliases::insert(c, db.db.vault(), &alias(acme.id, &format!("a{i}"), NOW))
                })
                .unwrap();
        }
        std::thread::scope(|s| {
            for i in 0..4 {
                let db = &db;
                s.spawn(move || {
                    let id = aliaskit_domain::AliasId::parse(&format!("a{i}")).unwrap();
                    for round in 0..25 {
                        db.db
                            .transaction(|c| {
                                let mut found =
                                    repo::aliases::find(c, db.db.vault(), &id)?.unwrap();
                                found.updated_at = NOW + round;
                                repo::aliases::update(c, db.db.vault(), &found)
                            })
                            .unwrap_or_else(|e| {
                                panic!("{:?}: thread {i} round {round}: {e}", db.backend())
                            });
                    }
                });
            }
        });
    }
}

/// Two servers starting together on one PostgreSQL database both record the master key id:
/// the second insert meets the first one's uncommitted row, waits for it, and must not fail
/// the second server's start with a duplicate key. (SQLite's `BEGIN IMMEDIATE` serializes the
/// two whole transactions, so only PostgreSQL can race here.)
#[test]
fn two_starts_recording_the_same_master_key_at_once_both_succeed() {
    let Some(db) = aliaskit_store::testing::TestDb::postgres().unwrap() else {
        return;
    };
    let (holding, held) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let db = &db;
        let first = s.spawn(move || {
            db.db.transaction(|c| {
                repo::master_keys::record(c, "race-kid", NOW)?;
                holding.send(()).ok();
                released.recv().ok();
                Ok(())
            })
        });
        held.recv().unwrap();
        let second = s.spawn(|| {
            db.db
                .transaction(|c| repo::master_keys::record(c, "race-kid", NOW))
        });
        // Let the second reach its insert and block on the first's row, then commit the first.
        std::thread::sleep(std::time::Duration::from_millis(500));
        release.send(()).unwrap();
        first.join().unwrap().unwrap();
        second
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("the second start failed: {e}"));
    });
    let kids = db.db.transaction(repo::master_keys::all).unwrap();
    assert_eq!(kids.iter().filter(|k| *k == "race-kid").count(), 1);
}
