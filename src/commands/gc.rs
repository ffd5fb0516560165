//! `tempest-env gc`: remove what crashed or interrupted commands left behind.
//!
//! A temporary or trash sibling is only removed when the lock of the thing it
//! was made for can be taken, so a build in progress is never touched.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::Context;
use crate::atomic;
use crate::env;

pub fn run(dry_run: bool, ctx: &Context) -> Result<u8> {
    let mut removed = Vec::new();
    let home = &ctx.home;
    removed.extend(leftovers(&home.envs(), dry_run, |name| {
        env::lock_path(home, name)
    })?);
    removed.extend(dangling_links(&home.envs(), dry_run)?);
    let used = used_paths(home)?;
    removed.extend(crate::store::gc(home, &used, dry_run)?);
    removed.extend(crate::layers::base::gc(home, &used, dry_run)?);
    let verb = if dry_run { "Would remove" } else { "Removed" };
    if removed.is_empty() {
        ctx.printer.status("Nothing to remove");
    }
    for path in &removed {
        ctx.printer.out(format!("{verb} {}", path.display()));
    }
    Ok(0)
}

/// Temporary and trash siblings in `dir` whose owner's lock is free.
pub fn leftovers(
    dir: &Path,
    dry_run: bool,
    lock_for: impl Fn(&str) -> PathBuf,
) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
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

/// Registry links (`create --path`) whose directory is gone.
fn dangling_links(dir: &Path, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
        if is_link && !path.exists() {
            if !dry_run {
                fs_err::remove_file(&path)?;
            }
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Every store entry, base and source path an environment's manifest refers
/// to. An unreadable environment keeps everything: better a full cache than a
/// broken environment.
fn used_paths(home: &crate::home::Home) -> Result<Vec<PathBuf>> {
    let mut used = Vec::new();
    for name in env::names(home)? {
        let Ok(env) = env::Environment::open(home, &name) else {
            return Ok(vec![home.store(), home.bases()]);
        };
        used.extend(env.manifest.layers.iter().map(|l| l.path.clone()));
        used.extend(
            env.manifest
                .distributions
                .iter()
                .filter_map(|d| d.location.clone()),
        );
    }
    Ok(used)
}
