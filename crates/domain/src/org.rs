//! Organizations and their API keys.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result, Sensitive};

/// The database id of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(pub i64);

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An organization's name: 1–64 characters from `a-z 0-9 . _ -`, starting with a letter or
/// digit, so it is safe on a command line and in a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgName(String);

impl OrgName {
    /// The longest name, in characters.
    pub const MAX_LEN: usize = 64;

    /// Validates a name.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidOrgName { reason };
        let first = input
            .chars()
            .next()
            .ok_or_else(|| invalid("it is empty".into()))?;
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(invalid(format!(
                "it starts with {first:?}; start with a-z or 0-9"
            )));
        }
        if let Some(bad) = input.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(invalid(format!(
                "{bad:?} is not allowed; use only a-z, 0-9, '.', '_' and '-'"
            )));
        }
        // After the character check, so the name is ASCII and bytes are characters.
        if input.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "it is {} characters long; the limit is {}",
                input.len(),
                Self::MAX_LEN
            )));
        }
        Ok(OrgName(input.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrgName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its unique name.
    pub name: OrgName,
    /// Unix seconds of creation.
    pub created_at: i64,
}

/// An organization API key as presented by a client: at least 32 characters, at most 512,
/// no whitespace or control characters.
///
/// Keys aliaskit generates are `ak_` followed by 43 base64url characters (256 random bits);
/// an operator-chosen bootstrap key may be any string that satisfies the rule above.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Sensitive);

impl ApiKey {
    /// The shortest key accepted, in characters.
    pub const MIN_LEN: usize = 32;
    /// The longest key accepted, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Checks the form of a key (not whether it belongs to anyone).
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidApiKey { reason };
        if input.chars().count() < Self::MIN_LEN {
            return Err(invalid(format!(
                "it is {} characters; at least {} are required",
                input.chars().count(),
                Self::MIN_LEN
            )));
        }
        if input.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "it is {} bytes; the limit is {}",
                input.len(),
                Self::MAX_LEN
            )));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "it contains whitespace or control characters".into(),
            ));
        }
        Ok(ApiKey(Sensitive::new(input)))
    }

    /// The key text. Show it once, to its owner; never log it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_names_are_lower_case_slugs() {
        for ok in ["default", "acme-corp", "a", "team.7_x"] {
            assert_eq!(OrgName::parse(ok).map(|n| n.to_string()), Ok(ok.to_owned()));
        }
        let cases = [
            ("", "invalid organization name: it is empty"),
            (
                "Acme",
                "invalid organization name: it starts with 'A'; start with a-z or 0-9",
            ),
            (
                "-x",
                "invalid organization name: it starts with '-'; start with a-z or 0-9",
            ),
            (
                "a b",
                "invalid organization name: ' ' is not allowed; use only a-z, 0-9, '.', '_' and '-'",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(
                OrgName::parse(input).map_err(|e| e.to_string()),
                Err(message.to_owned())
            );
        }
        assert_eq!(
            OrgName::parse(&"x".repeat(65)).map_err(|e| e.to_string()),
            Err("invalid organization name: it is 65 characters long; the limit is 64".into())
        );
        // Not "33 characters long": 33 'é' are 66 bytes, and 'é' is what is wrong.
        assert_eq!(
            OrgName::parse(&format!("a{}", "é".repeat(33))).map_err(|e| e.to_string()),
            Err(
                "invalid organization name: 'é' is not allowed; use only a-z, 0-9, '.', '_' and '-'"
                    .into()
            )
        );
    }

    #[test]
    fn api_keys_have_a_minimum_length_and_hide_in_debug() {
        let key = ApiKey::parse(&"k".repeat(32)).map_err(|e| e.to_string());
        assert_eq!(
            key.as_ref().map(|k| format!("{k:?}")),
            Ok("ApiKey(<redacted>)".to_owned())
        );
        assert_eq!(
            ApiKey::parse("short")
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("invalid API key: it is 5 characters; at least 32 are required")
        );
        assert!(ApiKey::parse(&format!("{} x", "k".repeat(32))).is_err());
    }
}
