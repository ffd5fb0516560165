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

/// Take the lock at `path`, waiting for another process to release it.
/// `what` names the thing being locked in the waiting message.
pub fn acquire(path: &Path, what: &str, printer: &Printer) -> Result<LockGuard> {
    let deadline = timeout()?;
    let file = open(path)?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(LockGuard {
                    _file: file,
                    path: path.to_path_buf(),
                });
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

/// Take the lock only if nobody holds it.
pub fn try_acquire(path: &Path) -> Result<Option<LockGuard>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard {
            _file: file,
            path: path.to_path_buf(),
        })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("failed to lock {}", path.display()))
        }
    }
}
