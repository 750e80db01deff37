//! OpenCAP users: [`Password`], [`Extensions`], and the records the server keeps,
//! [`CapUser`] and [`StoredAddress`].

use std::fmt;

use serde_json::{Map, Value};

use super::{Address, CapAlias};
use crate::{Error, Result};

/// A user's password as sent at signup or login: 10 to 128 characters (`docs/opencap.md`). `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The shortest password accepted, in characters.
    pub const MIN_CHARS: usize = 10;
    /// The longest password accepted, in characters (argon2 takes longer ones, but a cap keeps
    /// hashing cost bounded per request).
    pub const MAX_CHARS: usize = 128;

    /// Checks the length.
    pub fn new(password: impl Into<String>) -> Result<Self> {
        let password = password.into();
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Error::field(
                "password",
                format!(
                    "is {chars} characters; at least {} are required",
                    Self::MIN_CHARS
                ),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Error::field(
                "password",
                format!(
                    "is {chars} characters; at most {} are allowed",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Password(password))
    }

    /// The password text. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The `extensions` of an address: a JSON object of at most 4 KiB, returned as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extensions(Map<String, Value>);

impl Extensions {
    /// The largest serialized size, in bytes.
    pub const MAX_BYTES: usize = 4096;

    /// Checks that `value` is an object of at most [`Self::MAX_BYTES`] when serialized.
    pub fn new(value: Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::field(
                "extensions",
                "must be a JSON object, such as {}",
            ));
        };
        let size = Value::Object(map.clone()).to_string().len();
        if size > Self::MAX_BYTES {
            return Err(Error::field(
                "extensions",
                format!("is {size} bytes as JSON; the limit is {}", Self::MAX_BYTES),
            ));
        }
        Ok(Extensions(map))
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as JSON text.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

/// A registered OpenCAP user.
#[derive(Clone, PartialEq, Eq)]
pub struct CapUser {
    /// Random id; the `sub` of the user's tokens.
    pub id: String,
    /// `username$domain`.
    pub alias: CapAlias,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Failed logins since the last success (or the last lock).
    pub failed_logins: i64,
    /// Logins are refused until this Unix second.
    pub locked_until: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for CapUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapUser")
            .field("id", &self.id)
            .field("alias", &self.alias)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// An address a user published, with its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddress {
    /// The validated address (its type included).
    pub address: Address,
    /// Extra data for clients, returned as stored.
    pub extensions: Extensions,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_have_a_length_range_and_hide_in_debug() {
        assert!(Password::new("0123456789").is_ok());
        assert!(
            Password::new("ü".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            Password::new("short")
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("password is 5 characters; at least 10 are required")
        );
        assert_eq!(
            Password::new("x".repeat(129))
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("password is 129 characters; at most 128 are allowed")
        );
        let shown = format!("{:?}", Password::new("correct horse battery").ok());
        assert_eq!(shown, "Some(Password(<redacted>))");
    }

    #[test]
    fn extensions_are_small_objects() {
        assert_eq!(
            Extensions::new(json!({})).map(|e| e.to_json()),
            Ok("{}".to_owned())
        );
        assert!(Extensions::new(json!({"memo": "hi", "n": [1, 2]})).is_ok());
        assert_eq!(
            Extensions::new(json!([1]))
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("extensions must be a JSON object, such as {}")
        );
        let big = json!({"x": "y".repeat(5000)});
        assert!(
            Extensions::new(big)
                .map_err(|e| e.to_string())
                .err()
                .unwrap_or_default()
                .starts_with("extensions is 5008 bytes")
        );
    }
}
