//! Building [`Settings`] from the three layers, and checking the result.
//!
//! The environment goes through the `config` crate's [`Environment`] source, in two halves:
//!
//! * every key but the list keys is read as text, with `try_parsing` off. The `config` crate
//!   still turns `"9090"` into a `u16` and `"false"` into a `bool` when the setting asks for
//!   one, and a string setting keeps its text exactly: with `try_parsing` on, a numeric-looking
//!   value is parsed first, so an all-digit `bootstrap.api_key` of 32 digits would come back
//!   as a rounded float, and an `issuer` of `007` as `7`;
//! * the keys in [`LIST_KEYS`] are read with `try_parsing` and `list_separator(",")`, so
//!   `ALIASKIT__OPENCAP__DOMAINS=a.com,b.org` is a list. The `config` crate splits every string
//!   of a source at commas unless it is told which keys are lists, which is why only list keys
//!   go to that source.

use std::path::Path;

use aliaskit_domain::ApiKey;
use aliaskit_store::Target;
use config::builder::DefaultState;
use config::{Config, ConfigBuilder, Environment, File, FileFormat};

use crate::{BOOTSTRAP_KEY, ConfigError, Origin, PLACEHOLDER_API_KEYS, Settings};

/// Environment variables `ALIASKIT__SECTION__KEY` set `section.key`.
const PREFIX: &str = "ALIASKIT";
/// Between the prefix and the section, and between the section and the key.
const SEPARATOR: &str = "__";
/// Keys whose environment value is a comma-separated list (`a,b,c`). A new list key goes here
/// and in `docs/configuration.md`.
const LIST_KEYS: &[&str] = &[
    "opencap.domains",
    "security.old_master_keys",
    "server.trusted_proxies",
];

/// One `ALIASKIT__…` variable and the dotted key it sets.
struct EnvVar {
    name: String,
    key: String,
    value: String,
}

/// `aliaskit__`: the `config` crate compares the lower-cased variable name with it.
fn lower_prefix() -> String {
    format!("{PREFIX}{SEPARATOR}").to_lowercase()
}

/// The process's `ALIASKIT__…` variables. Names that are not UTF-8 are skipped (they cannot
/// name a setting); a value that is not UTF-8 is an error naming the variable.
pub(crate) fn process_env() -> Result<Vec<(String, String)>, ConfigError> {
    let prefix = lower_prefix();
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Ok(name) = name.into_string() else {
            continue;
        };
        if !name.to_lowercase().starts_with(&prefix) {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_| ConfigError::new(Origin::Env(name.clone()), None, "is not UTF-8"))?;
        vars.push((name, value));
    }
    Ok(vars)
}

/// The `ALIASKIT__…` variables of `env`, with their keys, sorted by name. A later variable of
/// the same name replaces an earlier one; two names for one key are an error.
fn our_vars(env: impl IntoIterator<Item = (String, String)>) -> Result<Vec<EnvVar>, ConfigError> {
    let prefix = lower_prefix();
    let mut vars: Vec<EnvVar> = Vec::new();
    for (name, value) in env {
        let lower = name.to_lowercase();
        let Some(rest) = lower.strip_prefix(&prefix) else {
            continue;
        };
        let key = rest.replace(SEPARATOR, ".");
        if key.split('.').any(str::is_empty) {
            return Err(ConfigError::new(
                Origin::Env(name),
                None,
                "names no setting; write ALIASKIT__SECTION__KEY, e.g. ALIASKIT__SERVER__PORT",
            ));
        }
        if let Some(same) = vars.iter_mut().find(|v| v.name == name) {
            same.value = value;
            continue;
        }
        if let Some(other) = vars.iter().find(|v| v.key == key) {
            return Err(ConfigError::new(
                Origin::Env(name),
                Some(&key),
                format!("{} sets it too; set it once", other.name),
            ));
        }
        vars.push(EnvVar { name, key, value });
    }
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(vars)
}

