//! `find-cost --ids PATH`: what a point lookup of `aliases` costs through `DbConn`, and on the
//! backend's own connection, as `repo::aliases::find` runs it (`crates/store/src/connection.rs`,
//! `on_backend`).
//!
//! Runs on the configured database (the server's settings: `--config`, `ALIASKIT__…`), filled
//! first with `bulk-load --count N --ids PATH`. The same query — every column of one alias by
//! id, nothing decrypted — is timed both ways in alternating rounds, each round on ids not read
//! before, so both find the same share of pages cold; then `repo::aliases::find` itself, which
//! also opens the alias's sealed secret. Prints microseconds per lookup; docs/performance.md
//! records what it printed.

use std::path::PathBuf;
use std::time::Instant;

use aliaskit_config::Settings;
use aliaskit_domain::AliasId;
use aliaskit_store::schema::aliases;
use aliaskit_store::{Database, DbConn, repo};
use anyhow::{Context, bail};
use clap::Parser;
use diesel::prelude::*;

/// Time point lookups of aliases through `DbConn` and on the backend's own connection.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML settings file (as for the server).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The ids `bulk-load --ids` wrote, one per line.
    #[arg(long)]
    ids: PathBuf,
    /// Rounds; each times both ways once, on ids of its own.
    #[arg(long, default_value_t = 6)]
    rounds: usize,
}

/// Every column of `aliases`, in order.
type Row = (
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = Settings::load(args.config.as_deref())?;
    let keys = settings.keys()?;
    let db = Database::open(&settings.database.url, settings.pool_options(), keys.vault)?;
    let text = std::fs::read_to_string(&args.ids)
        .with_context(|| format!("reading {}", args.ids.display()))?;
    let ids = text
        .lines()
        .map(AliasId::parse)
        .collect::<Result<Vec<_>, _>>()
        .context("an id that is not an alias id")?;
    // Each round reads two slices of ids of its own, one per way; `repo::aliases::find` reads
    // the slice after them.
    let slices = 2 * args.rounds + 1;
    let per = ids.len() / slices;
    if per == 0 {
        bail!("{} ids are too few for {} rounds", ids.len(), args.rounds);
    }
    let mut conn = db.conn()?;
    let conn: &mut DbConn = &mut conn;
    let mut slice = ids.chunks(per);
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..args.rounds {
        // Which way goes first alternates, so neither always finds what the other warmed.
        for way in [round % 2, 1 - round % 2] {
            let ids = slice.next().context("too few ids")?;
            let started = Instant::now();
            for id in ids {
                let row = if way == 0 {
                    query(id).get_result::<Row>(conn)
                } else {
                    match &mut *conn {
                        DbConn::Postgres(c) => query(id).get_result::<Row>(c),
                        DbConn::Sqlite(c) => query(id).get_result::<Row>(c),
                    }
                };
                row.with_context(|| format!("alias {id}"))?;
            }
            times[way].push(per_lookup(started, ids.len()));
        }
        println!(
            "round {}: through DbConn {:.2} µs, on the backend's connection {:.2} µs",
            round + 1,
            times[0][round],
            times[1][round]
        );
    }
    let ids = slice.next().context("too few ids")?;
    let vault = db.vault().clone();
    let started = Instant::now();
    for id in ids {
        repo::aliases::find(conn, &vault, id)?.with_context(|| format!("alias {id} is gone"))?;
    }
    let found = per_lookup(started, ids.len());
    let [through, on] = times.map(median);
    println!(
        "medians: through DbConn {through:.2} µs, on the backend's connection {on:.2} µs ({:.2}x); repo::aliases::find, secret opened: {found:.2} µs",
        on / through
    );
    Ok(())
}

/// Every column of the alias `id`: the query `repo::aliases::find` runs.
fn query(id: &AliasId) -> diesel::dsl::Find<aliases::table, &str> {
    aliases::table.find(id.as_str())
}

fn per_lookup(started: Instant, n: usize) -> f64 {
    started.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
