use std::borrow::Cow;
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
/// A secret made with [`Secret::new`] (or `From`) remembers its keyed HMAC state per algorithm
/// the first time it is used, so a process that keeps a few secrets and verifies with them
/// often pays for the key schedule once and not on every verification. One made with
/// [`Secret::lean`] keeps only its bytes and keys its HMAC on every use: for holding many
/// secrets, as a cache of aliases does. Equality compares the key bytes only.
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Box<[u8]>>,
    /// The keyed states, one per algorithm, when the secret remembers them. `OnceBox` is a
    /// pointer where `OnceLock<Box<_>>` is two words. Two threads keying the same secret at
    /// once may both compute the state; one is kept, the other dropped.
    keys: Option<Box<[OnceBox<HmacKey>; 3]>>,
}

impl Secret {
    /// Wraps raw key bytes, and remembers the keyed HMAC state of each algorithm it is used
    /// with. For a `jwt_secret` string these are its UTF-8 bytes, as Joken and most JWT
    /// libraries use them.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret {
            keys: Some(Box::default()),
            ..Secret::lean(bytes)
        }
    }

    /// Wraps raw key bytes and remembers nothing else: each MAC computes the HMAC key schedule
    /// anew (two hash blocks: 0.08 µs for HS256 on a processor with SHA instructions,
    /// `docs/performance.md`, "Token verification"). Such a secret takes 24 bytes and its key's,
    /// where one made with [`Secret::new`] also keeps three cells and, for each algorithm it was
    /// used with, a keyed state of about 300 bytes.
    pub fn lean(bytes: impl Into<Vec<u8>>) -> Self {
        Secret {
            bytes: Zeroizing::new(bytes.into().into_boxed_slice()),
            keys: None,
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

    /// The keyed HMAC for `alg`: the remembered one (computed on first use), or, for a
    /// [`lean`](Self::lean) secret, one computed now.
    pub(crate) fn hmac_key(&self, alg: Algorithm) -> Result<Cow<'_, HmacKey>> {
        let Some(keys) = &self.keys else {
            return HmacKey::new(alg, self, None).map(Cow::Owned);
        };
        let cell = &keys[alg as usize];
        if let Some(key) = cell.get() {
            return Ok(Cow::Borrowed(key));
        }
        let key = HmacKey::new(alg, self, None)?;
        Ok(Cow::Borrowed(cell.get_or_init(|| Box::new(key))))
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
        let lean = Secret::lean("hunter2-hunter2");
        assert_eq!(format!("{lean:?}"), "Secret(<redacted, 15 bytes>)");
    }

    /// A lean secret and a remembering one with the same bytes are equal and make the same MAC
    /// under every algorithm, the remembering one on first use and again from what it kept.
    #[test]
    fn lean_and_remembering_secrets_agree() {
        let bytes = "0123456789abcdef0123456789abcdef-and-more";
        let (kept, lean) = (Secret::from(bytes), Secret::lean(bytes));
        assert_eq!(kept, lean);
        fn key(secret: &Secret, alg: Algorithm) -> Cow<'_, HmacKey> {
            secret.hmac_key(alg).unwrap_or_else(|e| panic!("{e}"))
        }
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let lean_key = key(&lean, alg);
            assert!(matches!(lean_key, Cow::Owned(_)));
            let reference = lean_key.mac(b"message");
            assert_eq!(reference.len(), alg.mac_len());
            for _ in 0..2 {
                let kept_key = key(&kept, alg);
                assert!(matches!(kept_key, Cow::Borrowed(_)));
                assert_eq!(kept_key.mac(b"message"), reference);
            }
        }
    }
}
