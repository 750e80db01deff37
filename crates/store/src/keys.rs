//! The master keys' life cycle on a database (docs/security.md, "Rotating the master key"):
//! which key seals, which keys the values need, re-encryption, retirement.
//!
//! Every server records in `key_holders` the key ids it holds and the one it seals with,
//! refreshed every [`KEY_REFRESH`]. A process seals under the first key of its own order of
//! preference that **every live server holds**, so during a rolling change of keys no server
//! writes a value another cannot read; `aliaskit keys rotate-master` re-encrypts only once every
//! live server seals with the new key, so nothing is written under the old key afterwards.
//! `master_keys` records, before the first value is sealed under a key, that the key may have
//! values here: a process lacking such a key counts them at start and refuses if there are any.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::repo::key_holders::{self, KeyHolder};
use crate::repo::master_keys;
use crate::repo::sealed::{Sealed, count_none_under, count_under};
use crate::{Database, KeyOrigin, Result, StoreError, VaultError};

/// How often a server refreshes its `key_holders` entry and reloads its key file.
pub const KEY_REFRESH: Duration = Duration::from_secs(2);

/// A server not seen for this long is gone: its keys no longer hold back the others.
pub const HOLDER_TIMEOUT: Duration = Duration::from_secs(20);

/// Re-encryption goes this many values of a column per transaction.
const BATCH: i64 = 500;

/// A server process, as it appears in `key_holders`.
#[derive(Debug, Clone)]
pub struct Holder {
    id: String,
    host: String,
    pid: i64,
}

impl Holder {
    /// This process: a random id, the host name and the process id.
    pub fn this_process() -> Result<Holder> {
        let mut bytes = [0u8; 12];
        getrandom::getrandom(&mut bytes).map_err(|e| VaultError::Random(e.to_string()))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Ok(Holder {
            id: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            host,
            pid: i64::from(std::process::id()),
        })
    }
}

/// A live server, as `aliaskit keys status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveServer {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: i64,
    /// The key ids it holds, in its order of preference.
    pub key_ids: Vec<String>,
    /// The key id it seals with.
    pub sealing: String,
    /// Unix seconds of its last refresh.
    pub seen_at: i64,
}

impl From<KeyHolder> for LiveServer {
    fn from(h: KeyHolder) -> Self {
        LiveServer {
            host: h.host,
            pid: h.pid,
            key_ids: h.key_ids,
            sealing: h.sealing,
            seen_at: h.seen_at,
        }
    }
}

impl std::fmt::Display for LiveServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.host, self.pid)
    }
}

/// One key id and what depends on it, for `aliaskit keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    /// The key id.
    pub kid: String,
    /// Where this process got it; `None` when it lacks a key the database names.
    pub origin: Option<KeyOrigin>,
    /// How many values in the database are sealed under it.
    pub values: i64,
    /// Whether this process would seal new values with it.
    pub seals: bool,
}

/// The master keys of this process and of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// The keys this process holds, in its order, then the ones the database names that it
    /// lacks.
    pub keys: Vec<KeyLine>,
    /// Values sealed under a key id none of the lines names.
    pub unaccounted: i64,
    /// The servers seen in the last [`HOLDER_TIMEOUT`].
    pub servers: Vec<LiveServer>,
}

fn since(now: i64) -> i64 {
    now.saturating_sub(i64::try_from(HOLDER_TIMEOUT.as_secs()).unwrap_or(i64::MAX))
}

impl Database {
    /// What every process does before using the database: refuses (naming the key) if values
    /// here are sealed under a master key this process lacks, and chooses the key it seals
    /// with — the first of its own that every live server holds (see the module docs).
    pub fn check_keys(&self, now: i64) -> Result<()> {
        self.join_keys(None, true, now).map(|_| ())
    }

    /// [`check_keys`](Self::check_keys) for a server, which also records itself in
    /// `key_holders`; call [`refresh_keys`](Self::refresh_keys) every [`KEY_REFRESH`] after,
    /// and [`leave_keys`](Self::leave_keys) when it stops. Returns the key id it seals with.
    pub fn register_keys(&self, holder: &Holder, now: i64) -> Result<String> {
        self.join_keys(Some(holder), true, now)
    }

    /// A server's periodic step: reloads the key file (a key added beside the running server
    /// is picked up), refreshes its `key_holders` entry, forgets servers gone for longer than
    /// [`HOLDER_TIMEOUT`], and seals from now on with the newest key every live server holds.
    /// Returns the key id it seals with.
    ///
    /// A key file that cannot be read now leaves the keys as they were; the entry is refreshed
    /// all the same, and the read error returned afterwards.
    pub fn refresh_keys(&self, holder: &Holder, now: i64) -> Result<String> {
        let reloaded = self.vault().reload();
        let sealing = self.join_keys(Some(holder), false, now)?;
        reloaded?;
        Ok(sealing)
    }

    /// Removes a stopping server's entry, so that it holds no one back.
    pub fn leave_keys(&self, holder: &Holder) -> Result<()> {
        self.transaction(|c| key_holders::remove(c, &holder.id))
    }

