//! Secrets at rest: AES-256-GCM under a master key, a fresh random nonce per value, and the
//! value's place (`table/row-id/column`) as associated data, so a ciphertext copied into another
//! row or column does not open.
//!
//! A sealed value is text: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id
//! names the master key that sealed it, so values sealed under an older key stay readable while
//! a rotation re-seals them (`Database::reseal_all`).

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why a master key or a sealed value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// A master key is not 32 bytes of base64.
    #[error("a master key must be 32 bytes, base64-encoded (44 characters); {reason}")]
    BadKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The value was sealed under a master key this process does not have.
    #[error(
        "a value was encrypted under master key {kid}, which this server does not have; \
         configure that key (security.master_key or security.old_master_keys) or restore its key file"
    )]
    UnknownKey {
        /// The key id in the value.
        kid: String,
    },
    /// The value is not in the sealed format, or was altered, or belongs to another place.
    #[error("an encrypted value at {place} is corrupt or was moved from another row")]
    Corrupt {
        /// `table/row/column`.
        place: String,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness for a nonce: {0}")]
    Random(String),
    /// The vault's source of keys (a key file) could not be read.
    #[error("the master keys cannot be read: {reason}")]
    Source {
        /// Why, naming the file.
        reason: String,
    },
}

/// A 256-bit master key and its id.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"aliaskit master key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        MasterKey {
            id,
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A key from base64 (standard or URL-safe alphabet, padded or not), as operators write it.
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let text = text.trim();
        let decoded = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|e| VaultError::BadKey {
                reason: format!("it is not base64: {e}"),
            })?;
        let bytes: [u8; 32] = decoded
            .try_into()
            .map_err(|v: Vec<u8>| VaultError::BadKey {
                reason: format!("it decodes to {} bytes", v.len()),
            })?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// A new random key.
    pub fn generate() -> Result<Self, VaultError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| VaultError::Random(e.to_string()))?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// The key as base64 (standard alphabet), for a key file or a setting. Handle with care.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(*self.bytes)
    }

    /// Its id: 8 hex digits of a hash of the key, safe to show and log.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.id)
    }
}

/// Where a process got a master key from, as `aliaskit keys status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `security.master_key` or `security.old_master_keys`.
    Setting,
    /// A line of the key file.
    File,
    /// A line of the key file marked `retired`: it opens values (in the database, or in a
    /// backup restored later) but never seals a new one.
    Retired,
}

impl KeyOrigin {
    /// `setting`, `file` or `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOrigin::Setting => "setting",
            KeyOrigin::File => "file",
            KeyOrigin::Retired => "retired",
        }
    }
}

/// A master key a process holds, and where it came from.
#[derive(Debug, Clone)]
pub struct HeldKey {
    /// The key.
    pub key: MasterKey,
    /// Where it came from.
    pub origin: KeyOrigin,
}

/// Reads the key material again (the key file): how a running process learns of a key added
/// beside it.
pub type KeySource = dyn Fn() -> Result<Vec<HeldKey>, VaultError> + Send + Sync;

/// The master keys of a process, in order of preference: every key opens what it sealed; one of
/// them — the first that is not retired, unless [`Database`](crate::Database) chose an older
/// one that every server on the database holds — seals new values.
///
/// A `Vault` is a shared handle: clones see the same keys. A vault made
/// [`with_source`](Self::with_source) reloads its keys when it meets a value sealed under a key
/// id it lacks (at most once a second), so a key added to the key file by
/// `aliaskit keys rotate-master` is picked up without a restart.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    state: RwLock<State>,
    source: Option<Box<KeySource>>,
    last_reload: Mutex<Option<Instant>>,
}

struct State {
    /// Never empty.
    keys: Vec<HeldKey>,
    /// The key that seals: one of `keys`, not retired.
    sealing: MasterKey,
}

