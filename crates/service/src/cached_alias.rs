//! An alias as the retrieve's cache keeps it: what the retrieve reads, in as few bytes as it
//! can, because the cache holds up to `cache.max_entries` of them (`docs/performance.md`,
//! "What a cached alias costs").
//!
//! Compared with an [`Alias`], a cached alias does not copy its id (the cache's key holds it,
//! and every caller has it), keeps its name, passcode and stream key in one allocation (wiped
//! when dropped), and keeps its secrets as lean [`Secret`]s ([`Secret::lean`]): their bytes
//! only, keyed on each use, since a remembered keyed state would cost more memory per alias
//! (about 145 bytes) than the key schedule costs time per request (about 0.08 µs).

use std::sync::atomic::{AtomicI64, Ordering};

use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, Sensitive, Viewer};
use aliaskit_store::repo::passcode_failures;
use aliaskit_token::Secret;
use zeroize::Zeroizing;

use crate::{PasscodeBlock, PasscodeScope};

/// A cached alias: its fields for the retrieve, its secrets (lean: keyed on each use), and what
/// this process knows of its passcode guesses.
pub(crate) struct CachedAlias {
    /// The name, the passcode and the stream key, one after the other.
    text: Zeroizing<Box<str>>,
    /// Where the name ends in `text`, and where the passcode ends (the stream key is the rest).
    name_end: u32,
    passcode_end: u32,
    /// Which of the optional fields are set ([`NAME`], …).
    present: u8,
    kind: AliasKind,
    pub(crate) org: OrgId,
    pub(crate) expired_at: i64,
    inserted_at: i64,
    updated_at: i64,
    /// Until when the previous secret verifies, and before when tokens are refused:
    /// [`NONE`] stands for `None` (eight bytes less than an `Option` each; either bound at
    /// `i64::MIN` would mean what `None` means).
    previous_secret_until: i64,
    tokens_valid_after: i64,
    /// The `jwt_secret`.
    pub(crate) current: Option<Secret>,
    /// The secret before the last rotation (rare, so boxed).
    pub(crate) previous: Option<Box<Secret>>,
    /// Until when (Unix seconds) a right passcode must ask the database: a wrong one was seen,
    /// here or — as of loading — by any server. 0: not watched.
    watched_until: AtomicI64,
    /// The end of an alias-wide passcode block this process knows of; 0: none.
    blocked_until: AtomicI64,
}

/// No bound: see [`CachedAlias::previous_secret_until`].
const NONE: i64 = i64::MIN;

const NAME: u8 = 1;
const PASSCODE: u8 = 2;
const STREAM_KEY: u8 = 4;

impl CachedAlias {
    /// The alias as read from the database, with what any server recorded of wrong passcodes
    /// for it. Its id is not kept.
    pub(crate) fn new(alias: Alias, passcodes: passcode_failures::State) -> Self {
        let name = alias.name.as_deref();
        let passcode = alias.passcode.as_ref().map(Sensitive::expose);
        let stream_key = alias.stream_key.as_ref().map(Sensitive::expose);
        let mut text = String::with_capacity(
            [name, passcode, stream_key]
                .iter()
                .map(|s| s.map_or(0, str::len))
                .sum(),
        );
        let mut present = 0;
        for (field, flag) in [(name, NAME), (passcode, PASSCODE), (stream_key, STREAM_KEY)] {
            if let Some(field) = field {
                text.push_str(field);
                present |= flag;
            }
        }
        let end = |fields: &[Option<&str>]| {
            let len: usize = fields.iter().map(|s| s.map_or(0, str::len)).sum();
            u32::try_from(len).unwrap_or(u32::MAX)
        };
        let secret = |s: Option<&Sensitive>| s.map(|s| Secret::lean(s.expose()));
        CachedAlias {
            name_end: end(&[name]),
            passcode_end: end(&[name, passcode]),
            text: Zeroizing::new(text.into_boxed_str()),
            present,
            kind: alias.kind,
            org: alias.org,
            expired_at: alias.expired_at,
            inserted_at: alias.inserted_at,
            updated_at: alias.updated_at,
            previous_secret_until: alias.previous_secret_until.unwrap_or(NONE),
            tokens_valid_after: alias.tokens_valid_after.unwrap_or(NONE),
            current: secret(alias.jwt_secret.as_ref()),
            previous: secret(alias.previous_secret.as_ref()).map(Box::new),
            watched_until: AtomicI64::new(passcodes.watched_until.unwrap_or(0)),
            blocked_until: AtomicI64::new(passcodes.blocked_until.unwrap_or(0)),
        }
    }

    fn field(&self, flag: u8, from: u32, to: u32) -> Option<&str> {
        let (from, to) = (from as usize, to as usize);
        (self.present & flag != 0).then(|| self.text.get(from..to).unwrap_or_default())
    }

    /// The passcode, if it has one.
    pub(crate) fn passcode(&self) -> Option<&str> {
        self.field(PASSCODE, self.name_end, self.passcode_end)
    }

    /// Until when the previous secret verifies.
    pub(crate) fn previous_secret_until(&self) -> Option<i64> {
        (self.previous_secret_until != NONE).then_some(self.previous_secret_until)
    }

