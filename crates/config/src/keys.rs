//! The master keys that seal secrets at rest (`[security]`): a configured key, or a key file.
//!
//! * `security.master_key` (base64, 32 bytes) seals; `security.old_master_keys` only open, for
//!   values not yet resealed after a rotation.
//! * Without `security.master_key`, the key file (`security.key_file`, by default
//!   `aliaskit.key` next to the SQLite database) holds one base64 key per line; the first one
//!   not marked `retired` seals, every one opens. `aliaskit keys rotate-master` puts a new key
//!   first and marks the ones before it `retired` (kept to open backups taken earlier) until
//!   `aliaskit keys retire ID` deletes one. A process reads the file again when it meets a key
//!   id it lacks, and a server every few seconds, so a rotation beside running servers needs no
//!   restart. With SQLite the file is created on first use, mode 0600; with PostgreSQL it must
//!   exist, so that servers sharing a database cannot each invent their own key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aliaskit_store::{HeldKey, KeyOrigin, MasterKey, Target, Vault, VaultError};

use crate::{ConfigError, Origin, Settings};

/// The vault for this process and, when the keys come from a key file, its path.
#[derive(Debug)]
pub struct Keys {
    /// The master keys.
    pub vault: Vault,
    /// The key file they came from, if any (a rotation rewrites it).
    pub file: Option<PathBuf>,
}

const MASTER_KEY: &str = "security.master_key";
const OLD_KEYS: &str = "security.old_master_keys";
const KEY_FILE: &str = "security.key_file";

fn error(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(Origin::Settings, Some(key), reason)
}

impl Settings {
    /// The master keys (see the module docs). Creates the SQLite key file on first use.
    pub fn keys(&self) -> Result<Keys, ConfigError> {
        self.load_keys(true)?
            .ok_or_else(|| error(KEY_FILE, "the key file was not created"))
    }

    /// [`keys`](Self::keys) without creating anything: the same keys, or the same error, except
    /// `Ok(None)` where `keys` would create the key file (none yet, beside a new SQLite
    /// database). For `aliaskit config check`.
    pub fn check_keys(&self) -> Result<Option<Keys>, ConfigError> {
        self.load_keys(false)
    }

    /// The key file these settings use, or `None` with `security.master_key`. An unsupported
    /// `database.url` is an error, as in [`keys`](Self::keys).
    pub fn key_file_path(&self) -> Result<Option<PathBuf>, ConfigError> {
        if self.security.master_key.is_some() {
            return Ok(None);
        }
        let target =
            Target::parse(&self.database.url).map_err(|e| error("database.url", e.to_string()))?;
        Ok(match (&self.security.key_file, &target) {
            (Some(path), _) => Some(path.clone()),
            (None, Target::Sqlite(db)) => {
                Some(db.parent().unwrap_or(Path::new("")).join("aliaskit.key"))
            }
            (None, Target::Postgres(_)) => None,
        })
    }

