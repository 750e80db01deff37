//! Long property runs over `Tokens::verify_access` (issue 5, part 4), beyond `props`: arbitrary
//! bytes, arbitrary base64url segments, structured headers and payloads with a valid MAC judged
//! by an independent oracle, and multi-edit mutations of valid tokens.
//!
//! Case counts are sized for the debug test run; `ALIASKIT_LONG_FUZZ=1` runs 50 times as many
//! (see docs/security.md).

use aliaskit_token::Algorithm;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::*;
use aliaskit_domain::testing::config;

/// A JSON value of the kinds a claim or header member may hold, biased toward the edges of
/// what the rules accept.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        // Dates around NOW, inside and outside the leeway and lifetime bounds.
        (-200_000i64..200_000).prop_map(|d| (NOW + d).to_string()),
        (-100_000_000i64..100_000_000).prop_map(|d| (NOW + d).to_string()),
        prop::sample::select(vec![
            "0",
            "-1",
            "1e19",
            "-1e19",
            "1e400",
            "1e-400",
            "-0.0",
            "0.5",
            "253402300799",
            "253402300800",
            "9223372036854775807",
            "18446744073709551616",
            "3600",
            "7200",
            "86400",
            "86401",
            "1.7976931348623157e308",
        ])
        .prop_map(str::to_owned),
        (-1e12f64..1e12).prop_map(|f| format!("{f:?}")),
        (0.0f64..600.0).prop_map(move |f| format!("{:?}", NOW as f64 + f)),
        prop::sample::select(vec![
            "true",
            "false",
            "null",
            "[]",
            "{}",
            "\"\"",
            "\"JWT\"",
            "\"jwt\"",
            "\"JOSE\"",
            "\"room-1\"",
            "\"room-2\"",
            "\"ROOM-1\"",
            "\"room-1 \"",
            "\"alice\"",
            "\"HS256\"",
            "\"none\"",
            "[\"room-1\"]",
            "{\"a\":1,\"a\":2}",
            "\"\\u0000\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}".prop_map(|s| Value::String(s).to_string()),
    ]
}

/// Mostly `good`, sometimes `hostile` (one in eight).
fn mostly(
    good: impl Strategy<Value = String> + 'static,
    hostile: impl Strategy<Value = String> + 'static,
) -> BoxedStrategy<String> {
    prop_oneof![7 => good, 1 => hostile].boxed()
}

fn text(options: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(options.to_vec())
        .prop_map(str::to_owned)
        .boxed()
}

/// A member that is present with probability `weight` in 10.
fn maybe(
    name: &'static str,
    weight: u32,
    value: BoxedStrategy<String>,
) -> BoxedStrategy<Option<(String, String)>> {
    prop_oneof![
        10 - weight => Just(None),
        weight => value.prop_map(move |v| Some((name.to_owned(), v))),
    ]
    .boxed()
}

/// Shuffles `members` and, rarely, repeats one of them with another value.
fn arrange(
    members: BoxedStrategy<Vec<Option<(String, String)>>>,
) -> impl Strategy<Value = Vec<(String, String)>> {
    (
        members,
        any::<u64>(),
        prop::option::weighted(0.05, (any::<prop::sample::Index>(), value())),
    )
        .prop_map(|(members, seed, repeat)| {
            let mut members: Vec<(String, String)> = members.into_iter().flatten().collect();
            // A cheap deterministic shuffle from the generated seed.
            let n = members.len();
            for i in (1..n).rev() {
                let j = (seed.rotate_left(i as u32) % (i as u64 + 1)) as usize;
                members.swap(i, j);
            }
            if let (Some((at, v)), false) = (repeat, members.is_empty()) {
                let name = members[at.index(n)].0.clone();
                members.push((name, v));
            }
            members
        })
}

/// Header members: an `alg` (usually an HMAC), perhaps `typ`, perhaps others.
fn header() -> impl Strategy<Value = Vec<(String, String)>> {
    let members = vec![
        maybe(
            "alg",
            10,
            mostly(
                text(&["\"HS256\"", "\"HS384\"", "\"HS512\""]),
                text(&["\"none\"", "\"RS256\"", "\"hs256\"", "\"\"", "null", "256"]),
            ),
        ),
        maybe(
            "typ",
            5,
            mostly(text(&["\"JWT\"", "\"jwt\""]), value().boxed()),
        ),
        maybe("kid", 2, value().boxed()),
        maybe("jku", 1, value().boxed()),
        maybe("crit", 1, value().boxed()),
        maybe("x", 2, value().boxed()),
    ];
    arrange(members.boxed())
}

