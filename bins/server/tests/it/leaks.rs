//! Secrets never reach the output: the built binary, logging at `debug` (and `trace` for the
//! aliaskit crates) in JSON, is driven through every flow that carries a secret — the API key,
//! `jwt_secret`s (also rotated ones), passcodes (also in `?passcode=`), stream keys, access and
//! OpenCAP tokens, OpenCAP passwords, master keys — and none of them appears anywhere in what
//! it wrote, while the request lines it must write are there.
//!
//! A secret is looked for whole and by every 16-character window, so a secret shortened for a
//! message (`Error::shown` keeps 40 characters) is still found. Token headers and payloads are
//! not secret; their signatures are.
//!
//! The last test checks that `Debug` of every secret-bearing type is redacted.

use std::collections::BTreeSet;

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

/// The organization's API key (bootstrap).
const API_KEY: &str = "ak_leaktest_Q2x9Vb7Lm3Np8Rt4Wz6Yc1Hd5Jf0Kg";
/// A key no organization has.
const WRONG_API_KEY: &str = "ak_leaktest_wrong_P5s8Dk2Xn7Bv4Mq1Lz9Tr6";
/// The master key secrets at rest are sealed with, and an older one.
const MASTER_KEY: &str = "3/Fa6iTMQw7gEf5GzVe+rX7r+OSNm0jqCKJgYzCRIO0=";
const OLD_MASTER_KEY: &str = "bxKSSgPuuejwt12PWJ05dSYX+QM1zKzxsfYRM9hVspI=";
const JWT_SECRET: &str = "leak-jwt-secret-A-7f3c9e1b5d2a4068ae51";
const SHORT_JWT_SECRET: &str = "leak-short-secret-Zq81";
const FORGER_SECRET: &str = "leak-forger-secret-B-0c8e2f6a9d1b3e5f7";
const PASSCODE: &str = "leak-passcode-C-41fa7d";
const NEW_PASSCODE: &str = "leak-passcode-D-93be2c";
const WRONG_PASSCODE: &str = "leak-passcode-wrong-E-60d1";
const STREAM_KEY: &str = "leak-stream-key-F-58d0b3";
const NEW_STREAM_KEY: &str = "leak-stream-key-G-27ac94";
const PASSWORD: &str = "leak-password-H-6e2d9b";
const WRONG_PASSWORD: &str = "leak-wrong-password-I-1c7a";
const BTC: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";

/// A client that counts its requests and remembers the routes it used.
struct Driver {
    base: String,
    agent: ureq::Agent,
    requests: usize,
    routes: BTreeSet<String>,
}

impl Driver {
    fn new(base: &str) -> Driver {
        Driver {
            base: base.to_owned(),
            agent: agent(),
            requests: 0,
            routes: BTreeSet::new(),
        }
    }

    /// `path` as the access log writes it: without the query string.
    fn note(&mut self, path: &str) -> String {
        self.requests += 1;
        let logged = path.split('?').next().unwrap_or(path).to_owned();
        self.routes.insert(logged);
        format!("{}{path}", self.base)
    }

    fn get(&mut self, path: &str, authorization: Option<&str>) -> Answer {
        let url = self.note(path);
        let mut req = self.agent.get(url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.call().unwrap())
    }

    fn delete(&mut self, path: &str, authorization: Option<&str>) -> Answer {
        let url = self.note(path);
        let mut req = self.agent.delete(url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(req.call().unwrap())
    }

    fn post(&mut self, path: &str, body: Option<&Value>, authorization: Option<&str>) -> Answer {
        let url = self.note(path);
        let mut req = self.agent.post(url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        let res = match body {
            Some(body) => req
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            None => req.send_empty(),
        };
        read(res.unwrap())
    }

    fn put(&mut self, path: &str, body: &Value, authorization: Option<&str>) -> Answer {
        let url = self.note(path);
        let mut req = self.agent.put(url);
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        read(
            req.header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap(),
        )
    }
}

/// An HS256 token for `alias` signed with `secret`.
fn sign(secret: &str, alias: &str, host: bool, iat: i64) -> String {
    sign_claims(
        secret,
        &json!({"alias": alias, "user_id": "user-leak-test", "host": host, "expires_in": 3600, "iat": iat}),
    )
}

/// The secrets a run handled, by name.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: impl Into<String>, value: &str) {
        self.0.push((name.into(), value.to_owned()));
    }

