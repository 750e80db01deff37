//! [`SigningKey`]: one of the server's HMAC keys for its own tokens.

use crate::Sensitive;

/// One of the keys the server signs its own tokens with (today the OpenCAP login tokens),
/// shared by every process on the database. The store seals its secret at rest; the service
/// builds the token crate's key ring from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, written in the header of the tokens it signs.
    pub kid: String,
    /// `HS256`, `HS384` or `HS512`.
    pub alg: String,
    /// The HMAC key, base64url.
    pub secret: Sensitive,
    /// Unix seconds.
    pub created_at: i64,
    /// When it stopped signing; it still verifies until its tokens have expired.
    pub retired_at: Option<i64>,
}
