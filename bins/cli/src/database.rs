//! The settings and the database, for the commands that need them (`org …`, `migrate`,
//! `keys rotate-master`).
//!
//! Only `migrate`, or any of them with the global `--create`, makes a new SQLite database; the
//! others refuse one that does not exist ([`require_existing`]) before anything is created.

use std::path::Path;

use aliaskit_config::Settings;
use aliaskit_service::{Origin, Service, ServiceError};
use aliaskit_store::{Database, StoreError, Target};
use anyhow::anyhow;

use crate::Failure;

/// The use cases over the configured database, and how to report its failures.
pub struct Opened {
    /// The use cases.
    pub service: Service,
    /// `database.url` with its password as `***`.
    url: String,
}

/// Loads the settings (`--config`, then `ALIASKIT__…`), refuses a SQLite database that does
/// not exist unless `create` ([`require_existing`]), reads the master keys and opens the pool.
/// Nothing is connected yet, so this fails only on bad settings or keys, or no database.
pub fn open(config: Option<&Path>, create: bool) -> Result<(Settings, Database), Failure> {
    let settings = Settings::load(config).map_err(|e| Failure::Usage(anyhow!(e)))?;
    require_existing(&settings, create)?;
    let keys = settings.keys().map_err(|e| Failure::Usage(anyhow!(e)))?;
    open_with(&settings, keys.vault).map(|db| (settings, db))
}

/// Unless `create`, refuses a SQLite `database.url` whose file does not exist: a command meant
/// to use a database, run in the wrong directory or with a mistyped path, would otherwise
/// create an empty one and a new key file, and print keys no server knows. Call it before
/// [`Settings::keys`], which creates the key file. (PostgreSQL never creates a database: one
/// that does not exist fails to connect, and [`store_failure`] names its URL.)
pub fn require_existing(settings: &Settings, create: bool) -> Result<(), Failure> {
    let configured = &settings.database.url;
    let Ok(Target::Sqlite(path)) = Target::parse(configured) else {
        return Ok(());
    };
    // A file that cannot even be looked at is left to the open to report.
    if create || !matches!(path.try_exists(), Ok(false)) {
        return Ok(());
    }
    let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
    let mut hint = String::new();
    if Path::new(configured) != shown {
        let relative = if path.is_relative() {
            ", relative to the working directory"
        } else {
            ""
        };
        hint = format!("database.url is {configured:?}{relative}; ");
    }
    Err(Failure::Usage(anyhow!(
        "no database at {}: {hint}to start a new database there, run `aliaskit migrate` or \
         pass --create",
        shown.display()
    )))
}

/// Opens the pool for `settings` with `vault`.
pub fn open_with(settings: &Settings, vault: aliaskit_store::Vault) -> Result<Database, Failure> {
    let url = settings.database.redacted_url();
    Database::open(&settings.database.url, settings.pool_options(), vault)
        .map_err(|e| store_failure(&url, e))
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Refuses a database with values sealed under a master key these settings lack.
pub fn check_keys(db: &Database, url: &str) -> Result<(), Failure> {
    db.check_keys(now()).map_err(|e| store_failure(url, e))
}

/// [`Database::ready_schema`]: migrates when `migrate` (saying so on stderr), else refuses a
/// schema behind this version. Returns whether any migration was applied.
pub fn ready_schema(db: &Database, migrate: bool, url: &str) -> Result<bool, Failure> {
    let applied = db
        .ready_schema(migrate)
        .map_err(|e| store_failure(url, e))?;
    for version in &applied {
        eprintln!("applied migration {version} to the database at {url}");
    }
    Ok(!applied.is_empty())
}

/// The use cases, after the pending migrations when `database.migrate_on_start` is true (so
/// that `org create --create` works on a brand-new database).
pub fn open_service(config: Option<&Path>, create: bool) -> Result<Opened, Failure> {
    let (settings, db) = open(config, create)?;
    let url = settings.database.redacted_url();
    ready_schema(&db, settings.database.migrate_on_start, &url)?;
    check_keys(&db, &url)?;
    Ok(Opened {
        service: cli_service(db, &settings),
        url,
    })
}

/// The use cases over `db`, their changes recorded as the CLI's, by the OS user running it.
pub fn cli_service(db: Database, settings: &Settings) -> Service {
    Service::new(db, settings.service_config()).acting_as(Origin::cli(&os_user()))
}

/// Who runs the CLI, as the audit trail records its changes: `$USER`, else `$LOGNAME`, else
/// `unknown`.
fn os_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `aliaskit migrate`: applies the pending migrations whatever `database.migrate_on_start`
/// says, creating the SQLite database if there is none.
pub fn migrate(config: Option<&Path>) -> Result<(), Failure> {
    let (settings, db) = open(config, true)?;
    let url = settings.database.redacted_url();
    if !ready_schema(&db, true, &url)? {
        eprintln!("the database at {url} is already up to date");
    }
    Ok(())
}

/// `aliaskit backup PATH`.
pub fn backup(config: Option<&Path>, to: &Path) -> Result<(), Failure> {
    // A backup copies an existing database, never a new empty one.
    let (settings, db) = open(config, false)?;
    let url = settings.database.redacted_url();
    db.backup_sqlite(to).map_err(|e| store_failure(&url, e))?;
    eprintln!(
        "copied the database at {url} to {} (mode 0600); back up the master keys apart from it",
        to.display()
    );
    Ok(())
}

impl Opened {
    /// A failure of the use cases, as the CLI reports it. A refusal (name taken, organization
    /// unknown) is exit 1; anything else is exit 2.
    pub fn failure(&self, e: ServiceError) -> Failure {
        match e {
            ServiceError::OrgNotFound { name } => Failure::Refused {
                code: "org_not_found",
                reason: format!("no organization is named {name}"),
            },
            ServiceError::OrgNameTaken => Failure::Refused {
                code: "org_name_taken",
                reason: "an organization with this name exists already".into(),
            },
            ServiceError::Unavailable(e) | ServiceError::Store(e) => store_failure(&self.url, e),
            e => Failure::Usage(anyhow!(e)),
        }
    }
}

/// `cannot reach the database at URL: reason` for an unreachable database, the error with the
/// URL for the others; the URL's password is `***`.
pub fn store_failure(url: &str, e: StoreError) -> Failure {
    match e {
        StoreError::Unavailable { reason } => {
            // libpq's messages span lines; one line reads better after `error:`.
            let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
            Failure::Usage(anyhow!("cannot reach the database at {url}: {reason}"))
        }
        e => Failure::Usage(anyhow::Error::new(e).context(format!("the database at {url}"))),
    }
}