impl State {
    /// One entry per id: the first occurrence wins (a key both configured and in the file).
    fn unique(keys: Vec<HeldKey>) -> Vec<HeldKey> {
        let mut unique: Vec<HeldKey> = Vec::with_capacity(keys.len());
        for held in keys {
            if !unique.iter().any(|k| k.key.id == held.key.id) {
                unique.push(held);
            }
        }
        unique
    }

    fn new(keys: Vec<HeldKey>, keep_sealing: Option<&str>) -> Result<State, VaultError> {
        let unique = State::unique(keys);
        let usable = |k: &&HeldKey| k.origin != KeyOrigin::Retired;
        let sealing = keep_sealing
            .and_then(|kid| unique.iter().filter(usable).find(|k| k.key.id == kid))
            .or_else(|| unique.iter().find(usable))
            .map(|k| k.key.clone())
            .ok_or_else(|| VaultError::BadKey {
                reason: "no master key may seal: every key is retired".into(),
            })?;
        Ok(State {
            keys: unique,
            sealing,
        })
    }

    fn find(&self, kid: &str) -> Option<&MasterKey> {
        self.keys.iter().map(|k| &k.key).find(|k| k.id == kid)
    }
}

/// Reloads on an unknown key id at most this often.
const RELOAD_MIN: Duration = Duration::from_secs(1);

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Vault")
            .field(
                "keys",
                &state
                    .keys
                    .iter()
                    .map(|k| k.key.id.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("sealing", &state.sealing.id())
            .field("reloads", &self.inner.source.is_some())
            .finish()
    }
}

const FORMAT: &str = "v1";

impl Vault {
    /// A vault sealing with `current` and also opening what `older` keys sealed; its keys
    /// never change.
    pub fn new(current: MasterKey, older: Vec<MasterKey>) -> Self {
        let keys = std::iter::once(current.clone())
            .chain(older)
            .map(|key| HeldKey {
                key,
                origin: KeyOrigin::Setting,
            })
            .collect();
        let state = State {
            keys: State::unique(keys),
            sealing: current,
        };
        Vault::from_state(state, None)
    }

    /// A vault over the keys `source` gives now, reloading them from it when a value names a
    /// key id it lacks (and on [`reload`](Self::reload)).
    pub fn with_source(source: Box<KeySource>) -> Result<Self, VaultError> {
        let state = State::new(source()?, None)?;
        Ok(Vault::from_state(state, Some(source)))
    }

