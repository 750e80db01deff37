//! Strict JSON for JOSE headers and JWT payloads: an object, and no member name twice at any
//! depth (RFC 7515 §5.2 lets a parser reject duplicates; RFC 8725 §3.11 advises it, because two
//! parsers that pick different duplicates see different claims).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

use crate::{Result, TokenError};

/// Parses `bytes` as a JSON object with no duplicate member names at any depth and hands its
/// members, in order, to `each`, which folds them into a `T` that starts as `T::default()`.
/// The members go to `each` as serde_json reads them: no list or map of the top level is built,
/// and a name is borrowed from the input where it has no escapes. `part` ("header" or
/// "payload") names the segment in the error.
///
/// The text is always checked whole before an error from `each` is returned, so an invalid
/// text reports as invalid JSON whatever its members hold; after `each`'s first error, the
/// rest is read but no longer handed over.
pub(crate) fn read_object<T: Default, F: FnMut(&mut T, &str, Value) -> Result<()>>(
    bytes: &[u8],
    part: &str,
    each: F,
) -> Result<T> {
    let mut top = Top {
        folded: T::default(),
        each,
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = (&mut de)
        .deserialize_any(&mut top)
        .and_then(|object| de.end().map(|()| object));
    match parsed {
        Ok(true) => match top.refused {
            Some(e) => Err(e),
            None => Ok(top.folded),
        },
        Ok(false) => Err(TokenError::malformed(format!(
            "the {part} is not a JSON object"
        ))),
        Err(e) => Err(TokenError::malformed(format!(
            "the {part} is not valid JSON: {e}"
        ))),
    }
}

/// [`read_object`] collected into a map.
pub(crate) fn object(bytes: &[u8], part: &str) -> Result<Map<String, Value>> {
    read_object(bytes, part, |map: &mut Map<String, Value>, name, value| {
        map.insert(name.to_owned(), value);
        Ok(())
    })
}

/// Up to this many members, duplicates are found by a linear scan over names kept on the stack
/// (cheaper than hashing for the handful of members a token has); beyond it, by a hash set, so
/// a header stuffed with thousands of members costs linear time, not quadratic.
const LINEAR_SCAN: usize = 16;

/// The top level: an object, whose members go to `each` (the visitor answers `true`); anything
/// else is read through strictly and answers `false`.
struct Top<T, F> {
    folded: T,
    each: F,
    /// `each`'s first error; reading goes on so that invalid JSON later still reports as such.
    refused: Option<TokenError>,
}

impl<'de, T, F: FnMut(&mut T, &str, Value) -> Result<()>> Visitor<'de> for &mut Top<T, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        // Read it through, strictly, so a duplicate inside still reports as such.
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<bool, A::Error> {
        let mut names: SmallVec<[Cow<'de, str>; LINEAR_SCAN]> = SmallVec::new();
        let mut index: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(Key(key)) = access.next_key()? {
            let duplicate = match &mut index {
                Some(set) => !set.insert(key.clone()),
                None => names.contains(&key),
            };
            if duplicate {
                return Err(twice(&key));
            }
            let Strict(value) = access.next_value()?;
            if self.refused.is_none()
                && let Err(e) = (self.each)(&mut self.folded, &key, value)
            {
                self.refused = Some(e);
            }
            if index.is_none() {
                if names.len() < LINEAR_SCAN {
                    names.push(key);
                } else {
                    let mut set: HashSet<Cow<'de, str>> = names.drain(..).collect();
                    set.insert(key);
                    index = Some(set);
                }
            }
        }
        Ok(true)
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
    fn finds_a_duplicate_at_the_switch_from_scan_to_set() {
        for at in [15, 16, 17] {
            let mut many: Vec<String> = (0..at).map(|i| format!("\"m{i}\":{i}")).collect();
            many.push("\"m0\":0".into());
            assert!(
                reason(format!("{{{}}}", many.join(",")).as_bytes())
                    .contains("member \"m0\" appears twice"),
                "duplicate after {at} members"
            );
        }
    }

    #[test]
    fn an_invalid_text_reports_as_invalid_whatever_the_callback_refused() {
        let refuse = |_: &mut (), name: &str, _: Value| -> Result<()> {
            Err(TokenError::malformed(format!("refused {name}")))
        };
        let err = read_object(br#"{"a":1,"b":2,"b":3}"#, "payload", refuse).err();
        assert!(err.is_some_and(|e| e.to_string().contains("appears twice")));
        let err = read_object(br#"{"a":1,"b":2} x"#, "payload", refuse).err();
        assert!(err.is_some_and(|e| e.to_string().contains("trailing characters")));
        // A valid text: the callback's first refusal is the answer.
        let err = read_object(br#"{"a":1,"b":2}"#, "payload", refuse).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("malformed token: refused a".into())
        );
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
