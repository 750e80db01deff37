//! OpenCAP (`docs/opencap.md`): users `alice$example.com` sign up and log in with a password, then
//! publish and delete their addresses; anyone looks them up.
//!
//! Login tokens are signed by the server's own key ring, kept in the database so that every
//! process sharing it verifies the same tokens. A token names its user by a random id, so a
//! deleted user's tokens die with it, even if the alias is registered again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aliaskit_domain::opencap::{
    Address, AddressType, CapAlias, CapUser, Extensions, Password, StoredAddress,
};
use aliaskit_domain::{OrgId, SigningKey};
use aliaskit_store::StoreError;
use aliaskit_store::listen::notify;
use aliaskit_store::repo::cap_users::Admission;
use aliaskit_store::repo::{cap_addresses, cap_users, signing_keys};
use aliaskit_token::{Algorithm, KeyRing, Policy, RingClaims, Secret, TokenError, Tokens};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::{self, Actor, Change, Origin};
use crate::cache::Cached;
use crate::{Result, Service, ServiceError, SharedClock, password, random};

/// The audience of OpenCAP login tokens: a token made for anything else is refused.
pub const TOKEN_AUDIENCE: &str = "opencap";

/// What the operator configures for OpenCAP (the `opencap` section of the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCapConfig {
    /// The domains whose aliases this server holds (`alice$example.com` needs `example.com`).
    pub domains: Vec<String>,
    /// Whether anyone may sign up; when false, signup needs an organization API key.
    pub open_signup: bool,
    /// Lifetime of a login token.
    pub token_lifetime: Duration,
    /// Failed logins in a row that lock an account.
    pub lockout_threshold: u32,
    /// How long a locked account refuses logins.
    pub lockout_duration: Duration,
}

impl Default for OpenCapConfig {
    fn default() -> Self {
        OpenCapConfig {
            domains: Vec::new(),
            open_signup: false,
            token_lifetime: Duration::from_secs(30 * 60),
            lockout_threshold: 5,
            lockout_duration: Duration::from_secs(15 * 60),
        }
    }
}

/// Who is signing a user up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    /// Anyone: allowed only with `opencap.open_signup`.
    Open,
    /// An organization, by its API key: always allowed.
    ByOrg(OrgId),
}

/// A lookup as cached: the alias and the type asked for, if any.
pub(crate) type LookupKey = (CapAlias, Option<AddressType>);

/// What an address lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The address of the requested type.
    One(StoredAddress),
    /// Every address of the alias (possibly none).
    All(Vec<StoredAddress>),
}

/// A signup that passed [`OpenCap::signup_start`], its password not hashed yet.
#[derive(Debug)]
pub struct PendingSignup {
    alias: CapAlias,
}

impl PendingSignup {
    /// Hashes the password (argon2id: tens of milliseconds of CPU and 19 MiB, no I/O), for
    /// [`OpenCap::signup_finish`].
    pub fn hash(self, password: &Password) -> Result<HashedSignup> {
        Ok(HashedSignup {
            alias: self.alias,
            password_hash: password::hash(password)?,
        })
    }
}

/// A signup with its password hashed, for [`OpenCap::signup_finish`].
pub struct HashedSignup {
    alias: CapAlias,
    password_hash: String,
}

impl std::fmt::Debug for HashedSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashedSignup")
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

/// A login after [`OpenCap::login_start`]: the user as read, if the alias has one.
#[derive(Debug)]
pub struct PendingLogin {
    user: Option<CapUser>,
}

impl PendingLogin {
    /// Checks the password (argon2id: tens of milliseconds of CPU and 19 MiB, no I/O); an
    /// alias without a user costs the same work and fails. For
    /// [`OpenCap::login_finish`].
    pub fn verify(self, password: &Password) -> CheckedLogin {
        let matched = match &self.user {
            Some(user) => password::verify(password, &user.password_hash),
            None => {
                password::verify_nobody(password);
                false
            }
        };
        CheckedLogin {
            user: self.user,
            matched,
        }
    }
}

/// A login whose password was checked ([`PendingLogin::verify`]), for
/// [`OpenCap::login_finish`].
#[derive(Debug)]
pub struct CheckedLogin {
    user: Option<CapUser>,
    matched: bool,
}

