//! `config/aliaskit.example.toml` and `docs/configuration.md` against the code: the example's
//! values are the defaults, and every key (with its environment name) is in both.
//!
//! It enumerates the keys by serializing a [`Settings`] with every optional value set (secrets
//! serialize redacted, which is enough to name their keys).

use std::path::{Path, PathBuf};

use aliaskit_domain::Sensitive;
use serde_json::Value;

use crate::*;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// Settings with every optional value set. The struct literals name every field, so a new
/// setting does not compile here until it is added, and then this test asks for it to be
/// documented.
fn everything() -> Settings {
    Settings {
        server: ServerSettings {
            host: "h".into(),
            port: 1,
            workers: Some(1),
            shutdown_timeout: 1,
            body_limit: 1,
            body_timeout: 1,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))],
            tls: TlsSettings {
                cert: Some("c".into()),
                key: Some("k".into()),
            },
        },
        database: DatabaseSettings {
            url: "u".into(),
            migrate_on_start: true,
            pool_size: 1,
            connect_timeout: 1,
            timeout: 1,
        },
        tokens: TokenSettings {
            leeway: 1,
            max_lifetime: 1,
            min_secret_bytes: 1,
            rotation_grace: 1,
            issuer: Some("i".into()),
            audience: Some("a".into()),
        },
        bootstrap: BootstrapSettings {
            api_key: Some(Sensitive::new("k")),
        },
        cache: CacheSettings {
            ttl: 1,
            listen_ttl: 1,
            max_entries: 1,
        },
        aliases: AliasSettings {
            purge_after: 1,
            purge_interval: 1,
            min_passcode_len: 1,
            passcode_failures: 1,
            passcode_window: 1,
        },
        webhooks: WebhookSettings {
            rotation_grace: 1,
            allow_insecure: true,
            allow_private_targets: true,
            senders: 1,
        },
        audit: AuditSettings { retention_days: 1 },
        limits: LimitSettings {
            retrieve_per_second: 1,
            org_per_second: 1,
        },
        security: SecuritySettings {
            master_key: Some(Sensitive::new("k")),
            old_master_keys: vec![Sensitive::new("o")],
            key_file: Some("f".into()),
        },
        opencap: OpenCapSettings {
            domains: vec!["example.com".into()],
            open_signup: true,
            token_lifetime: 1,
            lockout_threshold: 1,
            lockout_duration: 1,
            auth_limit_per_minute: 1,
        },
        logging: LoggingSettings {
            level: "info".into(),
            format: LogFormat::Json,
        },
    }
}

/// Every key, as (table, key): `("server", "port")`, `("server.tls", "cert")`.
fn all_keys() -> Vec<(String, String)> {
    fn walk(table: &str, value: &Value, keys: &mut Vec<(String, String)>) {
        let Value::Object(members) = value else {
            panic!("[{table}] is a table");
        };
        for (key, value) in members {
            match value {
                Value::Object(_) => walk(&format!("{table}.{key}"), value, keys),
                _ => keys.push((table.to_owned(), key.clone())),
            }
        }
    }
    let Ok(Value::Object(sections)) = serde_json::to_value(everything()) else {
        panic!("settings serialize to an object");
    };
    let mut keys = Vec::new();
    for (section, table) in &sections {
        walk(section, table, &mut keys);
    }
    assert!(keys.iter().any(|(t, k)| t == "server.tls" && k == "cert"));
    assert!(keys.len() >= 18, "{keys:?}");
    keys
}

fn env_name(table: &str, key: &str) -> String {
    format!(
        "ALIASKIT__{}__{}",
        table.to_uppercase().replace('.', "__"),
        key.to_uppercase()
    )
}

#[test]
fn the_example_file_holds_the_defaults() {
    let path = repo_file("config/aliaskit.example.toml");
    let example = Settings::load_from(Some(&path), []).unwrap_or_else(|e| panic!("{e}"));
    let defaults = Settings::load_from(None, []).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(example, defaults);
    assert_eq!(defaults, Settings::default());
}

#[test]
fn the_example_file_shows_every_key_with_its_environment_name() {
    let path = repo_file("config/aliaskit.example.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut section = String::new();
    let mut shown = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        // `key = value`, or `# key = value` for a key whose default is "unset".
        let setting = line.strip_prefix('#').map_or(line, str::trim_start);
        if let Some((key, _)) = setting.split_once(" = ")
            && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            shown.push((section.clone(), key.to_owned()));
        }
    }
    for (section, key) in all_keys() {
        assert!(
            shown.contains(&(section.clone(), key.clone())),
            "{section}.{key} is missing from {}",
            path.display()
        );
        let env = env_name(&section, &key);
        assert!(text.contains(&env), "{env} is not mentioned in the example");
    }
}

#[test]
fn the_configuration_doc_describes_every_key() {
    let text = std::fs::read_to_string(repo_file("docs/configuration.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    for (section, key) in all_keys() {
        let dotted = format!("`{section}.{key}`");
        assert!(
            text.contains(&dotted),
            "{dotted} is not in docs/configuration.md"
        );
        let env = env_name(&section, &key);
        assert!(text.contains(&env), "{env} is not in docs/configuration.md");
    }
}

/// The value of the first line of `text` that starts with `prefix` (after `#` and spaces), up
/// to the end of the line, without quotes.
fn example_value(text: &str, prefix: &str) -> String {
    let line = text
        .lines()
        .map(|l| l.trim_start_matches(['#', ' ']))
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"));
    line[prefix.len()..].trim().trim_matches('"').to_owned()
}

/// Every example file carries a placeholder bootstrap key, and settings holding it are refused
/// (without the key in the message): copied as is, an example cannot open an organization to
/// anyone who read the file.
#[test]
fn the_example_files_placeholder_keys_are_refused() {
    let toml = std::fs::read_to_string(repo_file("config/aliaskit.example.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let env = std::fs::read_to_string(repo_file("deploy/systemd/aliaskit.env.example"))
        .unwrap_or_else(|e| panic!("{e}"));
    let keys = [
        example_value(&toml, "api_key = "),
        example_value(&env, "ALIASKIT__BOOTSTRAP__API_KEY="),
    ];
    for key in keys
        .iter()
        .map(String::as_str)
        .chain(PLACEHOLDER_API_KEYS.iter().copied())
    {
        assert!(PLACEHOLDER_API_KEYS.contains(&key), "{key:?}");
        let env = [("ALIASKIT__BOOTSTRAP__API_KEY".to_owned(), key.to_owned())];
        let e = Settings::load_from(None, env).unwrap_err().to_string();
        assert!(e.contains("bootstrap.api_key"), "{e}");
        assert!(e.contains("placeholder"), "{e}");
        assert!(!e.contains(key), "the key is not repeated: {e}");
    }
    // The env example's master key is no key either.
    let master = example_value(&env, "ALIASKIT__SECURITY__MASTER_KEY=");
    let env = [("ALIASKIT__SECURITY__MASTER_KEY".to_owned(), master)];
    assert!(Settings::load_from(None, env).is_err());
}