    /// Tokens issued before this are refused.
    pub(crate) fn tokens_valid_after(&self) -> Option<i64> {
        (self.tokens_valid_after != NONE).then_some(self.tokens_valid_after)
    }

    /// Whether it has a `jwt_secret`.
    pub(crate) fn has_secret(&self) -> bool {
        self.current.is_some()
    }

    /// Whether anyone may read it without a credential ([`Alias::is_public`]).
    pub(crate) fn is_public(&self) -> bool {
        !self.has_secret() && self.present & PASSCODE == 0
    }

    /// Whether it is past its expiry at `now` ([`Alias::is_expired`]).
    pub(crate) fn is_expired(&self, now: i64) -> bool {
        now > self.expired_at
    }

    /// The alias `id` as the public retrieve shows it to `viewer` ([`Alias::retrieved_by`]).
    pub(crate) fn retrieved_by(&self, id: &AliasId, viewer: Viewer) -> Alias {
        let privileged = matches!(viewer, Viewer::Owner | Viewer::Host);
        let text_len = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        let shown = |s: Option<&str>| s.filter(|_| privileged).map(Sensitive::from);
        Alias {
            id: id.clone(),
            org: self.org,
            kind: self.kind,
            name: self.field(NAME, 0, self.name_end).map(str::to_owned),
            passcode: shown(self.passcode()),
            jwt_secret: None,
            stream_key: shown(self.field(STREAM_KEY, self.passcode_end, text_len)),
            expired_at: self.expired_at,
            inserted_at: self.inserted_at,
            updated_at: self.updated_at,
            previous_secret: None,
            previous_secret_until: None,
            tokens_valid_after: self.tokens_valid_after(),
        }
    }

    pub(crate) fn watched(&self, now: i64) -> bool {
        self.watched_until.load(Ordering::Acquire) > now
    }

    pub(crate) fn watch(&self, until: i64) {
        self.watched_until.fetch_max(until, Ordering::AcqRel);
    }

    /// Learns a block: the alias is watched at least as long, and an alias-wide block refuses
    /// passcodes here without I/O until it ends.
    pub(crate) fn learn(&self, block: PasscodeBlock) {
        self.watch(block.until);
        if block.scope == PasscodeScope::Alias {
            self.blocked_until.fetch_max(block.until, Ordering::AcqRel);
        }
    }

    pub(crate) fn known_block(&self, now: i64) -> Option<PasscodeBlock> {
        let until = self.blocked_until.load(Ordering::Acquire);
        (until > now).then_some(PasscodeBlock {
            scope: PasscodeScope::Alias,
            until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(name: Option<&str>, passcode: Option<&str>, stream_key: Option<&str>) -> Alias {
        Alias {
            id: AliasId::parse("room-1").unwrap_or_else(|e| panic!("{e}")),
            org: OrgId(7),
            kind: AliasKind::Live,
            name: name.map(str::to_owned),
            passcode: passcode.map(Sensitive::from),
            jwt_secret: Some(Sensitive::from("current-secret-0123456789abcdef01")),
            stream_key: stream_key.map(Sensitive::from),
            expired_at: 2_000_000_000,
            inserted_at: 1_700_000_000,
            updated_at: 1_700_000_100,
            previous_secret: Some(Sensitive::from("previous-secret-0123456789abcdef")),
            previous_secret_until: Some(1_700_000_400),
            tokens_valid_after: Some(1_700_000_050),
        }
    }

    /// Every combination of the optional text fields, empty ones included, comes back as the
    /// domain's own view shows it, to every viewer.
    #[test]
    fn shows_what_the_domain_view_shows() {
        let texts = [None, Some(""), Some("a"), Some("Room ü 7")];
        for name in texts {
            for passcode in texts {
                for stream_key in texts {
                    let alias = alias(name, passcode, stream_key);
                    let cached = CachedAlias::new(alias.clone(), Default::default());
                    assert_eq!(cached.passcode(), passcode);
                    assert_eq!(cached.is_public(), alias.is_public());
                    for viewer in [Viewer::Owner, Viewer::Host, Viewer::Guest] {
                        assert_eq!(
                            cached.retrieved_by(&alias.id, viewer),
                            alias.retrieved_by(viewer),
                            "{name:?} {passcode:?} {stream_key:?} {viewer:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_both_secrets_and_the_token_bounds() {
        let cached = CachedAlias::new(alias(None, None, None), Default::default());
        assert_eq!(
            cached.current.as_ref().map(Secret::expose),
            Some(&b"current-secret-0123456789abcdef01"[..])
        );
        assert_eq!(
            cached.previous.as_deref().map(Secret::expose),
            Some(&b"previous-secret-0123456789abcdef"[..])
        );
        assert_eq!(cached.previous_secret_until(), Some(1_700_000_400));
        assert_eq!(cached.tokens_valid_after(), Some(1_700_000_050));
        let mut unbounded = alias(None, None, None);
        unbounded.previous_secret_until = None;
        unbounded.tokens_valid_after = None;
        let cached = CachedAlias::new(unbounded, Default::default());
        assert_eq!(cached.previous_secret_until(), None);
        assert_eq!(cached.tokens_valid_after(), None);
        assert!(!cached.is_public());
        assert!(cached.is_expired(2_000_000_001));
        assert!(!cached.is_expired(2_000_000_000));
    }
}
