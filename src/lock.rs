//! Advisory file locks that serialise builds of one environment, store entry
//! or base across processes. Waiting says what it waits for and gives up after
//! a timeout (`TEMPEST_ENV_LOCK_TIMEOUT` seconds, default 300).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::printer::Printer;

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    path: PathBuf,
}

impl LockGuard {
    /// Remove the lock file while it is held: a process waiting on it
    /// finds the path names another file, and starts over (see
    /// [`acquire`]).
    pub fn remove_file(&self) -> Result<()> {
        match fs_err::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => {
                Err(err).with_context(|| format!("failed to remove {}", self.path.display()))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("failed to open lock file {}", path.display()))
}

/// `TEMPEST_ENV_LOCK_TIMEOUT`: seconds, from 0 to a day; anything else
/// (negative, NaN, 1e300, not a number) is bad input rather than a panic.
fn timeout() -> Result<Duration> {
    let Some(raw) = std::env::var_os("TEMPEST_ENV_LOCK_TIMEOUT") else {
        return Ok(Duration::from_secs(300));
    };
    let text = raw.to_string_lossy();
    match text.trim().parse::<f64>() {
        Ok(seconds) if (0.0..=86_400.0).contains(&seconds) => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(crate::error::UserError::new(format!(
            "TEMPEST_ENV_LOCK_TIMEOUT=`{}` is not a number of seconds between 0 and 86400",
            text.escape_debug()
        ))
        .hint("unset TEMPEST_ENV_LOCK_TIMEOUT for the default of 300 s")
        .into()),
    }
}

/// Remove the lock file at `path` if nobody holds it (`gc`, for things that
/// no longer exist); whether it was removed.
pub fn remove_if_free(path: &Path) -> Result<bool> {
    if fs_err::symlink_metadata(path).is_err() {
        return Ok(false);
    }
    let Some(_guard) = try_acquire(path)? else {
        return Ok(false);
    };
    // Removed while locked: a process that opened it meanwhile finds, once
    // it gets the lock, that the path names another file, and starts over.
    match fs_err::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).with_context(|| format!("failed to remove {}", path.display())),
    }
}

/// Take the lock at `path`, waiting for another process to release it.
/// `what` names the thing being locked in the waiting message.
pub fn acquire(path: &Path, what: &str, printer: &Printer) -> Result<LockGuard> {
    let deadline = timeout()?;
    let file = open(path)?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) if same_file(&file, path) => {
                return Ok(LockGuard {
                    _file: file,
                    path: path.to_path_buf(),
                });
            }
            Ok(()) => {
                // `gc` removed the lock file while this process waited on it:
                // lock the file the path names now.
                return acquire(path, what, printer);
            }
            Err(TryLockError::WouldBlock) => {
                if !told {
                    printer.status(format!(
                        "waiting for {what} (locked by another tempest-env process: {})",
                        path.display()
                    ));
                    told = true;
                }
                if start.elapsed() >= deadline {
                    bail!(
                        "gave up waiting for {what} after {:.0?}: {} is still locked by another process",
                        deadline,
                        path.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("failed to lock {}", path.display()));
            }
        }
    }
}

/// Whether `file` is still the file `path` names: `gc` removes lock files
/// (under their lock), so a lock taken on a file that was removed meanwhile
/// locks nothing.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs_err::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

/// Take the lock only if nobody holds it.
pub fn try_acquire(path: &Path) -> Result<Option<LockGuard>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) if same_file(&file, path) => Ok(Some(LockGuard {
            _file: file,
            path: path.to_path_buf(),
        })),
        Ok(()) => try_acquire(path),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("failed to lock {}", path.display()))
        }
    }
}
