//! `aliaskit keys generate|rotate-master`: the master keys that encrypt secrets at rest.

use std::path::Path;

use aliaskit_store::{MasterKey, Vault};
use anyhow::{Context, anyhow};
use clap::Subcommand;

use crate::database::{apply, check_keys, now, open_with, store_failure};
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
    let vault = match &keys.file {
        // A key file: a new key, first in the file (so a crash here loses nothing: the old key
        // is still there to read with).
        Some(path) => {
            let new = MasterKey::generate().map_err(|e| Failure::Usage(anyhow!(e)))?;
            let all: Vec<MasterKey> = std::iter::once(new.clone())
                .chain(keys.vault.keys().cloned())
                .collect();
            aliaskit_config::rewrite_key_file(path, &all)
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            eprintln!("generated master key {} in {}", new.id(), path.display());
            Vault::new(new, all.into_iter().skip(1).collect())
        }
        None => keys.vault,
    };
    let current = vault.current().clone();
    let db = open_with(&settings, vault)?;
    // As every command but `migrate`: the schema changes only where the operator allows it.
    if settings.database.migrate_on_start {
        apply(&db, &url)?;
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
