//! `aliaskit webhook list --org NAME` and `aliaskit webhook deliveries WEBHOOK_ID`: an
//! organization's webhook endpoints (never a signing secret), and the attempts of the
//! deliveries to one endpoint, newest first, through the use cases the organization API calls.
//! `deliveries` is the operator's view: the webhook of whichever organization, no `--org`.

use std::path::Path;

use aliaskit_domain::{OrgName, Webhook, WebhookId};
use aliaskit_service::{AttemptRecord, MAX_LIMIT, ServiceError};
use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::alias::org_id;
use crate::database::open_service;
use crate::output::{table, time};
use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// List the organization's webhooks, oldest first, without their secrets.
    List {
        /// The organization.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// JSON `{"entries": [...]}` instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The attempts to deliver to one webhook (of any organization), newest first: one page of
    /// `--limit` (50 by default, at most 200), after `--after` the cursor the previous page
    /// gave.
    Deliveries {
        /// The webhook id (`wh_…`). Read as a value even when it begins with `-`.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// At most this many attempts (1–200).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// The page after this cursor (printed with the previous page).
        #[arg(long, value_name = "CURSOR", allow_hyphen_values = true)]
        after: Option<String>,
        /// JSON `{"entries": [...], "after": CURSOR|null}`, entries as the API answers them.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Option<&Path>, create: bool, cmd: WebhookCommand) -> Result<(), Failure> {
    match cmd {
        WebhookCommand::List { org, json } => list(config, create, &org, json),
        WebhookCommand::Deliveries {
            id,
            limit,
            after,
            json,
        } => deliveries(config, create, &id, limit, after.as_deref(), json),
    }
}

fn list(config: Option<&Path>, create: bool, org: &str, json: bool) -> Result<(), Failure> {
    let name = OrgName::parse(org).context("--org")?;
    let opened = open_service(config, create)?;
    let org = org_id(&opened, &name)?;
    let hooks = opened
        .service
        .list_webhooks(org)
        .map_err(|e| opened.failure(e))?;
    if json {
        let value = json!({
            "entries": hooks.iter().map(|h| webhook_json(h, name.as_str())).collect::<Vec<_>>(),
        });
        return print(&format!("{value:#}\n"));
    }
    let rows: Vec<Vec<String>> = hooks
        .iter()
        .map(|h| {
            vec![
                h.id.as_str().to_owned(),
                if h.enabled { "enabled" } else { "disabled" }.to_owned(),
                time(h.created_at),
                h.events.names().join(","),
                h.url.clone(),
            ]
        })
        .collect();
    print(&table(&["ID", "STATE", "CREATED", "EVENTS", "URL"], &rows))
}

/// A webhook for scripts: never its secrets.
fn webhook_json(hook: &Webhook, org: &str) -> Value {
    json!({
        "id": hook.id.as_str(),
        "org": org,
        "url": hook.url,
        "events": hook.events.names(),
        "description": hook.description,
        "enabled": hook.enabled,
        "created_at": hook.created_at,
        "updated_at": hook.updated_at,
    })
}

fn deliveries(
    config: Option<&Path>,
    create: bool,
    raw: &str,
    limit: Option<u32>,
    after: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let opened = open_service(config, create)?;
    let not_found = || Failure::Refused {
        code: "webhook_not_found",
        reason: format!("there is no webhook {}", crate::output::clean(raw)),
    };
    let id = WebhookId::parse(raw).map_err(|_| not_found())?;
    if let Some(n) = limit.filter(|n| !(1..=MAX_LIMIT).contains(n)) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "--limit must be between 1 and {MAX_LIMIT}, not {n}"
        )));
    }
    let page = opened
        .service
        .list_any_webhook_attempts(&id, after, limit)
        .map_err(|e| match e {
            ServiceError::WebhookNotFound => not_found(),
            e => opened.failure(e),
        })?;
    if json {
        let value = json!({
            "entries": page.entries.iter().map(attempt_json).collect::<Vec<_>>(),
            "after": page.after,
        });
        return print(&format!("{value:#}\n"));
    }
    let rows: Vec<Vec<String>> = page
        .entries
        .iter()
        .map(|a| {
            vec![
                time(a.at),
                a.event_id.clone(),
                a.event_type.clone(),
                a.attempt.to_string(),
                result(a),
                format!("{} ms", a.duration_ms),
                a.next_attempt_at.map_or_else(|| "-".to_owned(), time),
            ]
        })
        .collect();
    print(&table(
        &[
            "AT", "EVENT", "TYPE", "ATTEMPT", "RESULT", "DURATION", "NEXT",
        ],
        &rows,
    ))?;
    if let Some(after) = page.after {
        eprintln!("more attempts follow: pass --after {after} for the next page");
    }
    Ok(())
}

/// `delivered (204)`, `500: answered 500`, `timed out`: what the attempt came to.
fn result(a: &AttemptRecord) -> String {
    match (a.delivered_at, a.status, a.error.as_deref()) {
        (Some(_), Some(status), _) => format!("delivered ({status})"),
        (_, Some(status), Some(error)) if error != format!("answered {status}") => {
            format!("{status}: {error}")
        }
        (_, Some(status), _) => format!("answered {status}"),
        (_, None, Some(error)) => error.to_owned(),
        (_, None, None) => "-".to_owned(),
    }
}

/// An attempt as the API answers it.
fn attempt_json(a: &AttemptRecord) -> Value {
    json!({
        "id": a.id,
        "event_id": a.event_id,
        "event_type": a.event_type,
        "attempt": a.attempt,
        "status": a.status,
        "error": a.error,
        "duration_ms": a.duration_ms,
        "at": a.at,
        "next_attempt_at": a.next_attempt_at,
        "delivered_at": a.delivered_at,
    })
}
