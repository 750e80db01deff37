//! The end user's view: retrieve an alias with a token, a passcode, the owner's key, or nothing.

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

impl Service {
    /// Retrieves an alias for an end user (DESIGN §5). Credentials are tried in order: an
    /// access token signed with the alias's secret, the passcode, the owner's API key; without
    /// any, only an alias with neither a secret nor a passcode is shown. An alias past its
    /// expiry is [`ServiceError::AliasExpired`] whoever asks.
    pub fn retrieve(&self, id: &AliasId, credentials: Credentials<'_>) -> Result<Retrieved> {
        let alias = {
            let mut conn = self.db.conn()?;
            repo::aliases::find(&mut conn, self.db.vault(), id)?
                .ok_or(ServiceError::AliasNotFound)?
        };
        let now = self.now();
        if alias.is_expired(now) {
            return Err(ServiceError::AliasExpired {
                expired_at: alias.expired_at,
            });
        }

        let mut token_error = None;
        if let Some(bearer) = credentials.bearer {
            match self.verify_access(&alias, bearer, now) {
                Ok(viewer) => return Ok(self.seen(alias, viewer)),
                Err(e) => token_error = Some(e),
            }
        }
        if let (Some(given), Some(expected)) = (credentials.passcode, &alias.passcode)
            && bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
        {
            return Ok(self.seen(alias, Viewer::Guest));
        }
        if let Some(bearer) = credentials.bearer {
            match self.authenticate(bearer) {
                Ok(org) if org == alias.org => return Ok(self.seen(alias, Viewer::Owner)),
                Ok(_) | Err(ServiceError::Unauthorized { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if alias.is_public() {
            return Ok(self.seen(alias, Viewer::Guest));
        }
        // A token that looked like a JWT and was refused says why; anything else is the
        // documented bare UNAUTHORIZED.
        match token_error {
            Some(e) if looks_like_jwt(credentials.bearer) && alias.jwt_secret.is_some() => {
                Err(ServiceError::InvalidToken(e))
            }
            _ => Err(ServiceError::Unauthorized {
                reason: match (&alias.jwt_secret, &alias.passcode) {
                    (Some(_), Some(_)) => "this alias needs an access token or its passcode",
                    (Some(_), None) => {
                        "this alias needs an access token signed with its jwt_secret"
                    }
                    _ => "this alias needs its passcode",
                },
            }),
        }
    }

    fn seen(&self, alias: Alias, viewer: Viewer) -> Retrieved {
        Retrieved {
            alias: alias.retrieved_by(viewer),
            viewer,
        }
    }

    /// Verifies `token` against the alias's current secret and, within the grace period, the
    /// previous one.
    fn verify_access(&self, alias: &Alias, token: &str, now: i64) -> Result<Viewer, TokenError> {
        let current = alias.jwt_secret.as_ref().map(|s| Secret::from(s.expose()));
        let previous = alias
            .previous_secret
            .as_ref()
            .filter(|_| {
                alias
                    .previous_secret_until
                    .is_some_and(|until| now <= until)
            })
            .map(|s| Secret::from(s.expose()));
        let secrets: Vec<&Secret> = current.iter().chain(previous.iter()).collect();
        let mut expect = Expect::new(&alias.id, &secrets);
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

/// Three dot-separated segments: what a client means as a JWT rather than an API key.
fn looks_like_jwt(bearer: Option<&str>) -> bool {
    bearer.is_some_and(|b| b.split('.').count() == 3)
}
