use aliaskit_store::StoreError;
use aliaskit_token::TokenError;

/// Result with [`ServiceError`].
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Why a use case failed, in domain terms. The HTTP crate maps these to statuses, and writes
/// what a client reads, in one place (`aliaskit_http::error`); the messages here are for logs
/// and the CLI. Exhaustive on purpose: a new variant must be mapped there, not fall into a
/// catch-all.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No alias with this id (or not one the caller owns).
    #[error("no alias with this id, or not the caller's")]
    AliasNotFound,
    /// No webhook with this id (or not one the caller owns).
    #[error("no webhook with this id, or not the caller's")]
    WebhookNotFound,
    /// The alias is past its `expired_at`.
    #[error("the alias expired at {expired_at}")]
    AliasExpired {
        /// Unix seconds.
        expired_at: i64,
    },
    /// No valid credential was presented.
    #[error("no valid credential: {reason}")]
    Unauthorized {
        /// What would have been needed, for the error's detail.
        reason: &'static str,
    },
    /// A wrong passcode, counted against the alias's budget: the same answer as any missing
    /// credential. `began` is the block this failure began, if it spent a budget.
    #[error("wrong passcode ({reason})")]
    WrongPasscode {
        /// What would have been needed, for the error's detail.
        reason: &'static str,
        /// The block this failure began (the alias's or the address's), if any.
        began: Option<crate::PasscodeBlock>,
    },
    /// Passcode attempts for this alias (from every address, or from this one) are refused for
    /// a while: too many wrong passcodes. Tokens and the owner's key still work.
    #[error("passcode attempts for this alias are blocked for {retry_after} s more")]
    PasscodeLocked {
        /// The block.
        block: crate::PasscodeBlock,
        /// Seconds until it ends.
        retry_after: i64,
    },
    /// A bearer token was presented and refused.
    #[error(transparent)]
    InvalidToken(TokenError),
    /// The request is not valid: a field, a cursor, a limit, a name.
    #[error(transparent)]
    Invalid(#[from] aliaskit_domain::Error),
    /// The organization name is taken.
    #[error("an organization with this name exists already")]
    OrgNameTaken,
    /// No organization has this name.
    #[error("no organization is named {name}")]
    OrgNotFound {
        /// The name asked for.
        name: String,
    },
    /// OpenCAP: no such alias on this server.
    #[error("alias not found")]
    CapAliasNotFound,
    /// OpenCAP: the alias has no address of this type.
    #[error("this alias has no address of type {address_type}")]
    AddressNotFound {
        /// The type asked for.
        address_type: u16,
    },
    /// OpenCAP: the alias's domain is not one this server holds aliases for.
    #[error("this server does not hold aliases of {domain}")]
    DomainNotServed {
        /// The domain.
        domain: String,
    },
    /// OpenCAP: anonymous signup is off (`opencap.open_signup`).
    #[error("signup needs an organization API key on this server")]
    SignupClosed,
    /// OpenCAP: the alias is registered already.
    #[error("this alias is already registered")]
    CapUserTaken,
    /// OpenCAP: unknown alias or wrong password (deliberately not told apart).
    #[error("invalid alias or password")]
    LoginFailed,
    /// OpenCAP: too many failed logins; the account refuses logins for a while.
    #[error("too many failed logins; try again in {retry_after} s")]
    AccountLocked {
        /// Seconds until the lock ends.
        retry_after: i64,
    },
    /// Password hashing failed (bad parameters; never the password's fault).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The database is unreachable or too busy; retrying later may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// Anything else from storage; the details belong in the log, not in a response.
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// The operating system's random number generator failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::OrgNameTaken => ServiceError::OrgNameTaken,
            StoreError::CapUserTaken => ServiceError::CapUserTaken,
            StoreError::OrgNotFound { name } => ServiceError::OrgNotFound { name },
            e if e.is_unavailable() => ServiceError::Unavailable(e),
            e => ServiceError::Store(e),
        }
    }
}
