use std::fmt;

/// Result with [`TokenError`].
pub type Result<T, E = TokenError> = std::result::Result<T, E>;

/// Why a token was refused (or could not be made).
///
/// [`code`](TokenError::code) is a stable machine code for clients and metrics; the `Display`
/// message is for people and names the failing part and by how much. Neither ever contains the
/// token or a secret; values taken from the token (an algorithm name, an alias) are shortened
/// and escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a compact JWS within the limits: size, segments, base64url, JSON, header members.
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// `alg` is `none` or not one of the algorithms the policy allows.
    #[error("unsupported algorithm {alg}: allowed are {allowed}")]
    UnsupportedAlgorithm {
        /// The `alg` received, shortened and escaped.
        alg: String,
        /// The allowed algorithms, comma-separated.
        allowed: String,
    },
    /// The MAC does not verify with any of the candidate secrets.
    #[error("bad signature: the token was not signed with the alias's secret")]
    BadSignature,
    /// The token's `kid` names no key of the key ring.
    #[error("bad signature: the token's key id is not one of this server's keys")]
    UnknownKey,
    /// The `alias` claim names another alias.
    #[error("the token is for alias {found}, not for {expected}")]
    AliasMismatch {
        /// The alias being retrieved.
        expected: String,
        /// The token's `alias` claim, shortened and escaped.
        found: String,
    },
    /// The effective expiry is further in the past than the leeway.
    #[error("token expired {} ago", Human(*.by))]
    Expired {
        /// Seconds since the expiry.
        by: u64,
    },
    /// `nbf` is further in the future than the leeway.
    #[error("token is not valid yet: nbf is {} from now", Human(*.by))]
    NotYetValid {
        /// Seconds until `nbf`.
        by: u64,
    },
    /// `iat` is further in the future than the leeway.
    #[error("token was issued in the future: iat is {} from now", Human(*.by))]
    IssuedInFuture {
        /// Seconds until `iat`.
        by: u64,
    },
    /// Neither `exp` nor `iat` + `expires_in`.
    #[error("token has no expiry: it needs `exp`, or `iat` with `expires_in`")]
    MissingExpiry,
    /// The token lives longer than the policy's maximum.
    #[error(
        "token lifetime is {} ({lifetime} s), longer than the allowed {} ({max} s)",
        Human(*.lifetime),
        Human(*.max)
    )]
    LifetimeTooLong {
        /// Expiry minus `iat` (or `nbf`, or now), in seconds.
        lifetime: u64,
        /// The policy's maximum, in seconds.
        max: u64,
    },
    /// Issued before the alias's tokens were revoked, or without `iat` after a revocation.
    #[error("token was revoked: {reason}")]
    Revoked {
        /// Which of the two.
        reason: &'static str,
    },
    /// A claim has the wrong type or range, is missing, or does not match the expected value.
    #[error("invalid claims: {0}")]
    InvalidClaims(#[from] aliaskit_domain::Error),
    /// A signing or verification secret is shorter than the policy's minimum.
    #[error(
        "the secret is {len} bytes; at least {min} are required (RFC 7518 §3.2 asks for as many bytes as the hash output)"
    )]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
        /// The policy's minimum.
        min: usize,
    },
    /// A key could not be used or added: the HMAC refused it, or its `kid` is taken.
    #[error("key rejected: {reason}")]
    KeyRejected {
        /// Why.
        reason: String,
    },
    /// josekit refused to serialize a token.
    #[error("could not sign the token: {reason}")]
    Signing {
        /// josekit's explanation.
        reason: String,
    },
}

impl TokenError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed { .. } => "malformed_token",
            TokenError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            TokenError::BadSignature | TokenError::UnknownKey => "bad_signature",
            TokenError::AliasMismatch { .. } => "alias_mismatch",
            TokenError::Expired { .. } => "token_expired",
            TokenError::NotYetValid { .. } => "token_not_yet_valid",
            TokenError::IssuedInFuture { .. } => "token_issued_in_future",
            TokenError::MissingExpiry => "token_missing_expiry",
            TokenError::LifetimeTooLong { .. } => "token_lifetime_too_long",
            TokenError::Revoked { .. } => "token_revoked",
            TokenError::InvalidClaims(_) => "invalid_claims",
            TokenError::SecretTooShort { .. } => "secret_too_short",
            TokenError::KeyRejected { .. } => "key_rejected",
            TokenError::Signing { .. } => "signing_failed",
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        TokenError::Malformed {
            reason: reason.into(),
        }
    }
}

/// A duration in seconds as people read it: `45 s`, `2 min 5 s`, `2 h 3 min`, `3 d 4 h`.
struct Human(u64);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let (big, big_unit, small, small_unit) = match s {
            0..60 => return write!(f, "{s} s"),
            60..3600 => (s / 60, "min", s % 60, "s"),
            3600..86400 => (s / 3600, "h", s % 3600 / 60, "min"),
            _ => (s / 86400, "d", s % 86400 / 3600, "h"),
        };
        write!(f, "{big} {big_unit}")?;
        if small > 0 {
            write!(f, " {small} {small_unit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        let cases = [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (125, "2 min 5 s"),
            (7380, "2 h 3 min"),
            (7200, "2 h"),
            (86400 * 3 + 3600 * 4 + 59, "3 d 4 h"),
        ];
        for (secs, text) in cases {
            assert_eq!(Human(secs).to_string(), text);
        }
        assert_eq!(
            TokenError::Expired { by: 7380 }.to_string(),
            "token expired 2 h 3 min ago"
        );
    }
}
