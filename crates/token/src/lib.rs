//! Signing and verification of aliaskit access tokens.
//!
//! An organization's backend signs a short-lived JWT for one alias with that alias's
//! `jwt_secret` (often with Elixir Joken); aliaskit verifies it before admitting the bearer.
//! This crate does both, by the policy of `docs/security.md`:
//!
//! * HS256 / HS384 / HS512 only; `none` in any spelling, every other `alg`, `crit`, JWE and
//!   tokens over 8 KiB are refused; `kid`/`jku`/`x5u`/`jwk` are never followed.
//! * The MAC is checked in constant time (RustCrypto `hmac` behind josekit's
//!   `JwsSigner`/`JwsVerifier` traits) over the bytes as received.
//! * Header and payload are parsed once, strictly: objects without duplicate members, dates as
//!   bounded integers. Nothing from the token is echoed in errors but shortened, escaped values.
//! * Expiry = min(`exp`, `iat` + `expires_in`), required; leeway 60 s; lifetime at most 24 h.
//!
//! It does no I/O: secrets and the clock come from the caller.
//!
//! ```
//! use aliaskit_domain::{AccessClaims, AliasId, UserId};
//! use aliaskit_token::{Algorithm, Expect, FixedClock, Policy, Secret, Tokens};
//!
//! let secret = Secret::from("a-secret-of-at-least-32-bytes-long!!");
//! let tokens = Tokens::with_clock(Policy::default(), FixedClock(1_700_000_000));
//!
//! // The organization's backend signs…
//! let room = AliasId::parse("room-1")?;
//! let mut claims = AccessClaims::new(room.clone(), UserId::new("alice")?);
//! claims.expires_in = Some(3600);
//! let token = tokens.sign_access(&claims, &secret, Algorithm::HS256)?;
//!
//! // …and aliaskit verifies, against the alias and its current secret.
//! let verified = tokens.verify_access(&token, &Expect::new(&room, &[&secret]))?;
//! assert_eq!(verified.user_id.as_str(), "alice");
//! assert_eq!(verified.registered.exp.map(|d| d.secs()), Some(1_700_003_600));
//!
//! // A token for another alias is refused with a stable code.
//! let other = AliasId::parse("room-2")?;
//! let err = tokens.verify_access(&token, &Expect::new(&other, &[&secret])).unwrap_err();
//! assert_eq!(err.code(), "alias_mismatch");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod algorithm;
mod compact;
mod error;
mod hmac;
mod json;
mod keyring;
mod policy;
mod secret;
mod tokens;
mod webhook;

pub use algorithm::Algorithm;
pub use compact::{MAX_TOKEN_BYTES, decode_unverified};
pub use error::{Result, TokenError};
pub use keyring::KeyRing;
pub use policy::{Clock, FixedClock, Policy, SystemClock};
pub use secret::Secret;
pub use tokens::{AccessCheck, Expect, RingClaims, Tokens};
pub use webhook::{DEFAULT_WEBHOOK_TOLERANCE, WebhookSignatureError, sign_webhook, verify_webhook};
