//! argon2id password hashing with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory: call it off async workers,
//! with bounded concurrency, on few long-lived threads (the HTTP layer runs it on its
//! `HashingPool`, a few low-priority threads behind a bounded queue).
//!
//! Each thread that hashes keeps one 19 MiB working memory for its life and wipes it after every
//! hash, instead of allocating and freeing 19 MiB per login as `argon2`'s own
//! `hash_password`/`verify_password` do. Freed, those blocks stayed with the allocator: after a
//! burst of logins the server held several of them per malloc arena (docs/performance.md,
//! "Memory after a login burst"). The PHC strings and the outcome of every check are the same
//! as the library's (the tests check both directions).

use std::cell::RefCell;
use std::sync::OnceLock;

use aliaskit_domain::opencap::Password;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroize;

use crate::{Result, ServiceError};

/// OWASP's recommended argon2id configuration: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

thread_local! {
    /// This thread's argon2 working memory: empty until the thread first hashes, then the
    /// blocks of [`MEMORY_KIB`], wiped after each use.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn params() -> Result<Params> {
    Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|e| ServiceError::Hashing(e.to_string()))
}

/// Runs `hasher` over `password` and `salt` into `out`, in this thread's working memory.
///
/// A stored hash whose parameters ask for more memory than ours (made with other settings)
/// gets memory of its own for that one check, wiped and freed after.
fn compute(
    hasher: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let blocks = hasher.params().block_count();
    let ours = params().map_or(0, |p| p.block_count());
    let mut run = |memory: &mut [Block]| {
        let result = hasher.hash_password_into_with_memory(password, salt, out, &mut *memory);
        memory.iter_mut().for_each(Zeroize::zeroize);
        result
    };
    if blocks > ours {
        return run(&mut vec![Block::default(); blocks]);
    }
    MEMORY.with(|memory| match memory.try_borrow_mut() {
        Ok(mut memory) => {
            if memory.len() < ours {
                memory.resize(ours, Block::default());
            }
            run(&mut memory[..blocks])
        }
        // Only reachable if hashing re-entered itself on this thread; never shares memory.
        Err(_) => run(&mut vec![Block::default(); blocks]),
    })
}

/// The PHC string of `password` with a fresh random salt.
pub(crate) fn hash(password: &Password) -> Result<String> {
    let hashing = |e: argon2::password_hash::Error| ServiceError::Hashing(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| ServiceError::Random(e.to_string()))?;
    let salt_string = SaltString::encode_b64(&salt).map_err(hashing)?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params()?);
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        Ok(compute(&hasher, password.expose().as_bytes(), &salt, out)?)
    })
    .map_err(hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(hasher.params()).map_err(hashing)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the algorithm, version and parameters
/// it names; the outputs are compared in constant time. A malformed stored hash never matches.
pub(crate) fn verify(password: &Password, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let hasher = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        Ok(compute(&hasher, password.expose().as_bytes(), salt, out)?)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
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

    fn password(text: &str) -> Password {
        Password::new(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A PHC string made by the `argon2` crate's own hasher, as every stored hash before the
    /// reusable working memory was.
    fn library_hash(password: &Password, params: Params, algorithm: Algorithm) -> String {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap_or_else(|e| panic!("{e}"));
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(password.expose().as_bytes(), &salt)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    #[test]
    fn hashes_stored_by_the_library_verify_and_ours_verify_with_the_library() {
        use argon2::password_hash::PasswordVerifier;
        let pw = password("correct horse battery staple");
        let wrong = password("correct horse battery stapler");
        let owasp = params().unwrap_or_else(|e| panic!("{e}"));

        let stored = library_hash(&pw, owasp.clone(), Algorithm::Argon2id);
        assert!(verify(&pw, &stored));
        assert!(!verify(&wrong, &stored));

        let ours = hash(&pw).unwrap_or_else(|e| panic!("{e}"));
        let parsed = PasswordHash::new(&ours).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Argon2::default()
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(wrong.expose().as_bytes(), &parsed)
                .is_err()
        );
    }

    #[test]
    fn hashes_with_other_parameters_verify_with_the_parameters_they_name() {
        let pw = password("correct horse battery staple");
        let wrong = password("correct horse battery stapler");
        // Less memory than ours (the reused memory's first blocks), more (memory of its own),
        // another variant, and a longer output.
        let cases = [
            (Params::new(64, 1, 1, None), Algorithm::Argon2id),
            (Params::new(MEMORY_KIB * 2, 1, 1, None), Algorithm::Argon2id),
            (Params::new(256, 3, 2, None), Algorithm::Argon2i),
            (Params::new(128, 2, 1, Some(64)), Algorithm::Argon2d),
        ];
        for (params, algorithm) in cases {
            let params = params.unwrap_or_else(|e| panic!("{e}"));
            let stored = library_hash(&pw, params, algorithm);
            assert!(verify(&pw, &stored), "{stored}");
            assert!(!verify(&wrong, &stored), "{stored}");
            // The reused memory is wiped and resized correctly between checks.
            let ours = hash(&pw).unwrap_or_else(|e| panic!("{e}"));
            assert!(verify(&pw, &ours));
        }
    }
}
