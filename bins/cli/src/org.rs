//! `aliaskit org create|list|rotate-key|delete`.

use std::path::Path;

use aliaskit_domain::OrgName;
use aliaskit_service::{OrgDeletion, ServiceError};
use anyhow::Context;
use clap::Subcommand;

use crate::database::open_service;
use crate::{Failure, print};

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization and its first API key; prints the key alone on stdout (it is not
    /// shown again).
    Create {
        /// 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.
        name: String,
    },
    /// List the organizations, by name: `NAME<TAB>CREATED_AT` (Unix seconds), one per line.
    List,
    /// Replace every API key of an organization with a new one, printed alone on stdout; the
    /// old keys stop working at once.
    RotateKey {
        /// The organization's name.
        name: String,
    },
    /// Delete an organization and its API keys. Refused, changing nothing, while it has
    /// aliases, unless `--with-aliases`: then they are deleted with it, in one transaction.
    Delete {
        /// The organization's name.
        name: String,
        /// Delete the organization's aliases too.
        #[arg(long)]
        with_aliases: bool,
    },
}

/// Runs `cmd`; `create`: make the SQLite database if there is none (`--create`).
pub fn run(config: Option<&Path>, create: bool, cmd: OrgCommand) -> Result<(), Failure> {
    match cmd {
        OrgCommand::Create { name } => create_org(config, create, &name),
        OrgCommand::List => list(config, create),
        OrgCommand::RotateKey { name } => rotate_key(config, create, &name),
        OrgCommand::Delete { name, with_aliases } => delete(config, create, &name, with_aliases),
    }
}

fn create_org(config: Option<&Path>, create: bool, name: &str) -> Result<(), Failure> {
    // Checked before the database is touched: a bad name is a usage error wherever it runs.
    let name = OrgName::parse(name).context("NAME")?;
    let opened = open_service(config, create)?;
    let (org, key) = match opened.service.create_org(&name) {
        Ok(created) => created,
        Err(ServiceError::OrgNameTaken) => {
            return Err(Failure::Refused {
                code: "org_name_taken",
                reason: format!("an organization named {name} exists already"),
            });
        }
        Err(e) => return Err(opened.failure(e)),
    };
    print(&format!("{}\n", key.expose()))?;
    eprintln!(
        "created organization {}; store this key now, it is not shown again",
        org.name
    );
    Ok(())
}

fn list(config: Option<&Path>, create: bool) -> Result<(), Failure> {
    let opened = open_service(config, create)?;
    let orgs = opened.service.list_orgs().map_err(|e| opened.failure(e))?;
    let mut text = String::new();
    for org in orgs {
        text.push_str(&format!("{}\t{}\n", org.name, org.created_at));
    }
    print(&text)
}

fn rotate_key(config: Option<&Path>, create: bool, name: &str) -> Result<(), Failure> {
    let name = OrgName::parse(name).context("NAME")?;
    let opened = open_service(config, create)?;
    let key = opened
        .service
        .rotate_org_key(&name)
        .map_err(|e| opened.failure(e))?;
    print(&format!("{}\n", key.expose()))?;
    eprintln!(
        "new key for organization {name}; the previous keys no longer work; \
         store this key now, it is not shown again"
    );
    Ok(())
}

fn delete(
    config: Option<&Path>,
    create: bool,
    name: &str,
    with_aliases: bool,
) -> Result<(), Failure> {
    let name = OrgName::parse(name).context("NAME")?;
    let opened = open_service(config, create)?;
    match opened
        .service
        .delete_org(&name, with_aliases)
        .map_err(|e| opened.failure(e))?
    {
        OrgDeletion::HasAliases { aliases } => Err(Failure::Refused {
            code: "org_has_aliases",
            reason: format!(
                "organization {name} has {aliases} alias{}; nothing was deleted. Pass \
                 --with-aliases to delete them with it",
                if aliases == 1 { "" } else { "es" }
            ),
        }),
        OrgDeletion::Deleted { aliases } => {
            eprintln!(
                "deleted organization {name}, its API keys and {aliases} alias{}",
                if aliases == 1 { "" } else { "es" }
            );
            Ok(())
        }
    }
}