/// A user as an operator lists it: the user (whose password hash is not for display) and the
/// types of the addresses it has published.
#[derive(Debug, Clone)]
pub struct CapUserSummary {
    /// The user.
    pub user: CapUser,
    /// Its address types, in code order.
    pub address_types: Vec<AddressType>,
}

/// The claims of the server's own login tokens: what signing writes and verification reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LoginClaims {
    /// The user's random id ([`CapUser::id`]): the token speaks for that user only, so a
    /// deleted user's tokens die with it, even if the alias is registered again.
    sub: String,
    /// The user's alias, for whoever reads the token; the user is found by `sub`.
    alias: String,
    /// Always [`TOKEN_AUDIENCE`]: a token made for anything else is refused.
    aud: String,
    /// Issued at, Unix seconds.
    iat: i64,
    /// Expires at, Unix seconds.
    exp: i64,
}

impl LoginClaims {
    /// The claims of a token for `user`, issued `now`, valid for `lifetime` seconds.
    fn new(user: &CapUser, now: i64, lifetime: i64) -> Self {
        LoginClaims {
            sub: user.id.clone(),
            alias: user.alias.as_str().to_owned(),
            aud: TOKEN_AUDIENCE.to_owned(),
            iat: now,
            exp: now.saturating_add(lifetime),
        }
    }

    /// The JSON object the token crate signs ([`Tokens::sign_ring`]).
    fn into_payload(self) -> Result<Map<String, Value>> {
        let signing = |reason: String| ServiceError::InvalidToken(TokenError::Signing { reason });
        match serde_json::to_value(self) {
            Ok(Value::Object(payload)) => Ok(payload),
            Ok(_) => Err(signing("the login claims are not a JSON object".to_owned())),
            Err(e) => Err(signing(e.to_string())),
        }
    }

    /// The claims of a token the ring verified ([`Tokens::verify_ring`], which checked the
    /// registered ones): `None` if they are not a login token's.
    fn from_verified(verified: RingClaims) -> Option<Self> {
        let mut payload = verified.claims;
        verified.registered.write_to(&mut payload);
        serde_json::from_value(Value::Object(payload)).ok()
    }
}

/// The key ring as loaded from the database, and when.
pub(crate) struct LoadedRing {
    ring: Arc<KeyRing>,
    loaded: Instant,
}

/// The ring is reloaded after this long, so a key created by another process is picked up.
const RING_TTL: Duration = Duration::from_secs(60);
/// An unknown `kid` triggers a reload, at most this often.
const RING_RELOAD_MIN: Duration = Duration::from_secs(1);

/// The token policy for the server's own login tokens.
pub(crate) fn cap_tokens(config: &OpenCapConfig, clock: SharedClock) -> Tokens<SharedClock> {
    Tokens::with_clock(
        Policy {
            max_lifetime: config.token_lifetime,
            algorithms: vec![Algorithm::HS256],
            audience: Some(TOKEN_AUDIENCE.to_owned()),
            ..Policy::default()
        },
        clock,
    )
}

impl Service {
    /// The OpenCAP use cases over this service's database and caches.
    pub fn opencap(&self) -> OpenCap<'_> {
        OpenCap { service: self }
    }
}

/// The OpenCAP use cases of a [`Service`] ([`Service::opencap`]): signup and login (also in
/// steps, so that only the argon2 work runs where the caller puts hashing), the login token's
/// user, addresses, the Address Query, user deletion, the signing keys. A borrow of the
/// service, cheap to make for each call. Every method but
/// [`lookup_cached`](Self::lookup_cached) blocks (database).
#[derive(Debug, Clone, Copy)]
pub struct OpenCap<'a> {
    service: &'a Service,
}

