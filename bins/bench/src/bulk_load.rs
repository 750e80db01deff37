//! `bulk-load --count N`: fills the configured database (the server's settings: `--config`,
//! `ALIASKIT__…`) with N aliases of an organization `bench-load`, each with a sealed
//! `jwt_secret`, for the size test of docs/performance.md. Inserts through the store's
//! repository, 1,000 per transaction. With `--ids PATH` it also writes each alias's id, one
//! per line; with `--tokens PATH`, each alias's id and an access token for it signed with its
//! secret (`aliaskit_bench::token_for`), for the many-aliases load of `scripts/bench-http.sh`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use aliaskit_bench::{add_aliases, token_for};
use aliaskit_config::Settings;
use aliaskit_domain::OrgName;
use aliaskit_store::{Database, repo};
use aliaskit_token::Tokens;
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
    /// Write each alias added here as its id, a space and an HS256 access token for it (valid
    /// for `--token-lifetime` seconds), one per line, in the order added.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// How long the tokens of `--tokens` are valid, in seconds.
    #[arg(long, default_value_t = 3 * 3600)]
    token_lifetime: u64,
}

/// A file to write, buffered, if `path` names one.
fn create(path: Option<&PathBuf>) -> anyhow::Result<Option<std::io::BufWriter<std::fs::File>>> {
    path.map(|path| {
        std::fs::File::create(path)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("creating {}", path.display()))
    })
    .transpose()
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
    let mut ids = create(args.ids.as_ref())?;
    let mut tokens_out = create(args.tokens.as_ref())?;
    let signer = Tokens::new(aliaskit_token::Policy::default());
    let mut done = 0;
    while done < args.count {
        let n = BATCH.min(args.count - done);
        let batch = add_aliases(&db, org.id, now, n).context("inserting a batch")?;
        if let Some(out) = ids.as_mut() {
            for a in &batch {
                writeln!(out, "{}", a.id)?;
            }
        }
        if let Some(out) = tokens_out.as_mut() {
            for a in &batch {
                writeln!(
                    out,
                    "{} {}",
                    a.id,
                    token_for(&signer, &a.id, args.token_lifetime)?
                )?;
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
    for mut out in [ids, tokens_out].into_iter().flatten() {
        out.flush()?;
    }
    eprintln!(
        "added {done} aliases to organization bench-load in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
