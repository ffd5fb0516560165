//! A write-ahead journal of the files an install is about to place in an
//! environment. A process killed mid-install leaves files that belong to no
//! distribution in the manifest; the journal names them, so the next install
//! (or `gc`) removes them instead of refusing to overwrite them.
//!
//! An install that replaces a version moves the old version's files aside
//! (into [`ASIDE`], under their own relative paths) instead of deleting or
//! overwriting them, with a copy of the manifest as it was. If the install
//! fails, or is killed before its manifest is saved, the files go back; once
//! the new manifest is saved, they are discarded.
//!
//! An uninstall journals the files it is about to remove, then saves the
//! manifest without the distribution, then removes them: recovery finishes
//! what a killed uninstall started.
//!
//! Every path is checked against [`super::confine`]: recovery never
//! removes, moves or restores anything through a symbolic link.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Environment;

pub const FILE: &str = ".tempest-env-pending";

/// Where a replacing install keeps the files it replaced.
pub const ASIDE: &str = ".tempest-env-replaced";
/// In [`ASIDE`]: the manifest as it was before the install.
const BEFORE: &str = "manifest-before.json";
/// In [`ASIDE`]: the files, under their paths relative to the root.
const FILES: &str = "files";

/// Move the environment's file `rel` aside before an install overwrites or
/// removes it. An environment without a saved manifest (one `create` is
/// still building) has no state to go back to: the file is removed.
pub fn set_aside(root: &Path, rel: &Path) -> Result<()> {
    let mut confinement = super::confine::Confinement::new(root);
    let kept_rel = Path::new(ASIDE).join(FILES).join(rel);
    for checked in [rel, kept_rel.as_path()] {
        confinement
            .check(checked)
            .map_err(|escape| escape.refusal(&format!("move {} aside", rel.display())))?;
    }
    let path = root.join(rel);
    let aside = root.join(ASIDE);
    let before = aside.join(BEFORE);
    if !before.exists() {
        let manifest = match fs_err::read(root.join(super::manifest::FILE_NAME)) {
            Ok(bytes) => bytes,
            Err(_) => {
                fs_err::remove_file(&path)?;
                return Ok(());
            }
        };
        fs_err::create_dir_all(&aside)?;
        // Complete before the first file moves: recovery compares it.
        crate::atomic::write_file(&before, &manifest)?;
    }
    let kept = aside.join(FILES).join(rel);
    if let Some(parent) = kept.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::rename(&path, &kept)?;
    Ok(())
}

/// Put back every file set aside, over whatever is at its path now, and
/// forget them. Returns the paths restored. A file whose place is now
/// reached through a symbolic link is not put back there.
pub fn restore_aside(root: &Path) -> Result<Vec<PathBuf>> {
    let files = root.join(ASIDE).join(FILES);
    let mut confinement = super::confine::Confinement::new(root);
    // Files are only taken from a real directory of the environment: one
    // linked in from elsewhere would move someone else's files in.
    if !confinement.allows(&Path::new(ASIDE).join(FILES).join("_")) {
        discard_aside(root)?;
        return Ok(Vec::new());
    }
    let mut restored = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = files.join(&rel);
        let entries = match fs_err::read_dir(&dir) {
            Ok(entries) => entries,
            Err(_) => continue,
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to read {}", dir.display()))?;
            let rel = rel.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(rel);
                continue;
            }
            if !confinement.allows(&rel) {
                continue;
            }
            let target = root.join(&rel);
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::rename(entry.path(), &target)?;
            restored.push(rel);
        }
    }
    discard_aside(root)?;
    Ok(restored)
}

/// The install committed (or nothing was set aside): drop what was kept.
pub fn discard_aside(root: &Path) -> Result<()> {
    crate::atomic::remove_tree(&root.join(ASIDE))
}

/// Record `targets` (relative to the environment's root) before writing them.
pub fn record(root: &Path, targets: &[PathBuf]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = root.join(FILE);
    // Never appended to through a link planted in its place.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    let mut text = String::new();
    for target in targets {
        text.push_str(&target.to_string_lossy());
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))
}

/// The install committed (its manifest is saved): forget the journal.
pub fn clear(root: &Path) {
    let _ = fs_err::remove_file(root.join(FILE));
}

/// Remove what an interrupted install left: journaled files that no
/// distribution of the manifest owns. Returns them.
pub fn recover(env: &Environment) -> Result<Vec<PathBuf>> {
    let path = env.root.join(FILE);
    // Only a journal this code wrote: a link or a FIFO in its place is not
    // read (it could block, or name someone else's file), only removed.
    if fs_err::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        fs_err::remove_file(&path)?;
    }
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            recover_aside(env)?;
            return Ok(Vec::new());
        }
    };
    let owned: std::collections::HashSet<&PathBuf> = env
        .manifest
        .distributions
        .iter()
        .flat_map(|d| d.files.iter())
        .collect();
    let mut removed = Vec::new();
    let mut gone = Vec::new();
    let mut confinement = super::confine::Confinement::new(&env.root);
    // Only whole lines: a process killed while appending leaves a truncated
    // last one, which names some other path.
    for line in text
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
        .filter(|l| !l.is_empty())
    {
        let rel = PathBuf::from(line);
        // Only paths inside the environment and not through a link, never
        // one a distribution owns.
        if !confinement.allows(&rel) || owned.contains(&rel) {
            continue;
        }
        let full = env.root.join(&rel);
        if fs_err::symlink_metadata(&full).is_ok_and(|m| !m.is_dir()) {
            fs_err::remove_file(&full)?;
            removed.push(full);
        }
        // Already removed by the process that was killed, perhaps before it
        // removed the directories it left empty (an empty dist-info is still
        // a distribution to importlib.metadata).
        gone.push(rel);
    }
    prune_empty_dirs(env, &gone);
    recover_aside(env)?;
    clear(&env.root);
    Ok(removed)
}

/// Files a killed replacing install set aside go back when its manifest was
/// never saved (the saved one is still the one from before), and are
/// dropped when it was.
fn recover_aside(env: &Environment) -> Result<()> {
    let aside = env.root.join(ASIDE);
    if fs_err::symlink_metadata(&aside).is_err() {
        return Ok(());
    }
    let before = fs_err::read(aside.join(BEFORE)).ok();
    let now = fs_err::read(env.manifest_path()).ok();
    if before.is_some() && before == now {
        restore_aside(&env.root)?;
    } else {
        discard_aside(&env.root)?;
    }
    Ok(())
}

/// Remove the directories that removing `files` (relative to the root) left
/// empty, deepest first; the scheme's own directories always stay.
pub fn prune_empty_dirs(env: &Environment, files: &[PathBuf]) {
    let mut dirs = std::collections::BTreeSet::new();
    for rel in files {
        let mut parent = rel.parent();
        while let Some(dir) = parent {
            if dir.as_os_str().is_empty() {
                break;
            }
            dirs.insert(dir.to_path_buf());
            parent = dir.parent();
        }
    }
    let scheme = &env.manifest.interpreter.scheme;
    let keep: std::collections::HashSet<&Path> =
        [&scheme.purelib, &scheme.platlib, &scheme.scripts]
            .into_iter()
            .flat_map(|p| p.ancestors())
            .collect();
    // Deepest first (longer paths sort after their parents); a directory
    // that is not empty stays, and so does one reached through a link.
    let mut confinement = super::confine::Confinement::new(&env.root);
    for dir in dirs.iter().rev() {
        if !keep.contains(dir.as_path()) && confinement.allows(&dir.join("_")) {
            let _ = fs_err::remove_dir(env.root.join(dir));
        }
    }
}
