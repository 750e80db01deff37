//! The end user's view: retrieve an alias with a token, a passcode, the owner's key, or nothing.
//!
//! The hot path — a valid token or passcode for a cached alias — needs no I/O:
//! [`Service::retrieve_cached`] answers it on the caller's thread. Everything else goes through
//! the blocking [`Service::retrieve`].

use std::sync::Arc;

use aliaskit_domain::{Alias, AliasId, Viewer};
use aliaskit_store::repo;
use aliaskit_token::{Expect, Secret, TokenError};
use subtle::ConstantTimeEq;

use crate::{Result, Service, ServiceError};

/// What the caller presented. `bearer` is the `Authorization` value without its scheme: an
/// access token, or the owning organization's API key.
#[derive(Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `Authorization: Bearer <x>` or `Authorization: <x>`.
    pub bearer: Option<&'a str>,
    /// `?passcode=…`.
    pub passcode: Option<&'a str>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.map(|_| "<redacted>"))
            .field("passcode", &self.passcode.map(|_| "<redacted>"))
            .finish()
    }
}

/// An alias as the caller may see it, and who the caller turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrieved {
    /// The alias, with the fields this viewer may not see set to `None`.
    pub alias: Alias,
    /// Owner, host or guest.
    pub viewer: Viewer,
}

/// An alias as the retrieve uses it: its secrets ready as HMAC keys (keyed once, then reused
/// for as long as the entry is cached).
pub(crate) struct CachedAlias {
    alias: Alias,
    current: Option<Secret>,
    previous: Option<Secret>,
}

impl CachedAlias {
    fn new(alias: Alias) -> Self {
        let secret =
            |s: &Option<aliaskit_domain::Sensitive>| s.as_ref().map(|s| Secret::from(s.expose()));
        CachedAlias {
            current: secret(&alias.jwt_secret),
            previous: secret(&alias.previous_secret),
            alias,
        }
    }
}

/// What the credentials decide without I/O.
enum Decision {
    /// The answer.
    Done(Result<Retrieved>),
    /// A bearer that is not a valid token may be the owner's API key: that takes a lookup.
    OwnerCheck(Option<TokenError>),
}

