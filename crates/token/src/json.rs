//! Strict JSON for JOSE headers and JWT payloads: an object, and no member name twice at any
//! depth (RFC 7515 §5.2 lets a parser reject duplicates; RFC 8725 §3.11 advises it, because two
//! parsers that pick different duplicates see different claims).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{Result, TokenError};

/// The members of a JSON object, in order, names borrowed from the input where it has no escapes.
type Members<'a> = Vec<(Cow<'a, str>, Value)>;

/// Parses `bytes` as a JSON object with no duplicate member names at any depth and hands its
/// members, in order, to `each`, which folds them into a `T` that starts as `T::default()`.
/// The top level is gathered in a small list (names borrowed where they have no escapes) and
/// no map is built: the top level is all the token crate reads. `part` ("header" or
/// "payload") names the segment in the error.
///
/// The text is always checked whole before an error from `each` is returned, so an invalid
/// text reports as invalid JSON whatever its members hold.
pub(crate) fn read_object<T: Default>(
    bytes: &[u8],
    part: &str,
    mut each: impl FnMut(&mut T, &str, Value) -> Result<()>,
) -> Result<T> {
    let mut folded = T::default();
    for (name, value) in members(bytes, part)? {
        each(&mut folded, &name, value)?;
    }
    Ok(folded)
}

/// [`read_object`] collected into a map.
pub(crate) fn object(bytes: &[u8], part: &str) -> Result<Map<String, Value>> {
    read_object(bytes, part, |map: &mut Map<String, Value>, name, value| {
        map.insert(name.to_owned(), value);
        Ok(())
    })
}

/// The members of any JSON object through serde_json, which reads every JSON text and words
/// the errors.
fn members<'a>(bytes: &'a [u8], part: &str) -> Result<Members<'a>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = (&mut de)
        .deserialize_any(TopVisitor)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(Some(members)) => Ok(members),
        Ok(None) => Err(TokenError::malformed(format!(
            "the {part} is not a JSON object"
        ))),
        Err(e) => Err(TokenError::malformed(format!(
            "the {part} is not valid JSON: {e}"
        ))),
    }
}

/// Up to this many members, duplicates are found by a linear scan (cheaper than hashing for
/// the handful of members a token has); beyond it, by a hash set, so a header stuffed with
/// thousands of members costs linear time, not quadratic.
const LINEAR_SCAN: usize = 16;

/// The top level: an object, read into [`Members`]; anything else is `None`.
struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Option<Members<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        // Read it through, strictly, so a duplicate inside still reports as such.
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut access: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut members: Members<'de> = Vec::with_capacity(8);
        let mut index: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(Key(key)) = access.next_key()? {
            let duplicate = match &mut index {
                Some(set) => !set.insert(key.clone()),
                None => members.iter().any(|(k, _)| *k == key),
            };
            if duplicate {
                return Err(twice(&key));
            }
            let Strict(value) = access.next_value()?;
            members.push((key, value));
            if index.is_none() && members.len() > LINEAR_SCAN {
                index = Some(members.iter().map(|(k, _)| k.clone()).collect());
            }
        }
        Ok(Some(members))
    }
}

fn twice<E: de::Error>(key: &str) -> E {
    E::custom(format_args!(
        "member {} appears twice",
        aliaskit_domain::Error::shown(key)
    ))
}

/// A member name, borrowed from the input when it needs no unescaping.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Any JSON value, refusing duplicate member names in nested objects.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Strict, E> {
        Number::from_f64(v)
            .map(|n| Strict(Value::Number(n)))
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Strict, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(twice(&key));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Strict(Value::Object(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(bytes: &[u8]) -> String {
        object(bytes, "payload")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn parses_objects_and_refuses_duplicates_at_any_depth() {
        assert_eq!(
            object(br#"{"a":1,"b":[{"c":null}]}"#, "payload").map(|m| m.len()),
            Ok(2)
        );
        assert_eq!(
            reason(br#"{"exp":1,"exp":2}"#),
            "malformed token: the payload is not valid JSON: member \"exp\" appears twice at line 1 column 14"
        );
        assert!(reason(br#"{"a":{"b":1,"b":1}}"#).contains("member \"b\" appears twice"));
    }

    #[test]
    fn finds_duplicates_among_many_members_too() {
        let mut many: Vec<String> = (0..40).map(|i| format!("\"m{i}\":{i}")).collect();
        assert_eq!(
            object(format!("{{{}}}", many.join(",")).as_bytes(), "header").map(|m| m.len()),
            Ok(40)
        );
        many.push("\"m3\":0".into());
        assert!(
            reason(format!("{{{}}}", many.join(",")).as_bytes())
                .contains("member \"m3\" appears twice")
        );
        // An escaped spelling of the same name is the same name.
        assert!(reason(br#"{"exp":1,"\u0065xp":2}"#).contains("member \"exp\" appears twice"));
    }

    #[test]
    fn refuses_non_objects_and_trailing_data() {
        assert_eq!(
            reason(b"[]"),
            "malformed token: the payload is not a JSON object"
        );
        assert!(reason(b"{} {}").contains("trailing characters"));
        assert!(reason(b"{\"a\":1e400}").contains("number out of range"));
    }
}
