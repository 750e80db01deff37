//! Files only their owner may read: the SQLite database, its backups, the master key file.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Creates `path`, which must not exist, for writing, readable and writable by its owner only
/// (mode 0600 on Unix) from the first byte: it will hold argon2 hashes, sealed secrets or
/// master keys.
pub fn create_new_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
