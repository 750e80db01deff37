//! Alias identity: [`AliasId`] and [`AliasKind`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The id of an alias, as it appears in `/api/v1/alias/:id` and in the `alias` claim.
///
/// 1 to 64 characters from the URL-safe alphabet `A–Z a–z 0–9 _ -`, so an id never needs
/// escaping in a path. Ids that aliaskit generates are 22 characters (128 random bits, base64url);
/// shorter ones are accepted so that aliases imported from other services keep their ids.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AliasId(String);

impl AliasId {
    /// The longest id accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses and validates an id.
    pub fn parse(input: &str) -> Result<Self> {
        if input.is_empty() {
            return Err(Error::InvalidAliasId {
                reason: "it is empty".into(),
            });
        }
        if input.len() > Self::MAX_LEN {
            return Err(Error::InvalidAliasId {
                reason: format!(
                    "it is {} bytes long; the limit is {}",
                    input.len(),
                    Self::MAX_LEN
                ),
            });
        }
        if let Some(bad) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(Error::InvalidAliasId {
                reason: format!("{bad:?} is not allowed; use only A-Z, a-z, 0-9, '_' and '-'"),
            });
        }
        Ok(AliasId(input.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AliasId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AliasId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)?;
        Ok(AliasId(s))
    }
}

impl From<AliasId> for String {
    fn from(id: AliasId) -> String {
        id.0
    }
}

impl fmt::Display for AliasId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AliasId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AliasId({:?})", self.0)
    }
}

impl PartialEq<str> for AliasId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// What an alias is for; the `type` field of the Datagram alias API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AliasKind {
    /// A conference room.
    Conference,
    /// A live stream.
    Live,
}

impl AliasKind {
    /// The wire name: `conference` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::Conference => "conference",
            AliasKind::Live => "live",
        }
    }
}

impl FromStr for AliasKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "conference" => Ok(AliasKind::Conference),
            "live" => Ok(AliasKind::Live),
            other => Err(Error::UnknownAliasKind {
                found: Error::shown(other),
            }),
        }
    }
}

impl fmt::Display for AliasKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_url_safe_ids_up_to_64_chars() {
        for ok in ["a", "Vx3kQ9_aZ-1", &"x".repeat(64)] {
            assert_eq!(
                AliasId::parse(ok).map(|id| id.to_string()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn rejects_empty_long_and_unsafe_ids_saying_why() {
        let too_long = "x".repeat(65);
        let cases = [
            ("", "invalid alias id: it is empty"),
            (
                too_long.as_str(),
                "invalid alias id: it is 65 bytes long; the limit is 64",
            ),
            (
                "a/b",
                "invalid alias id: '/' is not allowed; use only A-Z, a-z, 0-9, '_' and '-'",
            ),
            (
                "é",
                "invalid alias id: 'é' is not allowed; use only A-Z, a-z, 0-9, '_' and '-'",
            ),
        ];
        for (input, message) in cases {
            let err = AliasId::parse(input).err().map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some(message), "input {input:?}");
        }
    }

    #[test]
    fn alias_id_round_trips_through_serde_and_rejects_bad_json() {
        let id: AliasId = serde_json::from_str("\"abc_1\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&id).ok().as_deref(),
            Some("\"abc_1\"")
        );
        assert!(serde_json::from_str::<AliasId>("\"a b\"").is_err());
    }

    #[test]
    fn alias_kind_wire_names() {
        assert_eq!("conference".parse::<AliasKind>(), Ok(AliasKind::Conference));
        assert_eq!("live".parse::<AliasKind>(), Ok(AliasKind::Live));
        assert_eq!(
            "Live".parse::<AliasKind>().map_err(|e| e.to_string()),
            Err("unknown alias type \"Live\": expected \"conference\" or \"live\"".to_owned())
        );
        assert_eq!(
            serde_json::to_string(&AliasKind::Live).ok().as_deref(),
            Some("\"live\"")
        );
    }

    proptest! {
        #[test]
        fn any_string_parses_or_errors_and_valid_ids_round_trip(s in "\\PC{0,80}") {
            if let Ok(id) = AliasId::parse(&s) {
                prop_assert_eq!(id.as_str(), s.as_str());
                prop_assert!(s.len() <= 64);
            }
        }
    }
}