/// Payload members: the claims the rules read, each mostly plausible and sometimes hostile,
/// in any order, rarely twice.
fn payload() -> impl Strategy<Value = Vec<(String, String)>> {
    let near = |from: i64, to: i64| (from..to).prop_map(|d| (NOW + d).to_string());
    let members = vec![
        maybe(
            "alias",
            10,
            mostly(
                text(&["\"room-1\""]),
                text(&[
                    "\"room-2\"",
                    "\"ROOM-1\"",
                    "\"room-1\\u0000\"",
                    "[\"room-1\"]",
                    "null",
                ]),
            ),
        ),
        maybe(
            "user_id",
            10,
            mostly(
                text(&["\"alice\""]),
                prop_oneof![
                    text(&["\"\"", "5", "null"]),
                    "[a-z]{250,260}".prop_map(|s| format!("\"{s}\""))
                ]
                .boxed(),
            ),
        ),
        maybe("host", 3, mostly(text(&["true", "false"]), value().boxed())),
        maybe("iat", 7, mostly(near(-90_000, 120), value().boxed())),
        maybe("nbf", 2, mostly(near(-90_000, 120), value().boxed())),
        maybe("exp", 8, mostly(near(-120, 90_000), value().boxed())),
        maybe(
            "expires_in",
            3,
            mostly((0u32..90_000).prop_map(|n| n.to_string()), value().boxed()),
        ),
        maybe("iss", 1, value().boxed()),
        maybe("aud", 1, value().boxed()),
        maybe("jti", 1, value().boxed()),
    ];
    arrange(members.boxed())
}

fn object(members: &[(String, String)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// What a token whose members are these must satisfy if it was accepted: every rule of `docs/security.md`
/// §6, checked here from the generated members without aliaskit's code.
fn acceptable(
    header: &[(String, String)],
    payload: &[(String, String)],
    mac_alg: &str,
) -> Result<(), String> {
    fn unique(members: &[(String, String)]) -> Result<Vec<(String, Value)>, String> {
        let mut seen = Vec::new();
        for (k, v) in members {
            if seen.iter().any(|(s, _): &(String, Value)| s == k) {
                return Err(format!("duplicate {k}"));
            }
            // A value that is not JSON (1e400, a lone surrogate) or holds a duplicate inside
            // cannot be accepted either.
            let parsed: Value = serde_json::from_str(v).map_err(|e| format!("{k}: {e}"))?;
            if v.contains("\"a\":1,\"a\":2") {
                return Err(format!("{k}: nested duplicate"));
            }
            seen.push((k.clone(), parsed));
        }
        Ok(seen)
    }
    let header = unique(header)?;
    let payload = unique(payload)?;
    let get =
        |m: &[(String, Value)], k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get(&header, "alg") != Some(json!(mac_alg)) {
        return Err(format!("alg {:?} for a {mac_alg} MAC", get(&header, "alg")));
    }
    if get(&header, "crit").is_some() {
        return Err("crit".into());
    }
    match get(&header, "typ") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("jwt") => {}
        Some(t) => return Err(format!("typ {t}")),
    }
    if get(&payload, "alias") != Some(json!(ALIAS)) {
        return Err("alias".into());
    }
    match get(&payload, "user_id") {
        Some(Value::String(u)) if !u.is_empty() && u.len() <= 256 => {}
        u => return Err(format!("user_id {u:?}")),
    }
    match get(&payload, "host") {
        None | Some(Value::Bool(_)) => {}
        h => return Err(format!("host {h:?}")),
    }
    for k in ["iss", "jti"] {
        match get(&payload, k) {
            None | Some(Value::String(_)) => {}
            v => return Err(format!("{k} {v:?}")),
        }
    }
    match get(&payload, "aud") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        v => return Err(format!("aud {v:?}")),
    }
    let date = |k: &str| -> Result<Option<i64>, String> {
        match get(&payload, k) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let f = n.as_f64().ok_or("not f64")?.floor();
                if (0.0..=253_402_300_799.0).contains(&f) {
                    Ok(Some(f as i64))
                } else {
                    Err(format!("{k} out of range"))
                }
            }
            Some(v) => Err(format!("{k} {v}")),
        }
    };
    let (exp, iat, nbf) = (date("exp")?, date("iat")?, date("nbf")?);
    let expires_in = match get(&payload, "expires_in") {
        None => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or("expires_in not a whole number")?),
        Some(v) => return Err(format!("expires_in {v}")),
    };
    let from_expires_in = match (iat, expires_in) {
        (Some(i), Some(e)) => Some(i.saturating_add(i64::try_from(e).unwrap_or(i64::MAX))),
        (None, Some(_)) => return Err("expires_in without iat".into()),
        _ => None,
    };
    let expiry = match (exp, from_expires_in) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return Err("no expiry".into()),
    };
    if NOW > expiry + 60 {
        return Err("expired".into());
    }
    if nbf.is_some_and(|n| n > NOW + 60) || iat.is_some_and(|i| i > NOW + 60) {
        return Err("not yet valid".into());
    }
    if expiry - iat.or(nbf).unwrap_or(NOW) > 86_400 {
        return Err("lives too long".into());
    }
    Ok(())
}

