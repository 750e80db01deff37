//! Cache invalidation across processes
//! (`docs/deployment.md#several-servers-behind-a-load-balancer`): a change announces what it
//! invalidates inside its transaction — heard only if it commits — and every server hears it on
//! one dedicated connection ([`Listener`]).
//!
//! - **PostgreSQL:** `NOTIFY` on [`CHANNEL`]; the listener `LISTEN`s.
//! - **SQLite:** a row in `cache_invalidations` (the log SQLite lacks a `NOTIFY` for), so the
//!   server hears what the CLI or another process on the same file changed. The listener asks
//!   `PRAGMA data_version` — which moves when another connection commits, and costs no read of
//!   the file — and reads the new rows only then. The purge deletes rows older than
//!   [`LOG_KEPT`] seconds ([`prune`]); a listener that fell further behind drops everything.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::connection::postgres_url;
use crate::{DbConn, PoolOptions, Result, Target};

/// The channel of every invalidation.
pub const CHANNEL: &str = "aliaskit_invalidate";

/// The `application_name` of a listening connection, so an operator (or a test) can find it
/// in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "aliaskit-listener";

/// How long (seconds) SQLite's `cache_invalidations` keeps a row: far longer than any listener
/// takes between two reads (10 ms), so only a process stopped for that long misses one — and
/// then it drops its whole cache.
pub const LOG_KEPT: i64 = 3600;

/// What a listener hears when it may have missed invalidations: drop everything.
pub const EVERYTHING: &str = "*";

/// Announces `what` (`alias:<id>`, `lookup:<user$domain>`, …) to every listening server when
/// the current transaction commits. Call it inside the change's transaction.
pub fn notify(conn: &mut DbConn, what: &str) -> Result<()> {
    match conn {
        DbConn::Postgres(pg) => {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CHANNEL)
                .bind::<Text, _>(what)
                .execute(pg)?;
        }
        DbConn::Sqlite(lite) => {
            diesel::sql_query("INSERT INTO cache_invalidations (what, at) VALUES (?, unixepoch())")
                .bind::<Text, _>(what)
                .execute(lite)?;
        }
    }
    Ok(())
}

/// Deletes SQLite's invalidations older than `before` (Unix seconds); nothing on PostgreSQL.
pub fn prune(conn: &mut DbConn, before: i64) -> Result<usize> {
    match conn {
        DbConn::Postgres(_) => Ok(0),
        DbConn::Sqlite(lite) => Ok(diesel::sql_query(
            "DELETE FROM cache_invalidations WHERE at < ?",
        )
        .bind::<BigInt, _>(before)
        .execute(lite)?),
    }
}

/// One dedicated connection hearing every process's invalidations.
pub struct Listener {
    inner: Inner,
}

enum Inner {
    /// `LISTEN`ing on [`CHANNEL`].
    Postgres(PgConnection),
    /// Reading `cache_invalidations` after `seq`, when `data_version` moves.
    Sqlite {
        conn: SqliteConnection,
        data_version: i64,
        seq: i64,
    },
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

#[derive(QueryableByName)]
struct Logged {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    what: String,
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

fn data_version(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(diesel::sql_query("PRAGMA data_version")
        .get_result::<DataVersion>(conn)?
        .data_version)
}

impl Listener {
    /// Connects to `target` with `options`' timeouts (on PostgreSQL also its keepalives, so a
    /// dead peer is noticed within `database.timeout`) and starts listening.
    pub(crate) fn connect(target: &Target, options: &PoolOptions) -> Result<Listener> {
        let inner = match target {
            Target::Postgres(url) => {
                let mut url = postgres_url(url, options);
                url.push_str("&application_name=");
                url.push_str(LISTENER_NAME);
                let mut conn = PgConnection::establish(&url)?;
                conn.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                Inner::Postgres(conn)
            }
            Target::Sqlite(_) => {
                let DbConn::Sqlite(mut conn) = target.connect_with(options)? else {
                    return Err(crate::StoreError::Unavailable {
                        reason: "a SQLite target gave another kind of connection".into(),
                    });
                };
                let data_version = data_version(&mut conn)?;
                let seq = diesel::sql_query(
                    "SELECT COALESCE(MAX(seq), 0) AS seq FROM cache_invalidations",
                )
                .get_result::<Newest>(&mut conn)?
                .seq;
                Inner::Sqlite {
                    conn,
                    data_version,
                    seq,
                }
            }
        };
        Ok(Listener { inner })
    }

    /// What was announced since the last call, without waiting ([`EVERYTHING`] when some may
    /// have been missed); an error when the connection is lost.
    pub fn poll(&mut self) -> Result<Vec<String>> {
        match &mut self.inner {
            Inner::Postgres(conn) => {
                let mut heard = Vec::new();
                for notification in conn.notifications_iter() {
                    heard.push(notification?.payload);
                }
                Ok(heard)
            }
            Inner::Sqlite {
                conn,
                data_version: seen,
                seq,
            } => {
                let now = data_version(conn)?;
                if now == *seen {
                    return Ok(Vec::new());
                }
                *seen = now;
                let logged = diesel::sql_query(
                    "SELECT seq, what FROM cache_invalidations WHERE seq > ? ORDER BY seq",
                )
                .bind::<BigInt, _>(*seq)
                .load::<Logged>(conn)?;
                let Some(last) = logged.last().map(|l| l.seq) else {
                    return Ok(Vec::new());
                };
                // Rows are numbered without gaps (writers take turns, and a rolled-back row
                // takes its number back with it): a gap means rows pruned before this read.
                let missed = logged.first().is_some_and(|l| l.seq != *seq + 1);
                *seq = last;
                if missed {
                    return Ok(vec![EVERYTHING.to_owned()]);
                }
                Ok(logged.into_iter().map(|l| l.what).collect())
            }
        }
    }

    /// Asks the database something, so a connection cut without a word (a network gone) is
    /// noticed; an error when it is lost.
    pub fn ping(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Postgres(conn) => conn.batch_execute("SELECT 1")?,
            Inner::Sqlite { conn, .. } => conn.batch_execute("SELECT 1")?,
        }
        Ok(())
    }
}
