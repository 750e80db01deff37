//! `aliaskit opencap user list|show|unlock|delete`: the OpenCAP users, through the use cases
//! the OpenCAP API calls. Password hashes are never shown.

use std::path::Path;

use aliaskit_domain::opencap::{CapAlias, CapUser};
use aliaskit_service::ServiceError;
use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::database::{Opened, now, open_service};
use crate::output::{details, table, time};
use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum OpenCapCommand {
    /// The users registered with `POST /v1/users`.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Every user, by domain and username: lock state and the types of its addresses.
    List {
        /// JSON `{"entries": [...]}` instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One user: lock state, failed logins, and its addresses.
    Show {
        /// The user's alias, `username$domain` (which may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        alias: String,
        /// JSON instead of `key  value` lines.
        #[arg(long)]
        json: bool,
    },
    /// Clear the user's lockout and failed-login count: it may log in again at once.
    Unlock {
        /// The user's alias, `username$domain` (which may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        alias: String,
    },
    /// Delete the user and its addresses; its login tokens stop working at once.
    Delete {
        /// The user's alias, `username$domain` (which may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        alias: String,
    },
}

pub fn run(config: Option<&Path>, create: bool, cmd: OpenCapCommand) -> Result<(), Failure> {
    let OpenCapCommand::User(cmd) = cmd;
    match cmd {
        UserCommand::List { json } => list(config, create, json),
        UserCommand::Show { alias, json } => {
            let alias = parse(&alias)?;
            let opened = open_service(config, create)?;
            let (user, addresses) = opened
                .service
                .opencap()
                .find_user(&alias)
                .map_err(|e| not_found(&opened, e, &alias))?;
            let now = now();
            if json {
                let mut value = user_json(
                    &user,
                    addresses.iter().map(|a| a.address.address_type().code()),
                    now,
                );
                if let Value::Object(map) = &mut value {
                    let shown: Vec<Value> = addresses
                        .iter()
                        .map(|a| {
                            let t = a.address.address_type();
                            json!({
                                "type": t.code(),
                                "name": t.name(),
                                "address": a.address.as_str(),
                                "updated_at": a.updated_at,
                            })
                        })
                        .collect();
                    map.insert("addresses".to_owned(), Value::from(shown));
                }
                return print(&format!("{value:#}\n"));
            }
            let mut fields = vec![
                ("alias", user.alias.to_string()),
                ("created", time(user.created_at)),
                ("state", state(&user, now)),
                ("failed_logins", user.failed_logins.to_string()),
                ("addresses", addresses.len().to_string()),
            ];
            for address in &addresses {
                let t = address.address.address_type();
                fields.push((
                    "  type",
                    format!(
                        "{} ({}), updated {}",
                        t.code(),
                        t.name(),
                        time(address.updated_at)
                    ),
                ));
                fields.push(("  address", address.address.as_str().to_owned()));
            }
            print(&details(&fields))
        }
        UserCommand::Unlock { alias } => {
            let alias = parse(&alias)?;
            let opened = open_service(config, create)?;
            let before = opened
                .service
                .opencap()
                .unlock_user(&alias)
                .map_err(|e| not_found(&opened, e, &alias))?;
            let was = match before.locked_until.filter(|&until| until > now()) {
                Some(until) => format!("it was locked until {}", time(until)),
                None => "it was not locked".to_owned(),
            };
            eprintln!(
                "unlocked OpenCAP user {alias}: {was}, after {} failed logins; it may log in now",
                before.failed_logins
            );
            Ok(())
        }
        UserCommand::Delete { alias } => {
            let alias = parse(&alias)?;
            let opened = open_service(config, create)?;
            opened
                .service
                .opencap()
                .delete_user_by_alias(&alias)
                .map_err(|e| not_found(&opened, e, &alias))?;
            eprintln!(
                "deleted OpenCAP user {alias} and its addresses; its login tokens no longer work"
            );
            Ok(())
        }
    }
}

fn parse(alias: &str) -> Result<CapAlias, Failure> {
    Ok(CapAlias::parse(alias).context("ALIAS")?)
}

fn not_found(opened: &Opened, e: ServiceError, alias: &CapAlias) -> Failure {
    match e {
        ServiceError::CapAliasNotFound => Failure::Refused {
            code: "cap_user_not_found",
            reason: format!("no OpenCAP user is registered as {alias}"),
        },
        e => opened.failure(e),
    }
}

/// `locked until …`, `N failed logins` or `ok`.
fn state(user: &CapUser, now: i64) -> String {
    match user.locked_until.filter(|&until| until > now) {
        Some(until) => format!("locked until {}", time(until)),
        None if user.failed_logins > 0 => format!("{} failed logins", user.failed_logins),
        None => "ok".to_owned(),
    }
}

/// A user for scripts: never its password hash, nor its id (the `sub` of its tokens).
fn user_json(user: &CapUser, types: impl Iterator<Item = u16>, now: i64) -> Value {
    let locked_until = user.locked_until.filter(|&until| until > now);
    json!({
        "alias": user.alias.as_str(),
        "created_at": user.created_at,
        "locked": locked_until.is_some(),
        "locked_until": locked_until,
        "failed_logins": user.failed_logins,
        "address_types": types.collect::<Vec<_>>(),
    })
}

fn list(config: Option<&Path>, create: bool, json: bool) -> Result<(), Failure> {
    let opened = open_service(config, create)?;
    let users = opened
        .service
        .opencap()
        .list_users()
        .map_err(|e| opened.failure(e))?;
    let now = now();
    if json {
        let entries: Vec<Value> = users
            .iter()
            .map(|u| user_json(&u.user, u.address_types.iter().map(|t| t.code()), now))
            .collect();
        return print(&format!("{:#}\n", json!({ "entries": entries })));
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            let types: Vec<String> = u.address_types.iter().map(ToString::to_string).collect();
            vec![
                u.user.alias.to_string(),
                time(u.user.created_at),
                if types.is_empty() {
                    "-".to_owned()
                } else {
                    types.join(",")
                },
                state(&u.user, now),
            ]
        })
        .collect();
    print(&table(
        &["ALIAS", "CREATED", "ADDRESS_TYPES", "STATE"],
        &rows,
    ))
}
