//! The seal of a shared directory (a store entry, a base): written last when
//! it is built, removed first when it is deleted, so a directory without one
//! is incomplete; and it records a digest of every path with its kind, size
//! and modification time, so a directory changed after it was made (a file
//! edited after `chmod u+w`, as vim's `:w!` does, or as root; a file added or
//! removed) is found before another environment uses it.
//!
//! Checking costs one `stat` per file, relative to an open directory, and no
//! reading of contents; `__pycache__` directories are left out, since the
//! first importing interpreter writes there by design.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The seal, at the top of the sealed directory.
pub const FILE_NAME: &str = ".tempest-env-seal";
const FORMAT: u32 = 1;
const PYCACHE: &str = "__pycache__";

#[derive(Debug, Serialize, Deserialize)]
struct Seal {
    format: u32,
    /// Paths covered.
    paths: u64,
    /// sha256 over every path's kind, name, size and modification time.
    digest: String,
}

/// What a check of a sealed directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sound,
    /// No seal: never finished, or partly deleted.
    Incomplete,
    /// Changed after it was sealed; says what, as far as it can tell.
    Changed(String),
}

struct Fingerprint {
    paths: u64,
    digest: String,
    /// The most recently modified path, and when.
    newest: Option<(PathBuf, SystemTime)>,
}

fn fingerprint(dir: &Path) -> Result<Fingerprint> {
    let mut hasher = Sha256::new();
    let mut paths = 0;
    let mut newest = None;
    walk(dir, Path::new(""), &mut hasher, &mut paths, &mut newest)?;
    Ok(Fingerprint {
        paths,
        digest: crate::digest::hex(&hasher.finalize()),
        newest,
    })
}

fn walk(
    dir: &Path,
    rel: &Path,
    hasher: &mut Sha256,
    paths: &mut u64,
    newest: &mut Option<(PathBuf, SystemTime)>,
) -> Result<()> {
    let here = dir.join(rel);
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(&here)
        .with_context(|| format!("failed to read {}", here.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("failed to read {}", here.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if rel.as_os_str().is_empty() && name == FILE_NAME {
            continue;
        }
        // Relative to the open directory: no path walk per file.
        let meta = entry
            .metadata()
            .with_context(|| format!("failed to read {}", entry.path().display()))?;
        let path = rel.join(&name);
        let kind = if meta.is_dir() {
            b'd'
        } else if meta.is_symlink() {
            b'l'
        } else {
            b'f'
        };
        hasher.update([kind]);
        hasher.update(path.as_os_str().as_bytes());
        hasher.update([0]);
        *paths += 1;
        if kind == b'd' {
            if name != PYCACHE {
                walk(dir, &path, hasher, paths, newest)?;
            }
            continue;
        }
        hasher.update(meta.size().to_le_bytes());
        hasher.update(meta.mtime().to_le_bytes());
        hasher.update(meta.mtime_nsec().to_le_bytes());
        if let Ok(modified) = meta.modified()
            && newest.as_ref().is_none_or(|(_, t)| modified > *t)
        {
            *newest = Some((path, modified));
        }
    }
    Ok(())
}

/// Seal `dir`, which must still be writable at its top: the last write of
/// its build.
pub fn write(dir: &Path) -> Result<()> {
    let print = fingerprint(dir)?;
    let seal = Seal {
        format: FORMAT,
        paths: print.paths,
        digest: print.digest,
    };
    fs_err::write(dir.join(FILE_NAME), serde_json::to_vec(&seal)?)?;
    Ok(())
}

/// Whether `dir` is complete and unchanged since it was sealed.
pub fn check(dir: &Path) -> Result<Verdict> {
    let file = dir.join(FILE_NAME);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Verdict::Incomplete),
        Err(err) => return Err(err).with_context(|| format!("failed to read {}", file.display())),
    };
    let Ok(seal) = serde_json::from_slice::<Seal>(&bytes) else {
        return Ok(Verdict::Changed(format!(
            "its seal {} is unreadable",
            file.display()
        )));
    };
    if seal.format != FORMAT {
        return Ok(Verdict::Incomplete);
    }
    let now = fingerprint(dir)?;
    if now.paths == seal.paths && now.digest == seal.digest {
        return Ok(Verdict::Sound);
    }
    let sealed_at = std::fs::symlink_metadata(&file)
        .and_then(|m| m.modified())
        .ok();
    let what = match (now.newest, sealed_at) {
        _ if now.paths != seal.paths => format!(
            "it holds {} paths, not the {} it was made with",
            now.paths, seal.paths
        ),
        (Some((path, modified)), Some(sealed)) if modified > sealed => format!(
            "{} was modified at {}, after it was made",
            path.display(),
            humantime::format_rfc3339_seconds(modified)
        ),
        _ => "a file's size or modification time differs from when it was made".into(),
    };
    Ok(Verdict::Changed(what))
}

/// Remove the seal of `dir` (first thing when deleting it), making its top
/// writable to do so.
pub fn break_seal(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    match std::fs::remove_file(dir.join(FILE_NAME)) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("failed to unseal {}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sealed() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg/__pycache__")).unwrap();
        std::fs::write(dir.path().join("pkg/__init__.py"), "x = 1\n").unwrap();
        std::fs::write(dir.path().join("top.txt"), "top").unwrap();
        write(dir.path()).unwrap();
        dir
    }

    #[test]
    fn a_fresh_seal_is_sound_and_bytecode_does_not_break_it() {
        let dir = sealed();
        assert_eq!(check(dir.path()).unwrap(), Verdict::Sound);
        std::fs::write(dir.path().join("pkg/__pycache__/x.pyc"), "pyc").unwrap();
        assert_eq!(check(dir.path()).unwrap(), Verdict::Sound);
    }

    #[test]
    fn an_edit_in_place_is_found_and_named() {
        let dir = sealed();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("pkg/__init__.py"))
            .unwrap();
        file.write_all(b"import os\n").unwrap();
        drop(file);
        let Verdict::Changed(what) = check(dir.path()).unwrap() else {
            panic!("not found");
        };
        assert!(what.contains("pkg/__init__.py was modified"), "{what}");
    }

    #[test]
    fn a_removed_file_or_a_missing_seal_is_found() {
        let dir = sealed();
        std::fs::remove_file(dir.path().join("top.txt")).unwrap();
        assert!(matches!(check(dir.path()).unwrap(), Verdict::Changed(_)));
        break_seal(dir.path()).unwrap();
        assert_eq!(check(dir.path()).unwrap(), Verdict::Incomplete);
    }
}
