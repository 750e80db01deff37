//! The claims of an access token: [`AccessClaims`] and the registered claims it carries.
//!
//! Parsing is strict about types and ranges, so the token crate can do arithmetic on the values
//! without overflow: numeric dates are whole seconds between 1970 and the end of year 9999, and
//! `expires_in` is at most that span. `null` is never accepted in place of a value: a claim is
//! either absent or of its type.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::{AliasId, Error, Result};

/// A JWT NumericDate: whole seconds since 1970-01-01T00:00:00Z, from 0 to 253402300799
/// (9999-12-31T23:59:59Z).
///
/// Tokens may carry fractional seconds (`1700000000.5`); they are floored, as RFC 7519 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// The latest representable date, 9999-12-31T23:59:59Z.
    pub const MAX: i64 = 253_402_300_799;

    /// A date from whole seconds, if it is within `0..=MAX`.
    pub fn from_secs(secs: i64) -> Option<Self> {
        (0..=Self::MAX).contains(&secs).then_some(NumericDate(secs))
    }

    /// Seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0
    }

    fn from_json(claim: &'static str, value: &Value) -> Result<Self> {
        let Value::Number(n) = value else {
            return Err(Error::invalid(
                claim,
                format!(
                    "must be a number of seconds since 1970, not {}",
                    json_kind(value)
                ),
            ));
        };
        let secs = if let Some(i) = n.as_i64() {
            i
        } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
            let floored = f.floor();
            if floored < i64::MIN as f64 || floored > i64::MAX as f64 {
                return Err(out_of_range(claim, n));
            }
            floored as i64
        } else {
            return Err(out_of_range(claim, n));
        };
        Self::from_secs(secs).ok_or_else(|| out_of_range(claim, n))
    }
}

fn out_of_range(claim: &'static str, n: &Number) -> Error {
    let mut shown = n.to_string();
    shown.truncate(24);
    Error::invalid(
        claim,
        format!(
            "is out of range ({shown}): a date must be between 0 and {} seconds since 1970",
            NumericDate::MAX
        ),
    )
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `"aud": "x"`
    One(String),
    /// `"aud": ["x", "y"]`
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is, or is among, the token's audiences.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(all) => all.iter().any(|a| a == audience),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Audience::One(a) => Value::String(a.clone()),
            Audience::Many(all) => Value::Array(all.iter().cloned().map(Value::String).collect()),
        }
    }
}

/// The registered claims of RFC 7519 §4.1 that aliaskit reads (`sub` stays in the extra claims).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisteredClaims {
    /// `iat`: when the token was issued.
    pub iat: Option<NumericDate>,
    /// `exp`: when the token expires.
    pub exp: Option<NumericDate>,
    /// `nbf`: the token is not valid before this.
    pub nbf: Option<NumericDate>,
    /// `iss`: who issued the token.
    pub iss: Option<String>,
    /// `aud`: for whom it is meant.
    pub aud: Option<Audience>,
    /// `jti`: the token's unique id.
    pub jti: Option<String>,
}

impl RegisteredClaims {
    /// Takes the registered claims out of a JWT payload object, checking their types and ranges.
    /// Other members stay in `payload`.
    pub fn take_from(payload: &mut Map<String, Value>) -> Result<Self> {
        let mut registered = RegisteredClaims::default();
        for name in Self::NAMES {
            if let Some(value) = payload.remove(name) {
                registered.accept(name, value)?;
            }
        }
        Ok(registered)
    }

