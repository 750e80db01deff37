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
//!
//! With `--batch K` (PostgreSQL), it times instead the lookup of K aliases at once, the query
//! `repo::aliases::find_many` runs (`id = ANY($1)`), with the K ids as they are (as it sent
//! them before) and padded as it sends them now (`repo::aliases::planned_ids`), the same
//! alternating way. Besides the time per batch it prints the CPU per batch of this thread and,
//! when the database runs on this machine and its processes can be read (`/proc`), of the
//! database's process serving each way's connection, and how PostgreSQL planned each way's
//! statement (`pg_prepared_statements`).

use std::path::PathBuf;
use std::time::Instant;

use aliaskit_config::Settings;
use aliaskit_domain::AliasId;
use aliaskit_store::schema::aliases;
use aliaskit_store::{Database, DbConn, repo};
use anyhow::{Context, bail};
use clap::Parser;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

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
    /// Time lookups of this many aliases at once (PostgreSQL only).
    #[arg(long)]
    batch: Option<usize>,
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
    if let Some(batch) = args.batch {
        return batches(&db, &ids, per, args.rounds, batch);
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

/// Times lookups of `batch` aliases at once: `id = ANY($1)` with the ids as they are, against
/// the ids as `repo::aliases::find_many` sends them (`repo::aliases::planned_ids`). Each way
/// has a connection of its own: the SQL is the same, and PostgreSQL decides between custom and
/// generic plans per prepared statement, which is per connection.
fn batches(
    db: &Database,
    ids: &[AliasId],
    per: usize,
    rounds: usize,
    batch: usize,
) -> anyhow::Result<()> {
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut conns = [db.conn()?, db.conn()?];
    // The process serving each connection, whose CPU time the kernel keeps in its `stat`.
    let mut backends = Vec::new();
    for conn in &mut conns {
        let DbConn::Postgres(pg) = &mut **conn else {
            bail!("--batch measures PostgreSQL's planning; this database is SQLite");
        };
        let pid: i32 = diesel::select(sql::<Integer>("pg_backend_pid()")).get_result(pg)?;
        backends.push(format!("/proc/{pid}/stat"));
    }
    let pad = repo::aliases::PLANNED_ARRAY_LENGTH;
    let mut slice = ids.chunks(per);
    // Per way: [wall, this thread's CPU, the database process's CPU], µs per batch.
    let mut times: [[Vec<f64>; 3]; 2] = Default::default();
    for round in 0..rounds {
        for way in [round % 2, 1 - round % 2] {
            let (conn, backend): (&mut DbConn, _) = (&mut conns[way], &backends[way]);
            let ids: Vec<&AliasId> = slice.next().context("too few ids")?.iter().collect();
            let batches = ids.chunks(batch);
            let n = batches.len();
            let (cpu0, db0) = (cpu_ticks("/proc/thread-self/stat"), cpu_ticks(backend));
            let started = Instant::now();
            for ids in batches {
                let sent: Vec<&str> = if way == 0 {
                    ids.iter().map(|id| id.as_str()).collect()
                } else {
                    repo::aliases::planned_ids(ids)
                };
                let found = aliases::table
                    .filter(aliases::id.eq_any(sent))
                    .load::<Row>(conn)?;
                if found.len() != ids.len() {
                    bail!("{} of {} aliases found", found.len(), ids.len());
                }
            }
            let spent = [
                Some(started.elapsed().as_secs_f64() * 1e6),
                ticks_since(cpu0, "/proc/thread-self/stat"),
                ticks_since(db0, backend),
            ];
            for (times, spent) in times[way].iter_mut().zip(spent) {
                times.push(spent.map_or(f64::NAN, |us| us / n as f64));
            }
        }
        let [sent, padded] = &times;
        println!(
            "round {}: µs per batch of {batch} (wall / this thread's CPU / the database's CPU): \
             ids as sent {}, padded to {pad} {}",
            round + 1,
            shown(sent, round),
            shown(padded, round),
        );
    }
    // How PostgreSQL planned each way's statement.
    let mut plans = Vec::new();
    for conn in &mut conns {
        let conn: &mut DbConn = conn;
        plans.push(
            diesel::select(sql::<Text>(
                "(SELECT coalesce(string_agg(generic_plans || ' generic, ' || custom_plans \
                 || ' custom', '; '), 'none') FROM pg_prepared_statements \
                 WHERE statement LIKE '%= ANY(%' AND statement NOT LIKE '%pg_prepared%')",
            ))
            .get_result::<String>(conn)?,
        );
    }
    let [sent, padded] = times.map(|way| way.map(median));
    println!(
        "medians, µs per batch of {batch}: ids as sent {:.1} wall, {:.1} CPU, {:.1} database CPU \
         (plans: {}); padded to {pad} {:.1} wall, {:.1} CPU, {:.1} database CPU \
         (plans: {})",
        sent[0], sent[1], sent[2], plans[0], padded[0], padded[1], padded[2], plans[1],
    );
    Ok(())
}

/// A process's or thread's CPU time so far (user + system, in clock ticks) from its `stat`
/// file; `None` where it cannot be read (another machine's database, another user's process).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// µs of CPU since `before` (ticks of 10 ms, Linux's `USER_HZ` of 100).
fn ticks_since(before: Option<u64>, stat: &str) -> Option<f64> {
    Some((cpu_ticks(stat)?.checked_sub(before?)?) as f64 * 10_000.0)
}

fn shown(times: &[Vec<f64>; 3], round: usize) -> String {
    let [wall, cpu, db] = times.each_ref().map(|t| t[round]);
    format!("{wall:.1} / {cpu:.1} / {db:.1}")
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
