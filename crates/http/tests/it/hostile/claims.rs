//! The payload: duplicate members and `crit` with a MAC valid over the bytes, and hostile
//! numeric dates.

use super::*;

#[actix_web::test]
async fn duplicate_members_and_crit_are_refused_even_with_a_valid_mac() {
    for env in envs() {
        let id = protected(&env).await;
        let now = now();
        let good = claims(&id, json!({}));
        let mut cases = Vec::new();
        for header in [
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"alg":"none","alg":"HS256"}"#,
            r#"{"alg":"HS256","alg":"HS256"}"#,
            r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
            r#"{"alg":"HS256","\u0061lg":"none"}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"HS256","x":{"y":1,"y":2}}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &good),
                Refused("malformed_token"),
            ));
        }
        for payload in [
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"exp":{}}}"#,
                now + 300,
                now + 86_400 * 365
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"exp":{}}}"#,
                now - 3600,
                now + 300
            ),
            format!(
                r#"{{"alias":"someone-else","alias":"{id}","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","alias":"someone-else","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","\u0061lias":"{id}","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","host":false,"host":true,"iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"x":{{"a":1,"a":2}}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"x":[{{"a":1,"a":2}}]}}"#,
                now + 300
            ),
        ] {
            cases.push((
                format!("payload {payload}"),
                signed(HS256, &payload),
                Refused("malformed_token"),
            ));
        }
        for header in [
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"HS256","crit":null}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &good),
                Refused("malformed_token"),
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn hostile_numeric_dates_are_refused_with_their_code() {
    for env in envs() {
        let id = protected(&env).await;
        let now = now();
        let soon = now + 300;
        let mut cases = Vec::new();
        let mut add = |dates: String, want: Want| {
            cases.push((
                format!("dates {dates}"),
                signed(HS256, &payload_with_dates(&id, &dates)),
                want,
            ));
        };
        let invalid = Refused("invalid_claims");
        for exp in [
            "1e19",
            "-1e19",
            "10000000000000000000",
            "18446744073709551616",
            "-9223372036854775808",
            "9223372036854775807",
            "1.7976931348623157e308",
            "-1",
            "-0.5",
            "253402300800",
            "\"9999999999\"",
            "\"\"",
            "null",
            "true",
            "[]",
            "{}",
            "[1]",
        ] {
            add(format!(r#""iat":{now},"exp":{exp}"#), invalid);
        }
        for number in [
            "1e400",
            "-1e400",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x10",
            "01",
            "1.",
            ".5",
            "+1",
        ] {
            // Not JSON numbers at all (or out of f64's range): the payload is not valid JSON.
            add(
                format!(r#""iat":{now},"exp":{number}"#),
                Refused("malformed_token"),
            );
        }
        for (dates, want) in [
            (format!(r#""iat":{now},"exp":0"#), Refused("token_expired")),
            (
                format!(r#""iat":{now},"exp":1e-400"#),
                Refused("token_expired"),
            ),
            (
                format!(r#""iat":{now},"exp":-0.0"#),
                Refused("token_expired"),
            ),
            (
                format!(r#""iat":{now},"exp":{}"#, now - 3600),
                Refused("token_expired"),
            ),
            (format!(r#""iat":1e19,"exp":{soon}"#), invalid),
            (format!(r#""iat":-1,"exp":{soon}"#), invalid),
            (format!(r#""iat":null,"exp":{soon}"#), invalid),
            (format!(r#""iat":"{now}","exp":{soon}"#), invalid),
            (
                format!(r#""iat":{},"exp":{}"#, now + 3600, now + 3900),
                Refused("token_issued_in_future"),
            ),
            (format!(r#""nbf":1e19,"exp":{soon}"#), invalid),
            (format!(r#""nbf":-5,"exp":{soon}"#), invalid),
            (
                format!(r#""nbf":{},"exp":{}"#, now + 3600, now + 3900),
                Refused("token_not_yet_valid"),
            ),
            (format!(r#""iat":{now},"expires_in":-1"#), invalid),
            (format!(r#""iat":{now},"expires_in":1.5"#), invalid),
            (format!(r#""iat":{now},"expires_in":1e19"#), invalid),
            (
                format!(r#""iat":{now},"expires_in":18446744073709551615"#),
                invalid,
            ),
            (format!(r#""iat":{now},"expires_in":"60""#), invalid),
            (format!(r#""iat":{now},"expires_in":null"#), invalid),
            (r#""expires_in":60"#.to_owned(), invalid),
            (format!(r#""iat":{now}"#), Refused("token_missing_expiry")),
            (
                format!(r#""iat":{now},"exp":{}"#, now + 86_400 * 2),
                Refused("token_lifetime_too_long"),
            ),
            (
                format!(r#""iat":0,"exp":{soon}"#),
                Refused("token_lifetime_too_long"),
            ),
            (
                format!(r#""iat":{now},"expires_in":9999999999"#),
                Refused("token_lifetime_too_long"),
            ),
            // Fractions are floored (documented), so these are fine.
            (format!(r#""iat":{now}.9,"exp":{soon}.75"#), Admitted),
            (format!(r#""iat":{now},"exp":{soon}e0"#), Admitted),
        ] {
            add(dates, want);
        }
        judge_tokens(&env, &id, &cases).await;
    }
}
