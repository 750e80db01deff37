//! `aliaskit alias list|show|delete|rotate-secret|revoke-tokens --org NAME`: an organization's
//! aliases, through the use cases the organization API calls (same checks, row locks and
//! cache invalidation). Secrets are never shown, except the new `jwt_secret` that
//! `rotate-secret` prints once, as the API answers a rotation.

use std::path::Path;

use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, OrgName};
use aliaskit_service::{AliasStatus, ListQuery, MAX_LIMIT, ServiceError};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::database::{Opened, open_service};
use crate::output::{details, table, time};
use crate::{Failure, print};

/// `--org NAME`, shared by every alias command.
#[derive(Debug, Args)]
pub struct OrgArg {
    /// The organization whose alias(es) these are; another organization's alias is not found.
    #[arg(long, value_name = "NAME")]
    org: String,
}

/// One alias of the organization.
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    org: OrgArg,
    /// The alias id. Ids may begin with `-`, so a value in its place is never read as a flag.
    #[arg(allow_hyphen_values = true)]
    id: String,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// List the organization's aliases, newest first: every one, or one page with `--limit`
    /// (and `--after` the cursor the previous page gave).
    List {
        #[command(flatten)]
        org: OrgArg,
        /// Only aliases of this type.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<KindArg>,
        /// Only active (not yet past their expiry) or only expired aliases.
        #[arg(long, value_name = "STATUS")]
        status: Option<StatusArg>,
        /// One page of at most this many (1–200), instead of every alias.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// The page after this cursor (printed with the previous page).
        #[arg(long, value_name = "CURSOR", allow_hyphen_values = true)]
        after: Option<String>,
        /// JSON `{"entries": [...], "after": CURSOR|null}` instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one alias; its passcode, jwt_secret and stream_key only as set or not set.
    Show {
        #[command(flatten)]
        target: Target,
        /// JSON instead of `key  value` lines.
        #[arg(long)]
        json: bool,
    },
    /// Delete one alias.
    Delete {
        #[command(flatten)]
        target: Target,
    },
    /// Give the alias a new random jwt_secret, printed alone on stdout (the only time it is
    /// shown); tokens signed with the previous one verify for `tokens.rotation_grace`.
    RotateSecret {
        #[command(flatten)]
        target: Target,
        /// JSON: the alias as `show --json` prints it, plus `jwt_secret`, the new secret.
        #[arg(long)]
        json: bool,
    },
    /// Refuse every token of the alias issued before now; prints the alias as `show` does.
    RevokeTokens {
        #[command(flatten)]
        target: Target,
        /// JSON instead of `key  value` lines.
        #[arg(long)]
        json: bool,
    },
}

/// `--type`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Conference rooms.
    Conference,
    /// Live streams.
    Live,
}

/// `--status`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// Not yet past their expiry.
    Active,
    /// Past their expiry, not yet purged.
    Expired,
}

pub fn run(config: Option<&Path>, create: bool, cmd: AliasCommand) -> Result<(), Failure> {
    match cmd {
        AliasCommand::List {
            org,
            kind,
            status,
            limit,
            after,
            json,
        } => {
            let query = ListQuery {
                kind: kind.map(|k| match k {
                    KindArg::Conference => AliasKind::Conference,
                    KindArg::Live => AliasKind::Live,
                }),
                status: status.map(|s| match s {
                    StatusArg::Active => AliasStatus::Active,
                    StatusArg::Expired => AliasStatus::Expired,
                }),
                after,
                limit,
            };
            list(config, create, &org.org, query, json)
        }
        AliasCommand::Show { target, json } => {
            let (opened, org, id) = open(config, create, &target)?;
            let alias = opened
                .service
                .get_alias(org, &id)
                .map_err(|e| not_found(&opened, e, &target))?;
            print(&shown(&alias, &target.org.org, json, None))
        }
        AliasCommand::Delete { target } => {
            let (opened, org, id) = open(config, create, &target)?;
            opened
                .service
                .delete_alias(org, &id)
                .map_err(|e| not_found(&opened, e, &target))?;
            eprintln!("deleted alias {id} of organization {}", target.org.org);
            Ok(())
        }
        AliasCommand::RotateSecret { target, json } => {
            let (opened, org, id) = open(config, create, &target)?;
            let alias = opened
                .service
                .rotate_secret(org, &id)
                .map_err(|e| not_found(&opened, e, &target))?;
            let secret = alias
                .jwt_secret
                .as_ref()
                .map(|s| s.expose().to_owned())
                .context("the rotation left no jwt_secret")?;
            if json {
                print(&shown(&alias, &target.org.org, true, Some(&secret)))?;
            } else {
                print(&format!("{secret}\n"))?;
            }
            let grace = match alias.previous_secret_until {
                Some(until) => format!(
                    "tokens signed with the previous one verify until {} (tokens.rotation_grace)",
                    time(until)
                ),
                None => "no previous secret verifies any more".to_owned(),
            };
            eprintln!(
                "new jwt_secret for alias {id} of organization {}; {grace}; store it now, \
                 `alias show` does not show it",
                target.org.org
            );
            Ok(())
        }
        AliasCommand::RevokeTokens { target, json } => {
            let (opened, org, id) = open(config, create, &target)?;
            let alias = opened
                .service
                .revoke_tokens(org, &id)
                .map_err(|e| not_found(&opened, e, &target))?;
            print(&shown(&alias, &target.org.org, json, None))?;
            eprintln!(
                "tokens of alias {id} issued before {} are refused from now on",
                time(alias.tokens_valid_after.unwrap_or(alias.updated_at))
            );
            Ok(())
        }
    }
}

