//! `aliaskit config check`: the settings as the server loads them, secrets redacted, status 2 on
//! a mistake.

use serde_json::Value;

use crate::{Target, aliaskit_env, aliaskit_in};

/// A master key (base64 of 32 bytes).
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const BOOTSTRAP_KEY: &str = "ak_bootstrap-key-long-enough-for-the-check-0";

#[test]
fn prints_the_effective_settings_with_every_secret_redacted() {
    let env = [
        (
            "ALIASKIT__DATABASE__URL",
            "postgres://aliaskit:hunter2-secret@db.internal:5432/aliaskit",
        ),
        ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ("ALIASKIT__SECURITY__OLD_MASTER_KEYS", MASTER_KEY),
        ("ALIASKIT__BOOTSTRAP__API_KEY", BOOTSTRAP_KEY),
        ("ALIASKIT__SERVER__PORT", "9090"),
    ];
    let run = aliaskit_env(&["config", "check"], None, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        r#"database.url = "postgres://aliaskit:***@db.internal:5432/aliaskit""#,
        r#"security.master_key = "***""#,
        r#"security.old_master_keys = ["***"]"#,
        r#"bootstrap.api_key = "***""#,
        "server.port = 9090",
        r#"server.host = "127.0.0.1""#,
        "server.tls.cert = null",
        "opencap.lockout_threshold = 5",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            run.stdout
        );
    }
    for secret in ["hunter2", MASTER_KEY, BOOTSTRAP_KEY] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    assert_eq!(
        run.stderr,
        "master keys: security.master_key and 1 in security.old_master_keys\nthe settings are valid\n"
    );

    let run = aliaskit_env(&["config", "check", "--json"], None, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["server"]["port"], 9090);
    assert_eq!(
        value["database"]["url"],
        "postgres://aliaskit:***@db.internal:5432/aliaskit"
    );
    assert_eq!(value["security"]["master_key"], "***");
    assert_eq!(value["bootstrap"]["api_key"], "***");
    assert_eq!(value["logging"]["format"], "pretty");
    for secret in ["hunter2", MASTER_KEY, BOOTSTRAP_KEY] {
        assert!(!run.stdout.contains(secret));
    }
}

#[test]
fn reads_the_file_and_lets_the_environment_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aliaskit.toml");
    std::fs::write(
        &file,
        "[server]\nport = 9999\nhost = \"0.0.0.0\"\n[security]\nmaster_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let run = aliaskit_env(&["config", "check", "--config", path], None, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\nserver.port = 9999\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("server.host = \"0.0.0.0\""));
    let run = aliaskit_env(
        &["--config", path, "config", "check"],
        None,
        &[("ALIASKIT__SERVER__PORT", "7777")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\nserver.port = 7777\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_mistake_is_status_2_with_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nprot = 1\n").unwrap();
    /// The variables, more arguments, and how stderr starts.
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, String);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("ALIASKIT__SERVER__PORT", "eighty")],
            vec![],
            "error: ALIASKIT__SERVER__PORT: server.port: expected an integer, found string \"eighty\"\n"
                .to_owned(),
        ),
        (
            vec![("ALIASKIT__BOOTSTRAP__API_KEY", "short")],
            vec![],
            "error: ALIASKIT__BOOTSTRAP__API_KEY: bootstrap.api_key: invalid API key: it is 5 \
             characters"
                .to_owned(),
        ),
        (
            vec![("ALIASKIT__DATABASE__URL", "postgres://u:pw-secret@localhost/db")],
            vec![],
            "error: security.master_key: is required with PostgreSQL".to_owned(),
        ),
        (
            vec![("ALIASKIT__SECURITY__MASTER_KEY", "not-a-key")],
            vec![],
            "error: ALIASKIT__SECURITY__MASTER_KEY: security.master_key: a master key must be 32 \
             bytes"
                .to_owned(),
        ),
        (
            vec![
                ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
                ("ALIASKIT__SERVER__TLS__CERT", missing),
                ("ALIASKIT__SERVER__TLS__KEY", missing),
            ],
            vec![],
            format!("error: server.tls.cert: cannot read {missing}: "),
        ),
        (
            vec![],
            vec!["--config", file.to_str().unwrap()],
            format!("error: config file {}: server.prot: unknown key", file.display()),
        ),
    ];
    for (env, extra, expected) in cases {
        let mut args = vec!["config", "check"];
        args.extend(extra);
        let run = aliaskit_env(&args, None, &env);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (2, ""),
            "{env:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.starts_with(&expected) && run.stderr.lines().count() == 1,
            "{env:?}: {:?} does not start with {expected:?}",
            run.stderr
        );
        assert!(!run.stderr.contains("pw-secret"));
    }
}

#[test]
fn on_a_new_sqlite_setup_it_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = aliaskit_in(dir.path(), &["config", "check"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("database.url = \"./data/aliaskit.db\"\n")
    );
    assert!(
        run.stderr.starts_with(
            "master keys: the key file ./data/aliaskit.key does not exist yet; the server creates it"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn checks_the_key_material_of_an_existing_sqlite_or_postgres_database() {
    for t in Target::all() {
        let run = t.run(&["config", "check"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let expected = if t.name == "sqlite" {
            "master keys: 1 held, from the key file "
        } else {
            "master keys: security.master_key\n"
        };
        assert!(
            run.stderr.starts_with(expected),
            "{}: {}",
            t.name,
            run.stderr
        );
    }
    // A SQLite database whose key file is gone: the server refuses to start, and so does the
    // check, without making a new key.
    let t = Target::sqlite_migrated();
    let key = std::path::Path::new(&t.url).with_file_name("aliaskit.key");
    std::fs::remove_file(&key).unwrap();
    let run = t.run(&["config", "check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: security.key_file: "),
        "{}",
        run.stderr
    );
    assert!(!key.exists());
}