pub(crate) fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let vars = our_vars(env)?;
    let file = match path {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                Origin::File(path.to_owned()),
                None,
                format!("cannot read it: {e}"),
            )
        })?),
        None => None,
    };
    let file_origin = || path.map_or(Origin::Settings, |p| Origin::File(p.to_owned()));
    let base = || {
        let builder = Config::builder();
        match &file {
            Some(text) => builder.add_source(File::from_str(text, FileFormat::Toml)),
            None => builder,
        }
    };

    // The file alone first, so that its mistakes are reported as the file's.
    build(base()).map_err(|e| ConfigError::from_config(file_origin(), e))?;

    let all: Vec<&EnvVar> = vars.iter().collect();
    let settings = match build(with_env(base(), &all)) {
        Ok(settings) => settings,
        Err(e) => {
            // Find the variable at fault: each one alone on top of the file.
            for var in &vars {
                if let Err(e) = build(with_env(base(), &[var])) {
                    return Err(ConfigError::from_config(Origin::Env(var.name.clone()), e));
                }
            }
            return Err(ConfigError::from_config(Origin::Settings, e));
        }
    };

    let origin_of = |key: &str| match vars.iter().find(|v| v.key == key) {
        Some(var) => Origin::Env(var.name.clone()),
        None => file_origin(),
    };
    check(&settings)
        .map_err(|(key, reason)| ConfigError::new(origin_of(key), Some(key), reason))?;
    Ok(settings)
}

fn build(builder: ConfigBuilder<DefaultState>) -> Result<Settings, config::ConfigError> {
    builder.build()?.try_deserialize()
}

fn with_env(builder: ConfigBuilder<DefaultState>, vars: &[&EnvVar]) -> ConfigBuilder<DefaultState> {
    let (lists, texts): (Vec<&EnvVar>, Vec<&EnvVar>) = vars
        .iter()
        .partition(|v| LIST_KEYS.contains(&v.key.as_str()));
    builder
        .add_source(environment().source(Some(as_map(&texts))))
        .add_source(list_environment().source(Some(as_map(&lists))))
}

/// `ALIASKIT__SECTION__KEY`, values as text.
fn environment() -> Environment {
    Environment::with_prefix(PREFIX)
        .prefix_separator(SEPARATOR)
        .separator(SEPARATOR)
}

/// The same for the list keys: `a,b,c` is a list.
fn list_environment() -> Environment {
    LIST_KEYS.iter().fold(
        environment().try_parsing(true).list_separator(","),
        |env, key| env.with_list_parse_key(key),
    )
}

