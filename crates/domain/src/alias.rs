//! Aliases: identity ([`AliasId`], [`AliasKind`]), the stored record ([`Alias`]), and the
//! create and update requests ([`NewAlias`], [`AliasPatch`]) with their validation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, OrgId, Result, Sensitive};

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
        Self::check(input)?;
        Ok(AliasId(input.to_owned()))
    }

    /// The rules of [`parse`](Self::parse), without the copy.
    fn check(input: &str) -> Result<()> {
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
        if !crate::id_text(input) {
            // Searched for only to name it.
            let bad = input
                .chars()
                .find(|c| !crate::id_text(c.encode_utf8(&mut [0; 4])))
                .unwrap_or_default();
            return Err(Error::InvalidAliasId {
                reason: format!("{bad:?} is not allowed; use only A-Z, a-z, 0-9, '_' and '-'"),
            });
        }
        Ok(())
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
        Self::check(&s)?;
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

/// The largest `name`, in characters (`docs/api.md`).
pub const MAX_NAME_CHARS: usize = 255;
/// The largest `passcode`, in bytes.
pub const MAX_PASSCODE_BYTES: usize = 128;
/// The largest `stream_key`, in bytes.
pub const MAX_STREAM_KEY_BYTES: usize = 256;
/// The largest `jwt_secret`, in bytes. HMAC takes longer keys, but nobody needs one, and a cap
/// keeps request bodies and rows small.
pub const MAX_SECRET_BYTES: usize = 512;
/// `expired_at` values above this (year 5138 in seconds) are almost surely milliseconds.
pub const MILLISECONDS_THRESHOLD: i64 = 100_000_000_000;

/// A stored alias: what its owner sees, plus the bookkeeping the server keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Its id.
    pub id: AliasId,
    /// The organization that owns it.
    pub org: OrgId,
    /// Conference or live.
    pub kind: AliasKind,
    /// Free-form display name.
    pub name: Option<String>,
    /// Shared passcode admitting guests (`?passcode=`).
    pub passcode: Option<Sensitive>,
    /// HMAC secret the organization's backend signs access tokens with.
    pub jwt_secret: Option<Sensitive>,
    /// Stream key, shown to hosts and the owner.
    pub stream_key: Option<Sensitive>,
    /// Unix seconds after which the alias answers `410`.
    pub expired_at: i64,
    /// Unix seconds of creation.
    pub inserted_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// The secret before the last rotation, still accepted until [`previous_secret_until`](Self::previous_secret_until).
    pub previous_secret: Option<Sensitive>,
    /// Unix seconds until which [`previous_secret`](Self::previous_secret) verifies.
    pub previous_secret_until: Option<i64>,
    /// Tokens issued (by `iat`) before this Unix second are refused.
    pub tokens_valid_after: Option<i64>,
}

impl Alias {
    /// Whether the alias is past its expiry at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        now > self.expired_at
    }

    /// Whether anyone may read it without a credential: it has neither a `jwt_secret` nor a
    /// passcode.
    pub fn is_public(&self) -> bool {
        self.jwt_secret.is_none() && self.passcode.is_none()
    }
}

/// Who is looking at an alias, which decides what they see (`docs/api.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The owning organization, by its API key.
    Owner,
    /// A bearer of a valid token with `host: true`.
    Host,
    /// Anyone else admitted: a token without `host`, the passcode, or a public alias.
    Guest,
}

impl Alias {
    /// The alias as the public retrieve endpoint shows it to `viewer`: `jwt_secret` is never
    /// shown; `passcode` and `stream_key` only to hosts and the owner. Rotation bookkeeping is
    /// dropped.
    pub fn retrieved_by(&self, viewer: Viewer) -> Alias {
        let privileged = matches!(viewer, Viewer::Owner | Viewer::Host);
        // Field by field: `..self.clone()` would copy every secret only to drop it.
        Alias {
            id: self.id.clone(),
            org: self.org,
            kind: self.kind,
            name: self.name.clone(),
            passcode: self.passcode.as_ref().filter(|_| privileged).cloned(),
            jwt_secret: None,
            stream_key: self.stream_key.as_ref().filter(|_| privileged).cloned(),
            expired_at: self.expired_at,
            inserted_at: self.inserted_at,
            updated_at: self.updated_at,
            previous_secret: None,
            previous_secret_until: None,
            tokens_valid_after: self.tokens_valid_after,
        }
    }
}

