//! Leases on shared directories (store entries, bases, a search's scratch
//! directory): a shared `flock` on the directory itself, held for the life
//! of the process that uses it. `gc` and `base remove` take the exclusive
//! lock, without waiting, before they move a directory aside, so a live
//! lease makes them leave it alone; a process that dies, SIGKILL included,
//! drops its leases with it.
//!
//! A lease is taken on what the path names *now*: if the directory was
//! moved aside between the open and the lock, the lease is refused and the
//! caller sees the thing as missing.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// A lock on a directory; released when dropped, unless [`Lease::keep`]
/// makes it last as long as the process.
#[derive(Debug)]
pub struct Lease {
    _lock: Flock<File>,
    dev: u64,
    ino: u64,
}

/// Leases held until the process exits.
static HELD: Mutex<Vec<Lease>> = Mutex::new(Vec::new());

impl Lease {
    /// Hold this lease until the process exits.
    pub fn keep(self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if !held.iter().any(|l| l.dev == self.dev && l.ino == self.ino) {
            held.push(self);
        }
    }
}

/// Whether this process already keeps a lease on `dir`.
pub fn kept(dir: &Path) -> bool {
    let Ok(meta) = fs_err::metadata(dir) else {
        return false;
    };
    HELD.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|l| l.dev == meta.dev() && l.ino == meta.ino())
}

fn open(dir: &Path) -> Result<Option<File>> {
    match File::open(dir) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to open {}", dir.display())),
    }
}

fn lock(dir: &Path, file: File, arg: FlockArg) -> Result<Option<Lease>> {
    let meta = file
        .metadata()
        .with_context(|| format!("failed to read {}", dir.display()))?;
    let lock = match Flock::lock(file, arg) {
        Ok(lock) => lock,
        Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
        Err((_, errno)) => {
            return Err(std::io::Error::from(errno))
                .with_context(|| format!("failed to lock {}", dir.display()));
        }
    };
    // Still the directory the path names (not moved aside meanwhile)?
    let same =
        fs_err::metadata(dir).is_ok_and(|now| now.dev() == meta.dev() && now.ino() == meta.ino());
    Ok(same.then_some(Lease {
        _lock: lock,
        dev: meta.dev(),
        ino: meta.ino(),
    }))
}

/// A shared lease on `dir`, waiting while `gc` or `remove` holds it
/// exclusively; `None` when `dir` does not exist (or was just moved aside).
pub fn shared(dir: &Path) -> Result<Option<Lease>> {
    match open(dir)? {
        Some(file) => lock(dir, file, FlockArg::LockShared),
        None => Ok(None),
    }
}

/// The exclusive lock on `dir`, if no process holds a lease on it (`None`
/// too when it does not exist).
pub fn exclusive(dir: &Path) -> Result<Option<Lease>> {
    match open(dir)? {
        Some(file) => lock(dir, file, FlockArg::LockExclusiveNonblock),
        None => Ok(None),
    }
}

/// A fresh directory under `parent` (made if missing), named `prefix` and a
/// random suffix, leased for as long as it lives and removed (still leased)
/// when dropped.
/// `gc` takes any unleased directory of that name for a dead process's
/// leftover, and may take this one in the instant between making and
/// leasing it; then it is made again under a new name.
#[derive(Debug)]
pub struct ScratchDir {
    // Declared first so it is removed before the lease is dropped.
    dir: tempfile::TempDir,
    _lease: Lease,
}

impl ScratchDir {
    pub fn new(parent: &Path, prefix: &str) -> Result<Self> {
        const ATTEMPTS: usize = 100;
        fs_err::create_dir_all(parent)?;
        for _ in 0..ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in(parent)
                .with_context(|| format!("failed to make a scratch dir in {}", parent.display()))?;
            if let Some(lease) = shared(dir.path())? {
                return Ok(Self { dir, _lease: lease });
            }
        }
        anyhow::bail!(
            "failed to keep a scratch dir in {}: removed {ATTEMPTS} times as soon as it was made",
            parent.display()
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The processes holding a lock on `dir`, from `/proc/locks` (empty where
/// that cannot be read).
pub fn holders(dir: &Path) -> Vec<u32> {
    let Ok(meta) = fs_err::metadata(dir) else {
        return Vec::new();
    };
    let me = std::process::id();
    let Ok(text) = fs_err::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = text
        .lines()
        .filter_map(|line| holder(line, meta.ino()))
        .filter(|&pid| pid != me)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The pid in a `/proc/locks` line (`1: FLOCK ADVISORY READ 1234 08:01:5678 0 EOF`)
/// for inode `ino`.
fn holder(line: &str, ino: u64) -> Option<u32> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // A blocked waiter's line has `->` after the number.
    let fields: Vec<&str> = fields.into_iter().filter(|f| *f != "->").collect();
    let pid = fields.get(4)?.parse().ok()?;
    let inode: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
    (inode == ino).then_some(pid)
}

/// A description of who holds `dir`: "process 123", "processes 1, 2", or
/// "another process".
pub fn describe_holders(dir: &Path) -> String {
    let pids = holders(dir);
    match pids.as_slice() {
        [] => "another process".into(),
        [one] => format!("process {one}{}", command_of(*one)),
        many => format!(
            "processes {}",
            many.iter()
                .map(|p| format!("{p}{}", command_of(*p)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn command_of(pid: u32) -> String {
    fs_err::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .take(3)
                .map(|a| {
                    let arg = String::from_utf8_lossy(a);
                    let path = PathBuf::from(arg.as_ref());
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| arg.into_owned())
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .map(|c| format!(" (`{c}`)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_keeps_the_exclusive_lock_away_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let lease = shared(dir.path()).unwrap().expect("exists");
        assert!(exclusive(dir.path()).unwrap().is_none());
        assert!(shared(dir.path()).unwrap().is_some(), "leases share");
        drop(lease);
        let held = exclusive(dir.path()).unwrap().expect("free");
        drop(held);
        assert!(shared(&dir.path().join("missing")).unwrap().is_none());
    }

    #[test]
    fn a_scratch_dir_is_leased_while_it_lives_and_then_removed() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = ScratchDir::new(parent.path(), ".tmp.x.").unwrap();
        let path = scratch.path().to_path_buf();
        assert!(path.starts_with(parent.path()));
        assert!(exclusive(&path).unwrap().is_none(), "leased");
        drop(scratch);
        assert!(!path.exists());
    }

    #[test]
    fn reads_holders_from_proc_locks() {
        assert_eq!(
            holder("1: FLOCK  ADVISORY  READ  4321 08:01:98765 0 EOF", 98765),
            Some(4321)
        );
        assert_eq!(
            holder("2: -> FLOCK  ADVISORY  WRITE 55 00:2a:98765 0 EOF", 98765),
            Some(55)
        );
        assert_eq!(
            holder("1: FLOCK  ADVISORY  READ  4321 08:01:1 0 EOF", 2),
            None
        );
    }
}