    fn load_keys(&self, create: bool) -> Result<Option<Keys>, ConfigError> {
        let old = self
            .security
            .old_master_keys
            .iter()
            .map(|k| MasterKey::from_base64(k.expose()).map_err(|e| error(OLD_KEYS, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(key) = &self.security.master_key {
            let current = MasterKey::from_base64(key.expose())
                .map_err(|e| error(MASTER_KEY, e.to_string()))?;
            return Ok(Some(Keys {
                vault: Vault::new(current, old),
                file: None,
            }));
        }
        let target =
            Target::parse(&self.database.url).map_err(|e| error("database.url", e.to_string()))?;
        // A key file is created only with a new database: beside a database that has data (or
        // one that cannot be looked at), a missing key file is lost key material, and a fresh
        // key would only hide that.
        let sqlite_may_create = |db: &Path| {
            let new = match fs::metadata(db) {
                Ok(meta) => meta.len() == 0,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
            if new {
                Ok(())
            } else {
                Err(
                    "the database exists already, so this file held the keys of its secrets: \
                     restore it from your backup of the master keys",
                )
            }
        };
        let shared = "with PostgreSQL it is never created, so that every server reads the same \
                      keys: write one with `aliaskit keys generate > FILE` and `chmod 600 FILE`";
        let (path, may_create) = match (&self.security.key_file, &target) {
            (Some(path), Target::Sqlite(db)) => (path.clone(), sqlite_may_create(db)),
            (Some(path), Target::Postgres(_)) => (path.clone(), Err(shared)),
            (None, Target::Sqlite(db)) => (
                db.parent().unwrap_or(Path::new("")).join("aliaskit.key"),
                sqlite_may_create(db),
            ),
            (None, Target::Postgres(_)) => {
                return Err(error(
                    MASTER_KEY,
                    "is required with PostgreSQL (or security.key_file naming an existing key \
                     file): every server sharing the database must use the same key. Generate \
                     one with `aliaskit keys generate`",
                ));
            }
        };
        if !create_if_missing(&path, may_create, create)? {
            return Ok(None);
        }
        let settings_keys: Vec<HeldKey> = old
            .into_iter()
            .map(|key| HeldKey {
                key,
                origin: KeyOrigin::Setting,
            })
            .collect();
        let file = path.clone();
        let source = move || -> Result<Vec<HeldKey>, VaultError> {
            let mut keys = read_key_file(&file).map_err(|e| VaultError::Source {
                reason: e.reason().to_owned(),
            })?;
            keys.extend(settings_keys.iter().cloned());
            Ok(keys)
        };
        let vault = Vault::with_source(Box::new(source)).map_err(|e| match e {
            // Names the file and the line already.
            VaultError::Source { reason } => error(KEY_FILE, reason),
            e => error(KEY_FILE, format!("{}: {e}", path.display())),
        })?;
        Ok(Some(Keys {
            vault,
            file: Some(path),
        }))
    }
}

/// Creates the key file with one new key when it is missing and may be created (only when
/// `create`: else answers `false`); otherwise says why it may not. `true` when the file is
/// there.
fn create_if_missing(
    path: &Path,
    may_create: Result<(), &str>,
    create: bool,
) -> Result<bool, ConfigError> {
    if path.exists() {
        return Ok(true);
    }
    if let Err(why) = may_create {
        return Err(error(
            KEY_FILE,
            format!("{} does not exist; {why}", path.display()),
        ));
    }
    if !create {
        return Ok(false);
    }
    let key = MasterKey::generate().map_err(|e| error(KEY_FILE, e.to_string()))?;
    let held = HeldKey {
        key,
        origin: KeyOrigin::File,
    };
    match write_new(path, &[held]) {
        Ok(()) => Ok(true),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(true),
        Err(e) => Err(error(
            KEY_FILE,
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

/// The keys of a key file, in its order: `KEY` lines (origin [`KeyOrigin::File`]) and
/// `retired KEY` lines ([`KeyOrigin::Retired`]); blank lines and `#` comments are skipped. The
/// file must be private to its owner (mode 0600) and hold at least one key that is not
/// retired.
pub fn read_key_file(path: &Path) -> Result<Vec<HeldKey>, ConfigError> {
    check_private(path)?;
    let text = fs::read_to_string(path)
        .map_err(|e| error(KEY_FILE, format!("cannot read {}: {e}", path.display())))?;
    let keys = text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, line)| {
            let (origin, encoded) = match line.strip_prefix(RETIRED) {
                Some(rest) => (KeyOrigin::Retired, rest.trim()),
                None => (KeyOrigin::File, line),
            };
            MasterKey::from_base64(encoded)
                .map(|key| HeldKey { key, origin })
                .map_err(|e| error(KEY_FILE, format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !keys.iter().any(|k| k.origin == KeyOrigin::File) {
        return Err(error(
            KEY_FILE,
            format!("{} holds no key that is not retired", path.display()),
        ));
    }
    Ok(keys)
}

/// The mark of a retired key's line.
const RETIRED: &str = "retired ";

/// Refuses a key file other users can read or write.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| error(KEY_FILE, format!("cannot read {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(error(
            KEY_FILE,
            format!(
                "{} is accessible to other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

/// The first lines of every key file aliaskit writes.
const HEADER: &str = "# aliaskit master keys (security.key_file), one per line. The first key that is not\n\
# `retired` encrypts new secrets; every key decrypts what it encrypted. Retired keys are kept\n\
# to open backups taken before a rotation; `aliaskit keys retire ID` deletes one. Keep this\n\
# file private (mode 0600) and back it up apart from the database.\n";

/// Creates `path` (and its directory) with mode 0600 holding `keys`, one per line; fails if it
/// exists.
fn write_new(path: &Path, keys: &[HeldKey]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut file = aliaskit_store::create_new_private(path)?;
    file.write_all(HEADER.as_bytes())?;
    for held in keys {
        let mark = if held.origin == KeyOrigin::Retired {
            RETIRED
        } else {
            ""
        };
        writeln!(file, "{mark}{}", held.key.to_base64())?;
    }
    file.sync_all()
}

/// Replaces the key file with `keys` in this order (a [`KeyOrigin::Retired`] key is written
/// `retired`; any other as a plain line), atomically: a new 0600 file next to it, then a
/// rename, then the directory synced.
pub fn rewrite_key_file(path: &Path, keys: &[HeldKey]) -> std::io::Result<()> {
    let tmp = path.with_extension("key.new");
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, keys)?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
