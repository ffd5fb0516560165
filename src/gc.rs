//! Garbage collection: remove what crashed or interrupted commands left
//! behind, and what nothing uses any more; `tempest-env gc` prints the
//! [`Removal`] it returns.
//!
//! A temporary or trash sibling is only removed when the lock of the thing it
//! was made for can be taken, so a build in progress is never touched; a
//! store entry or base only when no environment names it and no live process
//! holds a lease on it ([`crate::lease`]), and it is moved aside before it is
//! deleted. Lock files of things that no longer exist go too.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::atomic;
use crate::env;
use crate::home::Home;
use crate::shared;

/// What a collection removed (or, dry, would remove).
#[derive(Debug, Default)]
pub struct Removal {
    pub paths: Vec<PathBuf>,
    /// Bytes freed: measured before and after, or (dry) the paths' sizes.
    pub freed: u64,
}

/// Collect garbage under `home`; with `dry_run`, only say what would go.
pub fn collect(home: &Home, dry_run: bool) -> Result<Removal> {
    let mut removed = Vec::new();
    let before = disk_use(home);
    removed.extend(shared::leftovers(&home.envs(), dry_run, |name| {
        env::lock_path(home, name)
    })?);
    removed.extend(dangling_links(&home.envs(), dry_run)?);
    removed.extend(inside_environments(home, dry_run)?);
    removed.extend(runs(home, dry_run)?);
    for dir in ["checks", "locked", "scripts", "interpreters", "bundled"] {
        removed.extend(stale_temporaries(&home.cache().join(dir), dry_run)?);
    }
    removed.extend(scratch_dirs(home, dry_run)?);
    let used = used_paths(home)?;
    removed.extend(crate::store::gc(home, &used, dry_run)?);
    removed.extend(crate::layers::base::gc(home, &used, dry_run)?);
    removed.extend(stale_locks(home, dry_run)?);
    let freed = if removed.is_empty() {
        0
    } else if dry_run {
        removed.iter().map(|p| size_of(p)).sum()
    } else {
        before.saturating_sub(disk_use(home))
    };
    Ok(Removal {
        paths: removed,
        freed,
    })
}

/// Bytes under `path`, links counted as themselves (fs_extra's walk).
pub fn size_of(path: &Path) -> u64 {
    fs_extra::dir::get_size(path).unwrap_or(0)
}

/// Bytes in the cache and data dirs.
fn disk_use(home: &Home) -> u64 {
    size_of(home.cache()) + size_of(home.data())
}

/// Registry links (`create --path`) whose directory is gone.
fn dangling_links(dir: &Path, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_link = fs_err::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
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
fn used_paths(home: &Home) -> Result<Vec<PathBuf>> {
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

/// Temporary files an interrupted atomic write left inside environments
/// (the manifest, the `.pth`), removed under each environment's lock.
fn inside_environments(home: &Home, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for name in env::names(home)? {
        let Some(_guard) = crate::lock::try_acquire(&env::lock_path(home, &name))? else {
            continue;
        };
        let Ok(environment) = env::Environment::open(home, &name) else {
            continue;
        };
        if !dry_run {
            removed.extend(env::journal::recover(&environment)?);
        }
        for dir in [environment.root.clone(), environment.site_packages()] {
            for entry in fs_err::read_dir(&dir).into_iter().flatten().flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(atomic::TMP_PREFIX)
                    && entry.path().is_file()
                {
                    if !dry_run {
                        fs_err::remove_file(entry.path())?;
                    }
                    removed.push(entry.path());
                }
            }
        }
    }
    Ok(removed)
}

/// What killed runs left under `<data>/runs/<id>/`: the per-run environment
/// (unless it was kept), its temporary siblings, and run directories that
/// never recorded a run. A run holds its environment's lock while it lives.
fn runs(home: &Home, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let runs_dir = crate::runner::record::runs_dir(home);
    let kept: Vec<PathBuf> = env::names(home)?
        .iter()
        .filter_map(|n| fs_err::canonicalize(env::registry_entry(home, n)).ok())
        .collect();
    for entry in fs_err::read_dir(&runs_dir).into_iter().flatten().flatten() {
        let dir = entry.path();
        let id = entry.file_name().to_string_lossy().into_owned();
        let name = format!("run-{id}");
        let Some(_guard) = crate::lock::try_acquire(&env::lock_path(home, &name))? else {
            continue;
        };
        removed.extend(shared::leftovers(&dir, dry_run, |_| {
            env::lock_path(home, &name)
        })?);
        let env_dir = dir.join("env");
        let is_kept = fs_err::canonicalize(&env_dir).is_ok_and(|c| kept.contains(&c));
        if env_dir.exists() && !is_kept {
            if !dry_run {
                atomic::remove_tree(&env_dir)?;
            }
            removed.push(env_dir);
        }
        let recorded = dir.join(crate::runner::record::RUN_FILE).is_file();
        if !recorded {
            if !dry_run {
                atomic::remove_tree(&dir)?;
            }
            removed.push(dir);
        }
        if !dry_run {
            let _ = fs_err::remove_file(env::lock_path(home, &name));
        }
    }
    Ok(removed)
}

/// `.tmp.*` entries in a cache directory without locks (best-effort caches,
/// the bundled fixtures), once they are old enough that no writer can still
/// be at work on them.
fn stale_temporaries(dir: &Path, dry_run: bool) -> Result<Vec<PathBuf>> {
    const AGE: std::time::Duration = std::time::Duration::from_secs(600);
    let mut removed = Vec::new();
    for entry in fs_err::read_dir(dir).into_iter().flatten().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(atomic::TMP_PREFIX)
        {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > AGE);
        if !old {
            continue;
        }
        let path = entry.path();
        if !dry_run {
            if path.is_dir() {
                atomic::remove_tree(&path)?;
            } else {
                fs_err::remove_file(&path)?;
            }
        }
        removed.push(path);
    }
    Ok(removed)
}