    /// The names of the registered claims read here.
    pub const NAMES: [&'static str; 6] = ["iat", "exp", "nbf", "iss", "aud", "jti"];

    /// If `name` is one of [`NAMES`](Self::NAMES), checks `value` and stores it, giving back
    /// `None`; otherwise gives the value back untouched.
    pub fn accept(&mut self, name: &str, value: Value) -> Result<Option<Value>> {
        match name {
            "iat" => self.iat = Some(NumericDate::from_json("iat", &value)?),
            "exp" => self.exp = Some(NumericDate::from_json("exp", &value)?),
            "nbf" => self.nbf = Some(NumericDate::from_json("nbf", &value)?),
            "iss" => self.iss = Some(string("iss", value)?),
            "aud" => self.aud = Some(audience("aud", value)?),
            "jti" => self.jti = Some(string("jti", value)?),
            _ => return Ok(Some(value)),
        }
        Ok(None)
    }

    /// Writes the claims that are present into a payload object.
    pub fn write_to(&self, payload: &mut Map<String, Value>) {
        let dates = [("iat", self.iat), ("exp", self.exp), ("nbf", self.nbf)];
        for (name, date) in dates {
            if let Some(d) = date {
                payload.insert(name.into(), Value::from(d.secs()));
            }
        }
        if let Some(iss) = &self.iss {
            payload.insert("iss".into(), Value::String(iss.clone()));
        }
        if let Some(aud) = &self.aud {
            payload.insert("aud".into(), aud.to_json());
        }
        if let Some(jti) = &self.jti {
            payload.insert("jti".into(), Value::String(jti.clone()));
        }
    }
}

/// The end user an access token speaks for: a non-empty string of at most 256 bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The longest user id accepted, in bytes.
    pub const MAX_BYTES: usize = 256;

    /// Validates a user id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::invalid("user_id", "must not be empty"));
        }
        if id.len() > Self::MAX_BYTES {
            return Err(Error::invalid(
                "user_id",
                format!(
                    "is {} bytes long; the limit is {}",
                    id.len(),
                    Self::MAX_BYTES
                ),
            ));
        }
        Ok(UserId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

/// The claims of an access token that admits an end user to one alias.
///
/// Wire form (Datagram Link): `alias`, `user_id`, `host` (default `false`), `expires_in`
/// (seconds after `iat`), the registered claims, and any other claims the issuer added, which
/// are kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessClaims {
    /// The alias the token admits to.
    pub alias: AliasId,
    /// The end user.
    pub user_id: UserId,
    /// Whether the user is a host (sees the passcode and stream key).
    pub host: bool,
    /// Lifetime in seconds, counted from `iat`.
    pub expires_in: Option<u64>,
    /// `iat`, `exp`, `nbf`, `iss`, `aud`, `jti`.
    pub registered: RegisteredClaims,
    /// Every other claim, as received.
    pub extra: Map<String, Value>,
}

impl AccessClaims {
    /// Claims for `user_id` on `alias`, not a host, with no times set yet.
    pub fn new(alias: AliasId, user_id: UserId) -> Self {
        AccessClaims {
            alias,
            user_id,
            host: false,
            expires_in: None,
            registered: RegisteredClaims::default(),
            extra: Map::new(),
        }
    }

    /// When the token stops admitting its bearer (Unix seconds, before any leeway): the
    /// earlier of `exp` and `iat + expires_in`, of those present; `None` when it has neither
    /// (or `expires_in` without `iat`), which the token policy refuses.
    pub fn expires_at(&self) -> Option<i64> {
        let relative = self
            .expires_in
            .zip(self.registered.iat)
            .map(|(n, iat)| iat.secs().saturating_add_unsigned(n));
        let exp = self.registered.exp.map(|d| d.secs());
        match (exp, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (one, other) => one.or(other),
        }
    }

    /// Reads claims from a JWT payload object, checking every type and range.
    pub fn from_json(payload: Map<String, Value>) -> Result<Self> {
        let mut builder = AccessClaimsBuilder::default();
        for (name, value) in payload {
            builder.member(&name, value)?;
        }
        builder.finish()
    }

    /// The claims as a JWT payload object. Known claims win over extra members of the same name.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut payload = self.extra.clone();
        payload.insert("alias".into(), Value::String(self.alias.to_string()));
        payload.insert("user_id".into(), Value::String(self.user_id.to_string()));
        payload.insert("host".into(), Value::Bool(self.host));
        if let Some(n) = self.expires_in {
            payload.insert("expires_in".into(), Value::from(n));
        }
        self.registered.write_to(&mut payload);
        payload
    }
}