impl Service {
    /// Retrieves an alias for an end user (DESIGN §5). Credentials are tried in order: an
    /// access token signed with the alias's secret, the passcode, the owner's API key; without
    /// any, only an alias with neither a secret nor a passcode is shown. An alias past its
    /// expiry is [`ServiceError::AliasExpired`] whoever asks. Blocks (database).
    pub fn retrieve(&self, id: &AliasId, credentials: Credentials<'_>) -> Result<Retrieved> {
        let cached = match self.alias_cache.get(id) {
            Some(cached) => cached,
            None => {
                let alias = {
                    let mut conn = self.db.conn()?;
                    repo::aliases::find(&mut conn, self.db.vault(), id)?
                        .ok_or(ServiceError::AliasNotFound)?
                };
                let cached = Arc::new(CachedAlias::new(alias));
                self.alias_cache.insert(id.clone(), cached.clone());
                cached
            }
        };
        let token_error = match self.decide(&cached, credentials) {
            Decision::Done(result) => return result,
            Decision::OwnerCheck(token_error) => token_error,
        };
        if let Some(bearer) = credentials.bearer {
            match self.authenticate(bearer) {
                Ok(org) if org == cached.alias.org => {
                    return Ok(seen(&cached.alias, Viewer::Owner));
                }
                Ok(_) | Err(ServiceError::Unauthorized { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if cached.alias.is_public() {
            return Ok(seen(&cached.alias, Viewer::Guest));
        }
        Err(refusal(&cached.alias, credentials, token_error))
    }

    /// [`retrieve`](Self::retrieve) without I/O, when the alias is cached and the credentials
    /// decide without a database lookup (a token, a passcode, or none); `None` otherwise —
    /// then call `retrieve` on a blocking thread.
    pub fn retrieve_cached(
        &self,
        id: &AliasId,
        credentials: Credentials<'_>,
    ) -> Option<Result<Retrieved>> {
        let cached = self.alias_cache.get(id)?;
        match self.decide(&cached, credentials) {
            Decision::Done(result) => Some(result),
            Decision::OwnerCheck(_) => None,
        }
    }

    /// Forgets the cached alias after a change made through this process.
    pub(crate) fn forget_alias(&self, id: &AliasId) {
        self.alias_cache.remove(id);
    }

    fn decide(&self, cached: &CachedAlias, credentials: Credentials<'_>) -> Decision {
        let alias = &cached.alias;
        let now = self.now();
        if alias.is_expired(now) {
            return Decision::Done(Err(ServiceError::AliasExpired {
                expired_at: alias.expired_at,
            }));
        }
        let mut token_error = None;
        if let Some(bearer) = credentials.bearer {
            match self.verify_access(cached, bearer, now) {
                Ok(viewer) => return Decision::Done(Ok(seen(alias, viewer))),
                Err(e) => token_error = Some(e),
            }
        }
        if let (Some(given), Some(expected)) = (credentials.passcode, &alias.passcode)
            && bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
        {
            return Decision::Done(Ok(seen(alias, Viewer::Guest)));
        }
        if credentials.bearer.is_some() {
            return Decision::OwnerCheck(token_error);
        }
        if alias.is_public() {
            return Decision::Done(Ok(seen(alias, Viewer::Guest)));
        }
        Decision::Done(Err(refusal(alias, credentials, token_error)))
    }

    /// Verifies `token` against the alias's current secret and, within the grace period, the
    /// previous one.
    fn verify_access(
        &self,
        cached: &CachedAlias,
        token: &str,
        now: i64,
    ) -> Result<Viewer, TokenError> {
        let alias = &cached.alias;
        let in_grace = alias.previous_secret_until.is_some_and(|until| now < until);
        let previous = cached.previous.as_ref().filter(|_| in_grace);
        let both: [&Secret; 2];
        let one: [&Secret; 1];
        let secrets: &[&Secret] = match (cached.current.as_ref(), previous) {
            (Some(current), Some(previous)) => {
                both = [current, previous];
                &both
            }
            (Some(only), None) | (None, Some(only)) => {
                one = [only];
                &one
            }
            (None, None) => &[],
        };
        let mut expect = Expect::new(&alias.id, secrets);
        if let Some(cutoff) = alias.tokens_valid_after {
            expect = expect.revoked_before(cutoff);
        }
        let claims = self.tokens.verify_access(token, &expect)?;
        Ok(if claims.host {
            Viewer::Host
        } else {
            Viewer::Guest
        })
    }
}

fn seen(alias: &Alias, viewer: Viewer) -> Retrieved {
    Retrieved {
        alias: alias.retrieved_by(viewer),
        viewer,
    }
}

/// Why a protected alias is refused: a refused token that looks like a JWT says why; anything
/// else is the documented bare UNAUTHORIZED.
fn refusal(
    alias: &Alias,
    credentials: Credentials<'_>,
    token_error: Option<TokenError>,
) -> ServiceError {
    match token_error {
        Some(e) if looks_like_jwt(credentials.bearer) && alias.jwt_secret.is_some() => {
            ServiceError::InvalidToken(e)
        }
        _ => ServiceError::Unauthorized {
            reason: match (&alias.jwt_secret, &alias.passcode) {
                (Some(_), Some(_)) => "this alias needs an access token or its passcode",
                (Some(_), None) => "this alias needs an access token signed with its jwt_secret",
                _ => "this alias needs its passcode",
            },
        },
    }
}

/// Three dot-separated segments: what a client means as a JWT rather than an API key.
fn looks_like_jwt(bearer: Option<&str>) -> bool {
    bearer.is_some_and(|b| b.split('.').count() == 3)
}