/// A request to create an alias, before validation (the create body of `docs/api.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlias {
    /// Required.
    pub kind: AliasKind,
    /// Optional, at most 255 characters.
    pub name: Option<String>,
    /// Optional, 1–128 bytes.
    pub passcode: Option<Sensitive>,
    /// Optional, at least [`AliasRules::min_secret_bytes`] and at most 512 bytes.
    pub jwt_secret: Option<Sensitive>,
    /// Optional, 1–256 bytes.
    pub stream_key: Option<Sensitive>,
    /// Required, Unix seconds, in the future.
    pub expired_at: i64,
}

/// The limits aliases are checked against that the operator may configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasRules {
    /// Shortest `jwt_secret` accepted, in bytes (`tokens.min_secret_bytes`, default 32).
    pub min_secret_bytes: usize,
    /// Shortest passcode accepted, in characters (`aliases.min_passcode_len`, default 6).
    pub min_passcode_len: usize,
}

/// The shortest passcode accepted by default: six characters. With the per-alias failure budget
/// (a few wrong guesses per quarter hour), even six digits take decades to guess.
pub const DEFAULT_MIN_PASSCODE_LEN: usize = 6;

impl Default for AliasRules {
    fn default() -> Self {
        AliasRules {
            min_secret_bytes: 32,
            min_passcode_len: DEFAULT_MIN_PASSCODE_LEN,
        }
    }
}

impl NewAlias {
    /// Checks every field at `now` (Unix seconds); the error names the first bad field.
    pub fn validate(&self, rules: &AliasRules, now: i64) -> Result<()> {
        check_name(self.name.as_deref())?;
        check_passcode(self.passcode.as_ref(), rules)?;
        check_secret(self.jwt_secret.as_ref(), rules)?;
        check_stream_key(self.stream_key.as_ref())?;
        check_expired_at(self.expired_at, now)
    }
}

/// One field of a partial update: absent (keep), `null` (clear) or a new value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field was not sent: keep the stored value.
    #[default]
    Keep,
    /// The field was sent as `null`: clear it.
    Clear,
    /// The field was sent with a value.
    Set(T),
}

impl<T> Patch<T> {
    /// The new value as an option, if the field is to change.
    pub fn as_change(&self) -> Option<Option<&T>> {
        match self {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }

    /// Applies the patch to `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }
}

/// A partial update (`docs/api.md`): `type` must be sent, as in Datagram; every other field is
/// kept when absent and cleared when `null` (`expired_at` cannot be cleared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasPatch {
    /// Required.
    pub kind: AliasKind,
    /// Display name.
    pub name: Patch<String>,
    /// Passcode.
    pub passcode: Patch<Sensitive>,
    /// JWT secret. Setting or clearing it keeps no old secret valid, not even one still in the
    /// grace period of an earlier `rotate-secret`: that is what `rotate-secret` is for.
    pub jwt_secret: Patch<Sensitive>,
    /// Stream key.
    pub stream_key: Patch<Sensitive>,
    /// New expiry, if sent; `null` is refused.
    pub expired_at: Patch<i64>,
}

impl AliasPatch {
    /// Checks every field that is set, at `now`.
    pub fn validate(&self, rules: &AliasRules, now: i64) -> Result<()> {
        if let Patch::Set(name) = &self.name {
            check_name(Some(name))?;
        }
        if let Patch::Set(p) = &self.passcode {
            check_passcode(Some(p), rules)?;
        }
        if let Patch::Set(s) = &self.jwt_secret {
            check_secret(Some(s), rules)?;
        }
        if let Patch::Set(k) = &self.stream_key {
            check_stream_key(Some(k))?;
        }
        match self.expired_at {
            Patch::Keep => Ok(()),
            Patch::Clear => Err(Error::field(
                "expired_at",
                "cannot be cleared: every alias expires; send a Unix time in seconds",
            )),
            Patch::Set(at) => check_expired_at(at, now),
        }
    }

    /// The alias after this update, at `now`. Call [`validate`](Self::validate) first.
    pub fn apply(self, mut alias: Alias, now: i64) -> Alias {
        alias.kind = self.kind;
        alias.name = self.name.apply(alias.name);
        alias.passcode = self.passcode.apply(alias.passcode);
        if !matches!(self.jwt_secret, Patch::Keep) {
            // Setting or clearing the secret is the emergency path: a secret rotated out
            // earlier, still in its grace period, must not outlive it.
            alias.previous_secret = None;
            alias.previous_secret_until = None;
        }
        alias.jwt_secret = self.jwt_secret.apply(alias.jwt_secret);
        alias.stream_key = self.stream_key.apply(alias.stream_key);
        if let Patch::Set(at) = self.expired_at {
            alias.expired_at = at;
        }
        alias.updated_at = now;
        alias
    }
}

