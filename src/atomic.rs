//! Filesystem writes that never leave a half-written thing under a real name:
//! write into a temporary sibling, then rename into place.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Prefix of temporary siblings: `.tmp.<name>.<random>`. `gc` recognises it.
pub const TMP_PREFIX: &str = ".tmp.";
/// Prefix of directories on their way out: `.trash.<name>.<random>`.
pub const TRASH_PREFIX: &str = ".trash.";

/// Write `bytes` to `path` through a temporary file in the same directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("failed to write {}", path.display()))?;
    // Temporary files are private; what we write is as readable as any file.
    fs_err::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .with_context(|| format!("failed to set permissions on {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}

/// A fresh temporary directory next to `target`, named after it; removed on
/// drop unless [`tempfile::TempDir::keep`] is called.
pub fn temp_sibling(target: &Path) -> Result<tempfile::TempDir> {
    let (dir, name) = split(target)?;
    fs_err::create_dir_all(dir)?;
    tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{name}."))
        .tempdir_in(dir)
        .with_context(|| {
            format!(
                "failed to create a temporary directory in {}",
                dir.display()
            )
        })
}

/// Move `target` aside to a trash sibling, `.trash.<name>.<unique>` (so the
/// real name is free at once, and a delete killed half-way never leaves a
/// partial thing under it), and return the trash path for removal. A rename
/// within one directory needs no write permission on `target` itself, so
/// read-only store entries and bases move too.
pub fn move_to_trash(target: &Path) -> Result<PathBuf> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let (dir, name) = split(target)?;
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let unique = format!(
            "{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let trash = dir.join(format!("{TRASH_PREFIX}{name}.{unique}"));
        match renameat2(
            AT_FDCWD,
            target,
            AT_FDCWD,
            &trash,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(trash),
            Err(nix::errno::Errno::EEXIST) => continue,
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {
                // A filesystem without RENAME_NOREPLACE: the name is unique
                // enough (pid, time and a counter).
                fs_err::rename(target, &trash)?;
                return Ok(trash);
            }
            Err(errno) => {
                return Err(std::io::Error::from(errno)).with_context(|| {
                    format!(
                        "failed to move {} aside to {}",
                        target.display(),
                        trash.display()
                    )
                });
            }
        }
    }
}

/// Remove a directory tree, making read-only parts writable first (store
/// entries and bases are read-only).
pub fn remove_tree(path: &Path) -> Result<()> {
    match fs_err::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(path);
            fs_err::remove_dir_all(path)
                .with_context(|| format!("failed to remove {}", path.display()))
        }
    }
}

fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs_err::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let _ = fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        if let Ok(entries) = fs_err::read_dir(path) {
            for entry in entries.flatten() {
                make_writable(&entry.path());
            }
        }
    }
}

/// The name a temporary or trash sibling was made for, if `file_name` is one.
pub fn leftover_name(file_name: &str) -> Option<&str> {
    let rest = file_name
        .strip_prefix(TMP_PREFIX)
        .or_else(|| file_name.strip_prefix(TRASH_PREFIX))?;
    let (name, _random) = rest.rsplit_once('.')?;
    Some(name)
}

fn split(target: &Path) -> Result<(&Path, &str)> {
    let dir = target
        .parent()
        .with_context(|| format!("{} has no parent directory", target.display()))?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no usable file name", target.display()))?;
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_leftovers() {
        assert_eq!(leftover_name(".tmp.valet.a1B2c3"), Some("valet"));
        assert_eq!(leftover_name(".trash.py3.11.xYz"), Some("py3.11"));
        assert_eq!(leftover_name("valet"), None);
        assert_eq!(leftover_name(".tmp.noseparator"), None);
    }
}
