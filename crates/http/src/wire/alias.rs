//! The JSON of the Datagram alias API (`docs/api.md`): request bodies in, aliases out. Each type
//! is both what the handlers read or write and, through `ToSchema`, its OpenAPI schema.

use std::str::FromStr;

use aliaskit_domain::{Alias, AliasKind, AliasPatch, NewAlias, Patch, Sensitive};
use aliaskit_service::{AliasStatus, TokenCheck};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// `conference` or `live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AliasType {
    /// A conference room.
    Conference,
    /// A live stream.
    Live,
}

impl From<AliasKind> for AliasType {
    fn from(kind: AliasKind) -> Self {
        match kind {
            AliasKind::Conference => AliasType::Conference,
            AliasKind::Live => AliasType::Live,
        }
    }
}

impl From<AliasType> for AliasKind {
    fn from(kind: AliasType) -> Self {
        match kind {
            AliasType::Conference => AliasKind::Conference,
            AliasType::Live => AliasKind::Live,
        }
    }
}

/// `status` of the listing: `active` (not yet past `expired_at`) or `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListStatus {
    /// Not yet past `expired_at`.
    Active,
    /// Past `expired_at`, not yet purged.
    Expired,
}

/// `active` or `expired`, exactly; anything else is `Err(())`.
impl FromStr for ListStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(ListStatus::Active),
            "expired" => Ok(ListStatus::Expired),
            _ => Err(()),
        }
    }
}

impl From<ListStatus> for AliasStatus {
    fn from(status: ListStatus) -> Self {
        match status {
            ListStatus::Active => AliasStatus::Active,
            ListStatus::Expired => AliasStatus::Expired,
        }
    }
}

/// `{"data": Alias}`.
// Serialized straight from the alias, with no intermediate `serde_json::Value`: one allocation
// less per key on the hot retrieve, and no extra copy of a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AliasData<'a> {
    /// The alias.
    pub data: AliasJson<'a>,
}

/// `200 {"data": Alias}`.
pub fn alias_answer(alias: &Alias) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(AliasData {
        data: AliasJson::from(alias),
    })
}

/// `{"data": {"entries": [Alias…], "after": cursor or null}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AliasList<'a> {
    /// One page.
    pub data: AliasPage<'a>,
}

/// One page of the listing, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AliasPage<'a> {
    /// The aliases on this page.
    pub entries: Vec<AliasJson<'a>>,
    /// The cursor for the next page (`?after=`), `null` on the last page.
    #[schema(value_type = Option<String>, required = true)]
    pub after: Option<&'a str>,
}

/// An alias on the wire: every key present, absent values `null`, times in Unix seconds.
#[derive(Serialize, ToSchema)]
#[schema(as = Alias)]
pub struct AliasJson<'a> {
    /// The alias id: random, URL-safe, 1–64 characters of `[A-Za-z0-9_-]`.
    #[schema(value_type = String, example = "Vx3kQ9aZ1mT4")]
    id: &'a str,
    /// `conference` or `live`.
    #[serde(rename = "type")]
    kind: AliasType,
    /// Display name.
    #[schema(value_type = Option<String>, required = true)]
    name: Option<&'a str>,
    /// Shared passcode (`?passcode=`); `null` for viewers who may not see it.
    #[schema(value_type = Option<String>, required = true)]
    passcode: Option<&'a str>,
    /// HMAC secret for access tokens; only in the organization's answers, `null` on retrieve.
    #[schema(value_type = Option<String>, required = true)]
    jwt_secret: Option<&'a str>,
    /// Stream key; `null` for viewers who may not see it.
    #[schema(value_type = Option<String>, required = true)]
    stream_key: Option<&'a str>,
    /// Expiry, Unix seconds.
    #[schema(example = 1_893_456_000)]
    expired_at: i64,
    /// Creation time, Unix seconds.
    #[schema(example = 1_737_456_308)]
    inserted_at: i64,
}

/// Says whether the secrets are there, never what they are.
impl std::fmt::Debug for AliasJson<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: Option<&str>| v.map(|_| "<redacted>");
        f.debug_struct("AliasJson")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("passcode", &redacted(self.passcode))
            .field("jwt_secret", &redacted(self.jwt_secret))
            .field("stream_key", &redacted(self.stream_key))
            .field("expired_at", &self.expired_at)
            .field("inserted_at", &self.inserted_at)
            .finish()
    }
}

impl<'a> From<&'a Alias> for AliasJson<'a> {
    fn from(a: &'a Alias) -> Self {
        AliasJson {
            id: a.id.as_str(),
            kind: a.kind.into(),
            name: a.name.as_deref(),
            passcode: a.passcode.as_ref().map(Sensitive::expose),
            jwt_secret: a.jwt_secret.as_ref().map(Sensitive::expose),
            stream_key: a.stream_key.as_ref().map(Sensitive::expose),
            expired_at: a.expired_at,
            inserted_at: a.inserted_at,
        }
    }
}

/// The token-check body: `{"token": "…"}`, the access token as an end user would present it
/// (without `Bearer `). No `Debug`, so the token cannot reach a log line.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenCheckRequest)]
pub struct TokenCheckBody {
    /// The access token.
    pub token: String,
}

