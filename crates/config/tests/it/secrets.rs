//! Secrets never reach `Debug` output or an error message.

use crate::{load, load_err, toml};

const KEY: &str = "bootstrap-key-0123456789-abcdefghijkl";
const PASSWORD: &str = "pg-pa55word-never-shown";

#[test]
fn debug_shows_neither_the_bootstrap_key_nor_the_database_password() {
    let url = format!("postgres://aliaskit:{PASSWORD}@db:5432/aliaskit");
    let s = load(
        None,
        &[
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
            ("ALIASKIT__DATABASE__URL", &url),
        ],
    )
    .unwrap();
    let debug = format!("{s:?} {s:#?} {:?}", s.bootstrap_key().unwrap());
    assert!(!debug.contains(KEY), "{debug}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(
        debug.contains("postgres://aliaskit:***@db:5432/aliaskit"),
        "{debug}"
    );
    assert!(debug.contains("redacted"), "{debug}");
}

#[test]
fn a_short_bootstrap_key_is_named_but_not_echoed() {
    let short = "short-secret-value";
    let e = load_err(None, &[("ALIASKIT__BOOTSTRAP__API_KEY", short)]);
    assert_eq!(e.key(), Some("bootstrap.api_key"));
    assert_eq!(
        e.to_string(),
        "ALIASKIT__BOOTSTRAP__API_KEY: bootstrap.api_key: invalid API key: it is 18 characters; at least 32 are required"
    );
    assert!(!format!("{e} {e:?}").contains(short));

    let file = toml(&format!("[bootstrap]\napi_key = \"{short}\"\n"));
    let e = load_err(Some(&file), &[]);
    assert_eq!(e.key(), Some("bootstrap.api_key"));
    assert!(!format!("{e} {e:?}").contains(short), "{e}");
}

#[test]
fn a_toml_syntax_error_does_not_quote_the_line_holding_a_secret() {
    let file = toml(&format!("[bootstrap]\napi_key = \"{KEY}\n"));
    let e = load_err(Some(&file), &[]);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("line 2"), "{shown}");
}

#[test]
fn an_unsupported_database_url_is_named_without_its_password() {
    let url = format!("mysql://aliaskit:{PASSWORD}@db/aliaskit");
    let e = load_err(None, &[("ALIASKIT__DATABASE__URL", &url)]);
    assert_eq!(e.key(), Some("database.url"));
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(
        shown.contains("mysql://aliaskit:***@db/aliaskit"),
        "{shown}"
    );
}
