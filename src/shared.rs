//! A store entry or a base: a directory built once, sealed ([`crate::seal`])
//! and shared read-only by every environment. Reusing one takes a lease on
//! it ([`crate::lease`]) and checks its seal; one found broken is moved aside
//! and deleted under its build lock before it is built again; `gc` removes
//! one only when neither its build lock nor a lease is held, moving it aside
//! first, so a delete cut short never leaves a partial one under its name.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::atomic;

/// Make a built store entry or base read-only and seal it, the seal last
/// (see [`crate::seal`]).
pub fn seal_read_only(root: &Path) -> Result<()> {
    crate::store::make_read_only(root)?;
    fs_err::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
    crate::seal::write(root)?;
    fs_err::set_permissions(
        root.join(crate::seal::FILE_NAME),
        std::fs::Permissions::from_mode(0o444),
    )?;
    fs_err::set_permissions(root, std::fs::Permissions::from_mode(0o555))?;
    Ok(())
}

/// What is under an entry's or base's real name.
pub enum Reuse<T> {
    Missing,
    /// Complete and unchanged, and leased for the life of this process.
    Sound(T),
    /// Incomplete or changed since it was made: why.
    Broken(String),
}

/// Lease the directory at `dir` and check its seal (once per process);
/// `open` reads what it describes.
pub fn reuse<T>(dir: &Path, open: impl FnOnce() -> Result<Option<T>>) -> Result<Reuse<T>> {
    if crate::lease::kept(dir) {
        return Ok(open()?.map_or(Reuse::Missing, Reuse::Sound));
    }
    let Some(lease) = crate::lease::shared(dir)? else {
        return Ok(Reuse::Missing);
    };
    match crate::seal::check(dir)? {
        crate::seal::Verdict::Sound => {}
        crate::seal::Verdict::Incomplete => {
            return Ok(Reuse::Broken("is incomplete (it has no seal)".into()));
        }
        crate::seal::Verdict::Changed(what) => {
            return Ok(Reuse::Broken(format!(
                "was changed after it was made: {what}"
            )));
        }
    }
    match open()? {
        Some(thing) => {
            lease.keep();
            Ok(Reuse::Sound(thing))
        }
        None => Ok(Reuse::Broken(
            "is incomplete (it has no description)".into(),
        )),
    }
}

/// Move a broken entry or base aside and delete it, under its build lock
/// (held by the caller); refused while another process leases it.
pub fn discard(dir: &Path, what: &str, why: &str) -> Result<()> {
    // Others that found it broken too drop their leases at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let held = loop {
        match crate::lease::exclusive(dir)? {
            Some(held) => break held,
            None if !dir.exists() => return Ok(()),
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            None => {
                return Err(crate::error::UserError::new(format!(
                    "{what} {why}, and {} is using it, so it cannot be rebuilt now",
                    crate::lease::describe_holders(dir)
                ))
                .hint("try again once that process has finished")
                .into());
            }
        }
    };
    let trash = atomic::move_to_trash(dir)?;
    drop(held);
    crate::seal::break_seal(&trash)?;
    atomic::remove_tree(&trash)
}

/// Remove the entry or base at `dir` unless its build lock or a lease is
/// held: moved aside first, its seal broken, then deleted. Whether it was
/// (or, with `dry_run`, would be) removed.
pub fn remove_unused(dir: &Path, build_lock: &Path, dry_run: bool) -> Result<bool> {
    let Some(_guard) = crate::lock::try_acquire(build_lock)? else {
        return Ok(false);
    };
    let Some(held) = crate::lease::exclusive(dir)? else {
        return Ok(false);
    };
    if dry_run {
        return Ok(true);
    }
    let trash = atomic::move_to_trash(dir)?;
    drop(held);
    crate::failpoint::hit("gc-after-move-aside");
    crate::seal::break_seal(&trash)?;
    atomic::remove_tree(&trash)?;
    Ok(true)
}

/// Temporary and trash siblings in `dir` whose owner's lock is free.
pub fn leftovers(
    dir: &Path,
    dry_run: bool,
    lock_for: impl Fn(&str) -> PathBuf,
) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(err) => return Err(err).with_context(|| format!("failed to read {}", dir.display())),
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(owner) = file_name.to_str().and_then(atomic::leftover_name) else {
            continue;
        };
        let Some(_guard) = crate::lock::try_acquire(&lock_for(owner))? else {
            continue;
        };
        let path = entry.path();
        if !dry_run {
            if path.is_dir() && !path.is_symlink() {
                atomic::remove_tree(&path)?;
            } else {
                fs_err::remove_file(&path)?;
            }
        }
        removed.push(path);
    }
    Ok(removed)
}
