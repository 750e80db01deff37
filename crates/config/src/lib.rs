//! Settings of the aliaskit binaries (`aliaskit-server` and the `aliaskit` CLI), read once at
//! start and passed down as typed values: no library crate reads configuration itself.
//!
//! Three layers, later ones winning key by key:
//!
//! 1. built-in defaults ([`Settings::default`]);
//! 2. an optional TOML file (`--config PATH`); see `config/aliaskit.example.toml`;
//! 3. environment variables `ALIASKIT__SECTION__KEY`, e.g. `ALIASKIT__SERVER__PORT=9090`.
//!
//! Unknown keys, values of the wrong type and values out of range are errors that name the key
//! and where the value came from; secrets (`bootstrap.api_key`, the database password) never
//! appear in `Debug` output or in an error. Every key is described in `docs/configuration.md`.
//!
//! ```
//! use aliaskit_config::{LogFormat, Settings};
//!
//! let env = [("ALIASKIT__SERVER__PORT".to_owned(), "9090".to_owned())];
//! let settings = Settings::load_from(None, env)?;
//! assert_eq!(settings.server.port, 9090);
//! assert_eq!(settings.database.url, "./data/aliaskit.db");
//! assert_eq!(settings.logging.format, LogFormat::Pretty);
//!
//! let bad = [("ALIASKIT__SERVER__PORT".to_owned(), "eighty".to_owned())];
//! let err = Settings::load_from(None, bad).unwrap_err();
//! assert_eq!(err.key(), Some("server.port"));
//! # Ok::<(), aliaskit_config::ConfigError>(())
//! ```

mod error;
#[cfg(test)]
mod example_tests;
mod keys;
mod load;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aliaskit_domain::net::Net;
use aliaskit_domain::{ApiKey, Sensitive};
use aliaskit_service::{OpenCapConfig, ServiceConfig};
use aliaskit_store::{PoolOptions, redact_url};
use aliaskit_token::Policy;
use serde::{Deserialize, Deserializer, Serializer};

pub use error::{ConfigError, Origin};
pub use keys::{Keys, read_key_file, rewrite_key_file};

/// Everything the binaries can be configured with. `Default` is the built-in defaults.
///
/// It serializes (`aliaskit config check` prints it) with every secret redacted: the master
/// keys and the bootstrap key as `"***"`, the database URL with its password as `***`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[server]`: where and how the HTTP server listens.
    pub server: ServerSettings,
    /// `[database]`: which database, and the connection pool.
    pub database: DatabaseSettings,
    /// `[tokens]`: how access tokens are judged.
    pub tokens: TokenSettings,
    /// `[bootstrap]`: the first start on an empty database.
    pub bootstrap: BootstrapSettings,
    /// `[opencap]`: the OpenCAP alias server.
    pub opencap: OpenCapSettings,
    /// `[security]`: the master keys that encrypt secrets at rest.
    pub security: SecuritySettings,
    /// `[limits]`: requests per client and per organization.
    pub limits: LimitSettings,
    /// `[aliases]`: the purge of expired aliases, and passcodes.
    pub aliases: AliasSettings,
    /// `[cache]`: the in-process cache of hot reads.
    pub cache: CacheSettings,
    /// `[webhooks]`: which targets are accepted, and the secret rotation's grace.
    pub webhooks: WebhookSettings,
    /// `[audit]`: how long the audit trail is kept.
    pub audit: AuditSettings,
    /// `[logging]`: what the server logs, and how.
    pub logging: LoggingSettings,
}

/// `[server]`: where and how the HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind. Default `127.0.0.1` (this machine only).
    pub host: String,
    /// Port to bind; `0` lets the operating system pick a free one. Default `8080`.
    pub port: u16,
    /// Worker threads; `None` (the default) starts one per CPU core.
    pub workers: Option<usize>,
    /// Seconds a graceful shutdown waits for requests in flight. Default 30.
    pub shutdown_timeout: u64,
    /// Largest request body accepted, in bytes. Default 65536.
    pub body_limit: usize,
    /// Seconds a request body may take to arrive in full, counted from its head; a slower one
    /// is answered `408` and its connection closed. Default 10.
    pub body_timeout: u64,
    /// Proxies (addresses or networks such as `10.0.0.0/8`) whose `X-Forwarded-For` names the
    /// client for per-client limits, parsed once, here. Default none: the peer address is the
    /// client.
    #[serde(deserialize_with = "nets")]
    #[serde(serialize_with = "display_list")]
    pub trusted_proxies: Vec<Net>,
    /// `[server.tls]`: HTTPS termination. Default none: plain HTTP.
    pub tls: TlsSettings,
}

