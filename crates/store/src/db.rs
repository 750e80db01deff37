//! Connections, the pool and migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::migration::MigrationVersion;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Result, StoreError, Vault};

/// One connection to either backend; every repository function takes `&mut DbConn`, so the same
/// code runs on SQLite and PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL (production).
    Postgres(PgConnection),
    /// SQLite (the embedded default).
    Sqlite(SqliteConnection),
}

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
                let mut conn =
                    SqliteConnection::establish(name).map_err(|e| StoreError::Unavailable {
                        reason: e.to_string(),
                    })?;
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
fn sqlite_writable(path: &Path) -> bool {
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
fn sqlite_writable(_: &Path) -> bool {
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
    /// The longest a caller should wait for the database ([`Database::timeout`]); the
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

/// The r2d2 connection manager for [`DbConn`].
#[derive(Debug)]
pub struct Manager {
    target: Target,
    options: PoolOptions,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn> {
        self.target.connect_with(&self.options)
    }

    /// Runs on every checkout, so it asks the database nothing (see `Database::open`). It
    /// refuses a SQLite connection opened read-only once the file is writable again: r2d2 drops
    /// it and hands out another.
    fn is_valid(&self, conn: &mut DbConn) -> Result<()> {
        match &self.target {
            Target::Sqlite(path) if conn.is_broken() && sqlite_writable(path) => {
                Err(StoreError::Unavailable {
                    reason: "a connection opened while the file could not be written".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// diesel marks a connection broken when a query finds it closed (the server went away),
    /// so r2d2 drops it instead of handing it out again; the faults test in `bins/server`
    /// proves the recovery.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// A pooled connection.
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The PostgreSQL advisory lock key `migrate` holds: "aliaskit" in ASCII, so it does not
/// collide with another application's locks on a shared server by accident.
const MIGRATION_LOCK: i64 = 0x616c_6961_736b_6974;

/// The database: a pool of connections to one target.
///
/// Cheap to clone (the pool is shared). Every call blocks; run it off async workers.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    vault: Vault,
    timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("vault", &self.vault)
            .field("state", &self.pool.state())
            .finish()
    }
}

/// Creates a missing SQLite database file readable and writable by its owner only (0600 on
/// Unix): it holds argon2 hashes and sealed secrets. SQLite gives the `-wal` and `-shm` files
/// it creates later the database file's mode. An existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Database {
    /// A pool for `url` (see [`Target::parse`]), sealing secrets with `vault`. A SQLite file's
    /// directory is created if missing, and the file with mode 0600. No connection is opened yet, so this succeeds while the
    /// database is down.
    pub fn open(url: &str, options: PoolOptions, vault: Vault) -> Result<Self> {
        let target = Target::parse(url)?;
        let sqlite_dir = match &target {
            Target::Sqlite(path) => path.parent().filter(|d| !d.as_os_str().is_empty()),
            Target::Postgres(_) => None,
        };
        if let Some(dir) = sqlite_dir {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable {
                reason: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        if let Target::Sqlite(path) = &target {
            create_private(path).map_err(|e| StoreError::Unavailable {
                reason: format!("cannot create {}: {e}", path.display()),
            })?;
        }
        let backend = target.backend();
        // No ping on checkout: it would cost a round trip per request, and a connection that
        // died is already found out by the first query on it (see `Manager::has_broken`). The
        // checkout test is `Manager::is_valid`, which asks the database nothing.
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            .test_on_check_out(true)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager { target, options });
        Ok(Database {
            pool,
            backend,
            vault,
            timeout: options.timeout,
        })
    }

    /// The master keys secrets are sealed with.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Writes a consistent copy of a SQLite database to `to` while it serves (SQLite's
    /// `VACUUM INTO`), as a new file readable and writable by its owner only, like the database
    /// itself. Refused for PostgreSQL (`pg_dump` backs it up) and when `to` exists.
    pub fn backup_sqlite(&self, to: &Path) -> Result<()> {
        let text = to.to_str().ok_or_else(|| StoreError::BadUrl {
            url: to.display().to_string(),
        })?;
        let mut conn = self.conn()?;
        let DbConn::Sqlite(sqlite) = &mut *conn else {
            return Err(StoreError::Unsupported {
                what: "a backup through aliaskit on PostgreSQL; use pg_dump (docs/deployment.md)",
            });
        };
        // VACUUM INTO writes into an empty file: created here first, so with mode 0600.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(to).map_err(|e| StoreError::Backup {
            path: to.display().to_string(),
            reason: e.to_string(),
        })?;
        let quoted = text.replace('\'', "''");
        let failed = |e: &dyn std::fmt::Display| {
            let _ = std::fs::remove_file(to);
            StoreError::Backup {
                path: to.display().to_string(),
                reason: e.to_string(),
            }
        };
        sqlite
            .batch_execute(&format!("VACUUM INTO '{quoted}'"))
            .map_err(|e| failed(&e))?;
        // Which processes serve the database is not data: a restored copy must not make the
        // servers of its day look alive.
        // (A database of an older schema, backed up before an upgrade, has no such table.)
        match SqliteConnection::establish(text)
            .map_err(|e| failed(&e))?
            .batch_execute("DELETE FROM key_holders")
        {
            Err(e) if !e.to_string().contains("no such table") => Err(failed(&e)),
            _ => Ok(()),
        }
    }

    /// The backend behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// [`PoolOptions::timeout`]: the longest a caller should wait for one call before it
    /// counts the database as unavailable.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A connection from the pool, or [`StoreError::Unavailable`] after the connect timeout.
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in a transaction on a pooled connection.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock at the start,
    /// waiting up to `busy_timeout` for it. A deferred `BEGIN` reads first and asks for the lock
    /// at its first write; if another connection committed in between, SQLite fails it at once
    /// with "database is locked" (waiting cannot help a stale snapshot, so `busy_timeout` does
    /// not apply), and two concurrent read-then-write requests answered `503`.
    pub fn transaction<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
        let mut pooled = self.conn()?;
        let conn: &mut DbConn = &mut pooled;
        let DbConn::Sqlite(sqlite) = &mut *conn else {
            return conn.transaction(f);
        };
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        // From here on as diesel's own `transaction`: the depth begun above is tracked by the
        // SQLite connection's manager, which `DbConn`'s delegates to.
        type Manager = <DbConn as Connection>::TransactionManager;
        match f(conn) {
            Ok(value) => {
                Manager::commit_transaction(conn)?;
                Ok(value)
            }
            Err(e) => match Manager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
                Err(rollback) => Err(rollback.into()),
            },
        }
    }

    /// Whether the database answers a trivial query now.
    pub fn ping(&self) -> Result<()> {
        let mut conn = self.conn()?;
        conn.ping().map_err(StoreError::from)
    }

    /// Fails with [`StoreError::SchemaBehind`] while embedded migrations are pending.
    pub fn check_schema(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration {
            reason: e.to_string(),
        };
        let pending: Vec<String> = match &mut *conn {
            DbConn::Postgres(c) => c
                .pending_migrations(POSTGRES_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect()),
            DbConn::Sqlite(c) => c
                .pending_migrations(SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect()),
        }
        .map_err(failed)?;
        match pending.first() {
            None => Ok(()),
            Some(first) => Err(StoreError::SchemaBehind {
                count: pending.len(),
                first: first.clone(),
            }),
        }
    }

    /// The schema step of every start (`database.migrate_on_start`): with `migrate`, applies
    /// the pending migrations and returns their versions; without, refuses a schema behind
    /// this version ([`StoreError::SchemaBehind`], which says to run `aliaskit migrate`)
    /// instead of failing later with "no such table".
    pub fn ready_schema(&self, migrate: bool) -> Result<Vec<String>> {
        if migrate {
            self.migrate()
        } else {
            self.check_schema().map(|()| Vec::new())
        }
    }

    /// Applies the pending embedded migrations; returns the versions applied.
    ///
    /// On PostgreSQL, processes migrating one database at the same moment (servers starting
    /// together) take turns under a transaction-scoped advisory lock: the first applies, the
    /// others wait, then find nothing pending. The migrations commit together. (A SQLite file
    /// has one server.)
    pub fn migrate(&self) -> Result<Vec<String>> {
        let mut conn = self.conn()?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration {
            reason: e.to_string(),
        };
        let versions = |applied: Vec<MigrationVersion<'_>>| -> Vec<String> {
            applied.into_iter().map(|v| v.to_string()).collect()
        };
        match &mut *conn {
            // A transaction-scoped lock: released with the commit or rollback, whatever happens.
            DbConn::Postgres(c) => c.transaction(|c| {
                // Migrations and the wait for another server's run take as long as they take.
                c.batch_execute("SET LOCAL statement_timeout = 0")?;
                c.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
                c.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(versions)
                    .map_err(failed)
            }),
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(versions)
                .map_err(failed),
        }
    }

    /// Connections open and idle, for readiness and metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// The most connections the pool opens (`database.pool_size`), for metrics.
    pub fn pool_max_size(&self) -> u32 {
        self.pool.max_size()
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
