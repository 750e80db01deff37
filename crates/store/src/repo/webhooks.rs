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
