//! Mistakes are errors that name the key and where the value came from.

use aliaskit_config::{Origin, Settings};

use crate::{load, load_err, toml};

#[test]
fn a_port_that_is_not_a_number_names_the_key_and_the_variable() {
    let e = load_err(None, &[("ALIASKIT__SERVER__PORT", "eighty")]);
    assert_eq!(e.key(), Some("server.port"));
    assert_eq!(e.origin(), &Origin::Env("ALIASKIT__SERVER__PORT".into()));
    assert_eq!(
        e.to_string(),
        "ALIASKIT__SERVER__PORT: server.port: expected an integer, found string \"eighty\""
    );
    let e = load_err(None, &[("ALIASKIT__SERVER__PORT", "70000")]);
    assert_eq!(e.key(), Some("server.port"));
    assert!(
        e.to_string()
            .starts_with("ALIASKIT__SERVER__PORT: server.port: "),
        "{e}"
    );
}

#[test]
fn a_port_of_the_wrong_type_in_the_file_names_the_key_and_the_file() {
    let file = toml("[server]\nport = \"eighty\"\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("server.port"));
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));
    assert_eq!(
        e.to_string(),
        format!(
            "config file {}: server.port: expected an integer, found string \"eighty\"",
            file.path.display()
        )
    );
}

#[test]
fn the_variable_at_fault_is_named_among_several() {
    let e = load_err(
        None,
        &[
            ("ALIASKIT__SERVER__PORT", "9090"),
            ("ALIASKIT__DATABASE__POOL_SIZE", "many"),
            ("ALIASKIT__LOGGING__LEVEL", "debug"),
        ],
    );
    assert_eq!(
        e.origin(),
        &Origin::Env("ALIASKIT__DATABASE__POOL_SIZE".into())
    );
    assert_eq!(e.key(), Some("database.pool_size"));
}

#[test]
fn an_unknown_key_in_the_file_is_named() {
    let file = toml("[server]\nprot = 9090\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("server.prot"));
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));
    assert!(
        e.to_string()
            .contains("server.prot: unknown key (expected one of `host`, `port`"),
        "{e}"
    );

    let file = toml("[nonsense]\nttl = 5\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("nonsense"));

    let file = toml("verbose = true\n");
    assert_eq!(load_err(Some(&file), &[]).key(), Some("verbose"));
}

#[test]
fn an_unknown_key_in_the_environment_is_named() {
    let e = load_err(None, &[("ALIASKIT__SERVER__PROT", "9090")]);
    assert_eq!(e.key(), Some("server.prot"));
    assert_eq!(e.origin(), &Origin::Env("ALIASKIT__SERVER__PROT".into()));
    let e = load_err(None, &[("ALIASKIT__SERVER_PORT", "9090")]);
    assert_eq!(e.key(), Some("server_port"));
    let e = load_err(None, &[("ALIASKIT__", "x")]);
    assert_eq!(
        e.to_string(),
        "ALIASKIT__: names no setting; write ALIASKIT__SECTION__KEY, e.g. ALIASKIT__SERVER__PORT"
    );
}

#[test]
fn two_spellings_of_one_variable_are_refused() {
    let e = load_err(
        None,
        &[
            ("ALIASKIT__SERVER__PORT", "1"),
            ("aliaskit__server__port", "2"),
        ],
    );
    assert_eq!(e.key(), Some("server.port"));
    assert!(e.to_string().contains("sets it too"), "{e}");
}

#[test]
fn a_log_format_must_be_pretty_or_json() {
    let e = load_err(None, &[("ALIASKIT__LOGGING__FORMAT", "xml")]);
    assert_eq!(e.key(), Some("logging.format"));
    assert_eq!(
        e.to_string(),
        "ALIASKIT__LOGGING__FORMAT: logging.format: expected `pretty` or `json`, found \"xml\""
    );
}