/// The organization's id by its name: [`Failure::Refused`] `org_not_found` if none.
pub fn org_id(opened: &Opened, name: &OrgName) -> Result<OrgId, Failure> {
    opened
        .service
        .find_org(name)
        .map(|org| org.id)
        .map_err(|e| opened.failure(e))
}

/// The database, the organization and the alias id; an id that cannot be an alias id is not
/// found, as in the API, but only once the organization is known.
fn open(
    config: Option<&Path>,
    create: bool,
    target: &Target,
) -> Result<(Opened, OrgId, AliasId), Failure> {
    let name = OrgName::parse(&target.org.org).context("--org")?;
    let opened = open_service(config, create)?;
    let org = org_id(&opened, &name)?;
    let id = AliasId::parse(&target.id).map_err(|_| alias_not_found(target))?;
    Ok((opened, org, id))
}

fn alias_not_found(target: &Target) -> Failure {
    Failure::Refused {
        code: "alias_not_found",
        reason: format!(
            "organization {} has no alias {}",
            target.org.org,
            crate::output::clean(&target.id)
        ),
    }
}

fn not_found(opened: &Opened, e: ServiceError, target: &Target) -> Failure {
    match e {
        ServiceError::AliasNotFound => alias_not_found(target),
        e => opened.failure(e),
    }
}

fn list(
    config: Option<&Path>,
    create: bool,
    org: &str,
    mut query: ListQuery,
    json: bool,
) -> Result<(), Failure> {
    let name = OrgName::parse(org).context("--org")?;
    let opened = open_service(config, create)?;
    let org = org_id(&opened, &name)?;
    // One page when asked for (`--limit` or `--after`), else every page, read by the same
    // keyset the API pages with.
    let one_page = query.limit.is_some() || query.after.is_some();
    if !one_page {
        query.limit = Some(MAX_LIMIT);
    }
    let mut entries = Vec::new();
    let after = loop {
        let page = opened
            .service
            .list_aliases(org, &query)
            .map_err(|e| opened.failure(e))?;
        entries.extend(page.entries);
        match page.after {
            Some(after) if !one_page => query.after = Some(after),
            after => break after,
        }
    };
    let now = opened.service.now();
    if json {
        let value = json!({
            "entries": entries.iter().map(|a| alias_json(a, name.as_str(), now)).collect::<Vec<_>>(),
            "after": after,
        });
        return print(&format!("{value:#}\n"));
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.kind.to_string(),
                status(a, now).to_owned(),
                time(a.expired_at),
                secrets(a),
                a.name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print(&table(
        &["ID", "TYPE", "STATUS", "EXPIRES", "SECRETS", "NAME"],
        &rows,
    ))?;
    if let Some(after) = after {
        eprintln!("more aliases follow: pass --after {after} for the next page");
    }
    Ok(())
}

fn status(alias: &Alias, now: i64) -> &'static str {
    if alias.is_expired(now) {
        "expired"
    } else {
        "active"
    }
}

/// Which secrets the alias has, by name (`passcode,jwt_secret`), or `-`.
fn secrets(alias: &Alias) -> String {
    let set: Vec<&str> = [
        ("passcode", alias.passcode.is_some()),
        ("jwt_secret", alias.jwt_secret.is_some()),
        ("stream_key", alias.stream_key.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if set.is_empty() {
        "-".to_owned()
    } else {
        set.join(",")
    }
}

/// The alias for scripts: every field but the secrets, which are only `has_…` booleans.
fn alias_json(alias: &Alias, org: &str, now: i64) -> Value {
    json!({
        "id": alias.id.as_str(),
        "org": org,
        "type": alias.kind.as_str(),
        "name": alias.name,
        "status": status(alias, now),
        "expired_at": alias.expired_at,
        "inserted_at": alias.inserted_at,
        "updated_at": alias.updated_at,
        "has_passcode": alias.passcode.is_some(),
        "has_jwt_secret": alias.jwt_secret.is_some(),
        "has_stream_key": alias.stream_key.is_some(),
        "previous_secret_until": alias.previous_secret.as_ref().and(alias.previous_secret_until),
        "tokens_valid_after": alias.tokens_valid_after,
    })
}

/// One alias as `show` prints it; `secret` (a rotation's new `jwt_secret`) is added to the
/// JSON only.
fn shown(alias: &Alias, org: &str, json: bool, secret: Option<&str>) -> String {
    let now = crate::database::now();
    if json {
        let mut value = alias_json(alias, org, now);
        if let (Some(secret), Value::Object(map)) = (secret, &mut value) {
            map.insert("jwt_secret".to_owned(), Value::from(secret));
        }
        return format!("{value:#}\n");
    }
    let set = |present: bool| if present { "set" } else { "not set" }.to_owned();
    let previous = match (&alias.previous_secret, alias.previous_secret_until) {
        (Some(_), Some(until)) if until >= now => format!("verifies until {}", time(until)),
        (Some(_), Some(until)) => format!("stopped verifying at {}", time(until)),
        _ => "none".to_owned(),
    };
    details(&[
        ("id", alias.id.to_string()),
        ("organization", org.to_owned()),
        ("type", alias.kind.to_string()),
        ("name", alias.name.clone().unwrap_or_else(|| "-".to_owned())),
        ("status", status(alias, now).to_owned()),
        ("expires", time(alias.expired_at)),
        ("created", time(alias.inserted_at)),
        ("updated", time(alias.updated_at)),
        ("passcode", set(alias.passcode.is_some())),
        ("jwt_secret", set(alias.jwt_secret.is_some())),
        ("previous_secret", previous),
        ("stream_key", set(alias.stream_key.is_some())),
        (
            "tokens_valid_after",
            alias
                .tokens_valid_after
                .map_or_else(|| "-".to_owned(), time),
        ),
    ])
}
