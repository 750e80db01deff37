//! The JSON of the audit trail (`docs/audit.md`).

use aliaskit_service::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorJson<'a> {
    /// `api_key`, `cli`, `opencap_user` or `system`.
    pub kind: &'a str,
    /// `<org name>/<key id>`, the CLI's user, `user$domain`, or the job's name.
    pub id: &'a str,
}

/// One entry of an organization's trail.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntryJson<'a> {
    /// The entry's id, increasing.
    pub id: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Who.
    pub actor: ActorJson<'a>,
    /// `object.verb`: `alias.create`, `webhook.rotate_secret`, ….
    pub action: &'a str,
    /// What: an alias or webhook id, a user alias, an organization name.
    pub target: &'a str,
    /// The HTTP request's `X-Request-Id`; `null` outside a request.
    pub request_id: Option<&'a str>,
    /// The client's address; `null` outside a request.
    pub client_ip: Option<&'a str>,
    /// The names of the fields changed, never their values.
    pub changes: Vec<&'a str>,
}

impl<'a> From<&'a AuditEntry> for AuditEntryJson<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        AuditEntryJson {
            id: e.id,
            at: e.at,
            actor: ActorJson {
                kind: &e.actor_kind,
                id: &e.actor_id,
            },
            action: &e.action,
            target: &e.target,
            request_id: e.request_id.as_deref(),
            client_ip: e.client_ip.as_deref(),
            changes: e.changes(),
        }
    }
}

/// One page: `{"entries": [...], "after": cursor|null}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPageJson<'a> {
    /// Newest first.
    pub entries: Vec<AuditEntryJson<'a>>,
    /// The cursor of the next page; `null` on the last.
    pub after: Option<&'a str>,
}

/// `{"data": {"entries": [...], "after": …}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList<'a> {
    /// The page.
    pub data: AuditPageJson<'a>,
}

/// One change to an OpenCAP user's account or addresses.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserAuditEntry)]
pub struct UserAuditEntryJson<'a> {
    /// The entry as an organization's trail shows it.
    #[serde(flatten)]
    pub entry: AuditEntryJson<'a>,
    /// For address changes, the address type; `null` otherwise. Never the address.
    pub address_type: Option<i64>,
}

impl<'a> From<&'a AuditEntry> for UserAuditEntryJson<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        UserAuditEntryJson {
            entry: AuditEntryJson::from(e),
            address_type: e.address_type,
        }
    }
}