    /// A token: the whole of it, and its signature.
    fn add_token(&mut self, name: &str, token: &str) {
        self.add(name, token);
        let signature = token.rsplit('.').next().unwrap();
        self.add(format!("{name} (signature)"), signature);
    }

    /// Every place in `output` where a secret, or 16 characters in a row of one, appears, with
    /// the line, secrets replaced by their names.
    fn find_in(&self, output: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in output.lines() {
            for (name, secret) in &self.0 {
                let chars: Vec<char> = secret.chars().collect();
                let width = chars.len().min(16);
                let leaked = chars.windows(width).any(|w| {
                    let window: String = w.iter().collect();
                    line.contains(&window)
                });
                if leaked {
                    found.push(format!("{name} in: {}", self.redact(line)));
                }
            }
        }
        found
    }

    fn redact(&self, line: &str) -> String {
        let mut line = line.to_owned();
        for (name, secret) in &self.0 {
            line = line.replace(secret, &format!("<{name}>"));
        }
        // Whatever partial secret is left stays out of the report.
        for (name, secret) in &self.0 {
            let chars: Vec<char> = secret.chars().collect();
            for w in chars.windows(chars.len().min(16)) {
                let window: String = w.iter().collect();
                line = line.replace(&window, &format!("<part of {name}>"));
            }
        }
        line
    }
}

/// The Datagram flows: create, list, get, update, retrieve by token, passcode and owner key,
/// refusals, rotations (when the routes exist), delete.
fn datagram_flows(d: &mut Driver, secrets: &mut Secrets) {
    let owner = format!("Bearer {API_KEY}");
    let created = d.post(
        "/organization/api/v1/alias/create",
        Some(&json!({
            "type": "conference",
            "name": "leak test room",
            "passcode": PASSCODE,
            "jwt_secret": JWT_SECRET,
            "stream_key": STREAM_KEY,
            "expired_at": now() + 3600,
        })),
        Some(&owner),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let too_short = d.post(
        "/organization/api/v1/alias/create",
        Some(&json!({"type": "live", "jwt_secret": SHORT_JWT_SECRET, "expired_at": now() + 3600})),
        Some(&owner),
    );
    assert_eq!(too_short.status, 400, "{:?}", too_short.body);
    let misspelt = d.post(
        "/organization/api/v1/alias/create",
        Some(&json!({"type": "live", "passcod": PASSCODE, "expired_at": now() + 3600})),
        Some(&owner),
    );
    assert_eq!(misspelt.status, 400, "{:?}", misspelt.body);

    assert_eq!(
        d.get("/organization/api/v1/aliases", Some(&owner)).status,
        200
    );
    assert_eq!(
        d.get("/organization/api/v1/aliases", Some(WRONG_API_KEY))
            .status,
        401
    );
    let got = d.get(&format!("/organization/api/v1/alias/{id}"), Some(API_KEY));
    assert_eq!(got.body["data"]["jwt_secret"], JWT_SECRET);
    let updated = d.post(
        &format!("/organization/api/v1/alias/update/{id}"),
        Some(
            &json!({"type": "conference", "passcode": NEW_PASSCODE, "stream_key": NEW_STREAM_KEY}),
        ),
        Some(&owner),
    );
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["data"]["passcode"], NEW_PASSCODE);

    let retrieve = format!("/api/v1/alias/{id}");
    let host = sign(JWT_SECRET, &id, true, now() - 30);
    secrets.add_token("host access token", &host);
    let seen = d.get(&retrieve, Some(&format!("Bearer {host}")));
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    assert_eq!(seen.body["data"]["stream_key"], NEW_STREAM_KEY);
    let guest = sign(JWT_SECRET, &id, false, now() - 30);
    secrets.add_token("guest access token", &guest);
    assert_eq!(d.get(&retrieve, Some(&guest)).status, 200, "bare token");
    let by_passcode = d.get(&format!("{retrieve}?passcode={NEW_PASSCODE}"), None);
    assert_eq!(by_passcode.status, 200, "{:?}", by_passcode.body);
    let wrong_passcode = d.get(&format!("{retrieve}?passcode={WRONG_PASSCODE}"), None);
    assert_eq!(wrong_passcode.status, 401);
    let old_passcode = d.get(&format!("{retrieve}?passcode={PASSCODE}"), None);
    assert_eq!(old_passcode.status, 401);
    assert_eq!(d.get(&retrieve, Some(&owner)).status, 200);
    let forged = sign(FORGER_SECRET, &id, true, now());
    secrets.add_token("forged access token", &forged);
    let refused = d.get(&retrieve, Some(&format!("Bearer {forged}")));
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );

    rotations(d, secrets, &id, &owner);

    let deleted = d.delete(
        &format!("/organization/api/v1/alias/delete/{id}"),
        Some(&owner),
    );
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        d.get(&retrieve, Some(&format!("Bearer {host}"))).status,
        404
    );
}

