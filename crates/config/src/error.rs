//! [`ConfigError`]: which setting is wrong, where it came from, and why.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The TOML file given to [`Settings::load`](crate::Settings::load).
    File(PathBuf),
    /// An environment variable, by name (`ALIASKIT__SERVER__PORT`).
    Env(String),
    /// The settings as loaded, wherever the value came from (e.g. checked after loading).
    Settings,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "config file {}", path.display()),
            Origin::Env(name) => f.write_str(name),
            Origin::Settings => f.write_str("settings"),
        }
    }
}

/// Settings that cannot be loaded: `ORIGIN: KEY: REASON`, e.g.
/// `ALIASKIT__SERVER__PORT: server.port: expected an integer, found string "eighty"` or
/// `config file aliaskit.toml: server.prot: unknown key (expected one of …)`.
///
/// The message never contains a secret: no `bootstrap.api_key`, no database password, no line
/// of the file quoted back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    origin: Origin,
    key: Option<String>,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(origin: Origin, key: Option<&str>, reason: impl Into<String>) -> Self {
        ConfigError {
            origin,
            key: key.map(str::to_owned),
            reason: reason.into(),
        }
    }

    /// The setting at fault, dotted (`server.port`), when the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Where the faulty value came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What is wrong, without the origin and key.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn render(&self) -> String {
        let mut out = match &self.origin {
            Origin::Settings => String::new(),
            origin => format!("{origin}: "),
        };
        if let Some(key) = &self.key {
            out.push_str(key);
            out.push_str(": ");
        }
        out.push_str(&self.reason);
        out
    }

    /// Translates an error of the `config` crate, attributing it to `origin`.
    pub(crate) fn from_config(origin: Origin, e: config::ConfigError) -> Self {
        let (key, reason) = describe(e);
        ConfigError {
            origin,
            key,
            reason,
        }
    }
}

/// The key and the reason of a `config` error. serde's "unknown field `x`" is reported against
/// the full key (`server.x`), and a file's parse error loses its quoted source lines, which may
/// hold a secret.
fn describe(e: config::ConfigError) -> (Option<String>, String) {
    match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => (key, format!("expected {expected}, found {unexpected}")),
        config::ConfigError::At { error, key, .. } => {
            let (inner_key, reason) = describe(*error);
            (join(key, inner_key), reason)
        }
        config::ConfigError::Message(message) => unknown_field(&message)
            .map_or((None, message.clone()), |(field, reason)| {
                (Some(field), reason)
            }),
        config::ConfigError::NotFound(key) => (Some(key), "missing".into()),
        config::ConfigError::FileParse { cause, .. } => {
            (None, without_source_lines(&cause.to_string()))
        }
        other => (None, without_source_lines(&other.to_string())),
    }
}

fn join(outer: Option<String>, inner: Option<String>) -> Option<String> {
    match (outer, inner) {
        (Some(o), Some(i)) => Some(format!("{o}.{i}")),
        (o, i) => o.or(i),
    }
}

/// serde's `unknown field `x`, expected one of `a`, `b`` as (`x`, `unknown key (expected one
/// of `a`, `b`)`).
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, tail) = rest.split_once('`')?;
    let tail = tail.trim_start_matches(',').trim();
    let reason = if tail.is_empty() {
        "unknown key".to_owned()
    } else {
        format!("unknown key ({tail})")
    };
    Some((field.to_owned(), reason))
}

/// A TOML parse error without the quoted lines (`3 | api_key = "…`) and carets, joined on one
/// line: `TOML parse error at line 3, column 11: invalid basic string`.
fn without_source_lines(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_source_line(line))
        .collect::<Vec<_>>()
        .join(": ")
}

fn is_source_line(line: &str) -> bool {
    if line.starts_with('|') {
        return true;
    }
    match line.split_once(" |") {
        Some((number, _)) => !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_toml_lines_are_dropped() {
        let message = "TOML parse error at line 3, column 11\n  |\n3 | api_key = \"hunter2\n  |           ^\ninvalid basic string\n";
        assert_eq!(
            without_source_lines(message),
            "TOML parse error at line 3, column 11: invalid basic string"
        );
    }

    #[test]
    fn unknown_fields_name_the_key() {
        assert_eq!(
            unknown_field("unknown field `prot`, expected one of `host`, `port`"),
            Some((
                "prot".into(),
                "unknown key (expected one of `host`, `port`)".into()
            ))
        );
        assert_eq!(
            unknown_field("unknown field `x`, there are no fields"),
            Some(("x".into(), "unknown key (there are no fields)".into()))
        );
        assert_eq!(unknown_field("something else"), None);
    }

    #[test]
    fn the_message_is_origin_key_reason() {
        let e = ConfigError::new(
            Origin::Env("ALIASKIT__SERVER__PORT".into()),
            Some("server.port"),
            "too big",
        );
        assert_eq!(
            e.to_string(),
            "ALIASKIT__SERVER__PORT: server.port: too big"
        );
        let e = ConfigError::new(Origin::Settings, Some("a.b"), "wrong");
        assert_eq!(e.to_string(), "a.b: wrong");
    }
}
