use std::fmt;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a value is not a valid domain value.
///
/// Messages name the field and the rule; they repeat caller input only in a shortened,
/// escaped form (see [`Error::shown`]), so they are safe to return to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An alias id is empty, too long or uses characters outside `[A-Za-z0-9_-]`.
    #[error("invalid alias id: {reason}")]
    InvalidAliasId {
        /// What is wrong with it.
        reason: String,
    },
    /// An alias type other than `conference` or `live`.
    #[error("unknown alias type {found}: expected \"conference\" or \"live\"")]
    UnknownAliasKind {
        /// The value received, shortened and escaped.
        found: String,
    },
    /// A field of an alias (create or update) breaks its rule.
    #[error("{field} {message}")]
    InvalidField {
        /// The field's wire name (`expired_at`, `jwt_secret`, …).
        field: &'static str,
        /// What is wrong, as the rest of a sentence that starts with the field name.
        message: String,
    },
    /// An organization name breaks the naming rule.
    #[error("invalid organization name: {reason}")]
    InvalidOrgName {
        /// What is wrong.
        reason: String,
    },
    /// An API key is not of the accepted form.
    #[error("invalid API key: {reason}")]
    InvalidApiKey {
        /// What is wrong.
        reason: String,
    },
    /// A required claim is absent.
    #[error("claim `{claim}` is missing")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim is present but not of the allowed type or range.
    #[error("claim `{claim}` {problem}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong, as the end of a sentence ("must be a string").
        problem: String,
    },
}

impl Error {
    /// Caller input as it may appear in a message: at most 40 characters, Rust-escaped and quoted.
    pub fn shown(input: &str) -> String {
        Shown(input).to_string()
    }

    /// An [`Error::InvalidField`]: `message` continues a sentence that starts with `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(claim: &'static str, problem: impl Into<String>) -> Self {
        Error::InvalidClaim {
            claim,
            problem: problem.into(),
        }
    }
}

struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 40;
        let mut chars = self.0.chars();
        let head: String = chars.by_ref().take(MAX).collect();
        if chars.next().is_some() {
            write!(f, "{:?}…", head)
        } else {
            write!(f, "{:?}", head)
        }
    }
}
