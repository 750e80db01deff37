//! The master keys that seal secrets at rest (`[security]`): a configured key, or a key file.
//!
//! * `security.master_key` (base64, 32 bytes) seals; `security.old_master_keys` only open, for
//!   values not yet resealed after a rotation.
//! * Without `security.master_key`, the key file (`security.key_file`, by default
//!   `aliaskit.key` next to the SQLite database) holds one base64 key per line, the first one
//!   sealing. With SQLite it is created on first use, mode 0600; with PostgreSQL it must exist,
//!   so that servers sharing a database cannot each invent their own key.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use aliaskit_store::{MasterKey, Target, Vault};

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
        let old = self
            .security
            .old_master_keys
            .iter()
            .map(|k| MasterKey::from_base64(k.expose()).map_err(|e| error(OLD_KEYS, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(key) = &self.security.master_key {
            let current = MasterKey::from_base64(key.expose())
                .map_err(|e| error(MASTER_KEY, e.to_string()))?;
            return Ok(Keys {
                vault: Vault::new(current, old),
                file: None,
            });
        }
        let target =
            Target::parse(&self.database.url).map_err(|e| error("database.url", e.to_string()))?;
        let (path, may_create) = match (&self.security.key_file, &target) {
            (Some(path), Target::Sqlite(_)) => (path.clone(), true),
            (Some(path), Target::Postgres(_)) => (path.clone(), false),
            (None, Target::Sqlite(db)) => (
                db.parent().unwrap_or(Path::new("")).join("aliaskit.key"),
                true,
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
        let mut keys = read_or_create(&path, may_create)?;
        let current = keys.remove(0);
        keys.extend(old);
        Ok(Keys {
            vault: Vault::new(current, keys),
            file: Some(path),
        })
    }
}

fn read_or_create(path: &Path, may_create: bool) -> Result<Vec<MasterKey>, ConfigError> {
    if !path.exists() {
        if !may_create {
            return Err(error(
                KEY_FILE,
                format!("{} does not exist", path.display()),
            ));
        }
        let key = MasterKey::generate().map_err(|e| error(KEY_FILE, e.to_string()))?;
        match write_new(path, &[key]) {
            Ok(()) => {}
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(error(
                    KEY_FILE,
                    format!("cannot create {}: {e}", path.display()),
                ));
            }
        }
    }
    check_private(path)?;
    let text = fs::read_to_string(path)
        .map_err(|e| error(KEY_FILE, format!("cannot read {}: {e}", path.display())))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, line)| {
            MasterKey::from_base64(line)
                .map_err(|e| error(KEY_FILE, format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(error(KEY_FILE, format!("{} holds no key", path.display())));
    }
    Ok(keys)
}

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

/// Creates `path` (and its directory) with mode 0600 holding `keys`, one per line; fails if it
/// exists.
fn write_new(path: &Path, keys: &[MasterKey]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    for key in keys {
        writeln!(file, "{}", key.to_base64())?;
    }
    file.sync_all()
}

/// Replaces the key file with `keys` (the first seals), atomically: a new 0600 file next to
/// it, then a rename.
pub fn rewrite_key_file(path: &Path, keys: &[MasterKey]) -> std::io::Result<()> {
    let tmp = path.with_extension("key.new");
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, keys)?;
    fs::rename(&tmp, path)
}
