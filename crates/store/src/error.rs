use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached, is too busy to answer in time, or (SQLite) its file
    /// cannot be written now; retrying later may work.
    #[error("the database is unavailable: {reason}")]
    Unavailable {
        /// What the driver or pool said.
        reason: String,
    },
    /// An alias with this id exists already.
    #[error("an alias with this id exists already")]
    AliasTaken,
    /// An organization with this name exists already.
    #[error("an organization with this name exists already")]
    OrgNameTaken,
    /// An OpenCAP user with this alias exists already.
    #[error("this alias is already registered")]
    CapUserTaken,
    /// An API key with this hash exists already.
    #[error("this API key is already in use")]
    ApiKeyTaken,
    /// No organization has this name.
    #[error("no organization is named {name}")]
    OrgNotFound {
        /// The name asked for.
        name: String,
    },
    /// A stored row does not convert into a domain value.
    #[error("a stored {what} is invalid: {reason}")]
    Corrupt {
        /// Which kind of row.
        what: &'static str,
        /// Why it does not convert.
        reason: String,
    },
    /// The database URL is not one aliaskit understands.
    #[error("unsupported database.url {url:?}: use postgres://…, sqlite://PATH or a file path")]
    BadUrl {
        /// The URL, with any password removed.
        url: String,
    },
    /// Migrations could not be applied.
    #[error("migrations failed: {reason}")]
    Migration {
        /// The migration harness's explanation.
        reason: String,
    },
    /// The database lacks migrations this version needs (`database.migrate_on_start` off).
    #[error(
        "the database schema is behind this version ({count} pending migration{}, from \
         {first}): run `aliaskit migrate`, or set database.migrate_on_start = true",
        if *count == 1 { "" } else { "s" }
    )]
    SchemaBehind {
        /// How many are pending.
        count: usize,
        /// The first pending version.
        first: String,
    },
    /// A master key cannot be retired: a value is sealed under it, or a server seals with it.
    #[error("master key {kid} is still in use: {reason}")]
    KeyInUse {
        /// The key id.
        kid: String,
        /// What uses it.
        reason: String,
    },
    /// What this backend does not do.
    #[error("not supported: {what}")]
    Unsupported {
        /// What was asked.
        what: &'static str,
    },
    /// A backup could not be written.
    #[error("cannot write a backup to {path}: {reason}")]
    Backup {
        /// The file asked for.
        path: String,
        /// Why.
        reason: String,
    },
    /// A secret could not be sealed or opened (unknown master key, altered value).
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(#[source] DieselError),
}

impl StoreError {
    /// Whether the failure is the database being unreachable or busy (a 503, not a 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable {
                reason: info.message().to_owned(),
            },
            DieselError::DatabaseError(_, info) if unavailable(info.message()) => {
                StoreError::Unavailable {
                    reason: info.message().to_owned(),
                }
            }
            DieselError::BrokenTransactionManager => StoreError::Unavailable {
                reason: "the connection's transaction state is broken".into(),
            },
            _ => StoreError::Query(e),
        }
    }
}

/// Messages of failures that pass: the database is busy, going away, or cannot be written
/// right now — not a fault of the request, and retrying later may work.
fn unavailable(message: &str) -> bool {
    const PASSING: [&str; 8] = [
        // SQLite: busy_timeout ran out under write load.
        "database is locked",
        // SQLite: a file it may not write (read-only mount or file, immutable), a failing or
        // full disk, a file or write-ahead log it cannot open.
        "attempt to write a readonly database",
        "disk I/O error",
        "database or disk is full",
        "unable to open database file",
        // PostgreSQL: the server is shutting down or the connection died; a statement ran
        // past `statement_timeout` (`database.timeout`).
        "terminating connection",
        "server closed the connection",
        "canceling statement due to statement timeout",
    ];
    PASSING.iter().any(|m| message.contains(m))
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable {
            reason: e.to_string(),
        }
    }
}

/// For `map_err` on an insert: a unique violation is `taken`, anything else a query error.
pub(crate) fn taken_as(taken: StoreError) -> impl FnOnce(DieselError) -> StoreError {
    move |e| {
        if unique_violation(&e) {
            taken
        } else {
            e.into()
        }
    }
}

/// Runs `insert` in a savepoint and answers whether it inserted: `Ok(false)` when it met a
/// unique violation (a concurrent writer's row). The savepoint keeps an enclosing transaction
/// usable — PostgreSQL aborts a transaction at its first error — so the caller can go on, by
/// accepting the other row or updating it.
pub(crate) fn insert_unless_taken(
    conn: &mut crate::DbConn,
    insert: impl FnOnce(&mut crate::DbConn) -> diesel::QueryResult<usize>,
) -> crate::Result<bool> {
    use diesel::Connection;
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A unique violation on insert, told apart from other errors.
pub(crate) fn unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
