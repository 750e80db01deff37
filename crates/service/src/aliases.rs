//! The organization's view: create, list, get, update, delete its aliases.

use aliaskit_domain::{
    Alias, AliasId, AliasKind, AliasPatch, Error as DomainError, EventType, NewAlias, OrgId,
    Sensitive,
};
use aliaskit_store::StoreError;
use aliaskit_store::repo::aliases::{self, After, Status};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use aliaskit_store::listen::notify;

use crate::audit::{self, Change, Origin};
use crate::events::{self, EventIds};
use crate::{Result, Service, ServiceError, random};

/// The `jobs` row holding how far `alias.expired` events have been written: every alias whose
/// `expired_at` is before it has had its event (if its organization wanted one).
const EXPIRY_WATERMARK: &str = "webhook_alias_expired_watermark";

/// Page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// A listing request: `GET /organization/api/v1/aliases?type=&after=&limit=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only aliases of this kind.
    pub kind: Option<AliasKind>,
    /// Only active (not yet expired) or only expired aliases.
    pub status: Option<Status>,
    /// The cursor of the previous page (`after` of its [`Page`]).
    pub after: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`]; [`DEFAULT_LIMIT`] when absent.
    pub limit: Option<u32>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The aliases, full owner's view.
    pub entries: Vec<Alias>,
    /// The cursor for the next page, or `None` on the last page.
    pub after: Option<String>,
}

impl Service {
    /// Creates an alias for `org` with a fresh random id (128 bits).
    pub fn create_alias(&self, org: OrgId, new: NewAlias) -> Result<Alias> {
        let now = self.now();
        new.validate(&self.rules(), now)?;
        let mut alias = Alias {
            id: random::alias_id()?,
            org,
            kind: new.kind,
            name: new.name,
            passcode: new.passcode,
            jwt_secret: new.jwt_secret,
            stream_key: new.stream_key,
            expired_at: new.expired_at,
            inserted_at: now,
            updated_at: now,
            previous_secret: None,
            previous_secret_until: None,
            tokens_valid_after: None,
        };
        let ids = EventIds::new()?;
        let vault = self.db.vault();
        let given = given_fields(&alias);
        // 128 random bits do not collide; the retry only guards against a broken generator.
        // Each attempt is its own transaction: the alias and its `alias.created` event.
        for _ in 0..3 {
            let attempt = self.db.transaction(|c| {
                aliases::insert(c, vault, &alias)?;
                events::record(c, &ids, EventType::AliasCreated, &alias, now)?;
                let change = Change::org("alias.create", org, alias.id.as_str(), &given);
                audit::record(c, &self.origin, &change, now)
            });
            match attempt {
                Err(StoreError::AliasTaken) => alias.id = random::alias_id()?,
                other => return other.map(|()| alias).map_err(ServiceError::from),
            }
        }
        Err(StoreError::AliasTaken.into())
    }

    /// One page of `org`'s aliases, newest first.
    pub fn list_aliases(&self, org: OrgId, query: &ListQuery) -> Result<Page> {
        let limit = page_limit(query.limit)?;
        let after = query.after.as_deref().map(decode_cursor).transpose()?;
        let mut conn = self.db.conn()?;
        let mut entries = aliases::list(
            &mut conn,
            self.db.vault(),
            org,
            query.kind,
            query.status.map(|status| (status, self.now())),
            after.as_ref(),
            i64::from(limit) + 1,
        )?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let after = if more {
            entries.last().map(encode_cursor)
        } else {
            None
        };
        Ok(Page { entries, after })
    }

    /// `org`'s alias with this id; another organization's alias is not found, never forbidden.
    pub fn get_alias(&self, org: OrgId, id: &AliasId) -> Result<Alias> {
        let mut conn = self.db.conn()?;
        aliases::find_owned(&mut conn, self.db.vault(), org, id)?.ok_or(ServiceError::AliasNotFound)
    }

    /// Applies a partial update to `org`'s alias.
    pub fn update_alias(&self, org: OrgId, id: &AliasId, patch: AliasPatch) -> Result<Alias> {
        patch.validate(&self.rules(), self.now())?;
        self.change(
            org,
            id,
            EventType::AliasUpdated,
            "alias.update",
            |alias, now| patch.apply(alias, now),
        )
    }

    /// Gives `org`'s alias a new random `jwt_secret` (256 bits, base64url), returned once in
    /// the answer. Tokens signed with the previous secret keep verifying for
    /// `rotation_grace`; an alias without a secret simply gets one.
    pub fn rotate_secret(&self, org: OrgId, id: &AliasId) -> Result<Alias> {
        let secret = Sensitive::from(random::token::<32>()?);
        let grace = crate::secs(self.config.rotation_grace);
        self.change(
            org,
            id,
            EventType::AliasSecretRotated,
            "alias.rotate_secret",
            move |mut alias, now| {
                // No grace, no previous secret: it stops verifying with this change.
                alias.previous_secret = alias.jwt_secret.take().filter(|_| grace > 0);
                alias.previous_secret_until = alias
                    .previous_secret
                    .as_ref()
                    .map(|_| now.saturating_add(grace));
                alias.jwt_secret = Some(secret);
                alias
            },
        )
    }

    /// Revokes every token of `org`'s alias issued before now: tokens whose `iat` is earlier
    /// than this second, or that have no `iat`, are refused from now on.
    pub fn revoke_tokens(&self, org: OrgId, id: &AliasId) -> Result<Alias> {
        self.change(
            org,
            id,
            EventType::AliasTokensRevoked,
            "alias.revoke_tokens",
            |mut alias, now| {
                alias.tokens_valid_after = Some(now);
                alias
            },
        )
    }

    /// Gives `org`'s alias a new random stream key (`sk_` and 192 random bits).
    pub fn rotate_stream_key(&self, org: OrgId, id: &AliasId) -> Result<Alias> {
        let key = Sensitive::from(format!("sk_{}", random::token::<24>()?));
        self.change(
            org,
            id,
            EventType::AliasStreamKeyRotated,
            "alias.rotate_stream_key",
            move |mut alias, _| {
                alias.stream_key = Some(key);
                alias
            },
        )
    }

    /// Loads `org`'s alias, applies `f` at now, stores it, in one transaction that holds the
    /// row's lock from the read to the write: concurrent changes of one alias, on this server
    /// or another, take turns, and none writes back fields it read before another's commit.
    /// Its webhook `event` and its audit entry (`action`, with the fields that changed) are
    /// written in the same transaction.
    fn change(
        &self,
        org: OrgId,
        id: &AliasId,
        event: EventType,
        action: &'static str,
        f: impl FnOnce(Alias, i64) -> Alias,
    ) -> Result<Alias> {
        let now = self.now();
        let vault = self.db.vault();
        let ids = EventIds::new()?;
        let changed = self.db.transaction(|c| {
            let Some(current) = aliases::find_owned_for_update(c, vault, org, id)? else {
                return Ok(None);
            };
            let fields = {
                let mut changed = f(current.clone(), now);
                changed.updated_at = now;
                (changed_fields(&current, &changed), changed)
            };
            let (fields, changed) = fields;
            aliases::update(c, vault, &changed)?;
            events::record(c, &ids, event, &changed, now)?;
            let change = Change::org(action, org, id.as_str(), &fields);
            audit::record(c, &self.origin, &change, now)?;
            notify(c, &format!("alias:{id}"))?;
            Ok(Some(changed))
        })?;
        self.forget_alias(id);
        changed.ok_or(ServiceError::AliasNotFound)
    }

    /// Deletes the aliases of every organization that expired more than `purge_after` ago,
    /// if no server on this database did so in the last `purge_interval` (the run is claimed
    /// in the database, so several servers purge once per interval). The same run forgets the
    /// passcode failure counts whose window and block ended more than a day ago, and SQLite's
    /// cache invalidations older than an hour. Returns how
    /// many aliases were deleted, or `None` when another run was recent.
    pub fn purge_expired(&self) -> Result<Option<usize>> {
        const BATCH: i64 = 1000;
        let now = self.now();
        let every = crate::secs(self.config.purge_interval);
        let mut conn = self.db.conn()?;
        if !aliaskit_store::repo::jobs::claim(&mut conn, "purge_expired_aliases", now, every)? {
            return Ok(None);
        }
        let stale = now
            .saturating_sub(self.passcode_budget.window)
            .saturating_sub(aliaskit_store::repo::passcode_failures::MAX_BLOCK);
        aliaskit_store::repo::passcode_failures::purge_stale(&mut conn, stale)?;
        aliaskit_store::listen::prune(
            &mut conn,
            now.saturating_sub(aliaskit_store::listen::LOG_KEPT),
        )?;
        drop(conn);
        self.record_expiries(now, every)?;
        self.purge_audit(now)?;
        let mut conn = self.db.conn()?;
        let before = now.saturating_sub(crate::secs(self.config.purge_after));
        let mut purged = 0;
        loop {
            let n = aliases::purge_expired(&mut conn, before, BATCH)?;
            purged += n;
            if n < BATCH as usize {
                return Ok(Some(purged));
            }
        }
    }

    /// Writes `alias.expired` for every alias that expired since the last run (before `now`),
    /// and its `alias.expire` audit entry (for every organization, webhooks or not), and moves
    /// the watermark to `now`, in one transaction: each alias's expiry is reported
    /// once, by the one server that claimed the purge. The first run ever looks back one
    /// interval.
    fn record_expiries(&self, now: i64, every: i64) -> Result<()> {
        let ids = EventIds::new()?;
        let vault = self.db.vault();
        self.db.transaction(|c| {
            let from = aliaskit_store::repo::jobs::value_for_update(c, EXPIRY_WATERMARK)?
                .unwrap_or_else(|| now.saturating_sub(every));
            if from >= now {
                return Ok(());
            }
            for alias in aliases::expired_between(c, vault, from, now)? {
                events::record(c, &ids, EventType::AliasExpired, &alias, now)?;
            }
            let purge = Origin::system("purge");
            for (id, org) in aliases::expired_ids_between(c, from, now)? {
                let change = Change::org("alias.expire", org, &id, &[]);
                audit::record(c, &purge, &change, now)?;
            }
            aliaskit_store::repo::jobs::set_value(c, EXPIRY_WATERMARK, now)
        })?;
        Ok(())
    }

    /// Deletes `org`'s alias, and writes its `alias.deleted` event in the same transaction.
    pub fn delete_alias(&self, org: OrgId, id: &AliasId) -> Result<()> {
        let now = self.now();
        let vault = self.db.vault();
        let ids = EventIds::new()?;
        let deleted = self.db.transaction(|c| {
            let Some(alias) = aliases::find_owned_for_update(c, vault, org, id)? else {
                return Ok(false);
            };
            if !aliases::delete(c, org, id)? {
                return Ok(false);
            }
            events::record(c, &ids, EventType::AliasDeleted, &alias, now)?;
            let change = Change::org("alias.delete", org, id.as_str(), &[]);
            audit::record(c, &self.origin, &change, now)?;
            notify(c, &format!("alias:{id}"))?;
            Ok(true)
        })?;
        self.forget_alias(id);
        if deleted {
            Ok(())
        } else {
            Err(ServiceError::AliasNotFound)
        }
    }
}

/// A listing's page size: [`DEFAULT_LIMIT`] when absent, else 1 to [`MAX_LIMIT`] (a `400`
/// naming `limit` outside).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(DomainError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, not {n}"),
        )
        .into()),
    }
}

/// The names of the fields a new alias was given, as the audit trail records them.
fn given_fields(alias: &Alias) -> Vec<&'static str> {
    let optional = [
        ("name", alias.name.is_some()),
        ("passcode", alias.passcode.is_some()),
        ("jwt_secret", alias.jwt_secret.is_some()),
        ("stream_key", alias.stream_key.is_some()),
    ];
    let mut given = vec!["type"];
    given.extend(
        optional
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name),
    );
    given.push("expired_at");
    given
}

/// The names of the fields a change of `before` into `after` set or cleared, as the audit
/// trail records them (never their values).
fn changed_fields(before: &Alias, after: &Alias) -> Vec<&'static str> {
    let mut changes = Vec::new();
    let mut note = |differs: bool, name| {
        if differs {
            changes.push(name);
        }
    };
    note(before.kind != after.kind, "type");
    note(before.name != after.name, "name");
    note(before.passcode != after.passcode, "passcode");
    note(before.jwt_secret != after.jwt_secret, "jwt_secret");
    note(before.stream_key != after.stream_key, "stream_key");
    note(before.expired_at != after.expired_at, "expired_at");
    note(
        before.tokens_valid_after != after.tokens_valid_after,
        "tokens_valid_after",
    );
    changes
}

/// `base64url("{inserted_at}:{id}")`: opaque to clients, and exact for the keyset.
fn encode_cursor(alias: &Alias) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", alias.inserted_at, alias.id))
}

fn decode_cursor(cursor: &str) -> Result<After> {
    let bad = || {
        ServiceError::Invalid(DomainError::field(
            "after",
            "is not a cursor this server returned; pass the `after` value of the previous page",
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    Ok(After {
        inserted_at: at.parse().map_err(|_| bad())?,
        id: AliasId::parse(id).map_err(|_| bad())?,
    })
}