fn as_map(vars: &[&EnvVar]) -> config::Map<String, String> {
    vars.iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

/// A day in seconds: the upper bound of `aliases.passcode_window` and `cache.ttl`.
const DAY: u64 = 86_400;

/// Range checks that types cannot express: the key at fault and why.
fn check(s: &Settings) -> Result<(), (&'static str, String)> {
    let at_least_one = |key: &'static str, value: u64, hint: &str| {
        if value == 0 {
            Err((key, format!("must be at least 1{hint}")))
        } else {
            Ok(())
        }
    };
    let not_empty = |key: &'static str, value: &str, hint: &str| {
        if value.trim().is_empty() {
            Err((key, format!("must not be empty{hint}")))
        } else {
            Ok(())
        }
    };
    let at_most = |key: &'static str, value: u64, max: u64, unit: &str, why: &str| {
        if value > max {
            Err((key, format!("must be at most {max}{unit}: {why}")))
        } else {
            Ok(())
        }
    };
    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);

    not_empty("server.host", &s.server.host, "")?;
    if let Some(workers) = s.server.workers {
        at_least_one(
            "server.workers",
            as_u64(workers),
            "; leave it unset for one worker per CPU core",
        )?;
    }
    at_least_one("server.body_limit", as_u64(s.server.body_limit), " byte")?;
    at_least_one("server.body_timeout", s.server.body_timeout, " second")?;
    // TLS takes both files; one alone is a mistake, named by the key that is missing.
    let tls = [
        ("server.tls.cert", &s.server.tls.cert),
        ("server.tls.key", &s.server.tls.key),
    ];
    for ((key, path), (other, other_path)) in [(tls[0], tls[1]), (tls[1], tls[0])] {
        if path.is_none() && other_path.is_some() {
            return Err((
                key,
                format!("must be set too when {other} is: set both for HTTPS, or neither"),
            ));
        }
        if let Some(path) = path {
            not_empty(
                key,
                &path.to_string_lossy(),
                "; leave it out for plain HTTP",
            )?;
        }
    }

    Target::parse(&s.database.url).map_err(|e| ("database.url", e.to_string()))?;
    at_least_one("database.pool_size", s.database.pool_size.into(), "")?;
    at_least_one(
        "database.connect_timeout",
        s.database.connect_timeout,
        " second",
    )?;
    at_least_one("database.timeout", s.database.timeout, " second")?;
    at_most(
        "database.timeout",
        s.database.timeout,
        3600,
        " seconds",
        "a request waits on the database no longer than an hour",
    )?;

    at_least_one("tokens.max_lifetime", s.tokens.max_lifetime, " second")?;
    at_least_one(
        "tokens.min_secret_bytes",
        as_u64(s.tokens.min_secret_bytes),
        " byte",
    )?;
    let unset = "; leave it out to accept any";
    if let Some(issuer) = &s.tokens.issuer {
        not_empty("tokens.issuer", issuer, unset)?;
    }
    if let Some(audience) = &s.tokens.audience {
        not_empty("tokens.audience", audience, unset)?;
    }

    if let Some(key) = &s.bootstrap.api_key {
        ApiKey::parse(key.expose()).map_err(|e| (BOOTSTRAP_KEY, e.to_string()))?;
        if PLACEHOLDER_API_KEYS.contains(&key.expose()) {
            return Err((
                BOOTSTRAP_KEY,
                "is the placeholder of an example file, which anyone can read; set a key of \
                 your own (at least 32 random characters, e.g. from `openssl rand -hex 32`)"
                    .into(),
            ));
        }
    }

    for domain in &s.opencap.domains {
        // A domain is valid if an alias on it would be.
        aliaskit_domain::opencap::CapAlias::parse(&format!("x${domain}")).map_err(|e| {
            (
                "opencap.domains",
                format!("{domain:?} is not a domain: {e}"),
            )
        })?;
    }
    at_least_one(
        "opencap.token_lifetime",
        s.opencap.token_lifetime,
        " second",
    )?;
    at_least_one(
        "opencap.lockout_threshold",
        s.opencap.lockout_threshold.into(),
        "",
    )?;

    if let Some(key) = &s.security.master_key {
        aliaskit_store::MasterKey::from_base64(key.expose())
            .map_err(|e| ("security.master_key", e.to_string()))?;
    }
    for key in &s.security.old_master_keys {
        aliaskit_store::MasterKey::from_base64(key.expose())
            .map_err(|e| ("security.old_master_keys", e.to_string()))?;
    }

    at_least_one(
        "aliases.purge_interval",
        s.aliases.purge_interval,
        " second",
    )?;
    at_least_one(
        "aliases.min_passcode_len",
        as_u64(s.aliases.min_passcode_len),
        " character",
    )?;
    at_most(
        "aliases.min_passcode_len",
        as_u64(s.aliases.min_passcode_len),
        as_u64(aliaskit_domain::alias::MAX_PASSCODE_BYTES),
        " characters",
        "no passcode may be longer, so none could be set",
    )?;
    at_least_one(
        "aliases.passcode_failures",
        s.aliases.passcode_failures.into(),
        "",
    )?;
    at_least_one(
        "aliases.passcode_window",
        s.aliases.passcode_window,
        " second",
    )?;
    at_most(
        "aliases.passcode_window",
        s.aliases.passcode_window,
        DAY,
        " seconds",
        "a day, the longest block",
    )?;
    at_most(
        "cache.ttl",
        s.cache.ttl,
        DAY,
        " seconds",
        "a day; another server may serve a deleted alias for that long",
    )?;
    at_most(
        "cache.listen_ttl",
        s.cache.listen_ttl,
        DAY,
        " seconds",
        "a day; a server that missed a notification may serve a deleted alias for that long",
    )?;

    not_empty("logging.level", &s.logging.level, "")?;
    log_filter(&s.logging.level).map_err(|e| ("logging.level", e))?;
    Ok(())
}

