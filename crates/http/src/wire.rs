//! The JSON shapes of the Datagram alias API (DESIGN §4): request bodies in, aliases out.

use aliaskit_domain::{Alias, AliasKind, AliasPatch, NewAlias, Patch, Sensitive};
use serde::{Deserialize, Deserializer, Serialize};

/// An alias on the wire: every key present, absent values `null`, times in Unix seconds.
#[derive(Debug, Serialize)]
pub struct AliasJson<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    name: Option<&'a str>,
    passcode: Option<&'a str>,
    jwt_secret: Option<&'a str>,
    stream_key: Option<&'a str>,
    expired_at: i64,
    inserted_at: i64,
}

impl<'a> From<&'a Alias> for AliasJson<'a> {
    fn from(a: &'a Alias) -> Self {
        AliasJson {
            id: a.id.as_str(),
            kind: a.kind.as_str(),
            name: a.name.as_deref(),
            passcode: a.passcode.as_ref().map(Sensitive::expose),
            jwt_secret: a.jwt_secret.as_ref().map(Sensitive::expose),
            stream_key: a.stream_key.as_ref().map(Sensitive::expose),
            expired_at: a.expired_at,
            inserted_at: a.inserted_at,
        }
    }
}

/// The create body. Unknown members are refused, so a misspelt `passcod` cannot silently
/// create an alias without a passcode.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(rename = "type")]
    kind: AliasKind,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    passcode: Option<String>,
    #[serde(default)]
    jwt_secret: Option<String>,
    #[serde(default)]
    stream_key: Option<String>,
    expired_at: i64,
}

impl From<CreateBody> for NewAlias {
    fn from(b: CreateBody) -> Self {
        NewAlias {
            kind: b.kind,
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(rename = "type")]
    kind: AliasKind,
    #[serde(default, deserialize_with = "patch")]
    name: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    passcode: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    jwt_secret: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    stream_key: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
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
            kind: b.kind,
            name: b.name,
            passcode: sensitive(b.passcode),
            jwt_secret: sensitive(b.jwt_secret),
            stream_key: sensitive(b.stream_key),
            expired_at: b.expired_at,
        }
    }
}
