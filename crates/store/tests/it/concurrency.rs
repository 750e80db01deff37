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
