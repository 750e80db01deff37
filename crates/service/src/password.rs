//! argon2id password hashing with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory: call it off async workers,
//! with bounded concurrency (the HTTP layer runs it on its `HashingPool`, a few low-priority
//! threads behind a bounded queue).

use std::sync::OnceLock;

use aliaskit_domain::opencap::Password;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Result, ServiceError};

/// OWASP's recommended argon2id configuration: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| ServiceError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of `password` with a fresh random salt.
pub(crate) fn hash(password: &Password) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| ServiceError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Hashing(e.to_string()))?;
    Ok(argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| ServiceError::Hashing(e.to_string()))?
        .to_string())
}

/// Whether `password` matches the PHC string `phc` (constant-time inside argon2). A malformed
/// stored hash never matches.
pub(crate) fn verify(password: &Password, phc: &str) -> bool {
    let (Ok(hasher), Ok(parsed)) = (argon2(), PasswordHash::new(phc)) else {
        return false;
    };
    hasher
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same work as a real check, for an alias that does not exist, so the answer time
/// does not tell whether an alias is registered.
pub(crate) fn verify_nobody(password: &Password) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Password::new("aliaskit-dummy-password")
            .ok()
            .and_then(|p| hash(&p).ok())
    });
    if let Some(phc) = dummy {
        let _ = verify(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let pw = Password::new("correct horse battery staple").unwrap_or_else(|e| panic!("{e}"));
        let phc = hash(&pw).unwrap_or_else(|e| panic!("{e}"));
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&pw, &phc));
        let wrong =
            Password::new("correct horse battery stapler").unwrap_or_else(|e| panic!("{e}"));
        assert!(!verify(&wrong, &phc));
        assert!(!verify(&pw, "not a phc string"));
        assert_ne!(hash(&pw).ok(), Some(phc), "a fresh salt every time");
    }
}