/// The levels of `logging.level`, alone or after `target=`; any case, as tracing reads them.
const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// What every refused `logging.level` says after its reason.
const LEVELS_HELP: &str = "the levels are `error`, `warn`, `info`, `debug`, `trace` and `off` \
                           (in any case); directives look like `info,aliaskit_http=debug`";

fn is_level(word: &str) -> bool {
    LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word))
}

/// `logging.level`: comma-separated directives, each a level (`info`) or `SELECTOR=LEVEL`, the
/// selector a target (`aliaskit_http::org`), a span filter (`[request]`, `[request{method}]`)
/// or a target and a span filter — the subset of tracing's `EnvFilter` syntax whose every
/// directive names its level. tracing reads a bare word that is no level (`inf`, `WARNING`)
/// as a target logged at every level, which silences everything else: refused here, as are an
/// empty directive, whitespace (which `EnvFilter` misreads) and numeric levels.
fn log_filter(value: &str) -> Result<(), String> {
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "{value:?} holds whitespace: separate directives with commas only; {LEVELS_HELP}"
        ));
    }
    for directive in value.split(',') {
        match directive.rsplit_once('=') {
            _ if directive.is_empty() => {
                return Err(format!(
                    "{value:?} has an empty directive (a comma too many); {LEVELS_HELP}"
                ));
            }
            None if is_level(directive) => {}
            None => {
                return Err(format!(
                    "{directive:?} is neither a level nor a `target=level` directive; \
                     {LEVELS_HELP}"
                ));
            }
            Some((_, level)) if !is_level(level) => {
                return Err(format!(
                    "{directive:?}: {level:?} is not a level; {LEVELS_HELP}"
                ));
            }
            Some((selector, _)) => log_selector(selector)
                .map_err(|why| format!("{directive:?}: {why}; {LEVELS_HELP}"))?,
        }
    }
    Ok(())
}

/// The part of a directive before `=LEVEL`: `target`, `target[span]`, `[span{field}]`, ….
fn log_selector(selector: &str) -> Result<(), String> {
    let (target, span) = match selector.find('[') {
        Some(at) => (&selector[..at], Some(&selector[at..])),
        None => (selector, None),
    };
    if target.is_empty() && span.is_none() {
        return Err("no target before `=`".into());
    }
    if let Some(c) = target
        .chars()
        .enumerate()
        .find(|&(i, c)| {
            !(c.is_alphanumeric() || matches!(c, '_' | ':' | '-') || (c == '.' && i > 0))
        })
        .map(|(_, c)| c)
    {
        return Err(format!(
            "{target:?} is not a target: {c:?} is not allowed (a target is a module path \
             such as `aliaskit_http::org`)"
        ));
    }
    let Some(span) = span else {
        return Ok(());
    };
    let not_a_span = || {
        format!(
            "{span:?} is not a span filter (`[span]`, `[span{{field}}]` or `[span{{field=value}}]`)"
        )
    };
    let inner = span
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(not_a_span)?;
    let (name, fields) = match inner.split_once('{') {
        Some((name, fields)) => (name, Some(fields.strip_suffix('}').ok_or_else(not_a_span)?)),
        None => (inner, None),
    };
    let brackets = |s: &str| s.contains(['[', ']', '{', '}']);
    let empty = match fields {
        Some(fields) => fields.is_empty() || brackets(fields),
        None => name.is_empty(),
    };
    if empty || brackets(name) {
        return Err(not_a_span());
    }
    Ok(())
}
