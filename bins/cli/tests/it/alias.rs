//! `aliaskit alias list|show|delete|rotate-secret|revoke-tokens`, on SQLite and PostgreSQL:
//! what is printed, the exit status, and what the database holds afterwards.

use aliaskit_domain::{Alias, AliasId, AliasKind, NewAlias, OrgId, Sensitive};
use aliaskit_service::{Credentials, Service, ServiceError};
use serde_json::{Value, json};

use crate::{Run, Target, now};

pub const PASSCODE: &str = "let-me-in-123";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-old";
pub const STREAM_KEY: &str = "sk_stream-key-value";

/// Creates organization `name` with the CLI; its id and API key.
pub fn org(t: &Target, name: &str) -> (OrgId, String) {
    let run = t.run(&["org", "create", name]);
    assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
    let key = run.stdout.trim_end().to_owned();
    let id = t.service().authenticate_org(&key).unwrap();
    (id, key)
}

/// A conference alias of `org` with every secret set.
pub fn alias(service: &Service, org: OrgId, name: &str) -> Alias {
    service
        .create_alias(
            org,
            NewAlias {
                kind: AliasKind::Conference,
                name: Some(name.to_owned()),
                passcode: Some(Sensitive::from(PASSCODE)),
                jwt_secret: Some(Sensitive::from(SECRET)),
                stream_key: Some(Sensitive::from(STREAM_KEY)),
                expired_at: now() + 3600,
            },
        )
        .unwrap()
}

/// An access token for `alias` signed with `secret`, issued at `iat`.
pub fn token(secret: &str, alias: &AliasId, iat: i64) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"alias": alias.as_str(), "user_id": "u1", "iat": iat, "exp": iat + 3600}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Whether a fresh service (no cache) lets `token` retrieve the alias.
pub fn admits(t: &Target, alias: &AliasId, token: &str) -> Result<(), ServiceError> {
    t.service()
        .retrieve(
            alias,
            Credentials {
                bearer: Some(token),
                ..Credentials::default()
            },
        )
        .map(|_| ())
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
}

fn json_of(run: &Run, what: &str) -> Value {
    ok(run, what);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", run.stdout))
}

/// No secret of [`alias`] in `text`.
fn no_secret(text: &str, what: &str) {
    for secret in [PASSCODE, SECRET, STREAM_KEY] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

fn ids(value: &Value) -> Vec<String> {
    value["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn list_shows_the_organizations_aliases_only_as_a_table_or_json_and_pages() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        let (beta, _) = org(&t, "beta");
        let mine: Vec<Alias> = (0..3)
            .map(|i| alias(&service, acme, &format!("room {i}")))
            .collect();
        let theirs = alias(&service, beta, "theirs");

        let run = t.run(&["alias", "list", "--org", "acme"]);
        ok(&run, t.name);
        let mut lines = run.stdout.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with("ID ") && header.ends_with("NAME"),
            "{}: {header}",
            t.name
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3, "{}: {}", t.name, run.stdout);
        for a in &mine {
            let row = rows
                .iter()
                .find(|r| r.starts_with(a.id.as_str()))
                .unwrap_or_else(|| panic!("{}: {} not listed", t.name, a.id));
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells[1..3], ["conference", "active"], "{row}");
            assert!(
                row.contains("passcode,jwt_secret,stream_key"),
                "{}: {row}",
                t.name
            );
        }
        assert!(!run.stdout.contains(theirs.id.as_str()), "{}", t.name);
        no_secret(&run.stdout, t.name);

        let all = json_of(
            &t.run(&["alias", "list", "--org", "acme", "--json"]),
            t.name,
        );
        assert_eq!(all["after"], Value::Null, "{}", t.name);
        let mut listed = ids(&all);
        let mut expected: Vec<String> = mine.iter().map(|a| a.id.to_string()).collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "{}", t.name);
        let first = &all["entries"][0];
        assert_eq!(first["org"], "acme");
        assert_eq!(first["type"], "conference");
        assert_eq!(first["status"], "active");
        assert_eq!(first["has_passcode"], true);
        assert_eq!(first["has_jwt_secret"], true);
        assert_eq!(first["has_stream_key"], true);
        assert!(first.get("jwt_secret").is_none() && first.get("passcode").is_none());
        no_secret(&all.to_string(), t.name);

        // One page at a time: two, then the last one, by the cursor.
        let run = t.run(&["alias", "list", "--org", "acme", "--limit", "2", "--json"]);
        let page = json_of(&run, t.name);
        let cursor = page["after"].as_str().unwrap().to_owned();
        let rest = json_of(
            &t.run(&[
                "alias", "list", "--org", "acme", "--limit", "2", "--after", &cursor, "--json",
            ]),
            t.name,
        );
        assert_eq!(rest["after"], Value::Null);
        let mut paged = ids(&page);
        paged.extend(ids(&rest));
        paged.sort();
        assert_eq!(paged, expected, "{}", t.name);
        // In a table, the cursor goes to stderr.
        let run = t.run(&["alias", "list", "--org", "acme", "--limit", "2"]);
        ok(&run, t.name);
        assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
        assert_eq!(
            run.stderr,
            format!("more aliases follow: pass --after {cursor} for the next page\n")
        );

        // Filters.
        let expired = json_of(
            &t.run(&[
                "alias", "list", "--org", "acme", "--status", "expired", "--json",
            ]),
            t.name,
        );
        assert_eq!(ids(&expired).len(), 0, "{}", t.name);
        let live = json_of(
            &t.run(&["alias", "list", "--org", "acme", "--type", "live", "--json"]),
            t.name,
        );
        assert_eq!(ids(&live).len(), 0, "{}", t.name);
    }
}

