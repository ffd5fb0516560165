//! A store entry or a base: a directory built once, sealed ([`crate::seal`])
//! and shared read-only by every environment. Reusing one takes a lease on
//! it ([`crate::lease`]) and checks its seal; one found broken is moved aside
//! and deleted under its build lock before it is built again; `gc` removes
//! one only when neither its build lock nor a lease is held, moving it aside
//! first, so a delete cut short never leaves a partial one under its name.
//!
//! [`Cache`] is the one implementation both use: a directory of such sealed
//! directories, each with its description file, its build lock, its
//! temporary sibling renamed into place, reuse, removal and gc.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::atomic;
use crate::printer::Printer;

/// A directory of sealed directories shared by every environment, each
/// under its own name with a description file (JSON) inside it written last,
/// and a build lock under the cache's lock directory: the store
/// (`<cache>/store/<entry>/entry.json`, `locks/store-<entry>.lock`) and the
/// bases (`<cache>/bases/<hash>/base.json`, `locks/base-<hash>.lock`).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    locks: PathBuf,
    /// What one is called in messages: "store entry", "base".
    kind: &'static str,
    /// Its lock files are `<lock_prefix>-<name>.lock`; its failpoint before
    /// the rename into place is `<lock_prefix>-before-rename`.
    lock_prefix: &'static str,
    info_file: &'static str,
}

/// What [`Cache::build`] found or made.
pub enum Built<T> {
    /// Another process built it while this one waited for the lock.
    Reused(T),
    /// Built by this call.
    Fresh(T),
}

impl Cache {
    pub fn new(
        root: PathBuf,
        locks: PathBuf,
        kind: &'static str,
        lock_prefix: &'static str,
        info_file: &'static str,
    ) -> Self {
        Cache {
            root,
            locks,
            kind,
            lock_prefix,
            info_file,
        }
    }

    /// The directory of the one named `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.locks.join(format!("{}-{name}.lock", self.lock_prefix))
    }

    /// The description inside `dir`, if one was written there.
    pub fn read<T: DeserializeOwned>(&self, dir: &Path) -> Result<Option<T>> {
        read_description(dir, self.info_file, self.kind)
    }

    /// The one named `name` if it is there: leased, and every path of it
    /// checked against its seal (once per process).
    pub fn reuse<T: DeserializeOwned>(&self, name: &str) -> Result<Reuse<T>> {
        let dir = self.dir(name);
        reuse(&dir, || self.read(&dir))
    }

    /// The one named `name`, built under its lock unless another process
    /// built it meanwhile: one found broken is reported to `on_broken` (why)
    /// and discarded (`label` names it in the refusal when another process
    /// still uses it); `make` fills a temporary sibling and returns the
    /// description, which is written last, before the directory is sealed,
    /// renamed into place and leased.
    pub fn build<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        label: &str,
        printer: &Printer,
        on_broken: impl FnOnce(&str),
        make: impl FnOnce(&Path) -> Result<T>,
    ) -> Result<Built<T>> {
        let dir = self.dir(name);
        fs_err::create_dir_all(&self.root)?;
        let _lock = crate::lock::acquire(
            &self.lock_path(name),
            &format!("{} {name}", self.kind),
            printer,
        )?;
        match self.reuse(name)? {
            Reuse::Sound(info) => return Ok(Built::Reused(info)),
            Reuse::Missing => {}
            Reuse::Broken(why) => {
                on_broken(&why);
                discard(&dir, label, &why)?;
            }
        }
        let tmp = atomic::temp_sibling(&dir)?;
        let info = make(tmp.path())?;
        fs_err::write(
            tmp.path().join(self.info_file),
            serde_json::to_vec_pretty(&info)?,
        )?;
        seal_read_only(tmp.path())?;
        crate::failpoint::hit(&format!("{}-before-rename", self.lock_prefix));
        let built = tmp.keep();
        fs_err::rename(&built, &dir)?;
        // Used from now on: leased like a reused one.
        if let Some(lease) = crate::lease::shared(&dir)? {
            lease.keep();
        }
        Ok(Built::Fresh(info))
    }

    /// Every one built, with its description (leftovers and ones without a
    /// description left out).
    pub fn list<T: DeserializeOwned>(&self) -> Result<Vec<(PathBuf, T)>> {
        let mut out = Vec::new();
        let Ok(entries) = fs_err::read_dir(&self.root) else {
            return Ok(out);
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let dir = entry.path();
            if let Some(info) = self.read(&dir)? {
                out.push((dir, info));
            }
        }
        Ok(out)
    }

    /// Remove the one named `name` under its build lock: refused while a
    /// live process leases it; moved aside, its seal broken, then deleted.
    pub fn remove(&self, name: &str, printer: &Printer) -> Result<()> {
        let dir = self.dir(name);
        let what = format!("{} {name}", self.kind);
        let _lock = crate::lock::acquire(&self.lock_path(name), &what, printer)?;
        let Some(held) = crate::lease::exclusive(&dir)? else {
            return Err(crate::error::UserError::new(format!(
                "{what} is in use by {}",
                crate::lease::describe_holders(&dir)
            ))
            .hint("try again once it has finished")
            .into());
        };
        let trash = atomic::move_to_trash(&dir)?;
        drop(held);
        crate::seal::break_seal(&trash)?;
        atomic::remove_tree(&trash)
    }

    /// Remove leftovers, and every one that none of the `used` paths is
    /// inside of (or holds) and no live process leases or builds; each is
    /// moved aside before it is deleted. What was (or, with `dry_run`, would
    /// be) removed.
    pub fn gc(&self, used: &[PathBuf], dry_run: bool) -> Result<Vec<PathBuf>> {
        let mut removed = leftovers(&self.root, dry_run, |name| self.lock_path(name))?;
        let Ok(entries) = fs_err::read_dir(&self.root) else {
            return Ok(removed);
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.')
                || used
                    .iter()
                    .any(|u| u.starts_with(&dir) || dir.starts_with(u))
            {
                continue;
            }
            if remove_unused(&dir, &self.lock_path(name), dry_run)? {
                removed.push(dir);
            }
        }
        Ok(removed)
    }
}

