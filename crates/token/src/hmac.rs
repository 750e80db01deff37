//! HMAC signer and verifier for josekit, on RustCrypto `hmac` + `sha2`.
//!
//! josekit's own HMAC verifier compares MACs with `!=`, which leaks timing. This one keeps the
//! keyed HMAC state and compares with `subtle`, in constant time.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, HmacCore, Mac};
use josekit::JoseError;
use josekit::jws::{JwsAlgorithm, JwsSigner, JwsVerifier};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::{Algorithm, Result, Secret, TokenError};

/// HMAC keyed with one secret for one algorithm. Cloning copies the keyed state, so the key
/// schedule is computed once per key and not once per MAC.
#[derive(Clone)]
pub(crate) struct HmacKey {
    alg: Algorithm,
    kid: Option<String>,
    keyed: Keyed,
}

/// The keyed states, without the block buffer an `Hmac` carries while it takes input: each MAC
/// starts from a copy of the state with an empty buffer, so keeping one per key would only
/// cost memory. None is boxed: a lean [`Secret`] keys on every MAC, on the stack, so a box
/// would be an allocation per verification; the keys that are kept (a key ring, a
/// remembering secret) are few.
#[derive(Clone)]
enum Keyed {
    S256(HmacCore<Sha256>),
    S384(HmacCore<Sha384>),
    S512(HmacCore<Sha512>),
}

impl HmacKey {
    pub(crate) fn new(alg: Algorithm, secret: &Secret, kid: Option<&str>) -> Result<Self> {
        let keyed = match alg {
            Algorithm::HS256 => Keyed::S256(keyed(secret)?),
            Algorithm::HS384 => Keyed::S384(keyed(secret)?),
            Algorithm::HS512 => Keyed::S512(keyed(secret)?),
        };
        Ok(HmacKey {
            alg,
            kid: kid.map(str::to_owned),
            keyed,
        })
    }

    /// The MAC of `message`, written into `out` (room for the longest, HS512's): the part
    /// written.
    fn tag<'o>(&self, message: &[u8], out: &'o mut [u8; 64]) -> &'o [u8] {
        fn put<'o>(tag: &[u8], out: &'o mut [u8; 64]) -> &'o [u8] {
            let n = tag.len().min(out.len());
            out[..n].copy_from_slice(&tag[..n]);
            &out[..n]
        }
        // Each MAC starts from a copy of the keyed state.
        match &self.keyed {
            Keyed::S256(core) => put(
                &Hmac::<Sha256>::from_core(core.clone())
                    .chain_update(message)
                    .finalize()
                    .into_bytes(),
                out,
            ),
            Keyed::S384(core) => put(
                &Hmac::<Sha384>::from_core(core.clone())
                    .chain_update(message)
                    .finalize()
                    .into_bytes(),
                out,
            ),
            Keyed::S512(core) => put(
                &Hmac::<Sha512>::from_core(core.clone())
                    .chain_update(message)
                    .finalize()
                    .into_bytes(),
                out,
            ),
        }
    }

    pub(crate) fn mac(&self, message: &[u8]) -> Vec<u8> {
        self.tag(message, &mut [0; 64]).to_vec()
    }

    /// Constant-time check of `signature` over `message` (a signature of another length is
    /// refused at once: the length is public).
    pub(crate) fn matches(&self, message: &[u8], signature: &[u8]) -> bool {
        self.tag(message, &mut [0; 64]).ct_eq(signature).into()
    }
}

/// HMAC takes keys of any length, so this fails only if that ever changes; it fails closed.
fn keyed<C: KeyInit>(secret: &Secret) -> Result<C> {
    C::new_from_slice(secret.expose()).map_err(|_| TokenError::KeyRejected {
        reason: "the HMAC implementation refused the key length".into(),
    })
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the MAC does not match")]
struct MacMismatch;

impl JwsSigner for HmacKey {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &self.alg
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn signature_len(&self) -> usize {
        self.alg.mac_len()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        Ok(self.mac(message))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

impl JwsVerifier for HmacKey {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &self.alg
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if self.matches(message, signature) {
            Ok(())
        } else {
            Err(JoseError::InvalidSignature(MacMismatch.into()))
        }
    }

    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}