    fn join_keys(&self, holder: Option<&Holder>, strict: bool, now: i64) -> Result<String> {
        let vault = self.vault();
        let sealing = self.transaction(|c| {
            key_holders::lock(c)?;
            key_holders::forget_before(c, since(now))?;
            let others: Vec<KeyHolder> = key_holders::live(c, since(now))?
                .into_iter()
                .filter(|h| holder.is_none_or(|me| me.id != h.id))
                .collect();
            // At start only: a refresh every few seconds must not scan the tables.
            let recorded = if strict {
                master_keys::all(c)?
            } else {
                Vec::new()
            };
            for kid in recorded {
                if vault.knows(&kid) {
                    continue;
                }
                // The database says values may be sealed under it: a key that seals none and
                // that no live server seals with is forgotten; any other stops the start.
                let sealed_by_a_server = others.iter().any(|h| h.sealing == kid);
                if !sealed_by_a_server && count_under(c, &kid)? == 0 {
                    master_keys::forget(c, &kid)?;
                } else {
                    return Err(VaultError::UnknownKey { kid }.into());
                }
            }
            // The first key of ours every other live server holds; none in common (a server
            // configured without our keys) leaves the choice as it was.
            let sealing = vault
                .sealing_candidates()
                .into_iter()
                .find(|kid| others.iter().all(|h| h.key_ids.contains(kid)))
                .unwrap_or_else(|| vault.current_id());
            // Recorded before any value is sealed under it: the vault switches after commit.
            master_keys::record(c, &sealing, now)?;
            if let Some(me) = holder {
                key_holders::upsert(
                    c,
                    &KeyHolder {
                        id: me.id.clone(),
                        host: me.host.clone(),
                        pid: me.pid,
                        key_ids: vault.keys().iter().map(|k| k.id().to_owned()).collect(),
                        sealing: sealing.clone(),
                        seen_at: now,
                    },
                )?;
            }
            Ok(sealing)
        })?;
        if vault.current_id() != sealing && !vault.seal_with(&sealing) {
            // The key file changed under us and dropped or retired it: the next refresh
            // chooses again.
            return Err(VaultError::UnknownKey { kid: sealing }.into());
        }
        Ok(sealing)
    }

    /// The servers seen in the last [`HOLDER_TIMEOUT`].
    pub fn live_servers(&self, now: i64) -> Result<Vec<LiveServer>> {
        let mut conn = self.conn()?;
        Ok(key_holders::live(&mut conn, since(now))?
            .into_iter()
            .map(LiveServer::from)
            .collect())
    }

    /// Seals new values with `kid` (a key this process holds, not retired), whatever the live
    /// servers hold: for `aliaskit keys rotate-master`, once they all seal with it.
    pub fn seal_with(&self, kid: &str, now: i64) -> Result<()> {
        // Recorded before any value is sealed under it.
        self.transaction(|c| master_keys::record(c, kid, now))?;
        if !self.vault().seal_with(kid) {
            return Err(VaultError::UnknownKey { kid: kid.into() }.into());
        }
        Ok(())
    }

    /// Re-encrypts every sealed value under the key this process seals with, a batch of rows
    /// per transaction. Each value is replaced only if it is still the one read (a value a
    /// server changed meanwhile is left as that server wrote it), so no change is undone.
    /// Returns how many values it re-encrypted.
    pub fn reseal_all(&self, now: i64) -> Result<usize> {
        let vault = self.vault();
        let target = vault.current_id();
        self.transaction(|c| master_keys::record(c, &target, now))?;
        let mut changed = 0;
        for column in Sealed::ALL {
            let mut after = String::new();
            loop {
                let rows = {
                    let mut conn = self.conn()?;
                    column.not_under(&mut conn, &target, &after, BATCH)?
                };
                let Some((last, _)) = rows.last() else { break };
                after = last.clone();
                changed += self.transaction(|c| {
                    let mut n = 0;
                    for (id, old) in &rows {
                        let place = column.place(id);
                        let plain = Zeroizing::new(vault.open(&place, old)?);
                        let new = vault.seal(&place, &plain)?;
                        if column.replace(c, id, old, &new)? {
                            n += 1;
                        }
                    }
                    Ok(n)
                })?;
            }
        }
        Ok(changed)
    }

    /// Every key this process holds and every key the database names, with how many values
    /// each seals, and the live servers.
    pub fn key_report(&self, now: i64) -> Result<KeyReport> {
        let vault = self.vault();
        let sealing = vault.current_id();
        let mut conn = self.conn()?;
        let mut keys = Vec::new();
        for held in vault.held() {
            let kid = held.key.id().to_owned();
            keys.push(KeyLine {
                values: count_under(&mut conn, &kid)?,
                seals: kid == sealing,
                origin: Some(held.origin),
                kid,
            });
        }
        for kid in master_keys::all(&mut conn)? {
            if !vault.knows(&kid) {
                keys.push(KeyLine {
                    values: count_under(&mut conn, &kid)?,
                    seals: false,
                    origin: None,
                    kid,
                });
            }
        }
        let named: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
        Ok(KeyReport {
            unaccounted: count_none_under(&mut conn, &named)?,
            keys,
            servers: key_holders::live(&mut conn, since(now))?
                .into_iter()
                .map(LiveServer::from)
                .collect(),
        })
    }

    /// Forgets master key `kid`: refused with [`StoreError::KeyInUse`] while a value here is
    /// sealed under it or a live server seals with it. The caller then deletes the key
    /// material (the key file line, the setting).
    pub fn retire_key(&self, kid: &str, now: i64) -> Result<()> {
        self.transaction(|c| {
            key_holders::lock(c)?;
            if let Some(server) = key_holders::live(c, since(now))?
                .into_iter()
                .find(|h| h.sealing == kid)
            {
                return Err(StoreError::KeyInUse {
                    kid: kid.to_owned(),
                    reason: format!(
                        "the server on {} (pid {}) seals new values with it",
                        server.host, server.pid
                    ),
                });
            }
            let values = count_under(c, kid)?;
            if values > 0 {
                return Err(StoreError::KeyInUse {
                    kid: kid.to_owned(),
                    reason: format!(
                        "{values} value{} in the database {} sealed under it; run `aliaskit keys \
                         rotate-master` first",
                        if values == 1 { "" } else { "s" },
                        if values == 1 { "is" } else { "are" },
                    ),
                });
            }
            master_keys::forget(c, kid)?;
            Ok(())
        })
    }
}
