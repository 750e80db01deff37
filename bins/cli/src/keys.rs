//! `aliaskit keys generate|rotate-master`: the master keys that encrypt secrets at rest.

use std::path::Path;

use aliaskit_store::{MasterKey, Vault};
use anyhow::{Context, anyhow};
use clap::Subcommand;

use crate::database::{check_keys, now, open_with, ready_schema, store_failure};
use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (base64 of 32 bytes) alone on stdout, for
    /// `security.master_key`.
    Generate,
    /// Re-encrypt every secret under the current master key. With a key file (no
    /// `security.master_key`), first generates a new key and makes it current; afterwards the
    /// file holds only the new key. With `security.master_key`, re-encrypts under it, reading
    /// old values with `security.old_master_keys`, which can be removed afterwards.
    RotateMaster,
}

pub fn run(config: Option<&Path>, cmd: KeysCommand) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Generate => {
            let key = MasterKey::generate().map_err(|e| Failure::Usage(anyhow!(e)))?;
            print(&format!("{}\n", key.to_base64()))?;
            eprintln!(
                "generated master key {}; store it as security.master_key (ALIASKIT__SECURITY__MASTER_KEY)",
                key.id()
            );
            Ok(())
        }
        KeysCommand::RotateMaster => rotate(config),
    }
}

fn rotate(config: Option<&Path>) -> Result<(), Failure> {
    let settings =
        aliaskit_config::Settings::load(config).map_err(|e| Failure::Usage(anyhow!(e)))?;
    let keys = settings.keys().map_err(|e| Failure::Usage(anyhow!(e)))?;
    let url = settings.database.redacted_url();
    // With a key file: a new key, ahead of the old ones. The file is written only once the
    // schema is known good, so a refused run leaves it as it was.
    let vault = match &keys.file {
        Some(_) => {
            let new = MasterKey::generate().map_err(|e| Failure::Usage(anyhow!(e)))?;
            Vault::new(new, keys.vault.keys().cloned().collect())
        }
        None => keys.vault,
    };
    let current = vault.current().clone();
    let db = open_with(&settings, vault)?;
    // As every command but `migrate`: the schema changes only where the operator allows it.
    ready_schema(&db, settings.database.migrate_on_start, &url)?;
    if let Some(path) = &keys.file {
        // The new key first in the file, the old ones still there: a crash from here on loses
        // nothing.
        let all: Vec<MasterKey> = db.vault().keys().cloned().collect();
        aliaskit_config::rewrite_key_file(path, &all)
            .with_context(|| format!("cannot write the key file {}", path.display()))?;
        eprintln!(
            "generated master key {} in {}",
            current.id(),
            path.display()
        );
    }
    check_keys(&db, &url)?;
    let changed = db.reseal_all(now()).map_err(|e| store_failure(&url, e))?;
    eprintln!(
        "re-encrypted {changed} values under master key {} in the database at {url}",
        current.id()
    );
    match &keys.file {
        Some(path) => {
            aliaskit_config::rewrite_key_file(path, std::slice::from_ref(&current))
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            eprintln!(
                "{} now holds only the new key; restart running servers so they read it",
                path.display()
            );
        }
        None => eprintln!(
            "no value needs the old keys any more: remove them from security.old_master_keys"
        ),
    }
    Ok(())
}