impl OpenCap<'_> {
    fn config(&self) -> &OpenCapConfig {
        &self.service.config.opencap
    }

    fn serves(&self, alias: &CapAlias) -> bool {
        self.config().domains.iter().any(|d| d == alias.domain())
    }

    /// Registers `alias` with `password`: [`signup_start`](Self::signup_start),
    /// [`PendingSignup::hash`], [`signup_finish`](Self::signup_finish) in a row. Blocks
    /// (database, and argon2id for tens of ms).
    pub fn signup(&self, alias: &CapAlias, password: &Password, by: Signup) -> Result<()> {
        let pending = self.signup_start(alias, by)?;
        self.signup_finish(pending.hash(password)?)
    }

    /// The first step of a signup, before any hashing: whether `by` may sign up, whether this
    /// server holds the alias's domain, and whether the alias is free
    /// ([`ServiceError::CapUserTaken`]). Blocks (database).
    pub fn signup_start(&self, alias: &CapAlias, by: Signup) -> Result<PendingSignup> {
        if by == Signup::Open && !self.config().open_signup {
            return Err(ServiceError::SignupClosed);
        }
        if !self.serves(alias) {
            return Err(ServiceError::DomainNotServed {
                domain: alias.domain().to_owned(),
            });
        }
        let mut conn = self.service.db.conn()?;
        if cap_users::find_by_alias(&mut conn, alias)?.is_some() {
            return Err(ServiceError::CapUserTaken);
        }
        Ok(PendingSignup {
            alias: alias.clone(),
        })
    }

    /// The last step of a signup: stores the user ([`ServiceError::CapUserTaken`] if the
    /// alias was registered since the first step). Blocks (database).
    pub fn signup_finish(&self, signup: HashedSignup) -> Result<()> {
        let user = CapUser {
            id: random::token::<16>()?,
            alias: signup.alias,
            password_hash: signup.password_hash,
            failed_logins: 0,
            locked_until: None,
            created_at: self.service.now(),
        };
        let now = user.created_at;
        Ok(self.service.db.transaction(|c| {
            cap_users::insert(c, &user)?;
            let change =
                Change::cap_user("opencap.user.create", user.alias.as_str(), &["password"]);
            audit::record(c, &self.service.origin, &change, now)
        })?)
    }

    /// Checks the password and returns a login token:
    /// [`login_start`](Self::login_start), [`PendingLogin::verify`],
    /// [`login_finish`](Self::login_finish) in a row. Blocks (database, and argon2id
    /// for tens of ms). After `opencap.lockout_threshold` failures in a row the account
    /// refuses logins for `opencap.lockout_duration`; the state is in the database, so it
    /// holds across processes.
    pub fn login(&self, alias: &CapAlias, password: &Password) -> Result<String> {
        let pending = self.login_start(alias)?;
        self.login_finish(pending.verify(password))
    }

    /// The first step of a login, before any hashing: reads the alias's user. A locked account
    /// is refused here ([`ServiceError::AccountLocked`]). An unknown alias is not: it goes
    /// through the password check like any other, so neither the answer nor its timing tells
    /// whether it is registered. Blocks (database).
    pub fn login_start(&self, alias: &CapAlias) -> Result<PendingLogin> {
        let now = self.service.now();
        let user = if self.serves(alias) {
            let mut conn = self.service.db.conn()?;
            cap_users::find_by_alias(&mut conn, alias)?
        } else {
            None
        };
        if let Some(until) = user
            .as_ref()
            .and_then(|u| u.locked_until)
            .filter(|&until| until > now)
        {
            return Err(ServiceError::AccountLocked {
                retry_after: until.saturating_sub(now),
            });
        }
        Ok(PendingLogin { user })
    }

    /// The last step of a login: a wrong password (or an unknown alias) is
    /// [`ServiceError::LoginFailed`] and counts towards the lockout; a right one clears the
    /// count and returns a login token. Each is one atomic step in the database, so it holds
    /// on several servers at once: the failure that reaches the threshold locks the account,
    /// and a lock set by another server while this login checked its password is not undone
    /// ([`ServiceError::AccountLocked`]). Blocks (database).
    pub fn login_finish(&self, checked: CheckedLogin) -> Result<String> {
        let now = self.service.now();
        let Some(user) = checked.user else {
            return Err(ServiceError::LoginFailed);
        };
        let mut conn = self.service.db.conn()?;
        if !checked.matched {
            let threshold = i64::from(self.config().lockout_threshold.max(1));
            let until = now.saturating_add(crate::secs(self.config().lockout_duration));
            drop(conn);
            let origin = Origin {
                actor: Actor::System {
                    job: "login_lockout".into(),
                },
                ..(*self.service.origin).clone()
            };
            self.service.db.transaction(|c| {
                if cap_users::record_failure(c, &user.id, now, threshold, until)? {
                    let change = Change::cap_user(
                        "opencap.user.lock",
                        user.alias.as_str(),
                        &["locked_until"],
                    );
                    audit::record(c, &origin, &change, now)?;
                }
                Ok(())
            })?;
            return Err(ServiceError::LoginFailed);
        }
        match cap_users::admit(&mut conn, &user.id, now)? {
            Admission::Admitted => {
                drop(conn);
                self.sign_login(&user, now)
            }
            Admission::Locked { until } => Err(ServiceError::AccountLocked {
                retry_after: until.saturating_sub(now),
            }),
            Admission::Gone => Err(ServiceError::LoginFailed),
        }
    }

    fn sign_login(&self, user: &CapUser, now: i64) -> Result<String> {
        let lifetime = crate::secs(self.config().token_lifetime);
        let payload = LoginClaims::new(user, now, lifetime).into_payload()?;
        let ring = self.ring(false)?;
        self.service
            .cap_tokens
            .sign_ring(&ring, payload)
            .map_err(ServiceError::InvalidToken)
    }

    /// The user a login token speaks for; [`ServiceError::InvalidToken`] or
    /// [`ServiceError::Unauthorized`] if it speaks for nobody (any more).
    pub fn authenticate(&self, token: &str) -> Result<CapUser> {
        let ring = self.ring(false)?;
        let verified = match self.service.cap_tokens.verify_ring(&ring, token) {
            Err(TokenError::UnknownKey) => {
                // Maybe another process added a key since we loaded the ring.
                let ring = self.ring(true)?;
                self.service.cap_tokens.verify_ring(&ring, token)
            }
            other => other,
        }
        .map_err(ServiceError::InvalidToken)?;
        let Some(claims) = LoginClaims::from_verified(verified) else {
            return Err(ServiceError::Unauthorized {
                reason: "the token names no user",
            });
        };
        let mut conn = self.service.db.conn()?;
        cap_users::find(&mut conn, &claims.sub)?.ok_or(ServiceError::Unauthorized {
            reason: "the user of this token no longer exists",
        })
    }

    /// Adds or replaces the user's address of its type.
    pub fn put_address(
        &self,
        user: &CapUser,
        address: Address,
        extensions: Extensions,
    ) -> Result<StoredAddress> {
        let stored = StoredAddress {
            address,
            extensions,
            updated_at: self.service.now(),
        };
        let address_type = i64::from(stored.address.address_type().code());
        let saved = self.service.db.transaction(|c| {
            if !cap_addresses::upsert(c, &user.id, &stored)? {
                return Ok(false);
            }
            let change = Change {
                address_type: Some(address_type),
                ..Change::cap_user(
                    "opencap.address.put",
                    user.alias.as_str(),
                    &["address", "extensions"],
                )
            };
            audit::record(c, &self.service.origin, &change, stored.updated_at)?;
            notify(c, &format!("lookup:{}", user.alias))?;
            Ok(true)
        })?;
        self.forget_lookups(&user.alias);
        if !saved {
            // Deleted after the token was checked (a `DELETE /v1/users` racing this PUT).
            return Err(ServiceError::Unauthorized {
                reason: "the user of this token no longer exists",
            });
        }
        Ok(stored)
    }

    /// Deletes the user's address of one type; [`ServiceError::AddressNotFound`] if none.
    pub fn delete_address(&self, user: &CapUser, address_type: AddressType) -> Result<()> {
        let now = self.service.now();
        let deleted = self.service.db.transaction(|c| {
            if !cap_addresses::delete(c, &user.id, address_type)? {
                return Ok(false);
            }
            let change = Change {
                address_type: Some(i64::from(address_type.code())),
                ..Change::cap_user("opencap.address.delete", user.alias.as_str(), &["address"])
            };
            audit::record(c, &self.service.origin, &change, now)?;
            notify(c, &format!("lookup:{}", user.alias))?;
            Ok(true)
        })?;
        self.forget_lookups(&user.alias);
        if deleted {
            Ok(())
        } else {
            Err(ServiceError::AddressNotFound {
                address_type: address_type.code(),
            })
        }
    }

    /// Deletes the user and its addresses; its tokens stop working at once.
    pub fn delete_user(&self, user: &CapUser) -> Result<()> {
        let now = self.service.now();
        self.service.db.transaction(|c| {
            if cap_users::delete(c, &user.id)? {
                let change = Change::cap_user("opencap.user.delete", user.alias.as_str(), &[]);
                audit::record(c, &self.service.origin, &change, now)?;
                notify(c, &format!("lookup:{}", user.alias))?;
            }
            Ok(())
        })?;
        self.forget_lookups(&user.alias);
        Ok(())
    }

    /// Every user, by domain and username, with its address types (operators).
    pub fn list_users(&self) -> Result<Vec<CapUserSummary>> {
        let mut conn = self.service.db.conn()?;
        let users = cap_users::list(&mut conn)?;
        let mut types = std::collections::HashMap::<String, Vec<AddressType>>::new();
        for (user, address_type) in cap_addresses::all_types(&mut conn)? {
            types.entry(user).or_default().push(address_type);
        }
        Ok(users
            .into_iter()
            .map(|user| CapUserSummary {
                address_types: types.remove(&user.id).unwrap_or_default(),
                user,
            })
            .collect())
    }

    /// The user registered under `alias`, whatever the served domains, with its addresses
    /// (operators); [`ServiceError::CapAliasNotFound`] if none.
    pub fn find_user(&self, alias: &CapAlias) -> Result<(CapUser, Vec<StoredAddress>)> {
        let mut conn = self.service.db.conn()?;
        let user =
            cap_users::find_by_alias(&mut conn, alias)?.ok_or(ServiceError::CapAliasNotFound)?;
        let addresses = cap_addresses::list(&mut conn, &user.id)?;
        Ok((user, addresses))
    }

    /// Clears the lockout and failure count of the user registered under `alias` (operators):
    /// it may log in again at once. Returns the user as it was before;
    /// [`ServiceError::CapAliasNotFound`] if none.
    pub fn unlock_user(&self, alias: &CapAlias) -> Result<CapUser> {
        self.service
            .db
            .transaction(|c| {
                let Some(user) = cap_users::find_by_alias(c, alias)? else {
                    return Ok(None);
                };
                cap_users::unlock(c, &user.id)?;
                let change =
                    Change::cap_user("opencap.user.unlock", alias.as_str(), &["locked_until"]);
                audit::record(c, &self.service.origin, &change, self.service.now())?;
                Ok(Some(user))
            })?
            .ok_or(ServiceError::CapAliasNotFound)
    }

    /// Deletes the user registered under `alias` and its addresses (operators), as
    /// [`delete_user`](Self::delete_user) does for a logged-in user: its tokens stop working
    /// at once. [`ServiceError::CapAliasNotFound`] if none.
    pub fn delete_user_by_alias(&self, alias: &CapAlias) -> Result<()> {
        let deleted = self.service.db.transaction(|c| {
            let Some(user) = cap_users::find_by_alias(c, alias)? else {
                return Ok(false);
            };
            if !cap_users::delete(c, &user.id)? {
                return Ok(false);
            }
            let change = Change::cap_user("opencap.user.delete", alias.as_str(), &[]);
            audit::record(c, &self.service.origin, &change, self.service.now())?;
            notify(c, &format!("lookup:{alias}"))?;
            Ok(true)
        })?;
        self.forget_lookups(alias);
        if deleted {
            Ok(())
        } else {
            Err(ServiceError::CapAliasNotFound)
        }
    }

    /// The Address Query, from the cache when it can (see `cache.ttl`); `None` when it must
    /// read the database — then call [`lookup`](Self::lookup) on a blocking thread.
    pub fn lookup_cached(
        &self,
        alias: &CapAlias,
        address_type: Option<AddressType>,
    ) -> Option<Lookup> {
        let found = self
            .service
            .lookup_cache
            .peek(&(alias.clone(), address_type))
            .map(|found| (*found).clone());
        if found.is_some() {
            self.service.lookup_cache.count(true);
        }
        found
    }

    pub(crate) fn forget_lookups(&self, alias: &CapAlias) {
        // The keys are known: the list and one per address type. Nine removals, not a scan
        // of every cached lookup.
        let mut key = (alias.clone(), None);
        self.service.lookup_cache.remove(&key);
        for address_type in AddressType::ALL {
            key.1 = Some(address_type);
            self.service.lookup_cache.remove(&key);
        }
    }

    /// The Address Query: the alias's address of one type, or all of them. Blocks (database).
    pub fn lookup(&self, alias: &CapAlias, address_type: Option<AddressType>) -> Result<Lookup> {
        let key = (alias.clone(), address_type);
        let found = self.service.lookup_cache.get(&key);
        self.lookup_from(found, key)
    }

    /// [`lookup`](Self::lookup) for a query [`lookup_cached`](Self::lookup_cached) did not
    /// answer: the same answer, without counting the query's read of the cache a second time
    /// (as [`Service::retrieve_batch`]). Blocks (database).
    pub fn lookup_after_cached(
        &self,
        alias: &CapAlias,
        address_type: Option<AddressType>,
    ) -> Result<Lookup> {
        let key = (alias.clone(), address_type);
        let found = self.service.lookup_cache.get(&key);
        self.lookup_from(found, key)
    }

    fn lookup_from(&self, found: Option<Cached<Lookup>>, key: LookupKey) -> Result<Lookup> {
        if let Some(found) = found {
            return Ok((*found).clone());
        }
        let (alias, address_type) = (&key.0, key.1);
        let epoch = self.service.lookup_cache.epoch();
        let found = self.lookup_uncached(alias, address_type)?;
        Ok((*self.service.lookup_cache.insert_at(key, found, epoch)).clone())
    }

    fn lookup_uncached(
        &self,
        alias: &CapAlias,
        address_type: Option<AddressType>,
    ) -> Result<Lookup> {
        if !self.serves(alias) {
            return Err(ServiceError::CapAliasNotFound);
        }
        let mut conn = self.service.db.conn()?;
        let user =
            cap_users::find_by_alias(&mut conn, alias)?.ok_or(ServiceError::CapAliasNotFound)?;
        match address_type {
            Some(t) => cap_addresses::find(&mut conn, &user.id, t)?
                .map(Lookup::One)
                .ok_or(ServiceError::AddressNotFound {
                    address_type: t.code(),
                }),
            None => Ok(Lookup::All(cap_addresses::list(&mut conn, &user.id)?)),
        }
    }

    /// The server's key ring, from the cache unless it is older than a minute or `refresh`
    /// asks for a reload (no more than once a second). Creates the first key if the database
    /// has none.
    fn ring(&self, refresh: bool) -> Result<Arc<KeyRing>> {
        let cached = self
            .service
            .ring
            .read()
            .ok()
            .and_then(|guard| guard.as_ref().map(|l| (l.ring.clone(), l.loaded.elapsed())));
        if let Some((ring, age)) = &cached {
            let fresh = *age < RING_TTL && !(refresh && *age >= RING_RELOAD_MIN);
            if fresh {
                return Ok(ring.clone());
            }
        }
        let ring = Arc::new(self.load_ring()?);
        if let Ok(mut guard) = self.service.ring.write() {
            *guard = Some(LoadedRing {
                ring: ring.clone(),
                loaded: Instant::now(),
            });
        }
        Ok(ring)
    }

    fn load_ring(&self) -> Result<KeyRing> {
        let now = self.service.now();
        let lifetime = crate::secs(self.config().token_lifetime);
        // Drawn before the transaction, so a failing random source reports as such; used
        // only when no usable key exists.
        let fresh = new_signing_key(now)?;
        let retired_after = now.saturating_sub(lifetime);
        let keys = self.service.db.transaction(|c| {
            let vault = self.service.db.vault();
            let mut keys = signing_keys::usable(c, vault, retired_after)?;
            if keys.iter().all(|k| k.retired_at.is_some()) {
                // None active: read again under the lock, so that two servers starting at
                // once create one key, not one each.
                signing_keys::lock(c)?;
                keys = signing_keys::usable(c, vault, retired_after)?;
            }
            if keys.iter().all(|k| k.retired_at.is_some()) {
                let key = fresh;
                signing_keys::insert(c, self.service.db.vault(), &key)?;
                keys.insert(0, key);
            }
            Ok(keys)
        })?;
        ring_from(&keys, self.service.cap_tokens.policy())
    }

    /// Starts signing with a new key; the old ones keep verifying until their tokens expire.
    /// Returns the new key's id.
    pub fn rotate_signing_key(&self) -> Result<String> {
        let now = self.service.now();
        let key = new_signing_key(now)?;
        self.service.db.transaction(|c| {
            signing_keys::lock(c)?;
            signing_keys::insert(c, self.service.db.vault(), &key)?;
            // Every listening process reloads its ring as this commits, and signs with the new
            // key; one that does not listen does within a minute (and verifies the new key's
            // tokens at once: an unknown kid reloads its ring).
            notify(c, crate::retrieve::SIGNING_KEYS)?;
            signing_keys::retire_all_but(c, &key.kid, now)
        })?;
        self.service.forget_ring();
        Ok(key.kid)
    }
}

