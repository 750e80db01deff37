//! Domain types of aliaskit, with their validation and no I/O.
//!
//! Everything here is plain data: parsing a value either yields a valid domain value or an
//! [`Error`] that says which field was wrong and why. Signing, storage and HTTP live in the
//! other crates and build on these types.
//!
//! ```
//! use aliaskit_domain::{AccessClaims, AliasId, AliasKind, UserId};
//!
//! let alias: AliasId = "Vx3kQ9_aZ-1".parse()?;
//! assert_eq!("live".parse::<AliasKind>()?, AliasKind::Live);
//!
//! let mut claims = AccessClaims::new(alias, UserId::new("user-42")?);
//! claims.host = true;
//! claims.expires_in = Some(3600);
//! assert_eq!(claims.to_json()["user_id"], "user-42");
//! # Ok::<(), aliaskit_domain::Error>(())
//! ```

pub mod alias;
pub mod claims;
mod error;
pub mod net;
pub mod opencap;
pub mod org;
mod sensitive;
mod signing_key;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

pub use alias::{
    Alias, AliasId, AliasKind, AliasPatch, AliasRules, DEFAULT_MIN_PASSCODE_LEN, NewAlias, Patch,
    Viewer,
};
pub use claims::{
    AccessClaims, AccessClaimsBuilder, Audience, NumericDate, RegisteredClaims, UserId,
};
pub use error::{Error, Result};
pub use org::{ApiKey, OrgId, OrgName, Organization};
pub use sensitive::Sensitive;
pub use signing_key::SigningKey;
pub use webhook::{EventFilter, EventType, Webhook, WebhookId, WebhookUrl};

/// Whether `text` is all `[A-Za-z0-9_-]`, URL-safe base64's alphabet (alias and webhook ids),
/// tested without a branch per byte: ids are random text, on which a search that branched on
/// each character cost four times as much as on one repeated id, on every public retrieve
/// (docs/performance.md).
pub(crate) fn id_text(text: &str) -> bool {
    text.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'_') | (b == b'-'))
    })
}