    fn from_state(state: State, source: Option<Box<KeySource>>) -> Self {
        Vault {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                source,
                last_reload: Mutex::new(None),
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-written (it is replaced
        // whole), so a poisoned lock is still good to read.
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the key source again (no-op for a vault made with [`new`](Self::new)); the key
    /// that seals stays the same while it is still held and not retired.
    pub fn reload(&self) -> Result<(), VaultError> {
        let Some(source) = &self.inner.source else {
            return Ok(());
        };
        let keys = source()?;
        let mut state = self.write();
        *state = State::new(keys, Some(state.sealing.id()))?;
        Ok(())
    }

    /// Reloads if the vault has a source and did not reload in the last second.
    fn reload_for(&self, kid: &str) -> bool {
        if self.inner.source.is_none() {
            return false;
        }
        {
            let mut last = self
                .inner
                .last_reload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < RELOAD_MIN) {
                return self.knows(kid);
            }
            *last = Some(Instant::now());
        }
        // A source that fails now (a key file being replaced) leaves the keys as they were; the
        // value then reports the unknown key id.
        self.reload().is_ok_and(|_| self.knows(kid))
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> String {
        self.current().id
    }

    /// The key that seals.
    pub fn current(&self) -> MasterKey {
        self.read().sealing.clone()
    }

    /// Every key held, in order of preference, with where it came from.
    pub fn held(&self) -> Vec<HeldKey> {
        self.read().keys.clone()
    }

    /// Every key, in order of preference.
    pub fn keys(&self) -> Vec<MasterKey> {
        self.read().keys.iter().map(|k| k.key.clone()).collect()
    }

    /// The ids of the keys that may seal (not retired), in order of preference.
    pub fn sealing_candidates(&self) -> Vec<String> {
        self.read()
            .keys
            .iter()
            .filter(|k| k.origin != KeyOrigin::Retired)
            .map(|k| k.key.id.clone())
            .collect()
    }

    /// Seals with the held, unretired key `kid` from now on; `false` (nothing changes) if
    /// there is none.
    pub fn seal_with(&self, kid: &str) -> bool {
        let mut state = self.write();
        let Some(key) = state
            .keys
            .iter()
            .find(|k| k.key.id == kid && k.origin != KeyOrigin::Retired)
            .map(|k| k.key.clone())
        else {
            return false;
        };
        state.sealing = key;
        true
    }

    /// Whether the vault has the key with this id.
    pub fn knows(&self, kid: &str) -> bool {
        self.read().find(kid).is_some()
    }

    /// Seals `plaintext` for `place` (`table/row/column`) under the current key.
    pub fn seal(&self, place: &str, plaintext: &str) -> Result<String, VaultError> {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| VaultError::Random(e.to_string()))?;
        let (kid, sealed) = {
            let state = self.read();
            let key = &state.sealing;
            let cipher =
                Aes256Gcm::new_from_slice(&*key.bytes).map_err(|_| VaultError::BadKey {
                    reason: "the cipher refused it".into(),
                })?;
            let sealed = cipher
                .encrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: plaintext.as_bytes(),
                        aad: place.as_bytes(),
                    },
                )
                .map_err(|_| VaultError::Corrupt {
                    place: place.to_owned(),
                })?;
            (key.id.clone(), sealed)
        };
        let mut blob = Vec::with_capacity(nonce.len() + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}.{kid}.{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Opens a value sealed for `place`, under whichever held key sealed it; a key id the vault
    /// lacks makes it reload its source once before giving up.
    pub fn open(&self, place: &str, sealed: &str) -> Result<String, VaultError> {
        let corrupt = || VaultError::Corrupt {
            place: place.to_owned(),
        };
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(kid), Some(blob)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(corrupt());
        };
        if !self.knows(kid) && !self.reload_for(kid) {
            return Err(VaultError::UnknownKey {
                kid: kid.chars().take(16).collect(),
            });
        }
        let blob = URL_SAFE_NO_PAD.decode(blob).map_err(|_| corrupt())?;
        if blob.len() < 12 + 16 {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| corrupt())?;
        let state = self.read();
        let key = state.find(kid).ok_or_else(|| VaultError::UnknownKey {
            kid: kid.chars().take(16).collect(),
        })?;
        let cipher = Aes256Gcm::new_from_slice(&*key.bytes).map_err(|_| corrupt())?;
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }

    /// The key id a sealed value names, if it is in the sealed format.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(FORMAT), Some(kid)) => Some(kid),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(MasterKey::from_bytes([7; 32]), Vec::new())
    }

    #[test]
    fn a_sealed_value_opens_in_its_place_only() {
        let v = vault();
        let sealed = v
            .seal("aliases/a1/passcode", "pin-1234")
            .unwrap_or_default();
        assert!(
            sealed.starts_with(&format!("v1.{}.", v.current_id())),
            "{sealed}"
        );
        assert!(!sealed.contains("pin-1234"));
        assert_eq!(
            v.open("aliases/a1/passcode", &sealed),
            Ok("pin-1234".to_owned())
        );
        // Moved to another row or column: refused.
        for place in ["aliases/a2/passcode", "aliases/a1/stream_key"] {
            assert_eq!(
                v.open(place, &sealed),
                Err(VaultError::Corrupt {
                    place: place.into()
                })
            );
        }
        // Same plaintext twice: different ciphertexts (fresh nonces).
        assert_ne!(v.seal("p", "x").ok(), v.seal("p", "x").ok());
    }