fn check_name(name: Option<&str>) -> Result<()> {
    match name {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => Err(Error::field(
            "name",
            format!(
                "is {} characters long; the limit is {MAX_NAME_CHARS}",
                n.chars().count()
            ),
        )),
        _ => Ok(()),
    }
}

fn check_passcode(passcode: Option<&Sensitive>, rules: &AliasRules) -> Result<()> {
    match passcode {
        Some(p) if !p.is_empty() && p.expose().chars().count() < rules.min_passcode_len => {
            Err(Error::field(
                "passcode",
                format!(
                    "is {} characters; at least {} are required, because a short passcode can be \
                 guessed: use {} or more characters, or give guests access tokens instead",
                    p.expose().chars().count(),
                    rules.min_passcode_len,
                    rules.min_passcode_len
                ),
            ))
        }
        _ => check_sensitive("passcode", passcode, 1, MAX_PASSCODE_BYTES),
    }
}

fn check_stream_key(key: Option<&Sensitive>) -> Result<()> {
    check_sensitive("stream_key", key, 1, MAX_STREAM_KEY_BYTES)
}

fn check_secret(secret: Option<&Sensitive>, rules: &AliasRules) -> Result<()> {
    match secret {
        Some(s) if s.len() < rules.min_secret_bytes => Err(Error::field(
            "jwt_secret",
            format!(
                "is {} bytes; at least {} are required, because an HMAC key shorter than \
                 the hash output weakens every token signed with it (RFC 7518 §3.2). Use a \
                 random string of {} or more bytes",
                s.len(),
                rules.min_secret_bytes,
                rules.min_secret_bytes
            ),
        )),
        _ => check_sensitive("jwt_secret", secret, 1, MAX_SECRET_BYTES),
    }
}

fn check_sensitive(
    field: &'static str,
    value: Option<&Sensitive>,
    min: usize,
    max: usize,
) -> Result<()> {
    match value {
        Some(v) if v.len() < min => Err(Error::field(
            field,
            "must not be empty; send null (or leave it out) for none",
        )),
        Some(v) if v.len() > max => Err(Error::field(
            field,
            format!("is {} bytes; the limit is {max}", v.len()),
        )),
        _ => Ok(()),
    }
}

