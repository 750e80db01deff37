use std::fmt;

use crate::hmac::HmacKey;
use crate::{Algorithm, Policy, Result, Secret, TokenError};

/// The server's own signing keys (for OpenCAP login tokens): one active key that signs, and
/// older keys that still verify until they are removed.
///
/// Tokens carry the signing key's `kid`; a token verifies only if its `kid` names a key here.
#[derive(Clone)]
pub struct KeyRing {
    active: RingKey,
    retired: Vec<RingKey>,
}

#[derive(Clone)]
struct RingKey {
    kid: String,
    alg: Algorithm,
    key: HmacKey,
}

impl KeyRing {
    /// A ring whose active key is `secret`, named `kid`. The secret must satisfy `policy`.
    pub fn new(
        kid: impl Into<String>,
        alg: Algorithm,
        secret: &Secret,
        policy: &Policy,
    ) -> Result<Self> {
        Ok(KeyRing {
            active: RingKey::new(kid.into(), alg, secret, policy)?,
            retired: Vec::new(),
        })
    }

    /// Adds a key that verifies but does not sign (a retired key whose tokens are still alive).
    /// A retired key with the same `kid` is replaced; the active key's `kid` is refused.
    pub fn add_verifying_key(
        &mut self,
        kid: impl Into<String>,
        alg: Algorithm,
        secret: &Secret,
        policy: &Policy,
    ) -> Result<()> {
        let key = RingKey::new(kid.into(), alg, secret, policy)?;
        if key.kid == self.active.kid {
            return Err(TokenError::KeyRejected {
                reason: format!(
                    "kid {} is the active key's",
                    aliaskit_domain::Error::shown(&key.kid)
                ),
            });
        }
        self.retired.retain(|k| k.kid != key.kid);
        self.retired.push(key);
        Ok(())
    }

    /// The `kid` of the signing key.
    pub fn active_kid(&self) -> &str {
        &self.active.kid
    }

    /// The `kid`s of every key, the active one first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.active)
            .chain(&self.retired)
            .map(|k| k.kid.as_str())
    }

    pub(crate) fn active_key(&self) -> &HmacKey {
        &self.active.key
    }

    pub(crate) fn find(&self, kid: &str) -> Option<(Algorithm, &HmacKey)> {
        std::iter::once(&self.active)
            .chain(&self.retired)
            .find(|k| k.kid == kid)
            .map(|k| (k.alg, &k.key))
    }
}

impl RingKey {
    fn new(kid: String, alg: Algorithm, secret: &Secret, policy: &Policy) -> Result<Self> {
        policy.check_secret(secret)?;
        let key = HmacKey::new(alg, secret, Some(&kid))?;
        Ok(RingKey { kid, alg, key })
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active_kid())
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
