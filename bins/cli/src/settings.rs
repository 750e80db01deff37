//! `aliaskit config check`: the settings, loaded and checked as `aliaskit-server` does before
//! it touches the port or the database, and printed with every secret redacted.

use std::path::Path;

use aliaskit_config::Settings;
use anyhow::anyhow;
use clap::Subcommand;
use serde_json::Value;

use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the settings as the server does (defaults, `--config PATH`, `ALIASKIT__…`
    /// variables), check them, and print the effective settings with secrets redacted. Exit
    /// status 2 and `error: …` on what would stop the server with status 2.
    Check {
        /// The settings as one JSON object instead of `section.key = value` lines.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Option<&Path>, cmd: ConfigCommand) -> Result<(), Failure> {
    let ConfigCommand::Check { json } = cmd;
    let usage = |e: aliaskit_config::ConfigError| Failure::Usage(anyhow!(e));
    let settings = Settings::load(config).map_err(usage)?;
    // The server reads the TLS files when it starts (rustls, which the CLI does not link): here
    // they must be there and readable.
    for (setting, path) in [
        ("server.tls.cert", &settings.server.tls.cert),
        ("server.tls.key", &settings.server.tls.key),
    ] {
        if let Some(path) = path {
            std::fs::File::open(path).map_err(|e| {
                Failure::Usage(anyhow!("{setting}: cannot read {}: {e}", path.display()))
            })?;
        }
    }
    // In the server's order: the TLS files, the master keys, the bootstrap key.
    let keys = match settings.check_keys().map_err(usage)? {
        Some(keys) => match keys.file {
            Some(file) => format!(
                "master keys: {} held, from the key file {}",
                keys.vault.keys().len(),
                file.display()
            ),
            None => format!(
                "master keys: security.master_key{}",
                match settings.security.old_master_keys.len() {
                    0 => String::new(),
                    n => format!(" and {n} in security.old_master_keys"),
                }
            ),
        },
        None => format!(
            "master keys: the key file {} does not exist yet; the server creates it on its \
             first start, with the new database",
            settings
                .key_file_path()
                .map_err(usage)?
                .map_or_else(|| "-".to_owned(), |p| p.display().to_string())
        ),
    };
    settings.bootstrap_key().map_err(usage)?;
    let value = serde_json::to_value(&settings)
        .map_err(|e| Failure::Usage(anyhow!("cannot show the settings: {e}")))?;
    if json {
        print(&format!("{value:#}\n"))?;
    } else {
        let mut text = String::new();
        lines("", &value, &mut text);
        print(&text)?;
    }
    eprintln!("{keys}");
    eprintln!("the settings are valid");
    Ok(())
}

/// `section.key = value` for every leaf of `value`, the value as JSON (`null` for unset).
fn lines(prefix: &str, value: &Value, out: &mut String) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                lines(&path, member, out);
            }
        }
        leaf => {
            out.push_str(&format!("{prefix} = {leaf}\n"));
        }
    }
}
