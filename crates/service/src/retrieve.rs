//! The end user's view: retrieve an alias with a token, a passcode, the owner's key, or nothing.
//!
//! The hot path — a valid token or passcode for a cached alias — needs no I/O:
//! [`Service::retrieve_cached`] answers it on the caller's thread. Everything else goes through
//! the blocking [`Service::retrieve`].
//!
//! Passcodes have a budget of wrong guesses per alias and window, counted in the database
//! (`repo::passcode_failures`), so it holds across servers. A wrong passcode is always recorded
//! there. A right one is answered from memory only while the cached alias is not *watched*: its
//! passcode state is read from the database with the alias (so an alias evicted, or not cached
//! at all, is never taken for unwatched), and a wrong passcode seen here watches it at once,
//! before any I/O. A watched alias asks the database, or a block this process knows of. An
//! attacker never learns whether a guess beyond the budget was right: every wrong guess reaches
//! the database and is refused during a block, and a right one is answered from memory only by
//! a server whose copy of the alias, at most `cache.ttl` old, shows no wrong guess.

use aliaskit_domain::{AccessClaims, Alias, AliasId, OrgId, Viewer};
use aliaskit_store::repo;
use aliaskit_store::repo::passcode_failures::{self, Verdict};
use aliaskit_token::{Expect, Secret, TokenError};
use subtle::ConstantTimeEq;

use crate::cache::Cached;
use crate::cached_alias::CachedAlias;
use crate::{PasscodeBlock, Result, Service, ServiceError};

/// What the caller presented. `bearer` is the `Authorization` value without its scheme: an
/// access token, or the owning organization's API key.
#[derive(Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `Authorization: Bearer <x>` or `Authorization: <x>`.
    pub bearer: Option<&'a str>,
    /// The passcode (`X-Alias-Passcode`, or `?passcode=…`).
    pub passcode: Option<&'a str>,
    /// The client's address, for its share of an alias's passcode budget.
    pub client: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.map(|_| "<redacted>"))
            .field("passcode", &self.passcode.map(|_| "<redacted>"))
            .field("client", &self.client)
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

/// What the credentials decide without I/O.
enum Decision {
    /// The answer.
    Done(Result<Retrieved>),
    /// It takes the database: a bearer that is not a valid token may be the owner's API key,
    /// and a passcode may need its budget.
    Lookup {
        token_error: Option<TokenError>,
        passcode: Option<PasscodeCheck>,
    },
}

/// What a passcode for a protected alias needs from the database.
#[derive(Debug, Clone, Copy)]
enum PasscodeCheck {
    /// Right, on an alias this process watches: is it blocked?
    Right,
    /// Wrong: count it.
    Wrong,
    /// A block this process knows of: refused, unless the owner's key is presented.
    Blocked(PasscodeBlock),
}

impl Service {
    /// Retrieves an alias for an end user (`docs/api.md`). Credentials are tried in order: an
    /// access token signed with the alias's secret, the passcode, the owner's API key; without
    /// any, only an alias with neither a secret nor a passcode is shown. An alias past its
    /// expiry is [`ServiceError::AliasExpired`] whoever asks. Blocks (database).
    pub fn retrieve(&self, id: &AliasId, credentials: Credentials<'_>) -> Result<Retrieved> {
        self.retrieve_from(self.alias_cache.get(id), id, credentials)
    }

