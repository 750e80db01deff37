//! Where and how to connect: [`Target`] (parsed from `database.url`), [`DbConn`] (one
//! connection to either backend), and the setup of each connection — the libpq timeouts on
//! PostgreSQL, the pragmas and the read-only detection on SQLite — bounded by [`PoolOptions`].
//! The options live here, not with the pool, because every connection applies their timeouts;
//! the pool ([`Database`](crate::Database)) only adds its size.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::{Result, StoreError};

/// One connection to either backend; every repository function takes `&mut DbConn`, so the same
/// code runs on SQLite and PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL (production).
    Postgres(PgConnection),
    /// SQLite (the embedded default).
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection, the body written once and
/// compiled for each backend. Through [`DbConn`] diesel cannot key a prepared statement by the
/// query's type (the `MultiConnection` hides it), so it writes the query's SQL out on every call
/// to find the statement it prepared; on the inner connection it finds it by type. Measured on
/// a point lookup of `aliases` on SQLite (200,000 rows, `bins/bench/src/find_cost.rs`,
/// `docs/performance.md`): 10.2 µs through `DbConn`, 7.2 µs on the inner connection. For the
/// queries that run on every cache miss. Transactions are unaffected: `DbConn`'s transaction
/// manager hands every call to the inner connection's.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConn::Postgres($c) => $body,
            $crate::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// Where to connect, parsed from `database.url`.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A libpq URL (`postgres://` or `postgresql://`).
    Postgres(String),
    /// A file; `sqlite://PATH` and a plain path both name one.
    Sqlite(PathBuf),
}