/// A search's scratch directories (`<data>/.tmp.isolation.*`, and under
/// `TEMPEST_ENV_SCRATCH`) whose process is gone: a live search holds a
/// lease on its own.
fn scratch_dirs(home: &Home, dry_run: bool) -> Result<Vec<PathBuf>> {
    let prefix = format!("{}isolation.", atomic::TMP_PREFIX);
    let mut parents = vec![home.data().to_path_buf()];
    parents.extend(std::env::var_os("TEMPEST_ENV_SCRATCH").map(PathBuf::from));
    let mut removed = Vec::new();
    for parent in parents {
        for entry in fs_err::read_dir(&parent).into_iter().flatten().flatten() {
            let path = entry.path();
            let is_scratch = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
                && entry.file_type().is_ok_and(|t| t.is_dir());
            if !is_scratch {
                continue;
            }
            let Some(_held) = crate::lease::exclusive(&path)? else {
                continue;
            };
            if !dry_run {
                atomic::remove_tree(&path)?;
            }
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Lock files of environments, store entries and bases that no longer exist
/// and that nobody holds.
fn stale_locks(home: &Home, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let envs = home.envs();
    let runs = crate::runner::record::runs_dir(home);
    type Exists<'a> = Box<dyn Fn(&str) -> bool + 'a>;
    let sets: [(PathBuf, &str, Exists); 3] = [
        (
            home.locks(),
            "env-",
            Box::new(|name: &str| {
                let registered = fs_err::symlink_metadata(envs.join(name)).is_ok();
                let run = name
                    .strip_prefix("run-")
                    .is_some_and(|id| runs.join(id).exists());
                registered || run || being_built(&envs, name)
            }),
        ),
        (
            home.cache().join("locks"),
            "store-",
            Box::new(|name: &str| {
                home.store().join(name).exists() || being_built(&home.store(), name)
            }),
        ),
        (
            home.cache().join("locks"),
            "base-",
            Box::new(|name: &str| {
                home.bases().join(name).exists() || being_built(&home.bases(), name)
            }),
        ),
    ];
    for (dir, prefix, exists) in &sets {
        for entry in fs_err::read_dir(dir).into_iter().flatten().flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|n| n.strip_suffix(".lock"))
            else {
                continue;
            };
            if exists(name) {
                continue;
            }
            let path = entry.path();
            let free = if dry_run {
                crate::lock::try_acquire(&path)?.is_some()
            } else {
                crate::lock::remove_if_free(&path)?
            };
            if free {
                removed.push(path);
            }
        }
    }
    Ok(removed)
}

/// Whether a temporary or trash sibling of `name` is in `dir`.
fn being_built(dir: &Path, name: &str) -> bool {
    fs_err::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_str().and_then(atomic::leftover_name) == Some(name))
}
