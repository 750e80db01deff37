//! Defaults, then the file, then the environment.

use std::time::Duration;

use aliaskit_config::{LogFormat, Settings};
use aliaskit_service::ServiceConfig;
use aliaskit_store::PoolOptions;
use aliaskit_token::Policy;

use crate::{load, toml};

#[test]
fn the_defaults_are_the_documented_ones() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!((s.server.host.as_str(), s.server.port), ("127.0.0.1", 8080));
    assert_eq!(s.server.workers, None);
    assert_eq!(
        (s.server.shutdown_timeout, s.server.body_limit),
        (30, 65536)
    );
    assert_eq!(s.database.url, "./data/aliaskit.db");
    assert!(s.database.migrate_on_start);
    assert_eq!((s.database.pool_size, s.database.connect_timeout), (16, 3));
    assert_eq!((s.tokens.leeway, s.tokens.max_lifetime), (60, 86400));
    assert_eq!(
        (s.tokens.min_secret_bytes, s.tokens.rotation_grace),
        (32, 300)
    );
    assert_eq!(
        (s.tokens.issuer.as_deref(), s.tokens.audience.as_deref()),
        (None, None)
    );
    assert!(s.bootstrap.api_key.is_none());
    assert_eq!(s.bootstrap_key().unwrap(), None);
    assert_eq!(
        (s.logging.level.as_str(), s.logging.format),
        ("info", LogFormat::Pretty)
    );
    // The defaults of the library crates, so the binaries change nothing by default.
    assert_eq!(s.service_config(), ServiceConfig::default());
    assert_eq!(s.pool_options(), PoolOptions::default());
}