/// `rotate-secret`, `revoke-tokens` and `rotate-stream-key`, if the server has them.
fn rotations(d: &mut Driver, secrets: &mut Secrets, id: &str, owner: &str) {
    let retrieve = format!("/api/v1/alias/{id}");
    let old_token = sign(JWT_SECRET, id, false, now() - 30);
    secrets.add_token("access token signed before the rotation", &old_token);

    let rotated = d.post(
        &format!("/organization/api/v1/alias/{id}/rotate-secret"),
        None,
        Some(owner),
    );
    if rotated.status == 404 && rotated.body["error"]["code"] == "not_found" {
        eprintln!("skipped rotate-secret, revoke-tokens and rotate-stream-key: no such routes");
        return;
    }
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_secret = rotated.body["data"]["jwt_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, JWT_SECRET);
    secrets.add("rotated jwt_secret", &new_secret);
    let new_token = sign(&new_secret, id, true, now() - 30);
    secrets.add_token("access token signed with the rotated secret", &new_token);
    assert_eq!(
        d.get(&retrieve, Some(&format!("Bearer {new_token}")))
            .status,
        200
    );
    let in_grace = d.get(&retrieve, Some(&format!("Bearer {old_token}")));
    assert_eq!(in_grace.status, 200, "{:?}", in_grace.body);

    let revoked = d.post(
        &format!("/organization/api/v1/alias/{id}/revoke-tokens"),
        None,
        Some(owner),
    );
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    let refused = d.get(&retrieve, Some(&format!("Bearer {new_token}")));
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (401, Some("token_revoked")),
        "{:?}",
        refused.body
    );

    let rotated = d.post(
        &format!("/organization/api/v1/alias/{id}/rotate-stream-key"),
        None,
        Some(owner),
    );
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_stream_key = rotated.body["data"]["stream_key"].as_str().unwrap();
    assert_ne!(new_stream_key, NEW_STREAM_KEY);
    secrets.add("rotated stream key", new_stream_key);
    let by_owner = d.get(&retrieve, Some(owner));
    assert_eq!(by_owner.body["data"]["stream_key"], new_stream_key);
}

