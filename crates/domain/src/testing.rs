//! Helpers for the property tests of every crate (feature `testing`; tests only): how many cases
//! a property runs.

use proptest::test_runner::Config;

/// The variable that makes every long property run 50 times as long (docs/security.md,
/// "Hostile input, tested").
pub const LONG_FUZZ_VAR: &str = "ALIASKIT_LONG_FUZZ";

/// Cases for a property: `default`, sized for the debug test run, or 50 times as many when
/// `ALIASKIT_LONG_FUZZ` is set (to anything but `0`).
pub fn cases(default: u32) -> u32 {
    match std::env::var(LONG_FUZZ_VAR).as_deref() {
        Ok("") | Ok("0") | Err(_) => default,
        Ok(_) => default.saturating_mul(50),
    }
}

/// [`cases`]`(default)` cases, and as many rejected ones allowed (edits that cancel out are
/// skipped with `prop_assume!`; proptest's fixed default of 1024 rejects is too few for long
/// runs).
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        max_global_rejects: cases(default),
        ..Config::default()
    }
}