/// `{"data": TokenCheck}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCheckData {
    /// The verdict.
    pub data: TokenCheckJson,
}

/// Why the retrieve would admit or refuse a token, by its own rules.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TokenCheck)]
pub struct TokenCheckJson {
    /// Whether `GET /api/v1/alias/{id}` admits the token's bearer now.
    pub valid: bool,
    /// Why not: the `error_description` code the retrieve's `WWW-Authenticate` would carry
    /// (`malformed_token`, `unsupported_algorithm`, `bad_signature`, `alias_mismatch`,
    /// `token_expired`, `token_not_yet_valid`, `token_issued_in_future`,
    /// `token_missing_expiry`, `token_lifetime_too_long`, `token_revoked`, `invalid_claims`),
    /// or `alias_expired`; `null` when valid.
    pub code: Option<String>,
    /// In words, for a person.
    pub message: String,
    /// The token's payload as signed; `null` unless its signature verifies under one of the
    /// alias's secrets.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the token stops being accepted (Unix seconds: the earlier of `exp` and
    /// `iat + expires_in`, before the leeway); `null` when its claims cannot be read.
    pub expires_at: Option<i64>,
    /// Its `host` claim; `null` when its claims cannot be read.
    pub host: Option<bool>,
}

impl From<TokenCheck> for TokenCheckJson {
    fn from(c: TokenCheck) -> Self {
        TokenCheckJson {
            valid: c.valid,
            code: c.code.map(str::to_owned),
            message: c.message,
            claims: c.claims,
            expires_at: c.expires_at,
            host: c.host,
        }
    }
}

/// The create body. Unknown members are refused, so a misspelt `passcod` cannot silently
/// create an alias without a passcode.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AliasCreate)]
pub struct CreateBody {
    /// `conference` or `live`.
    #[serde(rename = "type")]
    kind: AliasType,
    /// Display name, at most 255 characters.
    #[serde(default)]
    #[schema(max_length = 255)]
    name: Option<String>,
    /// Passcode for `?passcode=`, 1–128 bytes; `null` or absent for none.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    passcode: Option<String>,
    /// HMAC secret the organization signs access tokens with: 32–512 bytes (the floor is
    /// `tokens.min_secret_bytes`, 32 by default, RFC 7518 §3.2); `null` or absent for none.
    #[serde(default)]
    #[schema(min_length = 32, max_length = 512)]
    jwt_secret: Option<String>,
    /// Stream key, 1–256 bytes; `null` or absent for none.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    stream_key: Option<String>,
    /// Expiry in Unix seconds, in the future; values above 10¹¹ are refused as milliseconds.
    #[schema(maximum = 100_000_000_000_i64, example = 1_893_456_000)]
    expired_at: i64,
}

impl From<CreateBody> for NewAlias {
    fn from(b: CreateBody) -> Self {
        NewAlias {
            kind: b.kind.into(),
            name: b.name,
            passcode: b.passcode.map(Sensitive::from),
            jwt_secret: b.jwt_secret.map(Sensitive::from),
            stream_key: b.stream_key.map(Sensitive::from),
            expired_at: b.expired_at,
        }
    }
}

/// The update body: `type` required (as in Datagram); other members absent = keep, `null` =
/// clear.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AliasUpdate)]
pub struct UpdateBody {
    /// `conference` or `live`; required, as in Datagram.
    #[serde(rename = "type")]
    kind: AliasType,
    /// Display name, at most 255 characters; `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>, max_length = 255)]
    name: Patch<String>,
    /// Passcode, 1–128 bytes; `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 128)]
    passcode: Patch<String>,
    /// HMAC secret, 32–512 bytes by default; replaces the old one at once (use
    /// `rotate-secret` for a grace period); `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>, min_length = 32, max_length = 512)]
    jwt_secret: Patch<String>,
    /// Stream key, 1–256 bytes; `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 256)]
    stream_key: Patch<String>,
    /// New expiry in Unix seconds, in the future; cannot be cleared (`null` is refused).
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = i64, maximum = 100_000_000_000_i64, example = 1_893_456_000)]
    expired_at: Patch<i64>,
}

/// Present: `null` → clear, a value → set. (Absent is `Patch::Keep` by `#[serde(default)]`.)
fn patch<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Patch<T>, D::Error> {
    Ok(match Option::<T>::deserialize(d)? {
        None => Patch::Clear,
        Some(v) => Patch::Set(v),
    })
}

fn sensitive(p: Patch<String>) -> Patch<Sensitive> {
    match p {
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
        Patch::Set(s) => Patch::Set(Sensitive::from(s)),
    }
}

impl From<UpdateBody> for AliasPatch {
    fn from(b: UpdateBody) -> Self {
        AliasPatch {
            kind: b.kind.into(),
            name: b.name,
            passcode: sensitive(b.passcode),
            jwt_secret: sensitive(b.jwt_secret),
            stream_key: sensitive(b.stream_key),
            expired_at: b.expired_at,
        }
    }
}