    /// [`retrieve`](Self::retrieve) for requests [`retrieve_cached`](Self::retrieve_cached) did
    /// not answer, as a reader thread finds them queued (one or more). Each request's read of
    /// the cache is counted once in the hit rate of `/metrics`: here, not by the peek that sent
    /// it on.
    /// The aliases none of them found cached are read
    /// together — in one query on PostgreSQL, on one connection on SQLite — and then each
    /// request is answered as if alone. The answers are in the requests' order. If that read
    /// fails, each request reads its alias alone and reports its own outcome. Blocks
    /// (database).
    pub fn retrieve_batch(
        &self,
        requests: &[(&AliasId, Credentials<'_>)],
    ) -> Vec<Result<Retrieved>> {
        let found: Vec<_> = requests
            .iter()
            .map(|(id, _)| self.alias_cache.get(id))
            .collect();
        let mut missing: Vec<&AliasId> = requests
            .iter()
            .zip(&found)
            .filter(|(_, cached)| cached.is_none())
            .map(|((id, _), _)| *id)
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let loaded = match missing.as_slice() {
            [] | [_] => None,
            many => self.load_aliases(many).ok(),
        };
        requests
            .iter()
            .zip(found)
            .map(|(&(id, credentials), cached)| {
                let cached = match (cached, &loaded) {
                    (Some(cached), _) => Some(cached),
                    (None, Some(loaded)) => {
                        Some(loaded.get(id).cloned().ok_or(ServiceError::AliasNotFound)?)
                    }
                    (None, None) => None,
                };
                self.retrieve_from(cached, id, credentials)
            })
            .collect()
    }

    /// Reads the aliases `ids` that exist and caches them.
    fn load_aliases(
        &self,
        ids: &[&AliasId],
    ) -> Result<std::collections::HashMap<AliasId, Cached<CachedAlias>>> {
        let epoch = self.alias_cache.epoch();
        let mut conn = self.db.conn()?;
        repo::aliases::find_many(&mut conn, self.db.vault(), ids)?
            .into_iter()
            .map(|alias| {
                let id = alias.id.clone();
                let cached = self.cache_read(&mut conn, alias, epoch)?;
                Ok((id, cached))
            })
            .collect()
    }

    /// Caches `alias`, just read at `epoch`, with what any server recorded of wrong passcodes
    /// for it.
    fn cache_read(
        &self,
        conn: &mut aliaskit_store::DbConn,
        alias: Alias,
        epoch: u64,
    ) -> Result<Cached<CachedAlias>> {
        let passcodes = match alias.passcode {
            Some(_) => {
                passcode_failures::state(conn, &alias.id, self.now(), self.passcode_budget.window)?
            }
            None => passcode_failures::State::default(),
        };
        let id = alias.id.clone();
        Ok(self
            .alias_cache
            .insert_at(id, CachedAlias::new(alias, passcodes), epoch))
    }

    /// [`retrieve`](Self::retrieve) with what the cache held.
    fn retrieve_from(
        &self,
        cached: Option<Cached<CachedAlias>>,
        id: &AliasId,
        credentials: Credentials<'_>,
    ) -> Result<Retrieved> {
        let cached = match cached {
            Some(cached) => cached,
            None => {
                let epoch = self.alias_cache.epoch();
                let mut conn = self.db.conn()?;
                let alias = repo::aliases::find(&mut conn, self.db.vault(), id)?
                    .ok_or(ServiceError::AliasNotFound)?;
                self.cache_read(&mut conn, alias, epoch)?
            }
        };
        let (token_error, passcode) = match self.decide(id, &cached, credentials) {
            Decision::Done(result) => return result,
            Decision::Lookup {
                token_error,
                passcode,
            } => (token_error, passcode),
        };
        let blocked = match passcode {
            // Credentials in order: a right passcode before the owner's key.
            Some(PasscodeCheck::Right) => match self.passcode_block(id, &cached, credentials)? {
                None => return Ok(seen(id, &cached, Viewer::Guest)),
                Some(block) => Some(block),
            },
            Some(PasscodeCheck::Blocked(block)) => Some(block),
            Some(PasscodeCheck::Wrong) | None => None,
        };
        if let Some(bearer) = credentials.bearer {
            match self.authenticate_org(bearer) {
                Ok(org) if org == cached.org => {
                    return Ok(seen(id, &cached, Viewer::Owner));
                }
                Ok(_) | Err(ServiceError::Unauthorized { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(block) = blocked {
            return Err(self.locked(block));
        }
        if let Some(PasscodeCheck::Wrong) = passcode {
            return Err(self.wrong_passcode(id, &cached, credentials)?);
        }
        if cached.is_public() {
            return Ok(seen(id, &cached, Viewer::Guest));
        }
        Err(refusal(&cached, credentials, token_error))
    }

    /// The block on passcodes for this alias and client, from the database.
    fn passcode_block(
        &self,
        id: &AliasId,
        cached: &CachedAlias,
        credentials: Credentials<'_>,
    ) -> Result<Option<PasscodeBlock>> {
        let address = credentials.client.map(|ip| ip.to_string());
        let mut conn = self.db.conn()?;
        let block = passcode_failures::block(&mut conn, id, address.as_deref(), self.now())?;
        if let Some(block) = block {
            cached.learn(block);
        }
        Ok(block)
    }

    fn locked(&self, block: PasscodeBlock) -> ServiceError {
        ServiceError::PasscodeLocked {
            block,
            retry_after: block.until.saturating_sub(self.now()).max(1),
        }
    }

    /// Counts a wrong passcode; the refusal to answer.
    fn wrong_passcode(
        &self,
        id: &AliasId,
        cached: &CachedAlias,
        credentials: Credentials<'_>,
    ) -> Result<ServiceError> {
        let now = self.now();
        let address = credentials.client.map(|ip| ip.to_string());
        let budget = &self.passcode_budget;
        let verdict = self.db.transaction(|c| {
            let verdict = passcode_failures::record(c, id, address.as_deref(), now, budget)?;
            // Other servers answer a right passcode from memory only while their copy shows no
            // wrong one: they drop it, and read the watch with it again.
            aliaskit_store::listen::notify(c, &format!("alias:{id}"))?;
            Ok(verdict)
        })?;
        Ok(match verdict {
            Verdict::Blocked(block) => {
                cached.learn(block);
                self.locked(block)
            }
            Verdict::Counted(began) => {
                if let Some(block) = began {
                    cached.learn(block);
                }
                ServiceError::WrongPasscode {
                    reason: needs(cached),
                    began,
                }
            }
            // Deleted meanwhile, maybe by another server while this one still had it cached.
            Verdict::Gone => {
                self.forget_alias(id);
                ServiceError::AliasNotFound
            }
        })
    }

    /// A passcode for a protected alias, judged without I/O where it can be.
    fn judge_passcode(
        &self,
        cached: &CachedAlias,
        given: &str,
        expected: &str,
        now: i64,
    ) -> Option<PasscodeCheck> {
        let right = bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
        if !right {
            // Before any I/O: from now on, every passcode for this alias asks the database.
            cached.watch(now.saturating_add(self.passcode_budget.window));
        } else if !cached.watched(now) {
            // No wrong passcode for this alias, here or (as of loading it) anywhere.
            return None;
        }
        // A block this process knows refuses without I/O; else the database decides.
        if let Some(block) = cached.known_block(now) {
            return Some(PasscodeCheck::Blocked(block));
        }
        Some(if right {
            PasscodeCheck::Right
        } else {
            PasscodeCheck::Wrong
        })
    }

    /// [`retrieve`](Self::retrieve) without I/O, when the alias is cached and the credentials
    /// decide without a database lookup (a token, a passcode, or none); `None` otherwise —
    /// then call `retrieve` on a blocking thread.
    pub fn retrieve_cached(
        &self,
        id: &AliasId,
        credentials: Credentials<'_>,
    ) -> Option<Result<Retrieved>> {
        // Counted where it is answered: here on a hit that decides, else by `retrieve`.
        let cached = self.alias_cache.peek(id)?;
        match self.decide(id, &cached, credentials) {
            Decision::Done(result) => {
                self.alias_cache.count(true);
                Some(result)
            }
            Decision::Lookup { .. } => None,
        }
    }

    /// Applies an invalidation another process announced (`alias:<id>`, `lookup:<user$domain>`,
    /// `signing_keys`, which drops the OpenCAP key ring; anything else drops every cached entry
    /// and the ring).
    pub fn heard(&self, what: &str) {
        // The epoch first: a read that began before this cannot cache what it read.
        self.freshness.bump();
        if what == SIGNING_KEYS {
            self.forget_ring();
            return;
        }
        match what.split_once(':') {
            Some(("alias", id)) => match AliasId::parse(id) {
                Ok(id) => self.forget_alias(&id),
                Err(_) => self.forget_all(),
            },
            Some(("lookup", alias)) => match aliaskit_domain::opencap::CapAlias::parse(alias) {
                Ok(alias) => self.opencap().forget_lookups(&alias),
                Err(_) => self.forget_all(),
            },
            _ => self.forget_all(),
        }
    }

    /// Whether this server hears other servers' changes now. While it does, cached entries
    /// live `cache.listen_ttl`; when it stops (the listening connection lost), every entry is
    /// dropped and new ones live `cache.ttl`, until it listens again.
    pub fn set_listening(&self, on: bool) {
        self.freshness.set_listening(on);
        self.freshness.bump();
        if !on {
            self.forget_all();
        }
    }

    /// Whether [`set_listening`](Self::set_listening) was last told `true`.
    pub fn listening(&self) -> bool {
        self.freshness.listening()
    }

    fn forget_all(&self) {
        self.alias_cache.clear();
        self.lookup_cache.clear();
        self.forget_ring();
    }

    /// Drops the OpenCAP signing key ring: the next token signed or verified reloads it.
    pub(crate) fn forget_ring(&self) {
        if let Ok(mut ring) = self.ring.write() {
            *ring = None;
        }
    }

    /// Forgets the cached alias after a change made through this process.
    pub(crate) fn forget_alias(&self, id: &AliasId) {
        self.alias_cache.remove(id);
    }

    fn decide(&self, id: &AliasId, cached: &CachedAlias, credentials: Credentials<'_>) -> Decision {
        let now = self.now();
        if cached.is_expired(now) {
            return Decision::Done(Err(ServiceError::AliasExpired {
                expired_at: cached.expired_at,
            }));
        }
        let mut token_error = None;
        if let Some(bearer) = credentials.bearer {
            match self.verify_access(id, cached, bearer, now) {
                Ok(viewer) => return Decision::Done(Ok(seen(id, cached, viewer))),
                Err(e) => token_error = Some(e),
            }
        }
        if let (Some(given), Some(expected)) = (credentials.passcode, cached.passcode()) {
            return match self.judge_passcode(cached, given, expected, now) {
                None => Decision::Done(Ok(seen(id, cached, Viewer::Guest))),
                // A known block, and no key that could be the owner's: refused here.
                Some(PasscodeCheck::Blocked(block)) if credentials.bearer.is_none() => {
                    Decision::Done(Err(self.locked(block)))
                }
                Some(check) => Decision::Lookup {
                    token_error,
                    passcode: Some(check),
                },
            };
        }
        if credentials.bearer.is_some() {
            return Decision::Lookup {
                token_error,
                passcode: None,
            };
        }
        if cached.is_public() {
            return Decision::Done(Ok(seen(id, cached, Viewer::Guest)));
        }
        Decision::Done(Err(refusal(cached, credentials, token_error)))
    }

    /// Verifies `token` against the alias's current secret and, within the grace period, the
    /// previous one.
    fn verify_access(
        &self,
        id: &AliasId,
        cached: &CachedAlias,
        token: &str,
        now: i64,
    ) -> Result<Viewer, TokenError> {
        let claims = with_expect(id, cached, now, |expect, _| {
            self.tokens.verify_access(token, expect)
        })?;
        Ok(if claims.host {
            Viewer::Host
        } else {
            Viewer::Guest
        })
    }

    /// Why the retrieve would admit or refuse `token` for `org`'s alias `id` right now, by the
    /// retrieve's own rules (its current and grace secrets, its revocation cutoff, its expiry);
    /// the token's claims when its signature verifies. Reads the alias from the database, not
    /// the cache, and is not counted as a retrieve. Another organization's alias is
    /// [`ServiceError::AliasNotFound`].
    pub fn check_token(&self, org: OrgId, id: &AliasId, token: &str) -> Result<TokenCheck> {
        let alias = self.get_alias(org, id)?;
        let now = self.now();
        let cached = CachedAlias::new(alias, passcode_failures::State::default());
        let (check, previous) = with_expect(id, &cached, now, |expect, previous| {
            (self.tokens.check_access(token, expect), previous)
        });
        let claims = check
            .payload
            .as_ref()
            .and_then(|p| AccessClaims::from_json(p.clone()).ok());
        let (valid, code, message) = match &check.verdict {
            _ if cached.is_expired(now) => (
                false,
                Some("alias_expired"),
                format!(
                    "the alias expired at {}: the retrieve answers 410 whatever the token",
                    cached.expired_at
                ),
            ),
            Err(_) if cached.current.is_none() && previous.is_none() => (
                false,
                Some(TokenError::BadSignature.code()),
                "this alias has no jwt_secret, so no token admits anyone to it; give it one \
                 with alias/update or rotate-secret"
                    .to_owned(),
            ),
            Err(e) => (false, Some(e.code()), e.to_string()),
            Ok(claims) => {
                let role = if claims.host { "a host" } else { "a guest" };
                let mut message = format!("the retrieve admits the bearer as {role}");
                if check.secret.is_some() && check.secret == previous {
                    message.push_str(&format!(
                        "; the token is signed with the alias's previous jwt_secret, accepted \
                         until {} (tokens.rotation_grace): sign new tokens with the current one",
                        cached.previous_secret_until().unwrap_or(now)
                    ));
                }
                (true, None, message)
            }
        };
        Ok(TokenCheck {
            valid,
            code,
            message,
            expires_at: claims.as_ref().and_then(AccessClaims::expires_at),
            host: claims.as_ref().map(|c| c.host),
            claims: check.payload,
        })
    }
}

/// What a change of the OpenCAP signing keys announces ([`Service::heard`]).
pub(crate) const SIGNING_KEYS: &str = "signing_keys";

/// What [`Service::check_token`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCheck {
    /// Whether the retrieve admits the token's bearer now.
    pub valid: bool,
    /// Why not: the code of the retrieve's `WWW-Authenticate` (`token_expired`, …), or
    /// `alias_expired`; `None` when valid.
    pub code: Option<&'static str>,
    /// In words, for a person.
    pub message: String,
    /// The payload as signed, only when the signature verified under one of the alias's
    /// secrets.
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the token stops being accepted (Unix seconds, before the leeway), when its claims
    /// could be read.
    pub expires_at: Option<i64>,
    /// Its `host` claim, when its claims could be read.
    pub host: Option<bool>,
}

/// Calls `f` with what a token must match for `cached` at `now` — the current secret and,
/// within its grace, the previous one; the revocation cutoff — and the index of the previous
/// secret among the expected ones, if it is there.
fn with_expect<T>(
    id: &AliasId,
    cached: &CachedAlias,
    now: i64,
    f: impl FnOnce(&Expect<'_>, Option<usize>) -> T,
) -> T {
    let in_grace = cached
        .previous_secret_until()
        .is_some_and(|until| now < until);
    let previous = cached.previous.as_deref().filter(|_| in_grace);
    let both: [&Secret; 2];
    let one: [&Secret; 1];
    let (secrets, previous_at): (&[&Secret], _) = match (cached.current.as_ref(), previous) {
        (Some(current), Some(previous)) => {
            both = [current, previous];
            (&both, Some(1))
        }
        (Some(only), None) => {
            one = [only];
            (&one, None)
        }
        (None, Some(only)) => {
            one = [only];
            (&one, Some(0))
        }
        (None, None) => (&[], None),
    };
    let mut expect = Expect::new(id, secrets);
    if let Some(cutoff) = cached.tokens_valid_after() {
        expect = expect.revoked_before(cutoff);
    }
    f(&expect, previous_at)
}

fn seen(id: &AliasId, cached: &CachedAlias, viewer: Viewer) -> Retrieved {
    Retrieved {
        alias: cached.retrieved_by(id, viewer),
        viewer,
    }
}

/// Why a protected alias is refused: a refused token that looks like a JWT says why; anything
/// else is the documented bare UNAUTHORIZED.
fn refusal(
    cached: &CachedAlias,
    credentials: Credentials<'_>,
    token_error: Option<TokenError>,
) -> ServiceError {
    match token_error {
        Some(e) if looks_like_jwt(credentials.bearer) && cached.has_secret() => {
            ServiceError::InvalidToken(e)
        }
        _ => ServiceError::Unauthorized {
            reason: needs(cached),
        },
    }
}

/// What a protected alias needs, for a refusal's detail.
fn needs(cached: &CachedAlias) -> &'static str {
    match (cached.has_secret(), cached.passcode().is_some()) {
        (true, true) => "this alias needs an access token or its passcode",
        (true, false) => "this alias needs an access token signed with its jwt_secret",
        _ => "this alias needs its passcode",
    }
}

/// Three dot-separated segments: what a client means as a JWT rather than an API key.
fn looks_like_jwt(bearer: Option<&str>) -> bool {
    bearer.is_some_and(|b| b.split('.').count() == 3)
}
