//! `aliaskit keys generate|rotate-master|retire|status`: the master keys that encrypt secrets at
//! rest, and their life cycle (docs/security.md, "Rotating the master key").

use std::path::Path;
use std::time::{Duration, Instant};

use aliaskit_config::{Settings, read_key_file, rewrite_key_file};
use aliaskit_store::{Database, HeldKey, KeyOrigin, MasterKey, StoreError};
use anyhow::{Context, anyhow};
use clap::Subcommand;

use crate::database::{check_keys, now, open_with, ready_schema, store_failure};
use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (base64 of 32 bytes) alone on stdout, for
    /// `security.master_key`.
    Generate,
    /// Re-encrypt every secret under the newest master key. With a key file (no
    /// `security.master_key`), first puts a new key at its head; running servers read it within
    /// seconds. Waits until every running server encrypts new secrets with that key, then
    /// re-encrypts, then marks the older keys of the file `retired`: they stay, to open backups
    /// taken before, until `keys retire` deletes them. With `security.master_key`, re-encrypts
    /// under it once every server has been restarted with it.
    RotateMaster {
        /// How long to wait for the running servers to encrypt with the new key before giving
        /// up (nothing is re-encrypted then).
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        wait: u64,
    },
    /// Delete a master key that no value needs any more: refused while a value in the database
    /// is sealed under it or a server encrypts with it. Removes it from the key file; a key from
    /// the settings is to be removed from them by hand. Backups holding values sealed under it
    /// can no longer be restored without it.
    Retire {
        /// The key id (8 hex digits, as `keys status` shows it).
        id: String,
    },
    /// Every master key: its id, where it comes from (setting, file, retired; `missing` for a
    /// key the database needs that these settings lack), how many values it encrypts; and
    /// the running servers with the keys they hold.
    Status,
}

pub fn run(config: Option<&Path>, create: bool, cmd: KeysCommand) -> Result<(), Failure> {
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
        KeysCommand::RotateMaster { wait } => rotate(config, create, Duration::from_secs(wait)),
        KeysCommand::Retire { id } => retire(config, create, &id),
        KeysCommand::Status => status(config, create),
    }
}

/// The settings, for a command that uses an existing database (or `--create`s one).
fn settings(config: Option<&Path>, create: bool) -> Result<Settings, Failure> {
    let settings = Settings::load(config).map_err(|e| Failure::Usage(anyhow!(e)))?;
    crate::database::require_existing(&settings, create)?;
    Ok(settings)
}

fn in_use(e: StoreError, url: &str) -> Failure {
    match e {
        StoreError::KeyInUse { kid, reason } => Failure::Refused {
            code: "key_in_use",
            reason: format!("master key {kid} is still needed: {reason}"),
        },
        e => store_failure(url, e),
    }
}

fn rotate(config: Option<&Path>, create: bool, wait: Duration) -> Result<(), Failure> {
    let settings = settings(config, create)?;
    let keys = settings.keys().map_err(|e| Failure::Usage(anyhow!(e)))?;
    let url = settings.database.redacted_url();
    let db = open_with(&settings, keys.vault)?;
    // As every command but `migrate`: the schema changes only where the operator allows it.
    // The key file is written only once the schema is known good, so a refused run leaves it
    // as it was.
    ready_schema(&db, settings.database.migrate_on_start, &url)?;
    check_keys(&db, &url)?;
    if let Some(path) = &keys.file {
        // A new key at the head, every other key as it was: a server that has not read the
        // file yet, and so lacks the new key, is still served by the others.
        let new = MasterKey::generate().map_err(|e| Failure::Usage(anyhow!(e)))?;
        let mut held = read_key_file(path).map_err(|e| Failure::Usage(anyhow!(e)))?;
        held.insert(
            0,
            HeldKey {
                key: new.clone(),
                origin: KeyOrigin::File,
            },
        );
        rewrite_key_file(path, &held)
            .with_context(|| format!("cannot write the key file {}", path.display()))?;
        db.vault()
            .reload()
            .map_err(|e| Failure::Usage(anyhow!(e)))?;
        eprintln!("generated master key {} in {}", new.id(), path.display());
    }
    let Some(target) = db.vault().sealing_candidates().into_iter().next() else {
        return Err(Failure::Usage(anyhow!("no master key may encrypt")));
    };
    wait_for_servers(&db, &target, wait, &url)?;
    db.seal_with(&target, now())
        .map_err(|e| store_failure(&url, e))?;
    crate::database::cli_service(db.clone(), &settings)
        .record_master_key_rotation(&target.to_string())
        .map_err(|e| Failure::Usage(anyhow!(e)))?;
    let changed = db.reseal_all(now()).map_err(|e| store_failure(&url, e))?;
    eprintln!("re-encrypted {changed} values under master key {target} in the database at {url}");
    match &keys.file {
        Some(path) => {
            let held: Vec<HeldKey> = read_key_file(path)
                .map_err(|e| Failure::Usage(anyhow!(e)))?
                .into_iter()
                .map(|mut k| {
                    if k.key.id() != target {
                        k.origin = KeyOrigin::Retired;
                    }
                    k
                })
                .collect();
            rewrite_key_file(path, &held)
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            eprintln!(
                "the older keys stay in {} marked retired, to open backups taken before now; \
                 `aliaskit keys retire ID` deletes one once no backup needs it",
                path.display()
            );
        }
        None => eprintln!(
            "keep the older keys in security.old_master_keys while a backup taken before now \
             may be restored; `aliaskit keys retire ID` checks that the database needs one no more"
        ),
    }
    Ok(())
}

