//! A SQLite file that cannot be written (a read-only mount or file, a full or failing disk):
//! writes are `Unavailable` — a 503, not a 500 — reads go on, and the pool writes again once
//! the file is writable, without being reopened.

use std::path::PathBuf;
use std::process::Command;

use aliaskit_domain::OrgName;
use aliaskit_store::repo;
use aliaskit_store::testing::TestDb;

use crate::*;

/// `chattr +i` (root ignores `chmod`) until dropped, also on a panic.
struct Immutable(Vec<PathBuf>);

impl Drop for Immutable {
    fn drop(&mut self) {
        for file in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(file).status();
        }
    }
}

#[test]
fn an_unwritable_sqlite_file_is_unavailable_and_the_pool_writes_again_after() {
    let db = TestDb::sqlite().unwrap();
    org(&db, "before");
    let path = PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let mut frozen = Immutable(Vec::new());
    for file in [path, PathBuf::from(wal)]
        .into_iter()
        .filter(|f| f.exists())
    {
        match Command::new("chattr").arg("+i").arg(&file).status() {
            Ok(s) if s.success() => frozen.0.push(file),
            other => {
                eprintln!("skipped: chattr +i {}: {other:?}", file.display());
                return;
            }
        }
    }

    let name = OrgName::parse("during").unwrap();
    let refused = db
        .db
        .transaction(|c| repo::orgs::insert(c, &name, NOW))
        .unwrap_err();
    assert!(refused.is_unavailable(), "{refused}");
    // Three connections at once: the pool opens two more, which SQLite opens read-only.
    let mut conns: Vec<_> = (0..3).map(|_| db.db.conn().unwrap()).collect();
    for conn in &mut conns {
        assert_eq!(repo::orgs::count(conn).unwrap(), 1, "reads go on");
        let refused = repo::orgs::insert(conn, &name, NOW).unwrap_err();
        assert!(refused.is_unavailable(), "{refused}");
    }
    drop(conns);

    drop(frozen);
    let mut conns: Vec<_> = (0..3).map(|_| db.db.conn().unwrap()).collect();
    for (n, conn) in conns.iter_mut().enumerate() {
        let name = OrgName::parse(&format!("after-{n}")).unwrap();
        repo::orgs::insert(conn, &name, NOW).unwrap();
    }
    drop(conns);
    let mut conn = db.db.conn().unwrap();
    assert_eq!(repo::orgs::count(&mut conn).unwrap(), 4);
}

/// A PostgreSQL statement that runs past `PoolOptions::database_timeout` (0.8 s of a 1 s
/// timeout) is cancelled by the server and is `Unavailable`; a `statement_timeout` the URL
/// sets wins.
#[test]
fn a_postgres_statement_past_the_timeout_is_unavailable() {
    use std::time::{Duration, Instant};

    use aliaskit_store::testing::test_vault;
    use aliaskit_store::{Database, PoolOptions};
    use diesel::RunQueryDsl;

    let Some(test_db) = TestDb::postgres().unwrap() else {
        return;
    };
    let options = PoolOptions {
        max_size: 2,
        timeout: Duration::from_secs(1),
        ..PoolOptions::default()
    };
    let sleep = |db: &Database, seconds: f64| {
        db.transaction(|c| Ok(diesel::sql_query(format!("SELECT pg_sleep({seconds})")).execute(c)?))
    };
    let db = Database::open(&test_db.url, options, test_vault().unwrap()).unwrap();
    let started = Instant::now();
    let err = sleep(&db, 3.0).unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    sleep(&db, 0.1).unwrap();

    let separator = if test_db.url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}options=-c%20statement_timeout%3D0",
        test_db.url
    );
    let db = Database::open(&url, options, test_vault().unwrap()).unwrap();
    sleep(&db, 1.5).unwrap();
}
