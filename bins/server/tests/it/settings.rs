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