/// A new random HS256 key with a random id.
fn new_signing_key(now: i64) -> Result<SigningKey> {
    Ok(SigningKey {
        kid: random::token::<9>()?,
        alg: Algorithm::HS256.name().to_owned(),
        secret: random::token::<32>()?.into(),
        created_at: now,
        retired_at: None,
    })
}

/// The ring: the newest unretired key signs; every other usable key verifies.
fn ring_from(keys: &[SigningKey], policy: &Policy) -> Result<KeyRing> {
    let decode = |k: &SigningKey| -> Result<(Algorithm, Secret)> {
        let alg = k
            .alg
            .parse::<Algorithm>()
            .map_err(|e| corrupt_key(&k.kid, &e))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(k.secret.expose())
            .map_err(|e| corrupt_key(&k.kid, &e))?;
        Ok((alg, Secret::new(bytes)))
    };
    let active = keys
        .iter()
        .find(|k| k.retired_at.is_none())
        .ok_or_else(|| corrupt_key("-", &"no active signing key"))?;
    let (alg, secret) = decode(active)?;
    let mut ring = KeyRing::new(active.kid.clone(), alg, &secret, policy)
        .map_err(|e| corrupt_key(&active.kid, &e))?;
    for key in keys.iter().filter(|k| k.kid != active.kid) {
        let (alg, secret) = decode(key)?;
        ring.add_verifying_key(key.kid.clone(), alg, &secret, policy)
            .map_err(|e| corrupt_key(&key.kid, &e))?;
    }
    Ok(ring)
}

