//! `aliaskit audit [--org NAME] [--user ALIAS] [--since UNIX] [--limit N] [--json]`: the audit
//! trail across organizations and OpenCAP, newest first (`docs/audit.md`). Field names only:
//! no entry holds a secret to print.

use std::path::Path;

use aliaskit_service::{AuditEntry, AuditFilter};
use clap::Args;
use serde_json::{Value, json};

use crate::database::open_service;
use crate::output::{table, time};
use crate::{Failure, print};

/// The most entries one run prints.
const MAX: i64 = 10_000;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this organization's entries, by name (also those of an organization deleted
    /// since).
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    org: Option<String>,
    /// Only the entries about this OpenCAP user (`user$domain`).
    #[arg(long, value_name = "ALIAS", allow_hyphen_values = true)]
    user: Option<String>,
    /// Only entries written at or after this time (Unix seconds).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    since: Option<i64>,
    /// At most this many entries, the newest (default 100, at most 10000).
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: i64,
    /// JSON `{"entries": [...]}`, entries as the API answers them (with `org` and `user`).
    #[arg(long)]
    json: bool,
}

pub fn run(config: Option<&Path>, create: bool, args: &AuditArgs) -> Result<(), Failure> {
    if !(1..=MAX).contains(&args.limit) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "--limit must be between 1 and {MAX}, not {}",
            args.limit
        )));
    }
    let opened = open_service(config, create)?;
    let filter = AuditFilter {
        org_name: args.org.as_deref(),
        cap_user: args.user.as_deref(),
        since: args.since,
        ..AuditFilter::default()
    };
    let entries = opened
        .service
        .search_audit(&filter, args.limit)
        .map_err(|e| opened.failure(e))?;
    if args.json {
        let value = json!({"entries": entries.iter().map(entry_json).collect::<Vec<_>>()});
        return print(&format!("{value:#}\n"));
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                time(e.at),
                format!("{}:{}", e.actor_kind, e.actor_id),
                e.action.clone(),
                e.target.clone(),
                e.changes().join(","),
                e.client_ip.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    print(&table(
        &["AT", "ACTOR", "ACTION", "TARGET", "CHANGES", "CLIENT"],
        &rows,
    ))
}

/// An entry for scripts.
fn entry_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "at": e.at,
        "actor": {"kind": e.actor_kind, "id": e.actor_id},
        "action": e.action,
        "target": e.target,
        "org": e.org_name,
        "user": e.cap_user,
        "request_id": e.request_id,
        "client_ip": e.client_ip,
        "changes": e.changes(),
        "address_type": e.address_type,
    })
}
