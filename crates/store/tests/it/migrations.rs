//! Migrations apply from empty on both backends and produce the schema the code expects.

use aliaskit_store::Backend;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::*;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
}

fn columns(db: &aliaskit_store::testing::TestDb, table: &str) -> Vec<String> {
    let mut conn = db.db.conn().unwrap();
    let sql = match db.backend() {
        Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        Backend::Postgres => format!(
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    };
    diesel::sql_query(sql)
        .load::<Column>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn migrations_create_the_tables_schema_rs_describes_on_every_backend() {
    for db in dbs() {
        let expected: [(&str, &[&str]); 10] = [
            ("organizations", &["id", "name", "created_at"]),
            ("api_keys", &["id", "org_id", "key_hash", "created_at"]),
            (
                "aliases",
                &[
                    "id",
                    "org_id",
                    "kind",
                    "name",
                    "passcode",
                    "jwt_secret",
                    "stream_key",
                    "expired_at",
                    "inserted_at",
                    "updated_at",
                    "previous_secret",
                    "previous_secret_until",
                    "tokens_valid_after",
                ],
            ),
            (
                "cap_users",
                &[
                    "id",
                    "username",
                    "domain",
                    "password_hash",
                    "failed_logins",
                    "locked_until",
                    "created_at",
                ],
            ),
            (
                "cap_addresses",
                &[
                    "user_id",
                    "address_type",
                    "address",
                    "extensions",
                    "updated_at",
                ],
            ),
            (
                "signing_keys",
                &["kid", "alg", "secret", "created_at", "retired_at"],
            ),
            (
                "webhooks",
                &[
                    "id",
                    "org_id",
                    "url",
                    "events",
                    "description",
                    "secret",
                    "previous_secret",
                    "previous_secret_until",
                    "enabled",
                    "created_at",
                    "updated_at",
                    "failing_since",
                ],
            ),
            (
                "webhook_events",
                &[
                    "seq",
                    "id",
                    "org_id",
                    "event_type",
                    "alias_id",
                    "payload",
                    "created_at",
                ],
            ),
            (
                "webhook_deliveries",
                &[
                    "id",
                    "event_seq",
                    "webhook_id",
                    "state",
                    "attempts",
                    "next_attempt_at",
                    "lease_until",
                    "last_status",
                    "last_error",
                    "delivered_at",
                    "created_at",
                    "alias_id",
                ],
            ),
            (
                "webhook_attempts",
                &[
                    "id",
                    "webhook_id",
                    "delivery_id",
                    "event_id",
                    "event_type",
                    "attempt",
                    "status",
                    "error",
                    "duration_ms",
                    "next_attempt_at",
                    "delivered_at",
                    "at",
                ],
            ),
        ];
        for (table, cols) in expected {
            assert_eq!(columns(&db, table), cols, "{:?} {table}", db.backend());
        }
        // Applying again is a no-op.
        assert_eq!(
            db.db.migrate().unwrap(),
            Vec::<String>::new(),
            "{:?}",
            db.backend()
        );
    }
}

#[test]
fn sqlite_connections_use_wal_and_foreign_keys() {
    let db = aliaskit_store::testing::TestDb::sqlite().unwrap();
    let mut conn = db.db.conn().unwrap();
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result::<Mode>(&mut *conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    // foreign_keys=ON: an alias of a missing organization is refused.
    let orphan = alias(aliaskit_domain::OrgId(999), "orphan", NOW);
    assert!(aliaskit_store::repo::aliases::insert(&mut conn, db.db.vault(), &orphan).is_err());
}

/// A pool of one connection to a PostgreSQL server that is not there (nothing listens on
/// port 1), giving up after `connect_ms` per checkout.
fn down_database(connect_ms: u64) -> aliaskit_store::Database {
    aliaskit_store::Database::open(
        "postgres://nobody@127.0.0.1:1/none",
        aliaskit_store::PoolOptions {
            max_size: 1,
            connect_timeout: std::time::Duration::from_millis(connect_ms),
            ..aliaskit_store::PoolOptions::default()
        },
        aliaskit_store::testing::test_vault().unwrap(),
    )
    .unwrap()
}

#[test]
fn a_database_that_is_down_is_unavailable_not_an_error() {
    let db = down_database(300);
    let err = db.ping().unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

/// A process about to exit closes its pools: from then on the pool makes no connection (its
/// retries, on r2d2's own thread, fail at once instead of entering the PostgreSQL client), and
/// `close` returns once no connection is being made.
#[test]
fn a_closed_pool_makes_no_more_connections() {
    let db = down_database(600);
    let before = db.ping().unwrap_err().to_string();
    assert!(!before.contains("exiting"), "{before}");
    let started = std::time::Instant::now();
    db.closer().close();
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let after = db.ping().unwrap_err();
    assert!(after.is_unavailable(), "{after}");
    assert!(
        after.to_string().contains("the process is exiting"),
        "{after}"
    );
}

/// Servers starting at the same moment on an empty PostgreSQL database, each with
/// `migrate_on_start`: they take turns, every migration is applied exactly once, and none of
/// them fails.
#[test]
fn servers_migrating_at_once_take_turns_on_postgres() {
    let Some(db) = aliaskit_store::testing::TestDb::postgres_empty().unwrap() else {
        return;
    };
    const SERVERS: usize = 4;
    let start = std::sync::Barrier::new(SERVERS);
    let results: Vec<aliaskit_store::Result<Vec<String>>> = std::thread::scope(|s| {
        let servers: Vec<_> = (0..SERVERS)
            .map(|_| {
                s.spawn(|| {
                    let own = aliaskit_store::Database::open(
                        &db.url,
                        aliaskit_store::PoolOptions::default(),
                        aliaskit_store::testing::test_vault()?,
                    )?;
                    own.conn()?;
                    start.wait();
                    own.migrate()
                })
            })
            .collect();
        servers.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut applied = Vec::new();
    for result in results {
        applied.extend(result.unwrap());
    }
    applied.sort();
    let mut once = applied.clone();
    once.dedup();
    assert_eq!(applied, once, "a migration was applied twice");
    assert!(!applied.is_empty());
    db.db.check_schema().unwrap();
}
