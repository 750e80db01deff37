//! `aliaskit`: the operator and developer command line. It never links actix and speaks no HTTP:
//! it calls the library crates directly.
//!
//! Exit status: 0 on success; 1 when the request was judged and refused (a token, a taken
//! organization name, an unknown organization, alias, webhook or OpenCAP user, an organization
//! that still has aliases), with `code: reason` on stderr; 2 for bad
//! usage, bad input or configuration, or a database that cannot be reached, with `error: …`.

mod alias;
mod audit;
mod database;
mod keys;
mod opencap;
mod org;
mod output;
mod settings;
mod token;
mod webhook;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aliaskit",
    version,
    about = "aliaskit operator and developer tool (no HTTP)"
)]
struct Cli {
    /// Settings file (TOML), read as the server reads it; `ALIASKIT__SECTION__KEY` environment
    /// variables override it. Used by every command but `token` and `keys generate`.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Create the SQLite database (and its key file) if there is none. Without it, `org`,
    /// `alias`, `webhook`, `opencap` and `keys` refuse a database that does not exist;
    /// `migrate` always creates one.
    #[arg(long, global = true)]
    create: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign, verify and decode access tokens (HS256/HS384/HS512 JWTs).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Create, list and delete organizations, and rotate their API keys.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// List, show, delete an organization's aliases; rotate their secret, revoke their tokens.
    #[command(subcommand)]
    Alias(alias::AliasCommand),
    /// The audit trail of every change, across organizations and OpenCAP, newest first.
    Audit(audit::AuditArgs),
    /// List an organization's webhooks; show the delivery attempts of one.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// List, show, unlock and delete OpenCAP users.
    #[command(subcommand)]
    Opencap(opencap::OpenCapCommand),
    /// Check the settings as the server loads them, and print them with secrets redacted.
    #[command(subcommand)]
    Config(settings::ConfigCommand),
    /// Apply the pending database migrations; says which, on stderr.
    Migrate,
    /// Generate, rotate, retire and list the master keys that encrypt secrets at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Copy the SQLite database, consistent and online (the server may run), into a new file
    /// PATH, mode 0600. PostgreSQL is backed up with pg_dump (docs/deployment.md). The master
    /// keys are not in it: back up the key file (or settings) apart.
    Backup {
        /// The new file.
        path: PathBuf,
    },
}

/// How a command failed, and so which exit status it gets.
#[derive(Debug)]
pub enum Failure {
    /// A token was refused, or could not be signed: `code: reason`, exit 1.
    Token(aliaskit_token::TokenError),
    /// The request was understood and refused (a name taken, an organization unknown):
    /// `code: reason`, exit 1.
    Refused {
        /// Stable machine-readable code, e.g. `org_name_taken`.
        code: &'static str,
        /// What a person reads.
        reason: String,
    },
    /// Bad usage or input, bad settings, an unreachable database, an I/O problem:
    /// `error: …`, exit 2.
    Usage(anyhow::Error),
}

impl From<aliaskit_token::TokenError> for Failure {
    fn from(e: aliaskit_token::TokenError) -> Self {
        Failure::Token(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Usage(e)
    }
}

/// Writes `text` to stdout: a closed pipe (`aliaskit token sign … | head -c0`) is an error
/// with exit status 2, not a panic as with `println!`.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config.as_deref();
    let result = match cli.command {
        Command::Token(cmd) => token::run(cmd),
        Command::Org(cmd) => org::run(config, cli.create, cmd),
        Command::Alias(cmd) => alias::run(config, cli.create, cmd),
        Command::Webhook(cmd) => webhook::run(config, cli.create, cmd),
        Command::Audit(args) => audit::run(config, cli.create, &args),
        Command::Opencap(cmd) => opencap::run(config, cli.create, cmd),
        Command::Config(cmd) => settings::run(config, cmd),
        Command::Migrate => database::migrate(config),
        Command::Keys(cmd) => keys::run(config, cli.create, cmd),
        Command::Backup { path } => database::backup(config, &path),
    };
    // No pool may be connecting while the exit handlers run (`aliaskit_store::Closer`).
    aliaskit_store::close_all();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Token(e)) => {
            eprintln!("{}: {e}", e.code());
            ExitCode::from(1)
        }
        Err(Failure::Refused { code, reason }) => {
            eprintln!("{code}: {reason}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
