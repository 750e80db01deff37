//! Checks of the repository as a whole, run by `cargo test --workspace` (`tests/tidy.rs`): that
//! `docs/ARCHITECTURE.md`'s codemap names every source file in its own crate's section, and that
//! no file cites anything outside the repository. Nothing here is linked into aliaskit.
