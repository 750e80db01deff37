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
use crate::{DbConn, Result, StoreError};

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
    /// The alias no longer exists (deleted meanwhile, by this server or another).
    Gone,
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

/// The row of `alias` and `client` (empty: alias-wide), if any, locked until the end of the
/// transaction on PostgreSQL (a SQLite `Database::transaction` holds the write lock).
fn select_locked(conn: &mut DbConn, alias: &str, client: &str) -> Result<Option<Row>> {
    let select = (
        dsl::window_start,
        dsl::failures,
        dsl::blocked_until,
        dsl::strikes,
    );
    type Loaded = (i64, i64, Option<i64>, i64);
    let loaded: Option<Loaded> = match conn {
        DbConn::Postgres(pg) => dsl::passcode_failures
            .find((alias, client))
            .select(select)
            .for_update()
            .get_result(pg)
            .optional()?,
        DbConn::Sqlite(_) => dsl::passcode_failures
            .find((alias, client))
            .select(select)
            .get_result(conn)
            .optional()?,
    };
    Ok(
        loaded.map(|(window_start, failures, blocked_until, strikes)| Row {
            window_start,
            failures,
            blocked_until,
            strikes,
        }),
    )
}

/// [`select_locked`], creating the row first when it is missing (a concurrent creator's row
/// is taken as it is).
fn locked(conn: &mut DbConn, alias: &str, client: &str, now: i64) -> Result<Row> {
    if let Some(row) = select_locked(conn, alias, client)? {
        return Ok(row);
    }
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
    select_locked(conn, alias, client)?.ok_or(StoreError::Corrupt {
        what: "passcode failure count",
        reason: format!("the row of alias {alias} vanished inside its transaction"),
    })
}

/// Whether the alias still exists, holding a key-share lock on its row on PostgreSQL until the
/// end of the transaction: the rows below are then locked in the order a delete of the alias
/// locks them (the alias, then its `passcode_failures` rows through the cascade), so the two
/// cannot deadlock, and an alias deleted meanwhile is seen as gone, not as a foreign-key error.
fn alias_held(conn: &mut DbConn, alias: &str) -> Result<bool> {
    use crate::schema::aliases::dsl as aliases;
    let found: Option<String> = match conn {
        DbConn::Postgres(pg) => aliases::aliases
            .find(alias)
            .select(aliases::id)
            .for_key_share()
            .get_result(pg)
            .optional()?,
        DbConn::Sqlite(_) => aliases::aliases
            .find(alias)
            .select(aliases::id)
            .get_result(conn)
            .optional()?,
    };
    Ok(found.is_some())
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
    if !alias_held(conn, alias)? {
        return Ok(Verdict::Gone);
    }
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

/// What this database knows of the alias's passcode failures at `now` (its alias-wide row):
/// until when the alias is watched — a wrong passcode in the current window, or a block — and
/// the block's end, if it is blocked.
pub fn state(conn: &mut DbConn, alias: &AliasId, now: i64, window: i64) -> Result<State> {
    let row: Option<(i64, i64, Option<i64>)> = dsl::passcode_failures
        .find((alias.as_str(), ""))
        .select((dsl::window_start, dsl::failures, dsl::blocked_until))
        .get_result(conn)
        .optional()?;
    let Some((window_start, failures, blocked_until)) = row else {
        return Ok(State::default());
    };
    let blocked_until = blocked_until.filter(|&until| until > now);
    let window_end = window_start.saturating_add(window);
    let in_window = (failures > 0 && window_end > now).then_some(window_end);
    Ok(State {
        watched_until: in_window.max(blocked_until),
        blocked_until,
    })
}

/// See [`state`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    /// Until when (Unix seconds) a right passcode must ask the database; `None`: not watched.
    pub watched_until: Option<i64>,
    /// The end of the alias's block, if it is blocked now.
    pub blocked_until: Option<i64>,
}

/// Deletes the rows of every alias whose window began before `before` and whose block, if any,
/// ended before it: nothing is counted in them any more, and a block that long ago no longer
/// doubles the next. Returns how many.
pub fn purge_stale(conn: &mut DbConn, before: i64) -> Result<usize> {
    Ok(diesel::delete(
        dsl::passcode_failures
            .filter(dsl::window_start.lt(before))
            .filter(
                dsl::blocked_until
                    .is_null()
                    .or(dsl::blocked_until.lt(before)),
            ),
    )
    .execute(conn)?)
}