fn corrupt_key(kid: &str, e: &dyn std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt {
        what: "signing key",
        reason: format!("{kid}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use aliaskit_token::FixedClock;
    use serde_json::json;

    use super::*;

    #[test]
    fn login_claims_are_what_is_signed_and_what_verification_gives_back() {
        let user = CapUser {
            id: "user-1".to_owned(),
            alias: CapAlias::parse("alice$example.com").unwrap(),
            password_hash: String::new(),
            failed_logins: 0,
            locked_until: None,
            created_at: 0,
        };
        let claims = LoginClaims::new(&user, 1_700_000_000, 1800);
        let payload = claims.clone().into_payload().unwrap();
        assert_eq!(
            Value::Object(payload.clone()),
            json!({
                "sub": "user-1",
                "alias": "alice$example.com",
                "aud": "opencap",
                "iat": 1_700_000_000,
                "exp": 1_700_001_800,
            })
        );

        let tokens = cap_tokens(
            &OpenCapConfig::default(),
            Arc::new(FixedClock(1_700_000_060)),
        );
        let secret = Secret::from("0123456789abcdef0123456789abcdef");
        let ring = KeyRing::new("k1", Algorithm::HS256, &secret, tokens.policy()).unwrap();
        let token = tokens.sign_ring(&ring, payload).unwrap();
        let verified = tokens.verify_ring(&ring, &token).unwrap();
        assert_eq!(LoginClaims::from_verified(verified), Some(claims));
    }
}