#[test]
fn list_without_limit_prints_every_page() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        for i in 0..203 {
            alias(&service, acme, &format!("room {i}"));
        }
        let all = json_of(
            &t.run(&["alias", "list", "--org", "acme", "--json"]),
            t.name,
        );
        let mut listed = ids(&all);
        listed.sort();
        listed.dedup();
        assert_eq!(listed.len(), 203, "{}", t.name);
        let run = t.run(&["alias", "list", "--org", "acme"]);
        ok(&run, t.name);
        assert_eq!(run.stdout.lines().count(), 204, "{}", t.name);
        assert_eq!(run.stderr, "", "{}", t.name);
    }
}

#[test]
fn show_hides_secrets_and_another_organizations_alias_is_not_found() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        org(&t, "beta");
        let a = alias(&service, acme, "Weekly sync");
        let id = a.id.as_str();

        let run = t.run(&["alias", "show", "--org", "acme", id]);
        ok(&run, t.name);
        no_secret(&run.stdout, t.name);
        for line in [
            format!("id                  {id}"),
            "organization        acme".to_owned(),
            "name                Weekly sync".to_owned(),
            "status              active".to_owned(),
            "passcode            set".to_owned(),
            "jwt_secret          set".to_owned(),
            "previous_secret     none".to_owned(),
            "stream_key          set".to_owned(),
            "tokens_valid_after  -".to_owned(),
        ] {
            assert!(
                run.stdout.lines().any(|l| l == line),
                "{}: no line {line:?} in\n{}",
                t.name,
                run.stdout
            );
        }

        let shown = json_of(
            &t.run(&["alias", "show", "--org", "acme", id, "--json"]),
            t.name,
        );
        assert_eq!(shown["id"], id);
        assert_eq!(shown["name"], "Weekly sync");
        assert_eq!(shown["expired_at"], a.expired_at);
        assert_eq!(shown["inserted_at"], a.inserted_at);
        assert_eq!(shown["has_jwt_secret"], true);
        assert_eq!(shown["previous_secret_until"], Value::Null);
        no_secret(&shown.to_string(), t.name);

        for (org, alias_id, expected) in [
            (
                "beta",
                id,
                format!("alias_not_found: organization beta has no alias {id}\n"),
            ),
            (
                "acme",
                "no-such-alias",
                "alias_not_found: organization acme has no alias no-such-alias\n".to_owned(),
            ),
            (
                "acme",
                "not an id!",
                "alias_not_found: organization acme has no alias not an id!\n".to_owned(),
            ),
            // Ids may begin with `-`: read as the id, not as a flag.
            (
                "acme",
                "-Fx3kQ9_aZ-1qW8nT2bC5d",
                "alias_not_found: organization acme has no alias -Fx3kQ9_aZ-1qW8nT2bC5d\n"
                    .to_owned(),
            ),
            (
                "nobody",
                id,
                "org_not_found: no organization is named nobody\n".to_owned(),
            ),
        ] {
            let run = t.run(&["alias", "show", "--org", org, alias_id]);
            assert_eq!(
                (run.code, run.stdout.as_str(), run.stderr.as_str()),
                (1, "", expected.as_str()),
                "{}",
                t.name
            );
        }
        let run = t.run(&["alias", "show", "--org", "Acme", id]);
        assert_eq!(run.code, 2, "{}", t.name);
        assert!(
            run.stderr
                .starts_with("error: --org: invalid organization name")
        );
    }
}

