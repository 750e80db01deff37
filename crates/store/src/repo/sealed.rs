//! Every column that holds a sealed value, in one list, and its queries: counting the values
//! under a master key, reading and replacing them for a re-encryption (`Database::reseal_all`,
//! in `keys.rs`). A new secret column goes here and in `rows.rs`.

use diesel::prelude::*;

use crate::{DbConn, Result};

/// A sealed column: its table, the column naming the row (part of the associated data), and
/// the column itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sealed {
    AliasPasscode,
    AliasJwtSecret,
    AliasStreamKey,
    AliasPreviousSecret,
    SigningKeySecret,
    WebhookSecret,
    WebhookPreviousSecret,
}

/// `v1.<kid>.%`: the values sealed under `kid` (key ids are hex, so nothing needs escaping).
fn under(kid: &str) -> String {
    format!("v1.{kid}.%")
}

/// The operations on one column, written once for every column.
macro_rules! column {
    ($module:ident, $table:ident, $row:ident, $column:ident, $($nullable:ident)?) => {
        mod $module {
            use super::*;
            use crate::schema::$table::dsl::{$column as value, $row as row, $table as table};

            pub(super) fn count(conn: &mut DbConn, kid: &str) -> QueryResult<i64> {
                table.filter(value.like(under(kid))).count().get_result(conn)
            }

            pub(super) fn none_under(conn: &mut DbConn, kids: &[String]) -> QueryResult<i64> {
                let mut query = table.filter(value.is_not_null()).into_boxed();
                for kid in kids {
                    query = query.filter(value.not_like(under(kid)));
                }
                query.count().get_result(conn)
            }

            pub(super) fn not_under(
                conn: &mut DbConn,
                kid: &str,
                after: &str,
                limit: i64,
            ) -> QueryResult<Vec<(String, Option<String>)>> {
                table
                    .filter(value.is_not_null())
                    .filter(value.not_like(under(kid)))
                    .filter(row.gt(after))
                    .order(row.asc())
                    .limit(limit)
                    .select((row, value$(.$nullable())?))
                    .load(conn)
            }

            pub(super) fn replace(
                conn: &mut DbConn,
                id: &str,
                old: &str,
                new: &str,
            ) -> QueryResult<usize> {
                diesel::update(table.filter(row.eq(id)).filter(value.eq(old)))
                    .set(value.eq(new))
                    .execute(conn)
            }
        }
    };
}

column!(alias_passcode, aliases, id, passcode,);
column!(alias_jwt_secret, aliases, id, jwt_secret,);
column!(alias_stream_key, aliases, id, stream_key,);
column!(alias_previous_secret, aliases, id, previous_secret,);
// NOT NULL: read as nullable, as the others.
column!(signing_key_secret, signing_keys, kid, secret, nullable);
column!(webhook_secret, webhooks, id, secret, nullable);
column!(webhook_previous_secret, webhooks, id, previous_secret,);

/// Calls `$f` of the column's module.
macro_rules! dispatch {
    ($self:expr, $f:ident($($arg:expr),*)) => {
        match $self {
            Sealed::AliasPasscode => alias_passcode::$f($($arg),*),
            Sealed::AliasJwtSecret => alias_jwt_secret::$f($($arg),*),
            Sealed::AliasStreamKey => alias_stream_key::$f($($arg),*),
            Sealed::AliasPreviousSecret => alias_previous_secret::$f($($arg),*),
            Sealed::SigningKeySecret => signing_key_secret::$f($($arg),*),
            Sealed::WebhookSecret => webhook_secret::$f($($arg),*),
            Sealed::WebhookPreviousSecret => webhook_previous_secret::$f($($arg),*),
        }
    };
}

impl Sealed {
    /// Every sealed column.
    pub(crate) const ALL: [Sealed; 7] = [
        Sealed::AliasPasscode,
        Sealed::AliasJwtSecret,
        Sealed::AliasStreamKey,
        Sealed::AliasPreviousSecret,
        Sealed::SigningKeySecret,
        Sealed::WebhookSecret,
        Sealed::WebhookPreviousSecret,
    ];

    /// The associated data of the value in row `id`: `table/row/column`, as `rows.rs` seals.
    pub(crate) fn place(self, id: &str) -> String {
        let (table, column) = match self {
            Sealed::AliasPasscode => ("aliases", "passcode"),
            Sealed::AliasJwtSecret => ("aliases", "jwt_secret"),
            Sealed::AliasStreamKey => ("aliases", "stream_key"),
            Sealed::AliasPreviousSecret => ("aliases", "previous_secret"),
            Sealed::SigningKeySecret => ("signing_keys", "secret"),
            Sealed::WebhookSecret => ("webhooks", "secret"),
            Sealed::WebhookPreviousSecret => ("webhooks", "previous_secret"),
        };
        crate::rows::place(table, id, column)
    }

    /// How many values of this column are sealed under `kid`.
    pub(crate) fn count(self, conn: &mut DbConn, kid: &str) -> Result<i64> {
        Ok(dispatch!(self, count(conn, kid))?)
    }

    /// How many values of this column are sealed under none of `kids` (one statement, so
    /// values written meanwhile do not skew it).
    pub(crate) fn none_under(self, conn: &mut DbConn, kids: &[String]) -> Result<i64> {
        Ok(dispatch!(self, none_under(conn, kids))?)
    }

    /// Up to `limit` `(row, value)` pairs whose value is not sealed under `kid`, by row, after
    /// row `after`.
    pub(crate) fn not_under(
        self,
        conn: &mut DbConn,
        kid: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        Ok(dispatch!(self, not_under(conn, kid, after, limit))?
            .into_iter()
            .filter_map(|(id, value)| value.map(|v| (id, v)))
            .collect())
    }

    /// Replaces the value of row `id` with `new` if it is still `old` (a compare-and-set: a
    /// value changed since it was read is left as its writer left it). Whether it replaced.
    pub(crate) fn replace(self, conn: &mut DbConn, id: &str, old: &str, new: &str) -> Result<bool> {
        Ok(dispatch!(self, replace(conn, id, old, new))? > 0)
    }
}

/// How many values, in every sealed column, are sealed under `kid`.
pub(crate) fn count_under(conn: &mut DbConn, kid: &str) -> Result<i64> {
    Sealed::ALL
        .iter()
        .try_fold(0, |n, column| Ok(n + column.count(conn, kid)?))
}

/// How many values, in every sealed column, are sealed under none of `kids`.
pub(crate) fn count_none_under(conn: &mut DbConn, kids: &[String]) -> Result<i64> {
    Sealed::ALL
        .iter()
        .try_fold(0, |n, column| Ok(n + column.none_under(conn, kids)?))
}
