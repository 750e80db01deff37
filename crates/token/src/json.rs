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
/// No map and no list is built on the way: the top level is all the token crate reads. `part`
/// ("header" or "payload") names the segment in the error.
///
/// The text is always checked whole before an error from `each` is returned, so an invalid
/// text reports as invalid JSON whatever its members hold.
pub(crate) fn read_object<T: Default>(
    bytes: &[u8],
    part: &str,
    mut each: impl FnMut(&mut T, &str, Value) -> Result<()>,
) -> Result<T> {
    let mut folded = T::default();
    if plain::read(bytes, |name, value| each(&mut folded, name, value).ok()).is_some() {
        return Ok(folded);
    }
    // Not plain, not valid, or `each` refused a member: start over on the full reader, which
    // reads the whole text before the first member is handed over.
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

/// The common shape of a JOSE header or JWT payload, read without serde_json's machinery: one
/// object with plain member names (no escapes), no name twice, at most [`LINEAR_SCAN`] of them.
/// Plain values — strings without escapes, integers without fraction or exponent, `true`,
/// `false`, `null` — are read here; any other value (a list, an escaped string, `1.5`) is read
/// by serde_json on the spot, and the reader goes on after it.
///
/// [`plain::read`] answers `None` for any other object, and for every invalid text, and
/// [`read_object`] then starts over with serde_json, which reads any JSON and words the error.
/// So this reader only ever has to be right about what it accepts: whatever it reads, serde_json
/// reads the same (a property test holds it to that).
mod plain {
    use serde_json::Value;

    use super::{LINEAR_SCAN, Strict};

    /// Values with this many opening brackets are left to the full reader, well below
    /// serde_json's nesting limit of 128.
    const DEEP: usize = 64;

    /// Hands each member to `each` as it is read; `None` as soon as the text is not plain or
    /// `each` answers `None`.
    pub(super) fn read<'a>(
        bytes: &'a [u8],
        mut each: impl FnMut(&'a str, Value) -> Option<()>,
    ) -> Option<()> {
        // JSON text is UTF-8 (RFC 8259 §8.1): checked once for the whole text, so every slice
        // between ASCII delimiters below is valid UTF-8 too.
        let text = std::str::from_utf8(bytes).ok()?;
        let mut r = Reader { text, pos: 0 };
        r.skip_ws();
        r.eat(b'{')?;
        r.skip_ws();
        let mut names = [""; LINEAR_SCAN];
        let mut count = 0;
        if r.peek() == Some(b'}') {
            r.pos += 1;
        } else {
            loop {
                r.eat(b'"')?;
                let name = r.string()?;
                let seen = names.get(..count)?;
                if seen.contains(&name) {
                    return None;
                }
                *names.get_mut(count)? = name;
                count += 1;
                r.skip_ws();
                r.eat(b':')?;
                r.skip_ws();
                each(name, r.value()?)?;
                r.skip_ws();
                match r.next()? {
                    b',' => r.skip_ws(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        r.skip_ws();
        (r.pos == bytes.len()).then_some(())
    }

    struct Reader<'a> {
        text: &'a str,
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn peek(&self) -> Option<u8> {
            self.text.as_bytes().get(self.pos).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let b = self.peek()?;
            self.pos += 1;
            Some(b)
        }

        fn eat(&mut self, expected: u8) -> Option<()> {
            (self.next()? == expected).then_some(())
        }

        fn skip_ws(&mut self) {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.pos += 1;
            }
        }

        /// The rest of a string whose opening quote was read, if it has no escape and no
        /// control character.
        fn string(&mut self) -> Option<&'a str> {
            let rest = self.text.as_bytes().get(self.pos..)?;
            let len = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            if rest.get(len) != Some(&b'"') {
                return None;
            }
            let s = self.text.get(self.pos..self.pos + len)?;
            self.pos += len + 1;
            Some(s)
        }

        /// A value: the plain forms read here, any other handed to serde_json.
        fn value(&mut self) -> Option<Value> {
            let plain = match self.peek()? {
                b'"' => self.plain_string(),
                b't' => self.literal("true", Value::Bool(true)),
                b'f' => self.literal("false", Value::Bool(false)),
                b'n' => self.literal("null", Value::Null),
                b'-' | b'0'..=b'9' => self.integer(),
                _ => None,
            };
            plain.or_else(|| self.by_serde())
        }

        /// One value of any form — escapes, fractions, lists, nested objects (duplicates in
        /// them refused) — read by serde_json from here on; `None` if it is not a valid value.
        fn by_serde(&mut self) -> Option<Value> {
            let rest = self.text.get(self.pos..)?;
            let mut one = serde_json::Deserializer::from_str(rest).into_iter::<Strict>();
            let Strict(value) = one.next()?.ok()?;
            let read = rest.get(..one.byte_offset())?;
            // This deserializer started one level below the object, so its nesting limit (128)
            // is one deeper than the full reader's: leave deep values to the full reader. (Brackets
            // inside strings count too, which only makes this more cautious.)
            if read.bytes().filter(|b| matches!(b, b'[' | b'{')).count() >= DEEP {
                return None;
            }
            self.pos += read.len();
            Some(value)
        }

        fn plain_string(&mut self) -> Option<Value> {
            let start = self.pos;
            self.pos += 1;
            let s = self.string();
            if s.is_none() {
                self.pos = start;
            }
            s.map(|s| Value::String(s.to_owned()))
        }

        fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
            let rest = self.text.get(self.pos..)?;
            rest.starts_with(word).then(|| {
                self.pos += word.len();
                value
            })
        }

        /// `0`, `[1-9][0-9]*` or `-[1-9][0-9]*` that fits `u64` (`i64` if negative), read to
        /// the same `Number` serde_json makes. Anything else — `-0` (a float to serde_json),
        /// fractions, exponents, integers too large (floats to serde_json) — is left to serde_json.
        fn integer(&mut self) -> Option<Value> {
            let negative = self.peek() == Some(b'-');
            let start = self.pos + usize::from(negative);
            let rest = self.text.as_bytes().get(start..)?;
            let mut magnitude: u64 = 0;
            let mut digits = 0;
            for &b in rest.iter().take_while(|b| b.is_ascii_digit()) {
                magnitude = magnitude
                    .checked_mul(10)?
                    .checked_add(u64::from(b - b'0'))?;
                digits += 1;
            }
            let leading_zero = rest.first() == Some(&b'0');
            if digits == 0
                || (leading_zero && (digits > 1 || negative))
                || matches!(rest.get(digits), Some(b'.' | b'e' | b'E'))
            {
                return None;
            }
            let value = if negative {
                Value::from(0i64.checked_sub_unsigned(magnitude)?)
            } else {
                Value::from(magnitude)
            };
            self.pos = start + digits;
            Some(value)
        }
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
    use proptest::prelude::*;

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

    /// What the plain reader reads, as a list.
    fn plain_members(bytes: &[u8]) -> Option<Members<'_>> {
        let mut read = Vec::new();
        plain::read(bytes, |name, value| {
            read.push((Cow::Borrowed(name), value));
            Some(())
        })
        .map(|()| read)
    }

    /// The plain reader takes the shapes tokens have (so the fast path is the one they take),
    /// has serde_json read values of other forms, and leaves the rest to serde_json.
    #[test]
    fn plain_reader_takes_common_tokens_and_leaves_the_rest() {
        let taken = [
            &br#"{"alg":"HS256","typ":"JWT"}"#[..],
            br#"{"alias":"Vx3kQ9_aZ-1qW8nT2bC5dE","user_id":"user-42","host":true,"expires_in":3600,"iat":1700000000,"exp":1700003600}"#,
            br#" { "aud" : "Joken" , "nbf" : 0 , "x" : null , "y" : false , "n" : -42 } "#,
            r#"{"big":18446744073709551615,"neg":-9223372036854775808,"s":"été"}"#.as_bytes(),
            b"{}",
        ];
        // Values of other forms are read by serde_json in place.
        let handed_over = [
            &br#"{"a":"\u0065","b":1}"#[..],
            br#"{"a":1.5,"b":1e3,"c":-0}"#,
            br#"{"a":18446744073709551616,"b":-9223372036854775809}"#,
            br#"{"aud":["x","y"],"b":{"c":[{}]},"d":"\ud83d\ude00"}"#,
        ];
        for bytes in taken.into_iter().chain(handed_over) {
            let plain = plain_members(bytes);
            assert!(plain.is_some(), "{}", String::from_utf8_lossy(bytes));
            assert_eq!(plain.ok_or(()), members(bytes, "payload").map_err(|_| ()));
        }
        // Nested as deep as serde_json's limit allows from the top, or one deeper.
        let deep = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        for n in [126, 127, 128] {
            let text = deep(n);
            assert_eq!(plain_members(text.as_bytes()), None, "{n} deep");
            // The full reader decides: 127 levels inside the object is over its limit.
            assert_eq!(
                members(text.as_bytes(), "payload").is_ok(),
                n < 127,
                "{n} deep"
            );
        }
        let left = [
            &br#"{"\u0065":1}"#[..],
            br#"{"a":1,"a":2}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"{"a":[1,]}"#,
            br#"{"a":1.}"#,
            br#"{"a":"x"1}"#,
            br#"{"a":01}"#,
            br#"{"a":1,}"#,
            br#"{"a":tru}"#,
            br#"{"a":"tab	in"}"#,
            b"{\"a\":\"\xff\"}",
            b"[]",
            b"{} x",
        ];
        for bytes in left {
            assert_eq!(
                plain_members(bytes),
                None,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    /// JSON-like text from pieces that meet at the plain reader's edges: escapes, number forms,
    /// literals cut short, whitespace, nesting, repeated names.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            " ",
            "\t",
            "\n",
            "\u{b}",
            "\"",
            "\"a\"",
            "\"b\"",
            "\"\\u0061\"",
            "\"\\\"",
            "\\",
            "0",
            "1",
            "9",
            "-",
            "-0",
            "01",
            ".",
            "5e",
            "E",
            "+",
            "true",
            "tru",
            "false",
            "null",
            "nul",
            "é",
            "\u{0}",
            "\u{1f}",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
        ]);
        // Objects whose values take every form, valid or nearly, then maybe one byte changed.
        let values = prop::sample::select(vec![
            "\"x\"",
            "\"\\u00e9\"",
            "\"\\ud83d\"",
            "\"\\q\"",
            "1",
            "-1",
            "-0",
            "1.5",
            "1.",
            "1e400",
            "-9223372036854775809",
            "18446744073709551616",
            "true",
            "nul",
            "[]",
            "[1,]",
            "[\"a\",{}]",
            "{\"b\":1,\"b\":2}",
            "{\"b\":[1]}",
            "\"x\"y",
            "01",
        ]);
        let objects = (
            prop::collection::vec(
                (prop::sample::select(vec!["a", "b", "aud", "a"]), values),
                0..6,
            ),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>(),
        )
            .prop_map(|(members, at, byte, mutate)| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                let mut text = format!("{{{}}}", body.join(",")).into_bytes();
                if mutate {
                    let i = at.index(text.len());
                    text[i] = byte;
                }
                text
            });
        prop_oneof![
            prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..48),
            objects,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever the plain reader accepts, serde_json accepts with the same members.
        #[test]
        fn plain_reader_agrees_with_serde_json(bytes in jsonish()) {
            if let Some(plain) = plain_members(&bytes) {
                prop_assert_eq!(Ok(plain), members(&bytes, "payload").map_err(|e| e.to_string()));
            }
        }

        /// Objects of plain members, however spaced, take the fast path and read the same.
        #[test]
        fn plain_reader_takes_plain_objects(
            plain_object in prop::collection::btree_map("[a-z_]{1,8}", prop_oneof![
                "[^\"\\\\\\x00-\\x1f]{0,12}".prop_map(Value::String),
                any::<bool>().prop_map(Value::Bool),
                any::<u64>().prop_map(Value::from),
                (i64::MIN + 1..0).prop_map(Value::from),
                Just(Value::Null),
            ], 0..LINEAR_SCAN),
            ws in prop::sample::select(vec!["", " ", "\n\t ", "\r\n"]),
        ) {
            let body: Vec<String> = plain_object
                .iter()
                .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
                .collect();
            let text = format!("{ws}{{{}}}{ws}", body.join(","));
            let plain = plain_members(text.as_bytes());
            prop_assert!(plain.is_some(), "{}", text);
            prop_assert_eq!(Ok(plain.unwrap_or_default()), members(text.as_bytes(), "payload").map_err(|e| e.to_string()));
        }
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