/// The description `info_file` inside `dir` (a `kind` in messages), if one
/// was written there.
pub fn read_description<T: DeserializeOwned>(
    dir: &Path,
    info_file: &str,
    kind: &str,
) -> Result<Option<T>> {
    let file = dir.join(info_file);
    match fs_err::read(&file) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{kind} {} is corrupt", file.display())
            })?))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to read {}", file.display())),
    }
}

/// Make a built store entry or base read-only and seal it, the seal last
/// (see [`crate::seal`]).
fn seal_read_only(root: &Path) -> Result<()> {
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
fn reuse<T>(dir: &Path, open: impl FnOnce() -> Result<Option<T>>) -> Result<Reuse<T>> {
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
fn discard(dir: &Path, what: &str, why: &str) -> Result<()> {
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
fn remove_unused(dir: &Path, build_lock: &Path, dry_run: bool) -> Result<bool> {
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
        // Listed while its build was still at work: renamed into place (or
        // removed) before the lock came free.
        let Ok(meta) = fs_err::symlink_metadata(&path) else {
            continue;
        };
        if !dry_run {
            if meta.is_dir() {
                atomic::remove_tree(&path)?;
            } else {
                fs_err::remove_file(&path)?;
            }
        }
        removed.push(path);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        n: u32,
    }

    fn cache(dir: &Path) -> Cache {
        Cache::new(
            dir.join("things"),
            dir.join("locks"),
            "thing",
            "thing",
            "thing.json",
        )
    }

    #[test]
    fn one_is_built_once_sealed_read_only_and_then_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache(tmp.path());
        let printer = Printer::quiet();
        assert!(matches!(cache.reuse::<Thing>("a").unwrap(), Reuse::Missing));
        let built = cache
            .build(
                "a",
                "thing a",
                &printer,
                |why| panic!("not broken: {why}"),
                |root| {
                    fs_err::write(root.join("file"), "1")?;
                    Ok(Thing { n: 1 })
                },
            )
            .unwrap();
        assert!(matches!(built, Built::Fresh(Thing { n: 1 })));
        let dir = cache.dir("a");
        assert!(crate::seal::check(&dir).unwrap() == crate::seal::Verdict::Sound);
        assert!(
            fs_err::metadata(dir.join("file"))
                .unwrap()
                .permissions()
                .readonly()
        );
        assert_eq!(cache.read::<Thing>(&dir).unwrap(), Some(Thing { n: 1 }));
        assert!(matches!(
            cache.reuse::<Thing>("a").unwrap(),
            Reuse::Sound(Thing { n: 1 })
        ));
        // Asked again, the one there is reused: nothing is built.
        let again = cache
            .build(
                "a",
                "thing a",
                &printer,
                |why| panic!("not broken: {why}"),
                |_| -> Result<Thing> { panic!("built twice") },
            )
            .unwrap();
        assert!(matches!(again, Built::Reused(Thing { n: 1 })));
        let listed = cache.list::<Thing>().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, dir);
    }

    #[test]
    fn gc_removes_leftovers_and_unused_ones_and_keeps_used_and_leased_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache(tmp.path());
        let printer = Printer::quiet();
        // Leased by this process, which built it.
        cache
            .build("leased", "thing", &printer, |_| {}, |_| Ok(Thing { n: 0 }))
            .unwrap();
        for name in ["used", "unused", ".tmp.unused.x1"] {
            fs_err::create_dir_all(cache.dir(name)).unwrap();
            fs_err::write(cache.dir(name).join("thing.json"), r#"{"n": 2}"#).unwrap();
        }
        let used = [cache.dir("used")];
        let would = cache.gc(&used, true).unwrap();
        assert_eq!(would.len(), 2, "{would:?}");
        assert!(cache.dir("unused").exists(), "a dry run removes nothing");
        let mut removed = cache.gc(&used, false).unwrap();
        removed.sort();
        assert_eq!(removed, [cache.dir(".tmp.unused.x1"), cache.dir("unused")]);
        assert!(cache.dir("used").exists() && cache.dir("leased").exists());
        assert!(!cache.dir("unused").exists());
    }
}
