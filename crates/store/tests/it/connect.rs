//! How the store reaches PostgreSQL: a URL naming its Unix socket (`?host=/var/run/postgresql`,
//! the form docs/deployment.md advises for a database on the same host) connects over the
//! socket, with the parameters aliaskit adds to every PostgreSQL URL.

use aliaskit_domain::OrgName;
use aliaskit_store::testing::TestDb;
use aliaskit_store::{Database, PoolOptions, repo};
use diesel::prelude::*;

use crate::*;

/// Where Debian's and Ubuntu's PostgreSQL put their socket.
const SOCKET_DIR: &str = "/var/run/postgresql";

#[test]
fn a_url_naming_the_unix_socket_reaches_the_same_database_over_the_socket() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    if !std::path::Path::new(SOCKET_DIR).exists() {
        eprintln!("skipped: no PostgreSQL socket directory {SOCKET_DIR}");
        return;
    }
    // The test database's name, on the socket instead of the host and port.
    let name = db
        .url
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let user = db
        .url
        .split("://")
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap();
    let url = format!("postgres://{user}@/{name}?host={SOCKET_DIR}");
    let socket = Database::open(&url, PoolOptions::default(), db.db.vault().clone()).unwrap();
    let made = socket
        .transaction(|c| repo::orgs::insert(c, &OrgName::parse("over-the-socket").unwrap(), NOW))
        .unwrap();
    // Seen through the test's own (TCP) connection: the same database.
    let mut conn = db.db.conn().unwrap();
    let found = repo::orgs::find_by_name(&mut conn, &OrgName::parse("over-the-socket").unwrap())
        .unwrap()
        .expect("the organization made over the socket");
    assert_eq!(found.id, made.id);
    // And that connection has no client address: it is the socket, not TCP.
    let mut pooled = socket.conn().unwrap();
    let client: Option<String> = diesel::select(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
    >("inet_client_addr()::text"))
    .get_result(&mut *pooled)
    .unwrap();
    assert_eq!(client, None, "connected over TCP from {client:?}");
}
