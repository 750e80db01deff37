//! The `passcode_failures` table: the budget of wrong passcodes per alias, and per alias and
//! client address, held in the database so that it holds across every server
//! (docs/security.md, "Passcodes").
//!
//! Each row counts the wrong passcodes of a fixed window. A row whose count reaches its budget is
//! blocked: passcode attempts are refused until `blocked_until`, for one window the first time
//! and twice as long each time in a row after (at most [`MAX_BLOCK`]); a block a day behind
//! starts the doubling again.

use aliaskit_domain::AliasId;
use diesel::prelude::*;

use crate::error::insert_unless_taken;
use crate::schema::passcode_failures::dsl;
use crate::{DbConn, Result};

/// The longest block.
pub const MAX_BLOCK: i64 = 86_400;

/// A block this long past lets the next one start at one window again.
const STRIKES_FORGOTTEN_AFTER: i64 = 86_400;

/// The budgets, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Wrong passcodes per alias and window, from every address together.
    pub per_alias: i64,
    /// Wrong passcodes per alias, address and window.
    pub per_client: i64,
    /// The window, in seconds.
    pub window: i64,
}

/// Whose budget a block is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every address: the alias's whole budget is spent.
    Alias,
    /// This address only.
    Client,
}

/// A block: passcode attempts are refused until `until` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Whose budget.
    pub scope: Scope,
    /// Unix seconds.
    pub until: i64,
}

/// What recording a wrong passcode did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The attempt was counted; if it spent a budget, the block it began.
    Counted(Option<Block>),
    /// The attempt came during a block: refused, not counted.
    Blocked(Block),
}

/// One row.
#[derive(Debug, Clone, Copy)]
struct Row {
    window_start: i64,
    failures: i64,
    blocked_until: Option<i64>,
    strikes: i64,
}

impl Row {
    fn blocked(&self, now: i64) -> Option<i64> {
        self.blocked_until.filter(|&until| until > now)
    }

    /// Counts one wrong passcode at `now` against `budget`; returns the block it began.
    fn count(&mut self, now: i64, budget: i64, window: i64) -> Option<i64> {
        if now >= self.window_start.saturating_add(window) {
            self.window_start = now;
            self.failures = 0;
        }
        if self
            .blocked_until
            .is_some_and(|until| now >= until.saturating_add(STRIKES_FORGOTTEN_AFTER))
        {
            self.strikes = 0;
        }
        self.failures += 1;
        if self.failures < budget {
            return None;
        }
        self.strikes += 1;
        let doubling = u32::try_from(self.strikes - 1).unwrap_or(u32::MAX).min(20);
        let length = window.saturating_mul(1_i64 << doubling).min(MAX_BLOCK);
        let until = now.saturating_add(length);
        self.blocked_until = Some(until);
        // A new window begins when the block ends.
        self.window_start = until;
        self.failures = 0;
        Some(until)
    }
}

/// The row of `alias` and `client` (empty: alias-wide), created if missing, locked until the end
/// of the transaction on PostgreSQL (a SQLite `Database::transaction` holds the write lock).
fn locked(conn: &mut DbConn, alias: &str, client: &str, now: i64) -> Result<Row> {
    insert_unless_taken(conn, |c| {
        diesel::insert_into(dsl::passcode_failures)
            .values((
                dsl::alias_id.eq(alias),
                dsl::client.eq(client),
                dsl::window_start.eq(now),
                dsl::failures.eq(0_i64),
                dsl::strikes.eq(0_i64),
            ))
            .execute(c)
    })?;
    let select = (
        dsl::window_start,
        dsl::failures,
        dsl::blocked_until,
        dsl::strikes,
    );
    type Loaded = (i64, i64, Option<i64>, i64);
    let (window_start, failures, blocked_until, strikes): Loaded = match conn {
        DbConn::Postgres(pg) => dsl::passcode_failures
            .find((alias, client))
            .select(select)
            .for_update()
            .first(pg)?,
        DbConn::Sqlite(_) => dsl::passcode_failures
            .find((alias, client))
            .select(select)
            .first(conn)?,
    };
    Ok(Row {
        window_start,
        failures,
        blocked_until,
        strikes,
    })
}

fn store(conn: &mut DbConn, alias: &str, client: &str, row: &Row) -> Result<()> {
    diesel::update(dsl::passcode_failures.find((alias, client)))
        .set((
            dsl::window_start.eq(row.window_start),
            dsl::failures.eq(row.failures),
            dsl::blocked_until.eq(row.blocked_until),
            dsl::strikes.eq(row.strikes),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records one wrong passcode for `alias` from `client` at `now`. Call it inside
/// `Database::transaction`: the alias-wide row is locked first, so that concurrent failures on
/// any number of servers are counted one after the other and the alias's total per window never
/// exceeds `budget.per_alias`. An attempt during a block (the alias's, or this address's) is
/// refused and not counted; an address over its own budget spends none of the alias's.
pub fn record(
    conn: &mut DbConn,
    alias: &AliasId,
    client: Option<&str>,
    now: i64,
    budget: &Budget,
) -> Result<Verdict> {
    let alias = alias.as_str();
    let mut whole = locked(conn, alias, "", now)?;
    if let Some(until) = whole.blocked(now) {
        return Ok(Verdict::Blocked(Block {
            scope: Scope::Alias,
            until,
        }));
    }
    let mut mine = match client {
        Some(client) => {
            let row = locked(conn, alias, client, now)?;
            if let Some(until) = row.blocked(now) {
                return Ok(Verdict::Blocked(Block {
                    scope: Scope::Client,
                    until,
                }));
            }
            Some((client, row))
        }
        None => None,
    };
    let mut began = whole
        .count(now, budget.per_alias, budget.window)
        .map(|until| Block {
            scope: Scope::Alias,
            until,
        });
    store(conn, alias, "", &whole)?;
    if let Some((client, row)) = &mut mine {
        let client_block = row.count(now, budget.per_client, budget.window);
        if began.is_none() {
            began = client_block.map(|until| Block {
                scope: Scope::Client,
                until,
            });
        }
        store(conn, alias, client, row)?;
    }
    Ok(Verdict::Counted(began))
}

/// The block on passcode attempts for `alias` from `client` at `now`, if any: the alias's
/// first, then the address's.
pub fn block(
    conn: &mut DbConn,
    alias: &AliasId,
    client: Option<&str>,
    now: i64,
) -> Result<Option<Block>> {
    let rows: Vec<(String, Option<i64>)> = dsl::passcode_failures
        .filter(dsl::alias_id.eq(alias.as_str()))
        .filter(dsl::client.eq("").or(dsl::client.eq(client.unwrap_or(""))))
        .select((dsl::client, dsl::blocked_until))
        .load(conn)?;
    let blocked = |scope: Scope| {
        rows.iter()
            .filter(|(c, _)| c.is_empty() == (scope == Scope::Alias))
            .find_map(|(_, until)| until.filter(|&u| u > now))
            .map(|until| Block { scope, until })
    };
    Ok(blocked(Scope::Alias).or_else(|| blocked(Scope::Client)))
}
