//! `bulk-load --count N`: fills the configured database (the server's settings: `--config`,
//! `ALIASKIT__…`) with N aliases of an organization `bench-load`, each with a sealed
//! `jwt_secret`, for the size test of docs/performance.md. Inserts through the store's
//! repository, 1,000 per transaction.

use std::path::PathBuf;
use std::time::Instant;

use aliaskit_config::Settings;
use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, OrgName, Sensitive};
use aliaskit_store::{Database, repo};
use anyhow::{Context, anyhow};
use clap::Parser;

/// Fill a database with aliases.
#[derive(Debug, Parser)]
struct Args {
    /// How many aliases to add.
    #[arg(long)]
    count: u64,
    /// A TOML settings file (as for the server).
    #[arg(long)]
    config: Option<PathBuf>,
}

const BATCH: u64 = 1000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = Settings::load(args.config.as_deref())?;
    let keys = settings.keys()?;
    let db = Database::open(&settings.database.url, settings.pool_options(), keys.vault)?;
    db.migrate()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .try_into()?;
    db.check_keys(now)?;
    let name = OrgName::parse("bench-load")?;
    let org = db.transaction(|c| match repo::orgs::find_by_name(c, &name)? {
        Some(org) => Ok(org),
        None => repo::orgs::insert(c, &name, now),
    })?;
    let started = Instant::now();
    let mut done = 0;
    while done < args.count {
        let n = BATCH.min(args.count - done);
        db.transaction(|c| {
            for _ in 0..n {
                repo::aliases::insert(
                    c,
                    db.vault(),
                    &alias(org.id, now).map_err(|e| aliaskit_store::StoreError::Corrupt {
                        what: "random id",
                        reason: e.to_string(),
                    })?,
                )?;
            }
            Ok(())
        })
        .context("inserting a batch")?;
        done += n;
        if done % 100_000 == 0 {
            eprintln!(
                "{done} aliases, {:.0}/s",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "added {done} aliases to organization bench-load in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A random alias, like the server creates.
fn alias(org: OrgId, now: i64) -> anyhow::Result<Alias> {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).map_err(|e| anyhow!("{e}"))?;
    let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Alias {
        id: AliasId::parse(&id)?,
        org,
        kind: AliasKind::Conference,
        name: Some("bulk".into()),
        passcode: None,
        jwt_secret: Some(Sensitive::from(format!("bulk-secret-{id}"))),
        stream_key: None,
        expired_at: now + 86_400 * 365,
        inserted_at: now,
        updated_at: now,
        previous_secret: None,
        previous_secret_until: None,
        tokens_valid_after: None,
    })
}
