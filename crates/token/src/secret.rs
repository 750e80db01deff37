use std::fmt;

use once_cell::race::OnceBox;
use zeroize::Zeroizing;

use crate::hmac::HmacKey;
use crate::{Algorithm, Result};

/// HMAC key material: an alias's `jwt_secret` or a key of the server's ring.
///
/// The bytes are wiped from memory on drop, `Debug` shows only the length, and there is no
/// `Display`, so a secret cannot reach a log line by accident.
///
/// A secret remembers its keyed HMAC state per algorithm the first time it is used, so a
/// process that keeps its secrets (a cache of aliases, a key ring) pays for the key schedule
/// once and not on every verification. Equality compares the key bytes only.
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Box<[u8]>>,
    /// One per algorithm. `OnceBox` is a pointer where `OnceLock<Box<_>>` is two words: a
    /// cached alias holds up to two secrets (`docs/performance.md`). Two threads keying the
    /// same secret at once may both compute the state; one is kept, the other dropped.
    keys: [OnceBox<HmacKey>; 3],
}

impl Secret {
    /// Wraps raw key bytes. For a `jwt_secret` string these are its UTF-8 bytes, as Joken and
    /// most JWT libraries use them.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret {
            bytes: Zeroizing::new(bytes.into().into_boxed_slice()),
            keys: Default::default(),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The key bytes. Handle with care: never log them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The keyed HMAC for `alg`, computed on first use.
    pub(crate) fn hmac_key(&self, alg: Algorithm) -> Result<&HmacKey> {
        let cell = &self.keys[alg as usize];
        if let Some(key) = cell.get() {
            return Ok(key);
        }
        let key = HmacKey::new(alg, self, None)?;
        Ok(cell.get_or_init(|| Box::new(key)))
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Secret {}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s.into_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_length_not_bytes() {
        let s = Secret::from("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted, 15 bytes>)");
    }
}