/// `[server.tls]`: the certificate and key with which the server speaks HTTPS, and only HTTPS,
/// on its port. Both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the TLS certificate chain (leaf first). Default none.
    pub cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (PKCS#8, PKCS#1 or SEC1). Default none.
    pub key: Option<PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: None,
            shutdown_timeout: 30,
            body_limit: 64 * 1024,
            body_timeout: 10,
            trusted_proxies: Vec::new(),
            tls: TlsSettings::default(),
        }
    }
}

/// `[database]`: which database, and the connection pool.
///
/// `Debug` shows the URL with its password replaced by `***`.
#[derive(Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…`, `sqlite://PATH` or a plain file path (SQLite). Default
    /// `./data/aliaskit.db`, relative to the working directory; its directory is created.
    /// Serialized with its password as `***`.
    #[serde(serialize_with = "redacted_url")]
    pub url: String,
    /// Apply pending migrations at start. Default true.
    #[serde(deserialize_with = "flag")]
    pub migrate_on_start: bool,
    /// Most connections open at once. Default 16.
    pub pool_size: u32,
    /// Seconds to wait for a connection before the database counts as unavailable. Default 3.
    pub connect_timeout: u64,
    /// Seconds a request waits on the database at most before it is answered `503`. The
    /// database's own timeouts are four fifths of it: one statement (PostgreSQL
    /// `statement_timeout`), a silent PostgreSQL server (TCP user timeout and keepalives), a
    /// SQLite writer's wait for the lock. Default 5.
    pub timeout: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "./data/aliaskit.db".into(),
            migrate_on_start: true,
            pool_size: 16,
            connect_timeout: 3,
            timeout: 5,
        }
    }
}

impl DatabaseSettings {
    /// The URL with any password replaced by `***`: what messages and logs may show.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.redacted_url())
            .field("migrate_on_start", &self.migrate_on_start)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `[tokens]`: how access tokens are judged (`docs/security.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Default 60.
    pub leeway: u64,
    /// Longest token lifetime accepted, in seconds. Default 86400 (24 h).
    pub max_lifetime: u64,
    /// Shortest `jwt_secret` accepted, in bytes. Default 32 (RFC 7518 §3.2).
    pub min_secret_bytes: usize,
    /// Seconds a rotated-out `jwt_secret` keeps verifying. Default 300.
    pub rotation_grace: u64,
    /// When set, every token's `iss` must equal it.
    pub issuer: Option<String>,
    /// When set, every token's `aud` must contain it.
    pub audience: Option<String>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let policy = Policy::default();
        let service = ServiceConfig::default();
        TokenSettings {
            leeway: policy.leeway.as_secs(),
            max_lifetime: policy.max_lifetime.as_secs(),
            min_secret_bytes: policy.min_secret_bytes,
            rotation_grace: service.rotation_grace.as_secs(),
            issuer: policy.issuer,
            audience: policy.audience,
        }
    }
}

/// `[opencap]`: the OpenCAP alias server (`/v1/…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenCapSettings {
    /// The domains whose aliases this server holds (`alice$example.com` needs `example.com`).
    /// Default none: OpenCAP answers, but holds no alias.
    pub domains: Vec<String>,
    /// Whether anyone may sign up with `POST /v1/users`; when false, signup needs an
    /// organization API key. Default false.
    #[serde(deserialize_with = "flag")]
    pub open_signup: bool,
    /// Lifetime of a login token from `POST /v1/auth`, in seconds. Default 1800 (30 min).
    pub token_lifetime: u64,
    /// Failed logins in a row that lock an account. Default 5.
    pub lockout_threshold: u32,
    /// How long a locked account refuses logins, in seconds. Default 900 (15 min).
    pub lockout_duration: u64,
    /// `POST /v1/auth` and `POST /v1/users` requests per client IP and minute (0: no limit).
    /// Default 10.
    pub auth_limit_per_minute: u32,
}

impl Default for OpenCapSettings {
    fn default() -> Self {
        let service = OpenCapConfig::default();
        OpenCapSettings {
            domains: service.domains,
            open_signup: service.open_signup,
            token_lifetime: service.token_lifetime.as_secs(),
            lockout_threshold: service.lockout_threshold,
            lockout_duration: service.lockout_duration.as_secs(),
            auth_limit_per_minute: 10,
        }
    }
}

/// `[cache]`: the in-process cache of the public retrieve and the OpenCAP lookup.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Seconds a read alias or lookup is served from memory while this server does not hear
    /// other processes' changes (its listening connection lost, or not yet made): the longest
    /// time another server, or the CLI, may see its deleted alias, rotated secret or revoked
    /// tokens still accepted here. `0` turns the cache off. Default 5.
    pub ttl: u64,
    /// Seconds the same entries are served while this server listens (PostgreSQL `LISTEN`, or
    /// SQLite's `cache_invalidations`): every change is then dropped everywhere as it commits.
    /// At least `ttl`. Default 60.
    pub listen_ttl: u64,
    /// About how many entries it holds at most. Default 100000.
    pub max_entries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        let service = ServiceConfig::default();
        CacheSettings {
            ttl: service.cache_ttl.as_secs(),
            listen_ttl: service.cache_listen_ttl.as_secs(),
            max_entries: service.cache_max_entries,
        }
    }
}

