//! The SQLite store's one-bulk-load-at-a-time lock, per state directory (the PostgreSQL store
//! takes an advisory lock of its own): an advisory lock on
//! `<state>/dotdigital-bulk.lock`, held for the run and released by the kernel when the
//! process ends however it ends, so a killed run never blocks the next one. Two loads at once
//! would both send every batch (nothing claims a batch before its import starts).

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use anyhow::{anyhow, Result};

pub const LOCK_FILE: &str = "dotdigital-bulk.lock";

/// Held until dropped (or the process ends).
pub struct LoadLock {
    _file: Option<File>,
}

impl LoadLock {
    /// Takes the lock of the directory holding `database`; an in-memory database (no state
    /// directory) is this process's alone and needs none.
    pub fn take(database: &Path) -> Result<LoadLock> {
        let Some(dir) = database.parent().filter(|d| database != Path::new(":memory:") && d.is_dir()) else {
            return Ok(LoadLock { _file: None });
        };
        let path = dir.join(LOCK_FILE);
        // Read-write and O_NONBLOCK: a FIFO planted at the path opens at once (a write-only
        // open would wait for a reader) and is refused by the check below.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .mode(0o600)
            .open(&path)
            .map_err(|e| anyhow!("opening the bulk lock {}: {}", path.display(), crate::errors::io_reason(&e)))?;
        let regular = file.metadata().map(|meta| meta.is_file()).unwrap_or(false);
        if !regular {
            return Err(anyhow!(
                "the bulk lock {} is not a regular file: remove it (a new one is made)",
                path.display()
            ));
        }
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            return Err(anyhow!(
                "another bulk load is running on the state directory {} (it holds {}): wait for it to finish",
                dir.display(),
                path.display()
            ));
        }
        Ok(LoadLock { _file: Some(file) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_load_on_one_directory_is_refused_until_the_first_ends() {
        let dir = std::env::temp_dir().join(format!("dd-bulk-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let database = dir.join("dotdigital-state.sqlite3");
        let first = LoadLock::take(&database).unwrap();
        let error = LoadLock::take(&database).err().expect("refused while the first holds it");
        assert!(error.to_string().contains("another bulk load is running"), "{error}");
        drop(first);
        assert!(LoadLock::take(&database).is_ok());
        assert!(LoadLock::take(Path::new(":memory:")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