/// The OpenCAP flows: signup (open and by API key), login, put, lookup, wrong password,
/// delete, and the deleted user's token refused.
fn opencap_flows(d: &mut Driver, secrets: &mut Secrets) {
    let credentials = json!({"alias": "alice$example.com", "password": PASSWORD});
    let signup = d.post("/v1/users", Some(&credentials), None);
    assert_eq!(signup.status, 200, "{:?}", signup.body);
    let by_org = d.post(
        "/v1/users",
        Some(&json!({"alias": "bob$example.com", "password": PASSWORD})),
        Some(&format!("Bearer {API_KEY}")),
    );
    assert_eq!(by_org.status, 200, "{:?}", by_org.body);
    let login = d.post("/v1/auth", Some(&credentials), None);
    assert_eq!(login.status, 200, "{:?}", login.body);
    let jwt = login.body["jwt"].as_str().unwrap().to_owned();
    secrets.add_token("OpenCAP token", &jwt);
    let auth = format!("Bearer {jwt}");

    let put = d.put(
        "/v1/addresses",
        &json!({"address_type": 100, "address": BTC}),
        Some(&auth),
    );
    assert_eq!(put.status, 200, "{:?}", put.body);
    let found = d.get(
        "/v1/addresses?alias=alice$example.com&address_type=100",
        None,
    );
    assert_eq!(found.body["address"], BTC);
    let wrong = d.post(
        "/v1/auth",
        Some(&json!({"alias": "alice$example.com", "password": WRONG_PASSWORD})),
        None,
    );
    assert_eq!(wrong.status, 401, "{:?}", wrong.body);
    assert_eq!(d.delete("/v1/addresses/100", Some(&auth)).status, 200);
    assert_eq!(d.delete("/v1/users", Some(&auth)).status, 200);
    let dead = d.put(
        "/v1/addresses",
        &json!({"address_type": 100, "address": BTC}),
        Some(&auth),
    );
    assert_eq!(dead.status, 401, "{:?}", dead.body);
}

#[test]
fn no_secret_reaches_the_logs_at_debug_and_trace() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::start(
            dir.path(),
            &[
                ("ALIASKIT__DATABASE__URL", &db.url),
                ("ALIASKIT__SERVER__WORKERS", "2"),
                ("ALIASKIT__BOOTSTRAP__API_KEY", API_KEY),
                ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
                ("ALIASKIT__SECURITY__OLD_MASTER_KEYS", OLD_MASTER_KEY),
                ("ALIASKIT__OPENCAP__DOMAINS", "example.com"),
                ("ALIASKIT__OPENCAP__OPEN_SIGNUP", "true"),
                ("ALIASKIT__OPENCAP__AUTH_LIMIT_PER_MINUTE", "0"),
                (
                    "ALIASKIT__LOGGING__LEVEL",
                    "debug,aliaskit_domain=trace,aliaskit_token=trace,aliaskit_store=trace,\
                     aliaskit_service=trace,aliaskit_http=trace,aliaskit_config=trace,\
                     aliaskit_server=trace",
                ),
            ],
        );
        let mut secrets = Secrets::default();
        for (name, value) in [
            ("API key", API_KEY),
            ("wrong API key", WRONG_API_KEY),
            ("master key", MASTER_KEY),
            ("old master key", OLD_MASTER_KEY),
            ("jwt_secret", JWT_SECRET),
            ("too short jwt_secret", SHORT_JWT_SECRET),
            ("forger's secret", FORGER_SECRET),
            ("passcode", PASSCODE),
            ("new passcode", NEW_PASSCODE),
            ("wrong passcode", WRONG_PASSCODE),
            ("stream key", STREAM_KEY),
            ("new stream key", NEW_STREAM_KEY),
            ("OpenCAP password", PASSWORD),
            ("wrong OpenCAP password", WRONG_PASSWORD),
            ("argon2 hash", "$argon2id$"),
        ] {
            secrets.add(name, value);
        }
        secrets.add("?passcode= query", &format!("passcode={NEW_PASSCODE}"));
        assert!(
            !secrets
                .find_in(&format!("{{\"cause\":\"{}…\"}}", &JWT_SECRET[5..30]))
                .is_empty(),
            "the search finds a shortened secret"
        );

        let mut d = Driver::new(&server.base);
        datagram_flows(&mut d, &mut secrets);
        opencap_flows(&mut d, &mut secrets);
        drop(d.agent);

        server.signal("TERM");
        assert!(server.wait(Duration::from_secs(60)).success());
        let (stdout, stderr) = server.output();

        // The logs are there: one request line per request, naming every route used.
        let events: Vec<Value> = stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let request_lines: Vec<&Value> = events
            .iter()
            .filter(|e| e["fields"]["message"] == "request")
            .collect();
        assert_eq!(
            request_lines.len(),
            d.requests,
            "{b:?}: one request line per request"
        );
        for route in &d.routes {
            assert!(
                request_lines.iter().any(|e| e["fields"]["path"] == *route),
                "{b:?}: no request line for {route}"
            );
        }
        // Each gives its latency in milliseconds to the microsecond, as docs/observability.md
        // shows it: `0.84`, not `0.8400000000000001`.
        for line in &request_lines {
            let Some(ms) = line["fields"]["latency_ms"].as_f64() else {
                continue; // a 5xx line has none
            };
            assert!(
                ms >= 0.0 && (ms * 1000.0).round() / 1000.0 == ms,
                "{b:?}: latency_ms {ms} is not in milliseconds to the microsecond: {line}"
            );
        }
        assert!(stderr.contains("aliaskit-server listening"));

        let leaks: Vec<String> = secrets
            .find_in(&stdout)
            .into_iter()
            .map(|l| format!("stdout: {l}"))
            .chain(secrets.find_in(&stderr))
            .collect();
        assert!(
            leaks.is_empty(),
            "{b:?}: secrets in the output:\n{}",
            leaks.join("\n")
        );
        let levels: BTreeSet<&str> = events.iter().filter_map(|e| e["level"].as_str()).collect();
        eprintln!(
            "{b:?}: {} log lines ({levels:?}), {} request lines, {} secrets looked for, none found",
            events.len(),
            request_lines.len(),
            secrets.0.len()
        );
    }
}