    #[test]
    fn altered_or_foreign_values_are_refused() {
        let v = vault();
        let sealed = v.seal("p", "secret").unwrap_or_default();
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap_or('A');
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            v.open("p", &altered),
            Err(VaultError::Corrupt { .. })
        ));
        assert!(matches!(
            v.open("p", "plaintext"),
            Err(VaultError::Corrupt { .. })
        ));
        let other = Vault::new(MasterKey::from_bytes([9; 32]), Vec::new());
        let err = other
            .open("p", &sealed)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with(&format!(
                "a value was encrypted under master key {}",
                v.current_id()
            )),
            "{err}"
        );
    }

    #[test]
    fn older_keys_open_and_the_current_one_seals() {
        let old = MasterKey::from_bytes([1; 32]);
        let sealed = Vault::new(old.clone(), Vec::new())
            .seal("p", "s")
            .unwrap_or_default();
        let rotated = Vault::new(MasterKey::from_bytes([2; 32]), vec![old.clone()]);
        assert_eq!(rotated.open("p", &sealed), Ok("s".into()));
        let resealed = rotated.seal("p", "s").unwrap_or_default();
        assert_eq!(
            Vault::key_id_of(&resealed),
            Some(rotated.current_id().as_str())
        );
        assert!(rotated.knows(old.id()));
    }

    #[test]
    fn a_vault_with_a_source_reloads_once_on_an_unknown_key_id() {
        let first = MasterKey::from_bytes([3; 32]);
        let added = MasterKey::from_bytes([4; 32]);
        let held = |keys: &[&MasterKey]| -> Vec<HeldKey> {
            keys.iter()
                .map(|k| HeldKey {
                    key: (*k).clone(),
                    origin: KeyOrigin::File,
                })
                .collect()
        };
        // The "key file": what the source reads, changed behind the vault's back.
        let file = Arc::new(Mutex::new(held(&[&first])));
        let reads = Arc::new(Mutex::new(0));
        let (f, r) = (file.clone(), reads.clone());
        let vault = Vault::with_source(Box::new(move || {
            *r.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
            Ok(f.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone())
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let count = || {
            *reads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        assert_eq!(count(), 1);

        // Another process seals under a key added to the file.
        let sealed = Vault::new(added.clone(), Vec::new())
            .seal("p", "s")
            .unwrap_or_default();
        *file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = held(&[&added, &first]);
        assert_eq!(
            vault.open("p", &sealed),
            Ok("s".into()),
            "reloaded and opened"
        );
        assert_eq!(count(), 2);
        // The key that seals stays until chosen otherwise.
        assert_eq!(vault.current_id(), first.id());
        assert!(vault.seal_with(added.id()));
        assert_eq!(vault.current_id(), added.id());

        // An id no source knows: one more read at most per second, then UnknownKey.
        let stranger = Vault::new(MasterKey::from_bytes([5; 32]), Vec::new())
            .seal("p", "s")
            .unwrap_or_default();
        for _ in 0..3 {
            assert!(matches!(
                vault.open("p", &stranger),
                Err(VaultError::UnknownKey { .. })
            ));
        }
        assert_eq!(count(), 2, "reloaded again within the second");
    }

    #[test]
    fn keys_parse_from_base64_and_never_show_in_debug() {
        let key = MasterKey::from_bytes([0xAB; 32]);
        let text = key.to_base64();
        assert_eq!(
            MasterKey::from_base64(&text).map(|k| k.id().to_owned()),
            Ok(key.id().to_owned())
        );
        assert!(!format!("{key:?}").contains(&text));
        assert_eq!(
            MasterKey::from_base64("c2hvcnQ=")
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some(
                "a master key must be 32 bytes, base64-encoded (44 characters); it decodes to 5 bytes"
            )
        );
        assert_eq!(key.id().len(), 8);
    }
}