#[test]
fn delete_removes_the_alias_and_only_the_owners_delete_works() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        org(&t, "beta");
        let a = alias(&service, acme, "doomed");
        let id = a.id.as_str();

        let run = t.run(&["alias", "delete", "--org", "beta", id]);
        assert_eq!(run.code, 1, "{}: {}", t.name, run.stderr);
        assert!(t.service().get_alias(acme, &a.id).is_ok(), "{}", t.name);

        let run = t.run(&["alias", "delete", "--org", "acme", id]);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr),
            (0, "", format!("deleted alias {id} of organization acme\n")),
            "{}",
            t.name
        );
        assert!(matches!(
            t.service().get_alias(acme, &a.id),
            Err(ServiceError::AliasNotFound)
        ));
        let run = t.run(&["alias", "show", "--org", "acme", id]);
        assert_eq!(run.code, 1, "{}", t.name);
        assert!(
            run.stderr.starts_with("alias_not_found: "),
            "{}",
            run.stderr
        );
        let run = t.run(&["alias", "delete", "--org", "acme", id]);
        assert_eq!(run.code, 1, "{}", t.name);
    }
}

#[test]
fn rotate_secret_prints_the_new_secret_once_and_the_old_one_stops_after_the_grace() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        let a = alias(&service, acme, "rotating");
        let id = a.id.as_str();
        let old_token = token(SECRET, &a.id, now() - 10);
        admits(&t, &a.id, &old_token).unwrap();

        // No grace: the old secret stops at once.
        let run = t.run_env(
            &["alias", "rotate-secret", "--org", "acme", id],
            &[("ALIASKIT__TOKENS__ROTATION_GRACE", "0")],
        );
        ok(&run, t.name);
        let secret = run.stdout.strip_suffix('\n').unwrap().to_owned();
        assert_eq!(secret.len(), 43, "{}: {secret:?}", t.name);
        assert!(
            run.stderr.contains("no previous secret verifies any more"),
            "{}",
            run.stderr
        );
        let stored = t.service().get_alias(acme, &a.id).unwrap();
        assert_eq!(stored.jwt_secret.as_ref().unwrap().expose(), secret);
        assert!(stored.previous_secret.is_none());
        assert!(matches!(
            admits(&t, &a.id, &old_token),
            Err(ServiceError::InvalidToken(_))
        ));
        admits(&t, &a.id, &token(&secret, &a.id, now() - 10)).unwrap();

        // With the default grace, JSON: the alias and the new secret; the previous verifies.
        let before = now();
        let rotated = json_of(
            &t.run(&["alias", "rotate-secret", "--org", "acme", id, "--json"]),
            t.name,
        );
        let newest = rotated["jwt_secret"].as_str().unwrap().to_owned();
        assert_ne!(newest, secret);
        assert_eq!(rotated["id"], id);
        assert_eq!(rotated["has_jwt_secret"], true);
        let until = rotated["previous_secret_until"].as_i64().unwrap();
        assert!((before + 300..=now() + 300).contains(&until), "{until}");
        assert_eq!(
            t.service()
                .get_alias(acme, &a.id)
                .unwrap()
                .jwt_secret
                .unwrap()
                .expose(),
            newest
        );
        admits(&t, &a.id, &token(&secret, &a.id, now() - 10)).unwrap();
        // `show` never shows it.
        let run = t.run(&["alias", "show", "--org", "acme", id]);
        ok(&run, t.name);
        assert!(!run.stdout.contains(&newest) && !run.stdout.contains(&secret));

        let run = t.run(&["alias", "rotate-secret", "--org", "beta", id]);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{}", t.name);
    }
}

#[test]
fn revoke_tokens_refuses_tokens_issued_before_and_prints_the_alias() {
    for t in Target::all() {
        let service = t.service();
        let (acme, _) = org(&t, "acme");
        let a = alias(&service, acme, "revoking");
        let id = a.id.as_str();
        let earlier = token(SECRET, &a.id, now() - 10);
        admits(&t, &a.id, &earlier).unwrap();

        let before = now();
        let run = t.run(&["alias", "revoke-tokens", "--org", "acme", id, "--json"]);
        let shown = json_of(&run, t.name);
        let after = now();
        let valid_after = shown["tokens_valid_after"].as_i64().unwrap();
        assert!((before..=after).contains(&valid_after), "{valid_after}");
        no_secret(&run.stdout, t.name);
        assert!(
            run.stderr.contains("are refused from now on"),
            "{}",
            run.stderr
        );
        match admits(&t, &a.id, &earlier) {
            Err(ServiceError::InvalidToken(e)) => assert_eq!(e.code(), "token_revoked"),
            other => panic!("{}: {other:?}", t.name),
        }
        admits(&t, &a.id, &token(SECRET, &a.id, valid_after)).unwrap();

        let run = t.run(&["alias", "revoke-tokens", "--org", "acme", id]);
        ok(&run, t.name);
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("tokens_valid_after  ") && l.ends_with(" UTC")),
            "{}",
            run.stdout
        );
        let run = t.run(&["alias", "revoke-tokens", "--org", "beta", id]);
        assert_eq!(run.code, 1, "{}", t.name);
    }
}