#[test]
fn a_bad_setting_or_an_unreachable_database_shows_no_secret() {
    const DB_PASSWORD: &str = "leak-db-password-J-4b8e1f";
    let dir = tempfile::tempdir().unwrap();
    let mut secrets = Secrets::default();
    secrets.add("database password", DB_PASSWORD);
    secrets.add("master key", MASTER_KEY);
    secrets.add("API key", API_KEY);

    // Nothing listens on port 1: the database is unreachable, so the start fails.
    let url = format!("postgres://aliaskit:{DB_PASSWORD}@127.0.0.1:1/aliaskit?connect_timeout=2");
    let short_key = &API_KEY[..31];
    secrets.add("short API key", short_key);
    for env in [
        vec![
            ("ALIASKIT__DATABASE__URL", url.as_str()),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", API_KEY),
            ("ALIASKIT__DATABASE__CONNECT_TIMEOUT", "2"),
        ],
        vec![
            ("ALIASKIT__DATABASE__URL", url.as_str()),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", short_key),
        ],
        vec![
            ("ALIASKIT__DATABASE__URL", url.as_str()),
            ("ALIASKIT__SECURITY__MASTER_KEY", &MASTER_KEY[..30]),
        ],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_aliaskit-server"))
            .current_dir(dir.path())
            .env_clear()
            .env("ALIASKIT__SERVER__PORT", "0")
            .env("ALIASKIT__LOGGING__LEVEL", "trace")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{env:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.trim().is_empty(), "the failure is explained");
        let leaks: Vec<String> = secrets
            .find_in(&stdout)
            .into_iter()
            .chain(secrets.find_in(&stderr))
            .collect();
        assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    }
}

