//! `bulk-load --count N`: fills the configured database (the server's settings: `--config`,
//! `ALIASKIT__…`) with N aliases of an organization `bench-load`, each with a sealed
//! `jwt_secret`, for the size test of docs/performance.md. Inserts through the store's
//! repository, 1,000 per transaction. With `--ids PATH` it also writes each alias's id, one
//! per line, for the many-aliases load of `scripts/bench-http.sh` (each alias's secret is
//! `bulk-secret-<id>`, so the harness signs a token per alias).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use aliaskit_bench::add_aliases;
use aliaskit_config::Settings;
use aliaskit_domain::OrgName;
use aliaskit_store::{Database, repo};
use anyhow::Context;
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
    /// Write the ids of the aliases added here, one per line, in the order added.
    #[arg(long)]
    ids: Option<PathBuf>,
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
    let mut ids = match &args.ids {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let mut done = 0;
    while done < args.count {
        let n = BATCH.min(args.count - done);
        let batch = add_aliases(&db, org.id, now, n).context("inserting a batch")?;
        if let Some(out) = ids.as_mut() {
            for a in &batch {
                writeln!(out, "{}", a.id)?;
            }
        }
        done += n;
        if done % 100_000 == 0 {
            eprintln!(
                "{done} aliases, {:.0}/s",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(mut out) = ids {
        out.flush()?;
    }
    eprintln!(
        "added {done} aliases to organization bench-load in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
