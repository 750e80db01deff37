//! The audit trail (`docs/audit.md`): who changed what, when, from where. Every management
//! change writes its entry **in its own transaction**, so a change that fails or rolls back
//! records nothing, and none is recorded that did not happen. Entries name the fields changed,
//! never their values: no secret, passcode, stream key, password, token or key reaches one.
//!
//! Who acts is the [`Origin`] of the [`Service`] handle making the change: the HTTP layer
//! makes one per request ([`Service::acting_as`]) with the API key or OpenCAP user it
//! authenticated, the request id and the client address; the CLI acts as `cli`; the server's
//! jobs as `system`.

use aliaskit_domain::OrgId;
use aliaskit_store::repo::audit::{self, Filter, NewEntry};
use aliaskit_store::repo::orgs;
use aliaskit_store::{DbConn, StoreError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use aliaskit_store::repo::audit::Entry as AuditEntry;

use crate::{Result, Service, ServiceError};

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An organization API key, by the first 8 hex digits of its SHA-256 (the key itself is
    /// never stored): recorded as `<org name>/<those digits>`.
    ApiKey {
        /// The digits.
        key_id: String,
        /// The organization owning the key.
        org: OrgId,
    },
    /// The `aliaskit` CLI, run by this operating-system user.
    Cli {
        /// The user name.
        user: String,
    },
    /// An OpenCAP user, `user$domain`.
    OpencapUser {
        /// The user's alias.
        alias: String,
    },
    /// A background job or rule of the server, by name.
    System {
        /// The job's name.
        job: String,
    },
}

impl Actor {
    /// The API key `key` of organization `org`.
    pub fn api_key(key: &str, org: OrgId) -> Actor {
        let mut key_id = crate::orgs::key_hash(key);
        key_id.truncate(8);
        Actor::ApiKey { key_id, org }
    }

    /// The entry's `actor.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::ApiKey { .. } => "api_key",
            Actor::Cli { .. } => "cli",
            Actor::OpencapUser { .. } => "opencap_user",
            Actor::System { .. } => "system",
        }
    }
}

/// Who makes the changes of a [`Service`] handle, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Who.
    pub actor: Actor,
    /// The HTTP request's id (`X-Request-Id`), when a request makes the change.
    pub request_id: Option<String>,
    /// The client's address (behind trusted proxies, the forwarded one).
    pub client_ip: Option<String>,
}

impl Origin {
    /// `actor`, outside any request.
    pub fn new(actor: Actor) -> Origin {
        Origin {
            actor,
            request_id: None,
            client_ip: None,
        }
    }

    /// A job of the server, `job`.
    pub fn system(job: &str) -> Origin {
        Origin::new(Actor::System { job: job.into() })
    }

    /// The CLI, run by `user`.
    pub fn cli(user: &str) -> Origin {
        Origin::new(Actor::Cli { user: user.into() })
    }
}

/// What one change records, besides who and from where.
pub(crate) struct Change<'a> {
    /// `object.verb`.
    pub action: &'static str,
    /// The alias or webhook id, the user alias, the organization's name.
    pub target: &'a str,
    /// The organization concerned.
    pub org: Option<OrgId>,
    /// The OpenCAP user concerned.
    pub cap_user: Option<&'a str>,
    /// Names of the fields changed.
    pub changes: &'a [&'a str],
    /// For OpenCAP address changes.
    pub address_type: Option<i64>,
}

impl<'a> Change<'a> {
    /// `action` on `target` of organization `org`, changing `changes`.
    pub(crate) fn org(
        action: &'static str,
        org: OrgId,
        target: &'a str,
        changes: &'a [&'a str],
    ) -> Self {
        Change {
            action,
            target,
            org: Some(org),
            cap_user: None,
            changes,
            address_type: None,
        }
    }

    /// `action` on OpenCAP user `user`'s account, changing `changes`.
    pub(crate) fn cap_user(action: &'static str, user: &'a str, changes: &'a [&'a str]) -> Self {
        Change {
            action,
            target: user,
            org: None,
            cap_user: Some(user),
            changes,
            address_type: None,
        }
    }
}