/// `[aliases]`: what happens to aliases after they expire.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AliasSettings {
    /// Aliases expired longer than this many seconds are deleted. Default 2592000 (30 days).
    pub purge_after: u64,
    /// How often the purge runs, in seconds: once per interval across every server sharing the
    /// database. Default 3600.
    pub purge_interval: u64,
    /// Shortest passcode an alias may be given, in characters. Default 6.
    pub min_passcode_len: usize,
    /// Wrong passcodes one alias may get per `passcode_window`, from every address together
    /// (each address may spend half). Default 10.
    pub passcode_failures: u32,
    /// The window of the passcode budget, in seconds, and the first block once it is spent
    /// (doubling with each budget spent in a row, at most a day). Default 900.
    pub passcode_window: u64,
}

impl Default for AliasSettings {
    fn default() -> Self {
        let service = ServiceConfig::default();
        AliasSettings {
            purge_after: service.purge_after.as_secs(),
            purge_interval: service.purge_interval.as_secs(),
            min_passcode_len: service.min_passcode_len,
            passcode_failures: service.passcode_failures,
            passcode_window: service.passcode_window.as_secs(),
        }
    }
}

/// `[webhooks]`: an organization's webhook endpoints (`docs/webhooks.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// How long a rotated-out signing secret keeps signing alongside the new one, in seconds.
    /// Default 86400 (24 h).
    pub rotation_grace: u64,
    /// Accept `http://` targets. Default false: `https` only.
    pub allow_insecure: bool,
    /// Accept targets that are, or resolve to, loopback, private, link-local or metadata
    /// addresses. Default false.
    pub allow_private_targets: bool,
    /// Deliveries this server makes at once, each on a thread of its own. Default 4; `0`: this
    /// server sends nothing (another one does).
    pub senders: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let webhooks = aliaskit_service::WebhookConfig::default();
        WebhookSettings {
            rotation_grace: webhooks.rotation_grace.as_secs(),
            allow_insecure: webhooks.allow_insecure,
            allow_private_targets: webhooks.allow_private_targets,
            senders: 4,
        }
    }
}

/// `[audit]`: the audit trail of every management change (`docs/audit.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Days an entry is kept; older ones are deleted by the expiry purge. Default 365; `0`
    /// keeps entries forever.
    pub retention_days: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention_days: 365,
        }
    }
}

/// `[limits]`: request limits; beyond them the server answers `429` with `Retry-After`.
/// Counted per server process. `0` turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Public retrieves (`GET /api/v1/alias/:id`) per client IP and second. Default 100.
    pub retrieve_per_second: u32,
    /// Organization API requests per organization and second. Default 60, as the Datagram
    /// service documents.
    pub org_per_second: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            retrieve_per_second: 100,
            org_per_second: 60,
        }
    }
}

