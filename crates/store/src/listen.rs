//! Cluster-wide cache invalidation over PostgreSQL
//! (`docs/deployment.md#several-servers-behind-a-load-balancer`): a change announces what it invalidates with `NOTIFY` inside its transaction — delivered only if
//! it commits — and every server `LISTEN`s on one dedicated connection ([`Listener`]). SQLite has
//! one server per file, so both are no-ops there.

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::connection::postgres_url;
use crate::{DbConn, PoolOptions, Result, Target};

/// The channel of every invalidation.
pub const CHANNEL: &str = "aliaskit_invalidate";

/// The `application_name` of a listening connection, so an operator (or a test) can find it
/// in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "aliaskit-listener";

/// Announces `what` (`alias:<id>`, `lookup:<user$domain>`, …) to every listening server when
/// the current transaction commits; nothing on SQLite. Call it inside the change's transaction.
pub fn notify(conn: &mut DbConn, what: &str) -> Result<()> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(what)
            .execute(pg)?;
    }
    Ok(())
}

/// One dedicated PostgreSQL connection listening on [`CHANNEL`].
pub struct Listener {
    conn: PgConnection,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Listener {
    /// Connects to `target` with `options`' timeouts and keepalives (so a dead peer is noticed
    /// within `database.timeout`) and listens; `None` for SQLite.
    pub(crate) fn connect(target: &Target, options: &PoolOptions) -> Result<Option<Listener>> {
        let Target::Postgres(url) = target else {
            return Ok(None);
        };
        let mut url = postgres_url(url, options);
        url.push_str("&application_name=");
        url.push_str(LISTENER_NAME);
        let mut conn = PgConnection::establish(&url)?;
        conn.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        Ok(Some(Listener { conn }))
    }

    /// The payloads of the notifications received so far, without waiting; an error when the
    /// connection is lost.
    pub fn poll(&mut self) -> Result<Vec<String>> {
        let mut heard = Vec::new();
        for notification in self.conn.notifications_iter() {
            heard.push(notification?.payload);
        }
        Ok(heard)
    }

    /// Asks the server something, so a connection cut without a word (a network gone) is
    /// noticed; an error when it is lost.
    pub fn ping(&mut self) -> Result<()> {
        self.conn.batch_execute("SELECT 1")?;
        Ok(())
    }
}