#[test]
fn debug_of_every_secret_bearing_type_is_redacted() {
    use aliaskit_domain::opencap::{CapAlias, CapUser, Password};
    use aliaskit_domain::{Alias, AliasId, AliasKind, ApiKey, OrgId, Sensitive};

    const SECRET: &str = "debug-secret-K-0123456789abcdefghij";
    let sensitive = || Some(Sensitive::new(SECRET));
    let settings = aliaskit_config::Settings::load_from(
        None,
        [
            (
                "ALIASKIT__DATABASE__URL",
                format!("postgres://aliaskit:{SECRET}@db.example:5432/aliaskit"),
            ),
            ("ALIASKIT__BOOTSTRAP__API_KEY", SECRET.to_owned()),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY.to_owned()),
            (
                "ALIASKIT__SECURITY__OLD_MASTER_KEYS",
                OLD_MASTER_KEY.to_owned(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    )
    .unwrap();
    let secret = aliaskit_token::Secret::from(SECRET);
    let ring = aliaskit_token::KeyRing::new(
        "kid-1",
        aliaskit_token::Algorithm::HS256,
        &secret,
        &aliaskit_token::Policy::default(),
    )
    .unwrap();
    let alias = Alias {
        id: AliasId::parse("Vx3kQ9_aZ-1").unwrap(),
        org: OrgId(1),
        kind: AliasKind::Conference,
        name: Some("room".to_owned()),
        passcode: sensitive(),
        jwt_secret: sensitive(),
        stream_key: sensitive(),
        expired_at: 2_000_000_000,
        inserted_at: 1_700_000_000,
        updated_at: 1_700_000_000,
        previous_secret: sensitive(),
        previous_secret_until: Some(1_700_000_300),
        tokens_valid_after: None,
    };
    let user = CapUser {
        id: "user-1".to_owned(),
        alias: CapAlias::parse("alice$example.com").unwrap(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${SECRET}"),
        failed_logins: 0,
        locked_until: None,
        created_at: 1_700_000_000,
    };
    let credentials = aliaskit_service::Credentials {
        bearer: Some(SECRET),
        passcode: Some(SECRET),
        client: None,
    };
    let signing_key = aliaskit_domain::SigningKey {
        kid: "kid-1".to_owned(),
        alg: "HS256".to_owned(),
        secret: Sensitive::new(SECRET),
        created_at: 1_700_000_000,
        retired_at: None,
    };
    let target =
        aliaskit_store::Target::parse(&format!("postgres://aliaskit:{SECRET}@db/aliaskit"))
            .unwrap();
    let master = aliaskit_store::MasterKey::from_base64(MASTER_KEY).unwrap();
    let vault = aliaskit_store::Vault::new(master.clone(), Vec::new());

    let shown = [
        ("Sensitive", format!("{:?}", Sensitive::new(SECRET))),
        ("ApiKey", format!("{:?}", ApiKey::parse(SECRET).unwrap())),
        ("Password", format!("{:?}", Password::new(SECRET).unwrap())),
        ("CapUser", format!("{user:?}")),
        ("Secret", format!("{secret:?}")),
        ("KeyRing", format!("{ring:?}")),
        ("Alias", format!("{alias:?}")),
        ("Alias (pretty)", format!("{alias:#?}")),
        (
            "AliasJson",
            format!(
                "{:?}",
                aliaskit_http::wire::alias::AliasData {
                    data: aliaskit_http::wire::alias::AliasJson::from(&alias)
                }
            ),
        ),
        ("Settings", format!("{settings:?}")),
        ("Credentials", format!("{credentials:?}")),
        ("SigningKey", format!("{signing_key:?}")),
        ("Target", format!("{target:?}")),
        ("MasterKey", format!("{master:?}")),
        ("Vault", format!("{vault:?}")),
    ];
    for (ty, debug) in &shown {
        for needle in [
            SECRET,
            &SECRET[..16],
            &SECRET[SECRET.len() - 16..],
            MASTER_KEY,
            OLD_MASTER_KEY,
        ] {
            assert!(
                !debug.contains(needle),
                "Debug of {ty} shows a secret: {debug}"
            );
        }
    }
    assert!(
        shown[0].1.contains("redacted"),
        "Sensitive says it hides something: {}",
        shown[0].1
    );
}
