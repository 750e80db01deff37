//! The `webhooks` table: an organization's endpoints, their secrets sealed.

use aliaskit_domain::{EventFilter, EventType, OrgId, Webhook, WebhookId};
use diesel::prelude::*;

use crate::rows::WebhookRow;
use crate::schema::webhooks::dsl;
use crate::{DbConn, Result, Vault};

/// Stores a new webhook, its secrets sealed.
pub fn insert(conn: &mut DbConn, vault: &Vault, webhook: &Webhook) -> Result<()> {
    diesel::insert_into(dsl::webhooks)
        .values(WebhookRow::seal(webhook, vault)?)
        .execute(conn)?;
    Ok(())
}

/// How many webhooks `org` has.
pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64> {
    Ok(dsl::webhooks
        .filter(dsl::org_id.eq(org.0))
        .count()
        .get_result(conn)?)
}

/// Every webhook of `org`, oldest first.
pub fn list(conn: &mut DbConn, vault: &Vault, org: OrgId) -> Result<Vec<Webhook>> {
    dsl::webhooks
        .filter(dsl::org_id.eq(org.0))
        .order((dsl::created_at.asc(), dsl::id.asc()))
        .select(WebhookRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.open(vault))
        .collect()
}

/// The webhook with this id if `org` owns it.
pub fn find_owned(
    conn: &mut DbConn,
    vault: &Vault,
    org: OrgId,
    id: &WebhookId,
) -> Result<Option<Webhook>> {
    dsl::webhooks
        .find(id.as_str())
        .filter(dsl::org_id.eq(org.0))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| row.open(vault))
        .transpose()
}

/// The webhook with this id if `org` owns it, locked until the end of the transaction
/// (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` holds the write lock).
pub fn find_owned_for_update(
    conn: &mut DbConn,
    vault: &Vault,
    org: OrgId,
    id: &WebhookId,
) -> Result<Option<Webhook>> {
    let DbConn::Postgres(pg) = conn else {
        return find_owned(conn, vault, org, id);
    };
    dsl::webhooks
        .find(id.as_str())
        .filter(dsl::org_id.eq(org.0))
        .select(WebhookRow::as_select())
        .for_update()
        .first(pg)
        .optional()?
        .map(|row| row.open(vault))
        .transpose()
}

/// Writes every column of the webhook back, its secrets sealed.
pub fn update(conn: &mut DbConn, vault: &Vault, webhook: &Webhook) -> Result<()> {
    let row = WebhookRow::seal(webhook, vault)?;
    diesel::update(dsl::webhooks.find(webhook.id.as_str()))
        .set(&row)
        .execute(conn)?;
    Ok(())
}

/// Deletes `org`'s webhook; `false` if there was none.
pub fn delete(conn: &mut DbConn, org: OrgId, id: &WebhookId) -> Result<bool> {
    Ok(diesel::delete(
        dsl::webhooks
            .find(id.as_str())
            .filter(dsl::org_id.eq(org.0)),
    )
    .execute(conn)?
        > 0)
}

/// The enabled webhooks of `org` subscribed to `event`: where its deliveries go (none: the
/// event is not written).
pub fn subscribers(conn: &mut DbConn, org: OrgId, event: EventType) -> Result<Vec<String>> {
    let hooks: Vec<(String, String)> = dsl::webhooks
        .filter(dsl::org_id.eq(org.0))
        .filter(dsl::enabled.eq(true))
        .order(dsl::id.asc())
        .select((dsl::id, dsl::events))
        .load(conn)?;
    Ok(hooks
        .into_iter()
        .filter(|(_, events)| {
            let names: Vec<&str> = events.split(',').collect();
            EventFilter::parse(&names).is_ok_and(|f| f.matches(event))
        })
        .map(|(id, _)| id)
        .collect())
}

/// The webhook with this id, whoever owns it (for a sender).
pub fn find(conn: &mut DbConn, vault: &Vault, id: &str) -> Result<Option<Webhook>> {
    dsl::webhooks
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| row.open(vault))
        .transpose()
}

/// What [`health_for_update`] reads of an endpoint: its public fields and its health, no
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Health {
    /// `wh_…`.
    pub id: String,
    /// Owner.
    pub org_id: i64,
    /// Target URL.
    pub url: String,
    /// `*` or event names, comma-separated.
    pub events: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether events are sent.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the first failure since the last success, if failing.
    pub failing_since: Option<i64>,
}

/// The webhook's public fields and health, its row locked until the end of the transaction
/// (`FOR NO KEY UPDATE` on PostgreSQL: it serializes with the other changes of the row, but
/// not with inserts of rows referring to it; SQLite's `BEGIN IMMEDIATE` holds the write lock).
pub fn health_for_update(conn: &mut DbConn, id: &str) -> Result<Option<Health>> {
    let query = dsl::webhooks.find(id).select((
        dsl::id,
        dsl::org_id,
        dsl::url,
        dsl::events,
        dsl::description,
        dsl::enabled,
        dsl::created_at,
        dsl::failing_since,
    ));
    Ok(match conn {
        DbConn::Postgres(pg) => query.for_no_key_update().first(pg).optional()?,
        DbConn::Sqlite(_) => query.first(conn).optional()?,
    })
}

/// Sets the webhook's `failing_since` (and, with `disable`, turns it off at `now`).
pub fn set_health(
    conn: &mut DbConn,
    id: &str,
    failing_since: Option<i64>,
    disable: Option<i64>,
) -> Result<()> {
    let target = dsl::webhooks.find(id);
    match disable {
        Some(now) => diesel::update(target)
            .set((
                dsl::failing_since.eq(failing_since),
                dsl::enabled.eq(false),
                dsl::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set(dsl::failing_since.eq(failing_since))
            .execute(conn)?,
    };
    Ok(())
}

/// The organization owning the webhook with this id.
pub fn owner(conn: &mut DbConn, id: &str) -> Result<Option<OrgId>> {
    Ok(dsl::webhooks
        .find(id)
        .select(dsl::org_id)
        .first(conn)
        .optional()?
        .map(OrgId))
}