/// A valid token, re-signed with a fresh `jti` so the mutations below start from many tokens.
fn valid_token(alg: Algorithm, jti: u32) -> String {
    let claims = json!({"alias": ALIAS, "user_id": "alice", "iat": NOW, "exp": NOW + 600, "jti": jti.to_string()});
    let alg_name = alg.name();
    raw_with(
        alg,
        SECRET.as_bytes(),
        &format!(r#"{{"alg":"{alg_name}","typ":"JWT"}}"#),
        &claims.to_string(),
    )
}

/// One edit of a token's text.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, char),
    Insert(prop::sample::Index, char),
    Delete(prop::sample::Index),
    SwapAdjacent(prop::sample::Index),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, prop::sample::Index),
    SwapSegments(prop::sample::Index, prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let c = prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \t\u{0}é\u{feff}"
            .chars()
            .collect::<Vec<_>>(),
    );
    let i = any::<prop::sample::Index>;
    prop_oneof![
        (i(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (i(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
        i().prop_map(Edit::Delete),
        i().prop_map(Edit::SwapAdjacent),
        i().prop_map(Edit::Truncate),
        (i(), i()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
        (i(), i()).prop_map(|(a, b)| Edit::SwapSegments(a, b)),
    ]
}

fn apply(token: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let n = chars.len();
    match edit {
        Edit::Replace(i, c) => chars[i.index(n)] = *c,
        Edit::Insert(i, c) => chars.insert(i.index(n + 1), *c),
        Edit::Delete(i) => {
            chars.remove(i.index(n));
        }
        Edit::SwapAdjacent(i) if n >= 2 => {
            let i = i.index(n - 1);
            chars.swap(i, i + 1);
        }
        Edit::SwapAdjacent(_) => {}
        Edit::Truncate(i) => chars.truncate(i.index(n)),
        Edit::Duplicate(a, b) => {
            let (a, b) = (a.index(n), b.index(n));
            let range: Vec<char> = chars[a.min(b)..a.max(b)].to_vec();
            let at = a.max(b);
            chars.splice(at..at, range);
        }
        Edit::SwapSegments(a, b) => {
            let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
            let (a, b) = (a.index(segments.len()), b.index(segments.len()));
            segments.swap(a, b);
            return segments.join(".");
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn arbitrary_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(verify(&text).is_err());
    }

    #[test]
    fn arbitrary_base64url_segments_are_refused(
        h in prop::collection::vec(any::<u8>(), 0..80),
        p in prop::collection::vec(any::<u8>(), 0..200),
        s in prop::collection::vec(any::<u8>(), 0..70),
    ) {
        let token = format!("{}.{}.{}", b64(&h), b64(&p), b64(&s));
        let result = verify(&token);
        prop_assert!(result.is_err());
        let _ = rejection(&token, result);
    }

    #[test]
    fn arbitrary_payload_bytes_with_a_valid_mac_are_refused(
        p in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        // A MAC that verifies over bytes that are not a JSON object of claims.
        let input = format!("{}.{}", b64(br#"{"alg":"HS256"}"#), b64(&p));
        let sig = mac(Algorithm::HS256, SECRET.as_bytes(), input.as_bytes());
        let token = format!("{input}.{}", b64(&sig));
        prop_assert!(verify(&token).is_err());
    }
}

proptest! {
    #![proptest_config(config(6000))]

    /// Headers and payloads built from the members the rules read, in every type and range,
    /// with a MAC valid over the bytes: nothing panics, and whatever is accepted satisfies
    /// every rule when checked independently.
    #[test]
    fn structured_tokens_with_a_valid_mac_are_accepted_only_when_every_rule_holds(
        header in header(),
        payload in payload(),
    ) {
        let alg_value = header.iter().find(|(k, _)| k == "alg").map(|(_, v)| v.clone());
        let mac_alg = match alg_value.as_deref() {
            Some("\"HS384\"") => Algorithm::HS384,
            Some("\"HS512\"") => Algorithm::HS512,
            _ => Algorithm::HS256,
        };
        let token = raw_with(mac_alg, SECRET.as_bytes(), &object(&header), &object(&payload));
        match verify(&token) {
            Ok(claims) => {
                prop_assert_eq!(claims.alias.as_str(), ALIAS);
                if let Err(rule) = acceptable(&header, &payload, mac_alg.name()) {
                    prop_assert!(false, "accepted although {}: {} {}", rule, object(&header), object(&payload));
                }
            }
            Err(e) => {
                let _ = rejection(&token, Err::<(), _>(e));
            }
        }
    }

    /// One to four edits of a valid token — of any algorithm — are refused, whatever they are.
    #[test]
    fn edited_valid_tokens_are_refused(
        alg in prop::sample::select(Algorithm::ALL.to_vec()),
        jti in any::<u32>(),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let original = valid_token(alg, jti);
        prop_assert!(verify(&original).is_ok());
        let mut token = original.clone();
        for e in &edits {
            if !token.is_empty() {
                token = apply(&token, e);
            }
        }
        prop_assume!(token != original);
        let result = verify(&token);
        prop_assert!(result.is_err(), "accepted after {:?}: {}", edits, token);
        let _ = rejection(&token, result);
    }

    /// A token signed with another key, or with the right key under another HMAC, is refused
    /// however its header is labelled.
    #[test]
    fn other_keys_and_other_hmacs_are_refused(
        key in prop::collection::vec(any::<u8>(), 0..80),
        header_alg in prop::sample::select(Algorithm::ALL.to_vec()),
        mac_alg in prop::sample::select(Algorithm::ALL.to_vec()),
    ) {
        prop_assume!(key != SECRET.as_bytes());
        let payload = good_claims().to_string();
        let header = format!(r#"{{"alg":"{}"}}"#, header_alg.name());
        let with_other_key = raw_with(mac_alg, &key, &header, &payload);
        prop_assert!(verify(&with_other_key).is_err());
        if header_alg != mac_alg {
            let mislabelled = raw_with(mac_alg, SECRET.as_bytes(), &header, &payload);
            prop_assert!(verify(&mislabelled).is_err());
        }
    }
}

#[test]
fn the_structured_generator_also_makes_acceptable_tokens() {
    // The oracle must not be vacuous: tokens it calls acceptable are accepted.
    let header = vec![
        ("alg".to_owned(), "\"HS256\"".to_owned()),
        ("typ".to_owned(), "\"jwt\"".to_owned()),
    ];
    let payload = vec![
        ("alias".to_owned(), "\"room-1\"".to_owned()),
        ("user_id".to_owned(), "\"alice\"".to_owned()),
        ("iat".to_owned(), format!("{}.5", NOW)),
        ("expires_in".to_owned(), "3600".to_owned()),
        ("host".to_owned(), "true".to_owned()),
    ];
    assert_eq!(acceptable(&header, &payload, "HS256"), Ok(()));
    let token = raw(&object(&header), &object(&payload));
    assert!(verify(&token).unwrap().host);
}