fn check_expired_at(at: i64, now: i64) -> Result<()> {
    if at > MILLISECONDS_THRESHOLD {
        return Err(Error::field(
            "expired_at",
            format!(
                "{at} looks like milliseconds; send Unix time in seconds (e.g. {})",
                at / 1000
            ),
        ));
    }
    if at <= now {
        return Err(Error::field(
            "expired_at",
            format!(
                "must be in the future: {at} is {} s before now ({now})",
                now.saturating_sub(at)
            ),
        ));
    }
    Ok(())
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
            // The first refused character is named, wherever it is.
            (
                "Az09_-.x\0",
                "invalid alias id: '.' is not allowed; use only A-Z, a-z, 0-9, '_' and '-'",
            ),
            (
                "ok_id-9\u{7f}",
                "invalid alias id: '\\u{7f}' is not allowed; use only A-Z, a-z, 0-9, '_' and '-'",
            ),
        ];
        assert!(AliasId::parse("AZaz09_-").is_ok());
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

    const NOW: i64 = 1_700_000_000;

    fn new_alias() -> NewAlias {
        NewAlias {
            kind: AliasKind::Conference,
            name: Some("Weekly sync".into()),
            passcode: None,
            jwt_secret: Some(Sensitive::from("0123456789abcdef0123456789abcdef")),
            stream_key: None,
            expired_at: NOW + 3600,
        }
    }

    fn rejected(alias: NewAlias) -> String {
        alias
            .validate(&AliasRules::default(), NOW)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_complete_new_alias_is_valid() {
        assert_eq!(new_alias().validate(&AliasRules::default(), NOW), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named_with_what_to_do() {
        let cases = [
            (
                NewAlias {
                    expired_at: NOW,
                    ..new_alias()
                },
                "expired_at must be in the future: 1700000000 is 0 s before now (1700000000)",
            ),
            (
                NewAlias {
                    expired_at: 1_737_456_308_000,
                    ..new_alias()
                },
                "expired_at 1737456308000 looks like milliseconds; send Unix time in seconds (e.g. 1737456308)",
            ),
            (
                NewAlias {
                    name: Some("n".repeat(256)),
                    ..new_alias()
                },
                "name is 256 characters long; the limit is 255",
            ),
            (
                NewAlias {
                    passcode: Some("".into()),
                    ..new_alias()
                },
                "passcode must not be empty; send null (or leave it out) for none",
            ),
            (
                NewAlias {
                    stream_key: Some("k".repeat(257).into()),
                    ..new_alias()
                },
                "stream_key is 257 bytes; the limit is 256",
            ),
            (
                NewAlias {
                    jwt_secret: Some("myJWTsecret123".into()),
                    ..new_alias()
                },
                "jwt_secret is 14 bytes; at least 32 are required, because an HMAC key shorter than the hash output weakens every token signed with it (RFC 7518 §3.2). Use a random string of 32 or more bytes",
            ),
        ];
        for (alias, message) in cases {
            assert_eq!(rejected(alias), message);
        }
        // The floor is configurable for migrations.
        let short = NewAlias {
            jwt_secret: Some("myJWTsecret123".into()),
            ..new_alias()
        };
        assert_eq!(
            short.validate(
                &AliasRules {
                    min_secret_bytes: 8,
                    ..AliasRules::default()
                },
                NOW
            ),
            Ok(())
        );
        assert_eq!(
            NewAlias {
                name: Some("é".repeat(255)),
                ..new_alias()
            }
            .validate(&AliasRules::default(), NOW),
            Ok(())
        );
    }

    fn stored() -> Alias {
        Alias {
            id: AliasId::parse("a1").unwrap(),
            org: OrgId(1),
            kind: AliasKind::Live,
            name: Some("old".into()),
            passcode: Some("pass".into()),
            jwt_secret: None,
            stream_key: Some("sk".into()),
            expired_at: NOW + 10,
            inserted_at: NOW - 10,
            updated_at: NOW - 10,
            previous_secret: None,
            previous_secret_until: None,
            tokens_valid_after: None,
        }
    }

    #[test]
    fn a_patch_keeps_absent_fields_and_clears_null_ones() {
        let patch = AliasPatch {
            kind: AliasKind::Conference,
            name: Patch::Set("new".into()),
            passcode: Patch::Clear,
            jwt_secret: Patch::Keep,
            stream_key: Patch::Keep,
            expired_at: Patch::Keep,
        };
        assert_eq!(patch.validate(&AliasRules::default(), NOW), Ok(()));
        let updated = patch.apply(stored(), NOW);
        assert_eq!(updated.kind, AliasKind::Conference);
        assert_eq!(updated.name.as_deref(), Some("new"));
        assert_eq!(updated.passcode, None);
        assert_eq!(updated.stream_key, Some("sk".into()));
        assert_eq!(updated.expired_at, NOW + 10);
        assert_eq!(updated.updated_at, NOW);
    }

    #[test]
    fn a_patch_cannot_clear_the_expiry() {
        let patch = AliasPatch {
            kind: AliasKind::Live,
            name: Patch::Keep,
            passcode: Patch::Keep,
            jwt_secret: Patch::Keep,
            stream_key: Patch::Keep,
            expired_at: Patch::Clear,
        };
        assert_eq!(
            patch
                .validate(&AliasRules::default(), NOW)
                .map_err(|e| e.to_string()),
            Err(
                "expired_at cannot be cleared: every alias expires; send a Unix time in seconds"
                    .to_owned()
            )
        );
    }

    #[test]
    fn retrieval_hides_the_secret_always_and_passcode_and_stream_key_from_guests() {
        let a = Alias {
            jwt_secret: Some("s".repeat(32).into()),
            ..stored()
        };
        let guest = a.retrieved_by(Viewer::Guest);
        assert_eq!(
            (guest.jwt_secret, guest.passcode, guest.stream_key),
            (None, None, None)
        );
        for privileged in [Viewer::Host, Viewer::Owner] {
            let seen = a.retrieved_by(privileged);
            assert_eq!(seen.jwt_secret, None);
            assert_eq!(seen.passcode, Some("pass".into()));
            assert_eq!(seen.stream_key, Some("sk".into()));
        }
    }

    #[test]
    fn expiry_and_publicness() {
        let a = stored();
        assert!(!a.is_expired(NOW + 10));
        assert!(a.is_expired(NOW + 11));
        assert!(!a.is_public());
        assert!(
            Alias {
                passcode: None,
                ..stored()
            }
            .is_public()
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
