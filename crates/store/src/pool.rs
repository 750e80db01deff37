//! The pool: [`Database`], r2d2 over [`DbConn`]s to one [`Target`], with its connections,
//! transactions (`BEGIN IMMEDIATE` on SQLite) and ping.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::R2D2Connection;

use crate::connection::sqlite_writable;
use crate::{Backend, DbConn, PoolOptions, Result, StoreError, Target, Vault};

/// The r2d2 connection manager for [`DbConn`].
#[derive(Debug)]
pub struct Manager {
    target: Target,
    options: PoolOptions,
    connecting: Arc<Connecting>,
}

/// The connections being made (r2d2 makes them on a thread of its own, and keeps retrying a
/// failed one while the pool exists), and whether the pool may make more ([`Closer`]).
#[derive(Debug)]
struct Connecting {
    /// (connections being made, closed)
    state: Mutex<(usize, bool)>,
    done: Condvar,
    /// The longest a connection being made can take: the pool's connect timeout, and at least
    /// libpq's own minimum of 2 s (`connection.rs`), with a second to spare.
    wait: Duration,
}

impl Connecting {
    fn new(options: &PoolOptions) -> Self {
        Connecting {
            state: Mutex::new((0, false)),
            done: Condvar::new(),
            wait: options.connect_timeout.max(Duration::from_secs(2)) + Duration::from_secs(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a connection being made, however it ends.
struct Made<'a>(&'a Connecting);

impl Drop for Made<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.0 = state.0.saturating_sub(1);
        drop(state);
        self.0.done.notify_all();
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn> {
        {
            let mut state = self.connecting.state();
            if state.1 {
                return Err(StoreError::Unavailable {
                    reason: "the process is exiting".into(),
                });
            }
            state.0 += 1;
        }
        let _made = Made(&self.connecting);
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

/// The database: a pool of connections to one target.
///
/// Cheap to clone (the pool is shared). Every call blocks; run it off async workers.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    /// Where the pool connects, for the listener's own connection.
    target: Target,
    options: PoolOptions,
    backend: Backend,
    vault: Vault,
    timeout: Duration,
    connecting: Arc<Connecting>,
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
    match crate::create_new_private(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Database {
    /// A pool for `url` (see [`Target::parse`]), sealing secrets with `vault`. A SQLite file's
    /// directory is created if missing, and the file with mode 0600. No connection is opened
    /// yet, so this succeeds while the database is down.
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
        let connecting = Arc::new(Connecting::new(&options));
        opened(&connecting);
        // No ping on checkout: it would cost a round trip per request, and a connection that
        // died is already found out by the first query on it (see `Manager::has_broken`). The
        // checkout test is `Manager::is_valid`, which asks the database nothing.
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            .test_on_check_out(true)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager {
                target: target.clone(),
                options,
                connecting: connecting.clone(),
            });
        Ok(Database {
            pool,
            target,
            options,
            backend,
            vault,
            timeout: options.timeout,
            connecting,
        })
    }

    /// What stops this pool's connecting, for a process about to exit ([`Closer::close`]).
    pub fn closer(&self) -> Closer {
        Closer(self.connecting.clone())
    }

    /// The master keys secrets are sealed with.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// A connection of its own hearing every process's invalidations
    /// ([`listen`](crate::listen)).
    pub fn listener(&self) -> Result<crate::listen::Listener> {
        crate::listen::Listener::connect(&self.target, &self.options)
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

/// Every pool this process opened (while anything still holds it), for [`close_all`].
static OPENED: Mutex<Vec<Weak<Connecting>>> = Mutex::new(Vec::new());

fn opened(connecting: &Arc<Connecting>) {
    let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    opened.retain(|pool| pool.strong_count() > 0);
    opened.push(Arc::downgrade(connecting));
}

/// Before the process exits: stops every pool it opened from connecting, and waits for the
/// connections being made ([`Closer`] says why). Both binaries call it as `main` returns.
pub fn close_all() {
    let opened = std::mem::take(&mut *OPENED.lock().unwrap_or_else(PoisonError::into_inner));
    for connecting in opened.iter().filter_map(Weak::upgrade) {
        Closer(connecting).close();
    }
}

/// Stops a pool's connecting before the process exits.
///
/// When the database cannot be reached, r2d2 keeps retrying the connection on a thread of its
/// own for as long as the pool exists. A process that exits while that thread is inside the
/// PostgreSQL client (its TLS handshake) runs its exit handlers — OpenSSL's among them — under
/// that thread, and can die of a signal after printing its error: the CLI did, rarely.
#[derive(Debug, Clone)]
pub struct Closer(Arc<Connecting>);

impl Closer {
    /// Refuses every connection from now on, and waits for those being made (at most the
    /// pool's connect timeout).
    pub fn close(&self) {
        let deadline = Instant::now() + self.0.wait;
        let mut state = self.0.state();
        state.1 = true;
        while state.0 > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = match self.0.done.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}
