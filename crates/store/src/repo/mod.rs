//! Repositories: one module per table (and `sealed`, the sealed columns of every table),
//! functions over `&mut DbConn` so callers compose transactions (`db.transaction(|c| { … })`).

pub mod aliases;
pub mod api_keys;
pub mod cap_addresses;
pub mod cap_users;
pub mod jobs;
pub mod key_holders;
pub mod master_keys;
pub mod orgs;
pub mod passcode_failures;
pub(crate) mod sealed;
pub mod signing_keys;
