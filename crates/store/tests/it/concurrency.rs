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

/// Two first PUTs of one address type at once (PostgreSQL): the second finds nothing to update,
/// its insert meets the first one's uncommitted row and fails on the unique key. It must then
/// update that row — the transaction still usable — not fail with "current transaction is
/// aborted".
#[test]
fn two_first_puts_of_one_address_type_at_once_both_succeed() {
    use aliaskit_domain::opencap::StoredAddress;
    use aliaskit_domain::opencap::{Address, AddressType, CapAlias, CapUser, Extensions};

    let Some(db) = aliaskit_store::testing::TestDb::postgres().unwrap() else {
        return;
    };
    let user = CapUser {
        id: "race-user".into(),
        alias: CapAlias::parse("race$example.com").unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        failed_logins: 0,
        locked_until: None,
        created_at: NOW,
    };
    db.db
        .transaction(|c| repo::cap_users::insert(c, &user))
        .unwrap();
    let btc = AddressType::from_code(100).unwrap();
    let stored = |text: &str, at: i64| StoredAddress {
        address: Address::new(btc, text).unwrap(),
        extensions: Extensions::default(),
        updated_at: at,
    };
    let first_address = stored("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", NOW);
    let second_address = stored("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", NOW + 1);
    let (holding, held) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let db = &db;
        let (user, first_address) = (&user, &first_address);
        let first = s.spawn(move || {
            db.db.transaction(|c| {
                repo::cap_addresses::upsert(c, &user.id, first_address)?;
                holding.send(()).ok();
                released.recv().ok();
                Ok(())
            })
        });
        held.recv().unwrap();
        let second = s.spawn(|| {
            db.db
                .transaction(|c| repo::cap_addresses::upsert(c, &user.id, &second_address))
        });
        // Let the second reach its insert and block on the first's row, then commit the first.
        std::thread::sleep(std::time::Duration::from_millis(500));
        release.send(()).unwrap();
        first.join().unwrap().unwrap();
        second
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("the second PUT failed: {e}"));
    });
    let found = db
        .db
        .transaction(|c| repo::cap_addresses::find(c, &user.id, btc))
        .unwrap()
        .unwrap();
    assert_eq!(found, second_address, "the later PUT wins");
}