#[test]
fn a_file_overrides_the_defaults_key_by_key() {
    let file = toml(
        r#"
[server]
port = 9000
workers = 2

[database]
url = "sqlite:///var/lib/aliaskit/a.db"
migrate_on_start = false

[tokens]
issuer = "Joken"
audience = "Joken"
max_lifetime = 7200

[logging]
format = "json"
"#,
    );
    let s = load(Some(&file), &[]).unwrap();
    assert_eq!(s.server.port, 9000);
    assert_eq!(s.server.workers, Some(2));
    assert_eq!(
        s.server.host, "127.0.0.1",
        "a key the file leaves out keeps its default"
    );
    assert_eq!(s.database.url, "sqlite:///var/lib/aliaskit/a.db");
    assert!(!s.database.migrate_on_start);
    assert_eq!(s.database.pool_size, 16);
    assert_eq!(s.logging.format, LogFormat::Json);
    let config = s.service_config();
    assert_eq!(
        config.policy,
        Policy {
            max_lifetime: Duration::from_secs(7200),
            issuer: Some("Joken".into()),
            audience: Some("Joken".into()),
            ..Policy::default()
        }
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let file = toml("[server]\nport = 9000\nhost = \"0.0.0.0\"\n[tokens]\nleeway = 5\n");
    let s = load(
        Some(&file),
        &[
            ("ALIASKIT__SERVER__PORT", "9090"),
            ("ALIASKIT__TOKENS__ROTATION_GRACE", "10"),
            ("ALIASKIT__DATABASE__MIGRATE_ON_START", "false"),
            ("ALIASKIT__LOGGING__FORMAT", "json"),
            ("ALIASKIT__SERVER__WORKERS", "3"),
        ],
    )
    .unwrap();
    assert_eq!(s.server.port, 9090);
    assert_eq!(s.server.host, "0.0.0.0");
    assert_eq!(s.server.workers, Some(3));
    assert_eq!(s.tokens.leeway, 5);
    assert!(!s.database.migrate_on_start);
    assert_eq!(s.logging.format, LogFormat::Json);
    assert_eq!(s.service_config().rotation_grace, Duration::from_secs(10));
}

#[test]
fn server_port_from_the_environment() {
    let s = load(None, &[("ALIASKIT__SERVER__PORT", "9090")]).unwrap();
    assert_eq!(s.server.port, 9090);
    let s = load(None, &[("ALIASKIT__SERVER__PORT", "0")]).unwrap();
    assert_eq!(s.server.port, 0, "port 0 (any free port) is allowed");
}

#[test]
fn a_postgres_url_from_the_environment() {
    let url = "postgres://aliaskit:s3cret@db.internal:5432/aliaskit";
    let s = load(None, &[("ALIASKIT__DATABASE__URL", url)]).unwrap();
    assert_eq!(s.database.url, url);
    assert_eq!(
        s.database.redacted_url(),
        "postgres://aliaskit:***@db.internal:5432/aliaskit"
    );
}

#[test]
fn pool_options_follow_the_database_section() {
    let s = load(
        None,
        &[
            ("ALIASKIT__DATABASE__POOL_SIZE", "4"),
            ("ALIASKIT__DATABASE__CONNECT_TIMEOUT", "10"),
        ],
    )
    .unwrap();
    assert_eq!(
        s.pool_options(),
        PoolOptions {
            max_size: 4,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    );
}

#[test]
fn string_settings_keep_their_text_even_when_it_looks_like_a_number() {
    let digits = "12345678901234567890123456789012";
    let s = load(
        None,
        &[
            ("ALIASKIT__BOOTSTRAP__API_KEY", digits),
            ("ALIASKIT__TOKENS__ISSUER", "007"),
            ("ALIASKIT__TOKENS__AUDIENCE", "TRUE"),
            ("ALIASKIT__SERVER__HOST", "1.5"),
        ],
    )
    .unwrap();
    assert_eq!(s.bootstrap_key().unwrap().unwrap().expose(), digits);
    assert_eq!(s.tokens.issuer.as_deref(), Some("007"));
    assert_eq!(s.tokens.audience.as_deref(), Some("TRUE"));
    assert_eq!(s.server.host, "1.5");
}

#[test]
fn variables_without_the_prefix_are_ignored_and_names_are_case_insensitive() {
    let s = load(
        None,
        &[
            ("ALIASKIT_TEST_POSTGRES_URL", "postgres://x@y/z"),
            ("SERVER__PORT", "1"),
            ("PATH", "/usr/bin"),
            ("aliaskit__server__port", "7000"),
        ],
    )
    .unwrap();
    assert_eq!(s.server.port, 7000);
    assert_eq!(s.database.url, "./data/aliaskit.db");
}

#[test]
fn a_valid_bootstrap_key_is_an_api_key() {
    let key = "k".repeat(40);
    let s = load(None, &[("ALIASKIT__BOOTSTRAP__API_KEY", &key)]).unwrap();
    assert_eq!(s.bootstrap_key().unwrap().unwrap().expose(), key);
}

#[test]
fn opencap_domains_are_a_comma_separated_list_in_the_environment() {
    let s = load(
        None,
        &[
            ("ALIASKIT__OPENCAP__DOMAINS", "example.com,example.org"),
            ("ALIASKIT__OPENCAP__OPEN_SIGNUP", "true"),
        ],
    )
    .unwrap();
    assert_eq!(s.opencap.domains, ["example.com", "example.org"]);
    assert!(s.opencap.open_signup);
    let one = load(None, &[("ALIASKIT__OPENCAP__DOMAINS", "example.com")]).unwrap();
    assert_eq!(one.opencap.domains, ["example.com"]);
    let file = toml("[opencap]\ndomains = [\"a.example\", \"b.example\"]\ntoken_lifetime = 600\n");
    let from_file = load(Some(&file), &[]).unwrap();
    assert_eq!(from_file.opencap.domains, ["a.example", "b.example"]);
    let config = from_file.service_config().opencap;
    assert_eq!(config.domains, ["a.example", "b.example"]);
    assert_eq!(config.token_lifetime, std::time::Duration::from_secs(600));
}

#[test]
fn opencap_domains_must_be_domains() {
    let e = crate::load_err(
        None,
        &[("ALIASKIT__OPENCAP__DOMAINS", "example.com,Example.ORG")],
    );
    assert_eq!(e.key(), Some("opencap.domains"));
    assert!(
        e.to_string().contains("\"Example.ORG\" is not a domain"),
        "{e}"
    );
}

#[test]
fn a_list_key_and_plain_keys_of_the_same_section_all_apply() {
    let s = load(
        None,
        &[
            (
                "ALIASKIT__DATABASE__URL",
                "sqlite:///tmp/.tmpAbC1x9/aliaskit.db",
            ),
            ("ALIASKIT__SERVER__PORT", "0"),
            ("ALIASKIT__SERVER__WORKERS", "2"),
            (
                "ALIASKIT__BOOTSTRAP__API_KEY",
                "test-bootstrap-key-0123456789abcdef",
            ),
            ("ALIASKIT__OPENCAP__DOMAINS", "example.com"),
            ("ALIASKIT__OPENCAP__OPEN_SIGNUP", "true"),
        ],
    )
    .unwrap();
    assert_eq!(s.opencap.domains, ["example.com"]);
    assert!(s.opencap.open_signup);
}
