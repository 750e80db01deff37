//! `cache-memory --count N`: what one cached alias costs the server in memory.
//!
//! Fills a fresh SQLite database (in a temporary directory, removed at the end) with N aliases
//! as `bulk-load` makes them, then retrieves each once through the service with an HS256 token
//! signed with its secret — what the many-aliases load of `scripts/bench-http.sh` does — so
//! every alias is cached with its HMAC key ready. Prints the growth of the process's resident
//! memory over the last three quarters of the retrieves, per alias (the first quarter warms
//! the SQLite page cache and the allocator), and checks that every alias is still cached.
//! docs/performance.md records what it printed.

use std::path::PathBuf;
use std::time::Duration;

use aliaskit_bench::{add_aliases, token_for};
use aliaskit_domain::OrgName;
use aliaskit_service::{Credentials, Service, ServiceConfig};
use aliaskit_store::{Database, MasterKey, PoolOptions, Vault, repo};
use aliaskit_token::Tokens;
use anyhow::{Context, bail};
use clap::Parser;

/// Measure the memory of the alias cache.
#[derive(Debug, Parser)]
struct Args {
    /// How many aliases to cache.
    #[arg(long, default_value_t = 200_000)]
    count: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.count < 4 {
        bail!("--count must be at least 4");
    }
    let dir = TempDir::new()?;
    let vault = Vault::new(MasterKey::generate()?, Vec::new());
    let url = dir.0.join("aliaskit.db");
    let db = Database::open(
        url.to_str().context("a temporary path that is not UTF-8")?,
        PoolOptions::default(),
        vault,
    )?;
    db.migrate()?;
    let now: i64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .try_into()?;
    db.check_keys(now)?;
    let name = OrgName::parse("bench-cache")?;
    let org = db.transaction(|c| repo::orgs::insert(c, &name, now))?;
    let mut ids = Vec::with_capacity(args.count);
    while ids.len() < args.count {
        let n = 1000.min(args.count - ids.len());
        let batch = add_aliases(&db, org.id, now, u64::try_from(n)?)?;
        ids.extend(batch.into_iter().map(|a| a.id));
    }

    // Entries outlive the run, and there is room for every alias: the cache bounds each of its
    // shards by its share of `cache_max_entries`, and keys do not spread over the shards
    // exactly evenly, so the room asked for is a sixteenth more than the aliases.
    let service = Service::new(
        db,
        ServiceConfig {
            cache_ttl: Duration::from_secs(86_400),
            cache_listen_ttl: Duration::from_secs(86_400),
            cache_max_entries: args.count + args.count / 16,
            ..ServiceConfig::default()
        },
    );
    let tokens = Tokens::new(aliaskit_token::Policy::default());
    let retrieve = |id: &aliaskit_domain::AliasId| -> anyhow::Result<()> {
        let token = token_for(&tokens, id, 3600)?;
        let credentials = Credentials {
            bearer: Some(&token),
            ..Credentials::default()
        };
        service.retrieve(id, credentials)?;
        Ok(())
    };
    let quarter = args.count / 4;
    for id in &ids[..quarter] {
        retrieve(id)?;
    }
    let before = resident_bytes()?;
    for id in &ids[quarter..] {
        retrieve(id)?;
    }
    let after = resident_bytes()?;
    let cached = ids
        .iter()
        .filter(|id| {
            service
                .retrieve_cached(id, Credentials::default())
                .is_some()
        })
        .count();
    let measured = args.count - quarter;
    println!(
        "{} aliases cached of {}; resident memory {:.1} MiB after; {} bytes per cached alias",
        cached,
        args.count,
        after as f64 / (1 << 20) as f64,
        after.saturating_sub(before) / measured as u64,
    );
    if cached != args.count {
        bail!("the cache dropped entries: the figure above is not per cached alias");
    }
    Ok(())
}

/// The process's resident memory, from `/proc/self/status`.
fn resident_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS in /proc/self/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("aliaskit-cache-memory-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