/// Builds [`AccessClaims`] one payload member at a time, so a parser can hand over members as
/// it reads them instead of building a map first.
///
/// Each member is checked as it arrives; [`finish`](Self::finish) checks that `alias` and
/// `user_id` were present. The caller guarantees that no member name comes twice (the token
/// crate's parser refuses duplicates); a repeated name here would overwrite.
#[derive(Debug, Default)]
pub struct AccessClaimsBuilder {
    alias: Option<AliasId>,
    user_id: Option<UserId>,
    host: Option<bool>,
    expires_in: Option<u64>,
    registered: RegisteredClaims,
    extra: Map<String, Value>,
}

impl AccessClaimsBuilder {
    /// Checks and stores one payload member.
    pub fn member(&mut self, name: &str, value: Value) -> Result<()> {
        match name {
            "alias" => {
                let s = string("alias", value)?;
                let id = AliasId::try_from(s)
                    .map_err(|e| Error::invalid("alias", format!("is not valid: {e}")))?;
                self.alias = Some(id);
            }
            "user_id" => self.user_id = Some(UserId::new(string("user_id", value)?)?),
            "host" => match value {
                Value::Bool(b) => self.host = Some(b),
                other => {
                    return Err(Error::invalid(
                        "host",
                        format!("must be true or false, not {}", json_kind(&other)),
                    ));
                }
            },
            "expires_in" => {
                let n = value.as_u64().ok_or_else(|| {
                    Error::invalid(
                        "expires_in",
                        format!(
                            "must be a whole number of seconds, 0 or more, not {}",
                            json_kind(&value)
                        ),
                    )
                })?;
                if n > NumericDate::MAX as u64 {
                    return Err(Error::invalid(
                        "expires_in",
                        format!("is out of range: at most {} seconds", NumericDate::MAX),
                    ));
                }
                self.expires_in = Some(n);
            }
            _ => {
                if let Some(value) = self.registered.accept(name, value)? {
                    self.extra.insert(name.to_owned(), value);
                }
            }
        }
        Ok(())
    }

    /// The claims, if `alias` and `user_id` were among the members.
    pub fn finish(self) -> Result<AccessClaims> {
        Ok(AccessClaims {
            alias: self.alias.ok_or(Error::MissingClaim { claim: "alias" })?,
            user_id: self
                .user_id
                .ok_or(Error::MissingClaim { claim: "user_id" })?,
            host: self.host.unwrap_or(false),
            expires_in: self.expires_in,
            registered: self.registered,
            extra: self.extra,
        })
    }
}

fn string(claim: &'static str, value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(Error::invalid(
            claim,
            format!("must be a string, not {}", json_kind(&other)),
        )),
    }
}

