//! Repositories: one module per table, functions over `&mut DbConn` so callers compose
//! transactions (`db.transaction(|c| { … })`).

pub mod aliases;
pub mod api_keys;
pub mod orgs;
