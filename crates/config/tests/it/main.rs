//! Integration tests of aliaskit-config: the layers, the errors, and secrets kept out of sight.
//! No test reads the process environment: each passes its variables to `Settings::load_from`.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod errors;
mod layers;
mod secrets;

use std::path::PathBuf;

use aliaskit_config::{ConfigError, Settings};

/// A TOML file with `text`, kept alive with its directory.
pub struct TomlFile {
    _dir: tempfile::TempDir,
    /// Its path.
    pub path: PathBuf,
}

/// Writes `text` to `aliaskit.toml` in a fresh temporary directory.
pub fn toml(text: &str) -> TomlFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aliaskit.toml");
    std::fs::write(&path, text).unwrap();
    TomlFile { _dir: dir, path }
}

/// An explicit environment.
pub fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Loads with an optional file and an explicit environment.
pub fn load(file: Option<&TomlFile>, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_from(file.map(|f| f.path.as_path()), env(vars))
}

/// The error of a load that must fail.
pub fn load_err(file: Option<&TomlFile>, vars: &[(&str, &str)]) -> ConfigError {
    match load(file, vars) {
        Ok(settings) => panic!("loaded, though it should not: {settings:?}"),
        Err(e) => e,
    }
}