/// `[security]`: the master keys that encrypt secrets at rest (see [`Settings::keys`]).
///
/// `Debug` shows only the keys' lengths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// The master key that encrypts secrets (base64 of 32 bytes). Default none: the key file
    /// is used.
    #[serde(deserialize_with = "sensitive")]
    #[serde(serialize_with = "redacted")]
    pub master_key: Option<Sensitive>,
    /// Older master keys that still decrypt values not yet re-encrypted after a rotation.
    /// Default none.
    #[serde(deserialize_with = "sensitive_list")]
    #[serde(serialize_with = "redacted_list")]
    pub old_master_keys: Vec<Sensitive>,
    /// The key file used without `master_key`. Default: `aliaskit.key` next to the SQLite
    /// database (created on first start, mode 0600); required to exist with PostgreSQL.
    pub key_file: Option<std::path::PathBuf>,
}

fn sensitive_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Sensitive>, D::Error> {
    Ok(Vec::<String>::deserialize(d)?
        .into_iter()
        .map(Sensitive::new)
        .collect())
}

/// `[bootstrap]`: the first start on an empty database.
///
/// `Debug` shows only the key's length.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapSettings {
    /// The API key of the `default` organization, instead of a generated one (at least 32
    /// characters; see [`Settings::bootstrap_key`]). Default none.
    #[serde(deserialize_with = "sensitive")]
    #[serde(serialize_with = "redacted")]
    pub api_key: Option<Sensitive>,
}

/// `[logging]`: what the server logs, and how.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSettings {
    /// The least severe level logged (`error`, `warn`, `info`, `debug`, `trace`, `off`, in any
    /// case), or `tracing` filter directives that each name a level
    /// (`info,aliaskit_http=debug`); a bare word that is no level is refused. Default `info`.
    pub level: String,
    /// Line format. Default [`LogFormat::Pretty`].
    pub format: LogFormat,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            level: "info".into(),
            format: LogFormat::Pretty,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (`"pretty"`).
    #[default]
    Pretty,
    /// One JSON object per line (`"json"`), for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    /// `pretty` or `json`; the error says which values are allowed.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("expected `pretty` or `json`, found {other:?}")),
        }
    }
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// A boolean setting: `true` or `false`; also, in any case, `yes`/`no`, `on`/`off`, `1`/`0` (as
/// text in the environment, or in the file) and the integers 0 and 1. Anything else is refused
/// with the valid values: the `config` crate alone reads every number as a boolean (`2`, `-1`
/// and `0.5` as true).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct Flag;

    fn refuse<E: serde::de::Error>(found: impl fmt::Display) -> E {
        E::custom(format!(
            "expected `true` or `false` (or `yes`/`no`, `on`/`off`, `1`/`0`), found {found}"
        ))
    }

    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`true` or `false` (or `yes`/`no`, `on`/`off`, `1`/`0`)")
        }

        fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(refuse(format_args!("integer `{v}`"))),
            }
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(refuse(format_args!("integer `{v}`"))),
            }
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<bool, E> {
            Err(refuse(format_args!("floating point `{v}`")))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" => Ok(false),
                _ => Err(refuse(format_args!("{v:?}"))),
            }
        }
    }

    d.deserialize_any(Flag)
}

/// Addresses and networks (`10.0.0.0/8`), each refused with the reason if it is not one.
fn nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Net>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| text.parse::<Net>().map_err(serde::de::Error::custom))
        .collect()
}

/// What a secret serializes as: `"***"` when set, `null` when not.
pub const REDACTED: &str = "***";

fn redacted<S: Serializer>(key: &Option<Sensitive>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(_) => s.serialize_some(REDACTED),
        None => s.serialize_none(),
    }
}

fn redacted_list<S: Serializer>(keys: &[Sensitive], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(|_| REDACTED))
}

fn redacted_url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

fn display_list<S: Serializer, T: fmt::Display>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(items.iter().map(ToString::to_string))
}

fn sensitive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sensitive>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Sensitive::new))
}

