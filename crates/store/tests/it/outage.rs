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
