//! `alg` and the key: `none` in every spelling, algorithm confusion, and headers that point at
//! a key (never followed).

use super::*;

#[actix_web::test]
async fn alg_none_in_every_spelling_is_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let mut cases = Vec::new();
        for alg in [
            "none",
            "None",
            "NONE",
            "nOnE",
            "none ",
            " none",
            "",
            "none\u{0}",
        ] {
            for typ in [None, Some("JWT")] {
                let mut header = json!({"alg": alg});
                if let Some(t) = typ {
                    header["typ"] = json!(t);
                }
                let input = signing_input(&header.to_string(), &payload);
                let real_mac = b64(&mac("HS256", SECRET.as_bytes(), input.as_bytes()));
                for (sig_label, sig) in [("empty", ""), ("AAAA", "AAAA"), ("real MAC", &real_mac)] {
                    cases.push((
                        format!("alg {alg:?} typ {typ:?}, {sig_label} signature"),
                        format!("{input}.{sig}"),
                        Refused("unsupported_algorithm"),
                    ));
                }
            }
        }
        // `alg` that is not a string, or missing: the header itself is malformed.
        for header in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":null}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{"alg":{"name":"HS256"}}"#,
            r#"{"alg":256}"#,
            r#"{"alg":true}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &payload),
                Refused("malformed_token"),
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn algorithm_confusion_is_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let mut cases = Vec::new();
        // Asymmetric algorithms, the classic confusion: the "public key" used as an HMAC
        // secret. Here the MAC is even right under the alias's secret; only `alg` is wrong.
        for alg in [
            "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "ES256K", "PS256", "PS384",
            "PS512", "EdDSA", "Ed25519", "hs256", "Hs256", "HS256 ", "HS1", "HS", "dir", "A128KW",
            "RSA-OAEP",
        ] {
            cases.push((
                format!("alg {alg:?}, HS256 MAC under the real secret"),
                signed(&json!({"alg": alg, "typ": "JWT"}).to_string(), &payload),
                Refused("unsupported_algorithm"),
            ));
        }
        // An HMAC header over another HMAC's MAC: the MAC is computed with the header's
        // algorithm, so it does not verify.
        for (header_alg, mac_alg) in [
            ("HS384", "HS256"),
            ("HS512", "HS256"),
            ("HS256", "HS384"),
            ("HS256", "HS512"),
            ("HS512", "HS384"),
        ] {
            let input = signing_input(&json!({"alg": header_alg}).to_string(), &payload);
            let sig = mac(mac_alg, SECRET.as_bytes(), input.as_bytes());
            cases.push((
                format!("alg {header_alg} over a {mac_alg} MAC"),
                format!("{input}.{}", b64(&sig)),
                Refused("bad_signature"),
            ));
            // And the truncations an attacker might try: a longer MAC cut to the header's
            // length.
            let truncated = &sig[..sig.len().min(32)];
            cases.push((
                format!("alg {header_alg} over a {mac_alg} MAC cut to 32 bytes"),
                format!("{input}.{}", b64(truncated)),
                Refused("bad_signature"),
            ));
        }
        // The real MAC with its last byte dropped or one byte too many.
        let good = signed(HS256, &payload);
        let (input, sig) = good.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let mut longer = sig.clone();
        longer.push(0);
        for (label, bytes) in [
            ("short MAC", &sig[..31]),
            ("long MAC", &longer[..]),
            ("empty MAC", &[][..]),
        ] {
            cases.push((
                label.to_owned(),
                format!("{input}.{}", b64(bytes)),
                Refused("bad_signature"),
            ));
        }
        cases.push(("positive control".into(), good, Admitted));
        // The other two HMACs, signed right: admitted too (the cached alias keys its lean
        // secret for each, on every read).
        for alg in ["HS384", "HS512"] {
            let input = signing_input(&json!({"alg": alg, "typ": "JWT"}).to_string(), &payload);
            let sig = mac(alg, SECRET.as_bytes(), input.as_bytes());
            cases.push((
                format!("positive control, {alg}"),
                format!("{input}.{}", b64(&sig)),
                Admitted,
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn key_pointing_headers_are_never_followed() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let attacker_jwk = json!({"kty": "oct", "k": b64(ATTACKER.as_bytes())});
        let headers = [
            json!({"alg": "HS256", "jwk": attacker_jwk}),
            json!({"alg": "HS256", "jku": "https://attacker.example/jwks.json"}),
            json!({"alg": "HS256", "jku": "file:///etc/passwd"}),
            json!({"alg": "HS256", "x5u": "https://attacker.example/cert.pem"}),
            json!({"alg": "HS256", "x5c": ["MIIBszCCAVmgAwIBAgIJAK"]}),
            json!({"alg": "HS256", "kid": "attacker"}),
            json!({"alg": "HS256", "kid": "../../../../../../dev/null"}),
            json!({"alg": "HS256", "kid": "' UNION SELECT 'attacker-key-attacker-key-attack' --"}),
            json!({"alg": "HS256", "kid": 0}),
            json!({"alg": "HS256", "kid": {"$ne": null}}),
            json!({"alg": "HS256", "typ": "JWT", "jwk": attacker_jwk, "jku": "https://attacker.example/", "kid": "attacker", "x5u": "https://attacker.example/"}),
        ];
        let mut cases = Vec::new();
        for header in headers {
            let header = header.to_string();
            cases.push((
                format!("{header} signed with the attacker's key"),
                signed_with("HS256", ATTACKER, &header, &payload),
                Refused("bad_signature"),
            ));
            // The empty key a `kid: /dev/null` attack aims for.
            cases.push((
                format!("{header} signed with the empty key"),
                signed_with("HS256", "", &header, &payload),
                Refused("bad_signature"),
            ));
            cases.push((
                format!("{header} signed with the alias's secret"),
                signed(&header, &payload),
                Admitted,
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}
