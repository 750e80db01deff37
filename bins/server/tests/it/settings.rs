//! Settings the server refuses at start, through the real binary, and what `logging.level`
//! becomes in tracing.

use aliaskit_config::Settings;
use tracing_subscriber::EnvFilter;

use crate::*;

/// `logging.level` values, some accepted and some refused by the settings.
const LEVELS: &[&str] = &[
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "off",
    "WARN",
    "Info",
    "info,aliaskit_http=debug",
    "warn,aliaskit_http::org=trace,actix_web=OFF",
    "aliaskit-bench=info",
    "my.app=info",
    "aliaskit_http[request]=debug",
    "[request]=debug",
    "aliaskit_http[request{method}]=trace",
    "aliaskit_http[request{method=POST}]=trace",
    "inf",
    "WARNING",
    "aliaskit_http",
    "aliaskit_http=",
    "info,",
    "5",
];

fn accepted(level: &str) -> bool {
    let env = [("ALIASKIT__LOGGING__LEVEL".to_owned(), level.to_owned())];
    Settings::load_from(None, env).is_ok()
}

#[test]
fn every_log_level_the_settings_accept_is_a_filter_tracing_reads() {
    let mut count = 0;
    for level in LEVELS.iter().copied().filter(|l| accepted(l)) {
        EnvFilter::try_new(level).unwrap_or_else(|e| panic!("{level:?}: {e}"));
        count += 1;
    }
    assert_eq!(count, 16);
    // What the settings refuse, tracing would take without a word: a bare word that is no
    // level is a target logged at every level, and everything else is silenced.
    for level in ["inf", "WARNING", "aliaskit_http"] {
        assert!(!accepted(level), "{level}");
        assert!(EnvFilter::try_new(level).is_ok(), "{level}");
    }
}

#[test]
fn a_mistyped_log_level_stops_the_start_naming_the_key_and_the_levels() {
    let dir = tempfile::tempdir().unwrap();
    let failed = failed_start(dir.path(), &[("ALIASKIT__LOGGING__LEVEL", "WARNING")]);
    assert!(
        failed.stderr.contains(
            "ALIASKIT__LOGGING__LEVEL: logging.level: \"WARNING\" is neither a level nor a \
             `target=level` directive; the levels are `error`, `warn`, `info`, `debug`, `trace` \
             and `off`"
        ),
        "{}",
        failed.stderr
    );
}

#[test]
fn bad_settings_stop_the_start_with_status_2_and_the_cause_chain_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let loose = dir.path().join("loose.key");
    std::fs::write(&loose, format!("{MASTER_KEY}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let loose = loose.to_str().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("ALIASKIT__SERVER__PORT", "eighty")],
            "error: cannot load the settings: ALIASKIT__SERVER__PORT: server.port: expected an \
             integer, found string \"eighty\"",
        ),
        (
            &[("ALIASKIT__LOGGING__LEVEL", "inf")],
            "error: cannot load the settings: ALIASKIT__LOGGING__LEVEL: logging.level: \"inf\" is \
             neither a level nor a `target=level` directive; ",
        ),
        (
            &[("ALIASKIT__SECURITY__KEY_FILE", loose)],
            "error: security.key_file: ",
        ),
        (
            &[(
                "ALIASKIT__DATABASE__URL",
                "postgres://aliaskit:hunter2@127.0.0.1:1/aliaskit",
            )],
            "error: security.master_key: is required with PostgreSQL",
        ),
        (
            &[
                ("ALIASKIT__SERVER__TLS__CERT", missing),
                ("ALIASKIT__SERVER__TLS__KEY", missing),
            ],
            "error: server.tls.cert: cannot read ",
        ),
        (
            &[("RUST_LOG", "aliaskit_http=verbose")],
            "error: RUST_LOG: error parsing level filter: expected one of \"off\", \"error\", \
             \"warn\", \"info\", \"debug\", \"trace\", or a number 0-5",
        ),
    ];
    for (env, start) in cases {
        let failed = failed_start(dir.path(), env);
        let line = failed.error_line();
        assert!(line.starts_with(start), "{env:?}: {}", failed.stderr);
        assert_eq!(failed.code, Some(2), "{env:?}: {}", failed.stderr);
        assert!(!failed.stderr.contains("hunter2"), "{}", failed.stderr);
        // Each cause once: tracing's filter error repeats its cause in its own text.
        let causes: Vec<&str> = line.split(": ").collect();
        for (i, cause) in causes.iter().enumerate() {
            assert!(!causes[..i].contains(cause), "{env:?}: twice: {line}");
        }
    }
}

#[test]
fn an_unreachable_database_stops_the_start_with_status_1_and_the_cause_chain_on_one_line() {
    // A port another process holds is status 1 too: binary.rs.
    let dir = tempfile::tempdir().unwrap();
    let failed = failed_start(
        dir.path(),
        &[
            (
                "ALIASKIT__DATABASE__URL",
                "postgres://aliaskit:hunter2@127.0.0.1:1/aliaskit",
            ),
            ("ALIASKIT__DATABASE__CONNECT_TIMEOUT", "1"),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
        ],
    );
    let line = failed.error_line();
    assert!(
        line.starts_with(
            "error: cannot use the database at postgres://aliaskit:***@127.0.0.1:1/aliaskit: "
        ),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains("hunter2"), "{}", failed.stderr);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
}