#[test]
fn out_of_range_values_are_refused_and_named() {
    let cases = [
        ("ALIASKIT__DATABASE__POOL_SIZE", "0", "database.pool_size"),
        (
            "ALIASKIT__DATABASE__CONNECT_TIMEOUT",
            "0",
            "database.connect_timeout",
        ),
        (
            "ALIASKIT__TOKENS__MIN_SECRET_BYTES",
            "0",
            "tokens.min_secret_bytes",
        ),
        ("ALIASKIT__TOKENS__MAX_LIFETIME", "0", "tokens.max_lifetime"),
        ("ALIASKIT__SERVER__WORKERS", "0", "server.workers"),
        ("ALIASKIT__SERVER__BODY_LIMIT", "0", "server.body_limit"),
        ("ALIASKIT__SERVER__BODY_TIMEOUT", "0", "server.body_timeout"),
        ("ALIASKIT__SERVER__HOST", "", "server.host"),
        ("ALIASKIT__TOKENS__ISSUER", "", "tokens.issuer"),
        ("ALIASKIT__TOKENS__LEEWAY", "-1", "tokens.leeway"),
        (
            "ALIASKIT__DATABASE__URL",
            "mysql://u:pw@h/db",
            "database.url",
        ),
        ("ALIASKIT__DATABASE__URL", "", "database.url"),
        (
            "ALIASKIT__DATABASE__MIGRATE_ON_START",
            "maybe",
            "database.migrate_on_start",
        ),
        ("ALIASKIT__DATABASE__TIMEOUT", "3601", "database.timeout"),
        (
            "ALIASKIT__ALIASES__MIN_PASSCODE_LEN",
            "129",
            "aliases.min_passcode_len",
        ),
        (
            "ALIASKIT__ALIASES__PASSCODE_WINDOW",
            "86401",
            "aliases.passcode_window",
        ),
        ("ALIASKIT__CACHE__TTL", "99999999999999", "cache.ttl"),
    ];
    for (var, value, key) in cases {
        let e = load_err(None, &[(var, value)]);
        assert_eq!(e.key(), Some(key), "{var}={value}: {e}");
        assert_eq!(e.origin(), &Origin::Env(var.into()), "{var}={value}: {e}");
    }
    let e = load_err(None, &[("ALIASKIT__DATABASE__POOL_SIZE", "0")]);
    assert_eq!(
        e.to_string(),
        "ALIASKIT__DATABASE__POOL_SIZE: database.pool_size: must be at least 1"
    );
    let e = load_err(None, &[("ALIASKIT__CACHE__TTL", "86401")]);
    assert_eq!(
        e.to_string(),
        "ALIASKIT__CACHE__TTL: cache.ttl: must be at most 86400 seconds: a day; another server \
         may serve a deleted alias for that long"
    );
    // The largest values accepted.
    let settings = Settings::load_from(
        None,
        [
            ("ALIASKIT__CACHE__TTL", "86400"),
            ("ALIASKIT__ALIASES__PASSCODE_WINDOW", "86400"),
            ("ALIASKIT__ALIASES__MIN_PASSCODE_LEN", "128"),
            ("ALIASKIT__DATABASE__TIMEOUT", "3600"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    assert_eq!(settings.cache.ttl, 86_400);
    let file = toml("[tokens]\nmax_lifetime = 0\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));
    assert_eq!(e.key(), Some("tokens.max_lifetime"));
}

#[test]
fn a_missing_or_broken_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = Settings::load_from(Some(&missing), []).unwrap_err();
    assert_eq!(e.origin(), &Origin::File(missing.clone()));
    assert!(
        e.to_string().starts_with(&format!(
            "config file {}: cannot read it: ",
            missing.display()
        )),
        "{e}"
    );

    let file = toml("[server\nport = 1\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));
    assert!(e.to_string().contains("TOML parse error at line 1"), "{e}");
}

#[test]
fn tls_takes_both_files_or_neither() {
    let e = load_err(
        None,
        &[("ALIASKIT__SERVER__TLS__CERT", "/etc/tls/cert.pem")],
    );
    assert_eq!(e.key(), Some("server.tls.key"));
    assert_eq!(
        e.to_string(),
        "server.tls.key: must be set too when server.tls.cert is: set both for HTTPS, or neither"
    );

    let file = toml("[server.tls]\nkey = \"/etc/tls/key.pem\"\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("server.tls.cert"));
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));

    let e = load_err(
        None,
        &[
            ("ALIASKIT__SERVER__TLS__CERT", ""),
            ("ALIASKIT__SERVER__TLS__KEY", "/etc/tls/key.pem"),
        ],
    );
    assert_eq!(
        e.origin(),
        &Origin::Env("ALIASKIT__SERVER__TLS__CERT".into())
    );
    assert_eq!(e.key(), Some("server.tls.cert"));

    let both = crate::load(
        None,
        &[
            ("ALIASKIT__SERVER__TLS__CERT", "/etc/tls/cert.pem"),
            ("ALIASKIT__SERVER__TLS__KEY", "/etc/tls/key.pem"),
        ],
    )
    .unwrap();
    assert_eq!(
        both.server.tls.cert.as_deref(),
        Some(std::path::Path::new("/etc/tls/cert.pem"))
    );
    assert_eq!(
        both.server.tls.key.as_deref(),
        Some(std::path::Path::new("/etc/tls/key.pem"))
    );
    let neither = Settings::load_from(None, Vec::new()).unwrap();
    assert_eq!(neither.server.tls.cert, None);
}

/// What every refused `logging.level` says, after what is wrong with it.
const LEVELS: &str = "the levels are `error`, `warn`, `info`, `debug`, `trace` and `off` (in any \
                      case); directives look like `info,aliaskit_http=debug`";

#[test]
fn a_log_level_is_a_level_or_target_level_directives() {
    for good in [
        "error",
        "warn",
        "info",
        "debug",
        "trace",
        "off",
        "WARN",
        "Info",
        "aliaskit_http=debug",
        "info,aliaskit_http=debug",
        "warn,aliaskit_http::org=trace,actix_web=OFF",
        "aliaskit-bench=info",
        "my.app=info",
        "aliaskit_http[request]=debug",
        "[request]=debug",
        "aliaskit_http[request{method}]=trace",
        "aliaskit_http[request{method=POST}]=trace",
    ] {
        let settings = load(None, &[("ALIASKIT__LOGGING__LEVEL", good)])
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(settings.logging.level, good);
    }
}

#[test]
fn a_log_level_that_is_not_a_level_is_refused_naming_the_levels() {
    // tracing reads a bare word that is no level as a target, and so logs nothing else.
    let e = load_err(None, &[("ALIASKIT__LOGGING__LEVEL", "inf")]);
    assert_eq!(
        e.to_string(),
        format!(
            "ALIASKIT__LOGGING__LEVEL: logging.level: \"inf\" is neither a level nor a \
             `target=level` directive; {LEVELS}"
        )
    );
    let e = load_err(
        None,
        &[("ALIASKIT__LOGGING__LEVEL", "info,aliaskit_http=verbose")],
    );
    assert_eq!(
        e.to_string(),
        format!(
            "ALIASKIT__LOGGING__LEVEL: logging.level: \"aliaskit_http=verbose\": \"verbose\" is \
             not a level; {LEVELS}"
        )
    );
    for bad in [
        "WARNING",
        "verbose",
        "5",
        "debug,inf",
        "aliaskit_http",
        "aliaskit_http=",
        "aliaskit_http=5",
        "=debug",
        "info,,debug",
        "info,",
        "info, aliaskit_http=debug",
        " info",
        "aliaskit_http[=debug",
        "aliaskit_http[]=debug",
        "aliaskit_http[request]x=debug",
        "aliaskit_http[request{}]=debug",
        "a b=debug",
        "aliaskit=http=debug",
        ".aliaskit=debug",
    ] {
        let e = load_err(None, &[("ALIASKIT__LOGGING__LEVEL", bad)]);
        assert_eq!(e.key(), Some("logging.level"), "{bad:?}: {e}");
        assert_eq!(
            e.origin(),
            &Origin::Env("ALIASKIT__LOGGING__LEVEL".into()),
            "{bad:?}: {e}"
        );
        assert!(e.reason().ends_with(LEVELS), "{bad:?}: {e}");
    }
    let file = toml("[logging]\nlevel = \"WARNING\"\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.origin(), &Origin::File(file.path.clone()));
    assert_eq!(e.key(), Some("logging.level"));
}

#[test]
fn a_boolean_is_true_or_false_and_nothing_else() {
    const VALID: &str = "expected `true` or `false` (or `yes`/`no`, `on`/`off`, `1`/`0`)";
    let e = load_err(None, &[("ALIASKIT__OPENCAP__OPEN_SIGNUP", "maybe")]);
    assert_eq!(
        e.to_string(),
        format!("ALIASKIT__OPENCAP__OPEN_SIGNUP: opencap.open_signup: {VALID}, found \"maybe\"")
    );
    // The `config` crate reads any number as a boolean: 2 was `true`, 0.5 too.
    for (text, found) in [
        ("migrate_on_start = 2", "integer `2`"),
        ("migrate_on_start = -1", "integer `-1`"),
        ("migrate_on_start = 0.5", "floating point `0.5`"),
        ("migrate_on_start = \"maybe\"", "\"maybe\""),
    ] {
        let file = toml(&format!("[database]\n{text}\n"));
        let e = load_err(Some(&file), &[]);
        assert_eq!(e.key(), Some("database.migrate_on_start"), "{text}: {e}");
        assert_eq!(e.origin(), &Origin::File(file.path.clone()), "{text}: {e}");
        assert_eq!(e.reason(), format!("{VALID}, found {found}"), "{text}");
    }
    for (value, expected) in [
        ("true", true),
        ("FALSE", false),
        ("yes", true),
        ("No", false),
        ("on", true),
        ("off", false),
        ("1", true),
        ("0", false),
    ] {
        let settings = load(None, &[("ALIASKIT__OPENCAP__OPEN_SIGNUP", value)]).unwrap();
        assert_eq!(settings.opencap.open_signup, expected, "{value}");
    }
    for (text, expected) in [
        ("migrate_on_start = false", false),
        ("migrate_on_start = true", true),
        ("migrate_on_start = 0", false),
        ("migrate_on_start = 1", true),
        ("migrate_on_start = \"off\"", false),
    ] {
        let file = toml(&format!("[database]\n{text}\n"));
        let settings = load(Some(&file), &[]).unwrap();
        assert_eq!(settings.database.migrate_on_start, expected, "{text}");
    }
}

/// Trusted proxies are parsed once, while the settings load: a bad one names the key, where it
/// came from and why; good ones arrive typed.
#[test]
fn a_trusted_proxy_that_is_not_a_network_names_the_key() {
    let e = load_err(
        None,
        &[("ALIASKIT__SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.0/99")],
    );
    assert_eq!(e.key(), Some("server.trusted_proxies"), "{e}");
    assert_eq!(
        e.origin(),
        &Origin::Env("ALIASKIT__SERVER__TRUSTED_PROXIES".into())
    );
    assert!(
        e.to_string()
            .ends_with("\"10.0.0.0/99\": the prefix length must be 0 to 32"),
        "{e}"
    );
    let file = toml("[server]\ntrusted_proxies = [\"proxy.internal\"]\n");
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("server.trusted_proxies"), "{e}");
    assert!(
        e.to_string()
            .contains("\"proxy.internal\" is not an address"),
        "{e}"
    );

    let settings = load(
        None,
        &[(
            "ALIASKIT__SERVER__TRUSTED_PROXIES",
            "10.0.0.0/8,::ffff:192.0.2.7",
        )],
    )
    .unwrap();
    let shown: Vec<String> = settings
        .server
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7"]);
}