impl Settings {
    /// Loads the settings: built-in defaults, then the TOML file at `path` if given, then the
    /// process environment (`ALIASKIT__SECTION__KEY`). Validates them (see
    /// [`load_from`](Self::load_from)).
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(path, load::process_env()?)
    }

    /// Like [`load`](Self::load), with the environment given explicitly (tests, or a caller
    /// that filtered it). Variables not starting with `ALIASKIT__` are ignored.
    ///
    /// Fails, naming the key and the file or variable it came from, on: a file that cannot be
    /// read or is not TOML, an unknown key, a value of the wrong type, and a value out of range
    /// (`database.pool_size`, `database.connect_timeout`, `database.timeout`,
    /// `tokens.max_lifetime`, `tokens.min_secret_bytes` and `server.workers` must be at least 1;
    /// `database.timeout` at most an hour, `cache.ttl` and `aliases.passcode_window` at most a
    /// day, `aliases.min_passcode_len` at most 128; `server.port` may be 0), an unsupported `database.url`, a `bootstrap.api_key` that is not a valid key or is
    /// the placeholder of an example file ([`PLACEHOLDER_API_KEYS`]), or
    /// only one of `server.tls.cert` and `server.tls.key` (the files themselves are read by
    /// the server when it starts).
    pub fn load_from(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        load::load(path, env)
    }

    /// The use cases' configuration: the token policy (`tokens.*`, other policy fields at their
    /// defaults), `tokens.rotation_grace`, and the `opencap` section.
    pub fn service_config(&self) -> ServiceConfig {
        let t = &self.tokens;
        ServiceConfig {
            policy: Policy {
                leeway: Duration::from_secs(t.leeway),
                max_lifetime: Duration::from_secs(t.max_lifetime),
                min_secret_bytes: t.min_secret_bytes,
                issuer: t.issuer.clone(),
                audience: t.audience.clone(),
                ..Policy::default()
            },
            rotation_grace: Duration::from_secs(t.rotation_grace),
            opencap: OpenCapConfig {
                domains: self.opencap.domains.clone(),
                open_signup: self.opencap.open_signup,
                token_lifetime: Duration::from_secs(self.opencap.token_lifetime),
                lockout_threshold: self.opencap.lockout_threshold,
                lockout_duration: Duration::from_secs(self.opencap.lockout_duration),
            },
            purge_after: Duration::from_secs(self.aliases.purge_after),
            purge_interval: Duration::from_secs(self.aliases.purge_interval),
            cache_ttl: Duration::from_secs(self.cache.ttl),
            cache_listen_ttl: Duration::from_secs(self.cache.listen_ttl),
            cache_max_entries: self.cache.max_entries,
            min_passcode_len: self.aliases.min_passcode_len,
            passcode_failures: self.aliases.passcode_failures,
            passcode_window: Duration::from_secs(self.aliases.passcode_window),
            webhooks: aliaskit_service::WebhookConfig {
                rotation_grace: Duration::from_secs(self.webhooks.rotation_grace),
                allow_insecure: self.webhooks.allow_insecure,
                allow_private_targets: self.webhooks.allow_private_targets,
            },
            audit_retention: (self.audit.retention_days > 0)
                .then(|| Duration::from_secs(self.audit.retention_days.saturating_mul(86_400))),
        }
    }

    /// The connection pool's options: `database.pool_size`, `database.connect_timeout` and
    /// `database.timeout`.
    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.database.pool_size,
            connect_timeout: Duration::from_secs(self.database.connect_timeout),
            timeout: Duration::from_secs(self.database.timeout),
        }
    }

    /// `bootstrap.api_key` as an [`ApiKey`], or `None` when it is not set. The error names
    /// `bootstrap.api_key` and says what is wrong, never what the key is.
    pub fn bootstrap_key(&self) -> Result<Option<ApiKey>, ConfigError> {
        self.bootstrap
            .api_key
            .as_ref()
            .map(|key| ApiKey::parse(key.expose()))
            .transpose()
            .map_err(|e| ConfigError::new(Origin::Settings, Some(BOOTSTRAP_KEY), e.to_string()))
    }
}

const BOOTSTRAP_KEY: &str = "bootstrap.api_key";

/// The `bootstrap.api_key` placeholders that the example files of this repository carry
/// (`config/aliaskit.example.toml`, `deploy/systemd/aliaskit.env.example`) and that earlier
/// versions of the docs showed. Loading settings that hold one fails: a key everyone can read
/// would open the first organization to anyone. A test keeps the example files' keys in this
/// list.
pub const PLACEHOLDER_API_KEYS: &[&str] = &[
    "replace-with-at-least-32-random-characters",
    "at-least-32-characters-of-a-secret-key",
    "at-least-32-characters-of-a-random-key",
];