/// Writes `change` made by `origin` at `now`. Call it inside the change's transaction, before
/// anything it names is deleted (an organization's name is read here).
pub(crate) fn record(
    conn: &mut DbConn,
    origin: &Origin,
    change: &Change<'_>,
    now: i64,
) -> std::result::Result<(), StoreError> {
    let org_name = match change.org {
        Some(org) => orgs::name_of(conn, org)?,
        None => None,
    };
    let actor_id = match &origin.actor {
        Actor::ApiKey { key_id, org } => {
            // The key's organization, which a change of an OpenCAP user does not name.
            let owner = match change.org {
                Some(changed) if changed == *org => org_name.clone(),
                _ => orgs::name_of(conn, *org)?,
            };
            format!("{}/{key_id}", owner.as_deref().unwrap_or(""))
        }
        Actor::Cli { user } => user.clone(),
        Actor::OpencapUser { alias } => alias.clone(),
        Actor::System { job } => job.clone(),
    };
    audit::insert(
        conn,
        &NewEntry {
            at: now,
            org: change
                .org
                .zip(org_name.as_deref())
                .map(|(org, name)| (org.0, name)),
            cap_user: change.cap_user,
            actor_kind: origin.actor.kind(),
            actor_id: &actor_id,
            action: change.action,
            target: change.target,
            request_id: origin.request_id.as_deref(),
            client_ip: origin.client_ip.as_deref(),
            changes: change.changes,
            address_type: change.address_type,
        },
    )
}

/// A listing request: `GET /organization/api/v1/audit?after=&limit=&action=&target=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`](crate::MAX_LIMIT);
    /// [`DEFAULT_LIMIT`](crate::DEFAULT_LIMIT) when absent.
    pub limit: Option<u32>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this target.
    pub target: Option<String>,
}

/// One page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next page; `None` on the last.
    pub after: Option<String>,
}

/// The most entries `GET /v1/users/audit` answers: the newest.
pub const USER_AUDIT_LIMIT: i64 = 500;

impl Service {
    /// This handle, making its changes as `origin`: what the audit trail records of them.
    pub fn acting_as(&self, origin: Origin) -> Service {
        Service {
            origin: std::sync::Arc::new(origin),
            ..self.clone()
        }
    }

    /// Who this handle's changes are recorded as.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Records that master key `key_id` now encrypts the secrets at rest (`keys.rotate_master`,
    /// by this handle's actor). The rotation itself spans many transactions (each re-sealed
    /// batch is one); this entry is written once the new key is in use.
    pub fn record_master_key_rotation(&self, key_id: &str) -> Result<()> {
        let now = self.now();
        let change = Change {
            action: "keys.rotate_master",
            target: key_id,
            org: None,
            cap_user: None,
            changes: &["master_key"],
            address_type: None,
        };
        Ok(self
            .db
            .transaction(|c| record(c, &self.origin, &change, now))?)
    }

    /// One page of `org`'s audit trail, newest first.
    pub fn list_audit(&self, org: OrgId, query: &AuditQuery) -> Result<AuditPage> {
        let limit = crate::aliases::page_limit(query.limit)?;
        let before = query.after.as_deref().map(decode_cursor).transpose()?;
        let mut conn = self.db.conn()?;
        let mut entries = audit::list(
            &mut conn,
            &Filter {
                org_id: Some(org.0),
                action: query.action.as_deref(),
                target: query.target.as_deref(),
                before_id: before,
                ..Filter::default()
            },
            i64::from(limit) + 1,
        )?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let after = more
            .then(|| entries.last().map(|e| encode_cursor(e.id)))
            .flatten();
        Ok(AuditPage { entries, after })
    }

    /// The changes to OpenCAP user `user`'s account and addresses, newest first (at most
    /// [`USER_AUDIT_LIMIT`]).
    pub fn list_user_audit(&self, user: &str) -> Result<Vec<AuditEntry>> {
        let mut conn = self.db.conn()?;
        Ok(audit::list(
            &mut conn,
            &Filter {
                cap_user: Some(user),
                ..Filter::default()
            },
            USER_AUDIT_LIMIT,
        )?)
    }

    /// The operator's view, across organizations and OpenCAP: entries matching `filter`,
    /// newest first, at most `limit`.
    pub fn search_audit(&self, filter: &Filter<'_>, limit: i64) -> Result<Vec<AuditEntry>> {
        let mut conn = self.db.conn()?;
        Ok(audit::list(&mut conn, filter, limit)?)
    }

    /// Deletes the entries older than `audit.retention_days`, in batches; how many.
    pub(crate) fn purge_audit(&self, now: i64) -> Result<usize> {
        const BATCH: i64 = 1000;
        let Some(retention) = self.config.audit_retention else {
            return Ok(0);
        };
        let before = now.saturating_sub(crate::secs(retention));
        let mut conn = self.db.conn()?;
        let mut purged = 0;
        loop {
            let n = audit::purge_before(&mut conn, before, BATCH)?;
            purged += n;
            if n < BATCH as usize {
                return Ok(purged);
            }
        }
    }
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("audit:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<i64> {
    let bad = || {
        ServiceError::Invalid(aliaskit_domain::Error::field(
            "after",
            "is not a cursor this server returned; pass the `after` value of the previous page",
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("audit:")
        .and_then(|id| id.parse().ok())
        .ok_or_else(bad)
}
