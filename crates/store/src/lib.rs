//! Persistence for aliaskit: one code path for SQLite (the embedded default) and PostgreSQL.
//!
//! * [`DbConn`] is a `#[derive(diesel::MultiConnection)]` enum over both backends; every
//!   repository function in [`repo`] takes `&mut DbConn`, so callers compose transactions.
//! * [`Database`] is an r2d2 pool of them. SQLite connections get WAL, `busy_timeout`,
//!   `synchronous=NORMAL` and `foreign_keys=ON`; SQLite and libpq are built from bundled
//!   sources, so a fresh machine needs no system library.
//! * Migrations live in `migrations/{sqlite,postgres}` at the workspace root and are embedded.
//! * Row structs stay private to this crate and convert into domain types; secrets (alias
//!   passcodes, `jwt_secret`s, stream keys, the server's signing keys) are sealed with AES-256-GCM
//!   by the [`Vault`] on the way in and opened on the way out.
//!
//! Every call blocks: run it on a blocking pool, never on an async worker.
//!
//! ```
//! use aliaskit_domain::OrgName;
//! use aliaskit_store::{Database, MasterKey, PoolOptions, Vault, repo};
//!
//! let dir = tempfile::tempdir()?;
//! let vault = Vault::new(MasterKey::generate()?, Vec::new());
//! let db = Database::open(dir.path().join("a.db").to_str().unwrap(), PoolOptions::default(), vault)?;
//! db.migrate()?;
//! let name = OrgName::parse("acme")?;
//! let org = db.transaction(|c| repo::orgs::insert(c, &name, 1_700_000_000))?;
//! assert_eq!(org.name.as_str(), "acme");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backup;
mod connection;
mod error;
mod keys;
pub mod listen;
mod migrate;
mod pool;
mod private_file;
pub mod repo;
mod rows;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod vault;

pub use connection::{Backend, DbConn, PoolOptions, Target, redact_url};
pub use error::{Result, StoreError};
pub use keys::{HOLDER_TIMEOUT, Holder, KEY_REFRESH, KeyLine, KeyReport, LiveServer};
pub use pool::{Closer, Database, Manager, PooledConn, close_all};
pub use private_file::create_new_private;
pub use vault::{HeldKey, KeyOrigin, KeySource, MasterKey, Vault, VaultError};