/// Waits until every live server seals with `target`; refuses after `wait`.
fn wait_for_servers(db: &Database, target: &str, wait: Duration, url: &str) -> Result<(), Failure> {
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        let servers = db.live_servers(now()).map_err(|e| store_failure(url, e))?;
        let behind: Vec<String> = servers
            .iter()
            .filter(|s| s.sealing != target)
            .map(|s| {
                let holds = if s.key_ids.iter().any(|k| k == target) {
                    "holds it"
                } else {
                    "does not hold it"
                };
                format!("{s} {holds}, encrypts with {}", s.sealing)
            })
            .collect();
        if behind.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::Refused {
                code: "servers_behind",
                reason: format!(
                    "not every running server encrypts with master key {target} after {} s, so \
                     nothing was re-encrypted: {}. A server reads a new key in its key file \
                     within seconds; with security.master_key, restart each server with the new \
                     key (the old one in security.old_master_keys) first — see docs/security.md",
                    wait.as_secs(),
                    behind.join("; ")
                ),
            });
        }
        if !told {
            eprintln!(
                "waiting for {} running server{} to encrypt with master key {target}: {}",
                behind.len(),
                if behind.len() == 1 { "" } else { "s" },
                behind.join("; ")
            );
            told = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn retire(config: Option<&Path>, create: bool, id: &str) -> Result<(), Failure> {
    if id.len() != 8
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Failure::Usage(anyhow!(
            "ID: {id:?} is not a master key id (8 lower-case hex digits, as `aliaskit keys status` shows)"
        )));
    }
    let settings = settings(config, create)?;
    let keys = settings.keys().map_err(|e| Failure::Usage(anyhow!(e)))?;
    let url = settings.database.redacted_url();
    let db = open_with(&settings, keys.vault)?;
    ready_schema(&db, settings.database.migrate_on_start, &url)?;
    if db.vault().sealing_candidates().first().map(String::as_str) == Some(id) {
        return Err(Failure::Refused {
            code: "key_in_use",
            reason: format!(
                "master key {id} is the one these settings encrypt new secrets with; rotate to a \
                 new one first (`aliaskit keys rotate-master`)"
            ),
        });
    }
    let known = db
        .key_report(now())
        .map_err(|e| store_failure(&url, e))?
        .keys
        .iter()
        .any(|line| line.kid == id);
    if !known {
        return Err(Failure::Refused {
            code: "unknown_key",
            reason: format!(
                "no master key {id}: neither these settings nor the database know it (`aliaskit \
                 keys status` lists the keys); nothing changed"
            ),
        });
    }
    db.retire_key(id, now()).map_err(|e| in_use(e, &url))?;
    let in_file = match &keys.file {
        Some(path) => {
            let held = read_key_file(path).map_err(|e| Failure::Usage(anyhow!(e)))?;
            let kept: Vec<HeldKey> = held.iter().filter(|k| k.key.id() != id).cloned().collect();
            if kept.len() < held.len() {
                rewrite_key_file(path, &kept)
                    .with_context(|| format!("cannot write the key file {}", path.display()))?;
                eprintln!("deleted master key {id} from {}", path.display());
                true
            } else {
                false
            }
        }
        None => false,
    };
    if !in_file {
        if db.vault().knows(id) {
            eprintln!(
                "no value in the database needs master key {id}: remove it from \
                 security.old_master_keys (ALIASKIT__SECURITY__OLD_MASTER_KEYS) on every server"
            );
        } else {
            eprintln!(
                "no value in the database needs master key {id}; these settings do not hold it"
            );
        }
    }
    eprintln!("backups holding secrets encrypted under {id} can no longer be restored without it");
    Ok(())
}

fn status(config: Option<&Path>, create: bool) -> Result<(), Failure> {
    let settings = settings(config, create)?;
    let keys = settings.keys().map_err(|e| Failure::Usage(anyhow!(e)))?;
    let url = settings.database.redacted_url();
    let db = open_with(&settings, keys.vault)?;
    ready_schema(&db, settings.database.migrate_on_start, &url)?;
    let report = db.key_report(now()).map_err(|e| store_failure(&url, e))?;
    let mut out = format!("{:<8}  {:<8}  {:>8}\n", "KEY", "SOURCE", "VALUES");
    for line in &report.keys {
        let source = line.origin.map_or("missing", |o| o.as_str());
        let note = if line.seals {
            "  encrypts new secrets"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:<8}  {source:<8}  {:>8}{note}\n",
            line.kid, line.values
        ));
    }
    if report.unaccounted > 0 {
        out.push_str(&format!(
            "{} values are sealed under key ids neither these settings nor the database name\n",
            report.unaccounted
        ));
    }
    out.push_str(&format!(
        "running servers (seen in the last {} s): {}\n",
        aliaskit_store::HOLDER_TIMEOUT.as_secs(),
        report.servers.len()
    ));
    for server in &report.servers {
        out.push_str(&format!(
            "  {server}: holds {}; encrypts with {}\n",
            server.key_ids.join(","),
            server.sealing
        ));
    }
    print(&out)
}