fn audience(claim: &'static str, value: Value) -> Result<Audience> {
    match value {
        Value::String(s) => Ok(Audience::One(s)),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(Error::invalid(
                    claim,
                    format!("must hold only strings, not {}", json_kind(&other)),
                )),
            })
            .collect::<Result<_>>()
            .map(Audience::Many),
        other => Err(Error::invalid(
            claim,
            format!(
                "must be a string or a list of strings, not {}",
                json_kind(&other)
            ),
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<AccessClaims> {
        match v {
            Value::Object(map) => AccessClaims::from_json(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn err(v: Value) -> String {
        parse(v).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn datagram_claims_parse_with_extras_kept() {
        let c = parse(json!({
            "alias": "room1", "user_id": "u1", "host": true, "expires_in": 3600,
            "iat": 1_700_000_000, "exp": 1_700_003_600.9, "iss": "Joken", "aud": ["a", "b"],
            "jti": "x", "team": "blue"
        }))
        .unwrap();
        assert_eq!(c.alias.as_str(), "room1");
        assert_eq!(c.user_id.as_str(), "u1");
        assert!(c.host);
        assert_eq!(c.expires_in, Some(3600));
        assert_eq!(c.registered.exp.map(NumericDate::secs), Some(1_700_003_600));
        assert!(c.registered.aud.as_ref().is_some_and(|a| a.contains("b")));
        assert_eq!(
            c.extra,
            json!({"team": "blue"}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn host_defaults_to_false() {
        assert!(!parse(json!({"alias": "a", "user_id": "u"})).unwrap().host);
    }

    #[test]
    fn each_bad_claim_is_named_with_its_rule() {
        let cases = [
            (json!({"user_id": "u"}), "claim `alias` is missing"),
            (json!({"alias": "a"}), "claim `user_id` is missing"),
            (
                json!({"alias": 7, "user_id": "u"}),
                "claim `alias` must be a string, not a number",
            ),
            (
                json!({"alias": "a", "user_id": ""}),
                "claim `user_id` must not be empty",
            ),
            (
                json!({"alias": "a", "user_id": "x".repeat(257)}),
                "claim `user_id` is 257 bytes long; the limit is 256",
            ),
            (
                json!({"alias": "a", "user_id": "u", "host": "yes"}),
                "claim `host` must be true or false, not a string",
            ),
            (
                json!({"alias": "a", "user_id": "u", "expires_in": -1}),
                "claim `expires_in` must be a whole number of seconds, 0 or more, not a number",
            ),
            (
                json!({"alias": "a", "user_id": "u", "expires_in": 1.5}),
                "claim `expires_in` must be a whole number of seconds, 0 or more, not a number",
            ),
            (
                json!({"alias": "a", "user_id": "u", "exp": "1700000000"}),
                "claim `exp` must be a number of seconds since 1970, not a string",
            ),
            (
                json!({"alias": "a", "user_id": "u", "exp": null}),
                "claim `exp` must be a number of seconds since 1970, not null",
            ),
            (
                json!({"alias": "a", "user_id": "u", "exp": 1e19}),
                "claim `exp` is out of range (1e+19): a date must be between 0 and 253402300799 seconds since 1970",
            ),
            (
                json!({"alias": "a", "user_id": "u", "iat": 10_000_000_000_000_000_000_u64}),
                "claim `iat` is out of range (10000000000000000000): a date must be between 0 and 253402300799 seconds since 1970",
            ),
            (
                json!({"alias": "a", "user_id": "u", "nbf": -1}),
                "claim `nbf` is out of range (-1): a date must be between 0 and 253402300799 seconds since 1970",
            ),
            (
                json!({"alias": "a", "user_id": "u", "aud": [1]}),
                "claim `aud` must hold only strings, not a number",
            ),
        ];
        for (payload, message) in cases {
            assert_eq!(err(payload.clone()), message, "payload {payload}");
        }
    }

    #[test]
    fn to_json_round_trips() {
        let mut c = AccessClaims::new(AliasId::parse("r").unwrap(), UserId::new("u").unwrap());
        c.expires_in = Some(60);
        c.registered.iat = NumericDate::from_secs(100);
        c.registered.aud = Some(Audience::One("x".into()));
        c.extra.insert("alias".into(), json!("ignored"));
        c.extra.insert("team".into(), json!(1));
        let json = c.to_json();
        assert_eq!(json["alias"], "r");
        assert_eq!(
            AccessClaims::from_json(json).unwrap().to_json(),
            c.to_json()
        );
    }

    proptest! {
        #[test]
        fn numeric_dates_parse_in_range_or_error(f in proptest::num::f64::ANY) {
            if let Some(n) = Number::from_f64(f) {
                let r = NumericDate::from_json("exp", &Value::Number(n));
                if let Ok(d) = r {
                    prop_assert!((0..=NumericDate::MAX).contains(&d.secs()));
                }
            }
        }
    }
}