impl Target {
    /// Parses `database.url`: `postgres://…`, `postgresql://…`, `sqlite://PATH` or a plain path.
    pub fn parse(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::BadUrl {
                    url: url.to_owned(),
                });
            }
            Ok(Target::Sqlite(PathBuf::from(path)))
        } else if url.is_empty() || url.contains("://") {
            Err(StoreError::BadUrl {
                url: redact_url(url),
            })
        } else {
            Ok(Target::Sqlite(PathBuf::from(url)))
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Target::Postgres(_) => Backend::Postgres,
            Target::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection with the default [`PoolOptions`]; see
    /// [`connect_with`](Self::connect_with).
    pub fn connect(&self) -> Result<DbConn> {
        self.connect_with(&PoolOptions::default())
    }

    /// Opens one connection: on PostgreSQL bounded by `options`' timeouts (libpq parameters
    /// added to the URL unless it sets them, and `statement_timeout`), on SQLite with the
    /// pragmas applied.
    pub fn connect_with(&self, options: &PoolOptions) -> Result<DbConn> {
        match self {
            Target::Postgres(url) => {
                let mut conn = PgConnection::establish(&postgres_url(url, options))?;
                if !url.contains("statement_timeout") {
                    conn.batch_execute(&format!(
                        "SET statement_timeout = {}",
                        options.database_timeout().as_millis()
                    ))?;
                }
                Ok(DbConn::Postgres(conn))
            }
            Target::Sqlite(path) => {
                let name = path.to_str().ok_or_else(|| StoreError::BadUrl {
                    url: path.display().to_string(),
                })?;
                let writable_before = sqlite_writable(path);
                let mut conn = SqliteConnection::establish(name)?;
                // WAL lets readers run beside the writer; busy_timeout makes writers wait for
                // each other (`options.database_timeout()`) instead of failing; NORMAL is durable in
                // WAL mode except for the last transactions before a power loss (not a process
                // crash).
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA busy_timeout = {};
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                    options.database_timeout().as_millis()
                ))?;
                // SQLite opens a file it may not write (read-only mount, permissions, immutable)
                // read-only, and the connection stays read-only after the file is writable
                // again. Marked broken, it serves reads while the file cannot be written, and
                // the pool drops it when it comes back (`Manager::has_broken`), or at its
                // checkout once the file is writable (`Manager::is_valid`), instead of refusing
                // writes for ever. (Checked before and after the open: SQLite decided between.)
                if !(writable_before && sqlite_writable(path)) {
                    type Manager = <SqliteConnection as Connection>::TransactionManager;
                    Manager::transaction_manager_status_mut(&mut conn).set_in_error();
                }
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// `url` with the libpq parameters that bound every wait on a PostgreSQL server, added unless
/// the URL sets them itself:
///
/// - `connect_timeout`: `options.connect_timeout` in whole seconds (libpq's minimum is 2);
/// - `tcp_user_timeout`: [`PoolOptions::database_timeout`]: a connection whose data the server
///   has not acknowledged for that long is closed (a server that vanished without closing;
///   Linux);
/// - `keepalives=1`, `keepalives_idle` and `keepalives_count` of the same in whole seconds (at
///   least 1) and `keepalives_interval=1`: an idle connection to a vanished server is found
///   out.
///
/// The server side, `statement_timeout` (the same), is set after connecting, unless the URL's
/// `options` set it.
pub(crate) fn postgres_url(url: &str, options: &PoolOptions) -> String {
    let timeout = options.database_timeout();
    let secs = timeout.as_secs().max(1).to_string();
    let params = [
        (
            "connect_timeout",
            options.connect_timeout.as_secs().max(2).to_string(),
        ),
        ("tcp_user_timeout", timeout.as_millis().to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", secs.clone()),
        ("keepalives_interval", "1".to_owned()),
        ("keepalives_count", secs),
    ];
    let set: Vec<&str> = url
        .split_once('?')
        .map(|(_, query)| {
            query
                .split('&')
                .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
                .collect()
        })
        .unwrap_or_default();
    let mut out = url.to_owned();
    for (key, value) in params.iter().filter(|(key, _)| !set.contains(key)) {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Whether this process may write the SQLite database and its write-ahead log now (a missing
/// file counts as writable: SQLite creates it). Asked with access(2), not by opening the file:
/// closing another descriptor of it would release the POSIX locks SQLite holds.
#[cfg(unix)]
pub(crate) fn sqlite_writable(path: &Path) -> bool {
    use rustix::fs::{Access, access};
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path, Path::new(&wal)]
        .into_iter()
        .all(|file| match access(file, Access::WRITE_OK) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::NOENT,
        })
}

#[cfg(not(unix))]
pub(crate) fn sqlite_writable(_: &Path) -> bool {
    true
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Postgres(url) => write!(f, "Postgres({:?})", redact_url(url)),
            Target::Sqlite(path) => write!(f, "Sqlite({path:?})"),
        }
    }
}

/// A URL with any password replaced by `***`, for messages and logs: the one in the user info
/// (`postgres://user:pw@host`) and any query parameter whose name contains `password`
/// (libpq accepts `?password=` and `?sslpassword=`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) =
        before_query.split_at(before_query.find('/').unwrap_or(before_query.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// How the pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a request waits for a connection before the database counts as unavailable
    /// (also libpq's `connect_timeout`).
    pub connect_timeout: Duration,
    /// The longest a caller should wait for the database ([`Database::timeout`](crate::Database::timeout)); the
    /// database's own timeouts are a little shorter
    /// ([`database_timeout`](Self::database_timeout), see [`Target::connect_with`]).
    pub timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
        }
    }
}

impl PoolOptions {
    /// The bound of the database's own timeouts (PostgreSQL `statement_timeout` and TCP
    /// timeouts, the SQLite `busy_timeout`): four fifths of [`timeout`](Self::timeout), so
    /// that the database ends the work — a statement cancelled and rolled back, a silent
    /// server given up — before a caller waiting `timeout` stops waiting and cannot tell
    /// whether a write was made.
    pub fn database_timeout(&self) -> Duration {
        (self.timeout.saturating_mul(4) / 5).max(Duration::from_millis(1))
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(e: diesel::ConnectionError) -> Self {
        StoreError::Unavailable {
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_backend() {
        assert_eq!(
            Target::parse("postgres://u:pw@h/db")
                .map(|t| t.backend())
                .ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Target::parse("sqlite://data/a.db").ok(),
            Some(Target::Sqlite("data/a.db".into()))
        );
        assert_eq!(
            Target::parse("./data/a.db").ok(),
            Some(Target::Sqlite("./data/a.db".into()))
        );
        let err = Target::parse("mysql://u:pw@h/db")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unsupported database.url \"mysql://u:***@h/db\": use postgres://…, sqlite://PATH or a file path"
            )
        );
    }

    #[test]
    fn postgres_urls_get_the_timeouts_the_operator_did_not_set() {
        let options = PoolOptions::default();
        assert_eq!(
            postgres_url("postgres://app@db/x", &options),
            "postgres://app@db/x?connect_timeout=3&tcp_user_timeout=4000&keepalives=1\
             &keepalives_idle=4&keepalives_interval=1&keepalives_count=4"
        );
        let short = PoolOptions {
            connect_timeout: Duration::from_secs(1),
            ..options
        };
        assert_eq!(
            postgres_url(
                "postgres://app@db/x?sslmode=require&tcp_user_timeout=0&keepalives=0",
                &short
            ),
            "postgres://app@db/x?sslmode=require&tcp_user_timeout=0&keepalives=0\
             &connect_timeout=2&keepalives_idle=4&keepalives_interval=1&keepalives_count=4"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            redact_url("postgres://db/x?user=app&password=s3cret&sslpassword=k&sslmode=require"),
            "postgres://db/x?user=app&password=***&sslpassword=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://a:b@h?password=c"),
            "postgres://a:***@h?password=***"
        );
        assert_eq!(
            format!("{:?}", Target::Postgres("postgres://a:b@h/d".into())),
            "Postgres(\"postgres://a:***@h/d\")"
        );
    }
}
