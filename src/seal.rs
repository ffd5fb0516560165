//! The seal of a shared directory (a store entry, a base): written last when
//! it is built, removed first when it is deleted, so a directory without one
//! is incomplete; and it records a digest of every path with its kind, size
//! and modification time, so a directory changed after it was made (a file
//! edited after `chmod u+w`, as vim's `:w!` does, or as root; a file added or
//! removed) is found before another environment uses it.
//!
//! Checking costs one `stat` per path, relative to an open directory, and
//! no reading of contents; `__pycache__` directories are left out, since the
//! first importing interpreter writes there by design. A file edited in
//! place changes nothing but its own inode, so there is no cheaper check
//! that finds it: every reuse checks every path (about 10 ms for a tempest
//! base of 8,500 paths), once per process.

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

/// One directory's summary: its digest covers its entries and, through their
/// digests, its subdirectories (a Merkle tree), so subtrees can be walked in
/// parallel and still give one answer.
struct Summary {
    paths: u64,
    digest: [u8; 32],
    newest: Option<(PathBuf, SystemTime)>,
}

fn fingerprint(dir: &Path) -> Result<Fingerprint> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let summary = summarize(dir, Path::new(""), threads)?;
    Ok(Fingerprint {
        paths: summary.paths,
        digest: crate::digest::hex(&summary.digest),
        newest: summary.newest,
    })
}

fn newer(
    a: Option<(PathBuf, SystemTime)>,
    b: Option<(PathBuf, SystemTime)>,
) -> Option<(PathBuf, SystemTime)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The summary of `dir/rel`; with `threads` > 1 its subdirectories are
/// summarized by that many threads (a base's `site` holds hundreds).
fn summarize(dir: &Path, rel: &Path, threads: usize) -> Result<Summary> {
    let here = dir.join(rel);
    let mut entries: Vec<fs_err::DirEntry> = fs_err::read_dir(&here)
        .with_context(|| format!("failed to read {}", here.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("failed to read {}", here.display()))?;
    entries.sort_by_key(|e| e.file_name());
    let mut rows: Vec<(std::ffi::OsString, u8, Option<std::fs::Metadata>)> = Vec::new();
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let name = entry.file_name();
        if rel.as_os_str().is_empty() && name == FILE_NAME {
            continue;
        }
        // Relative to the open directory: no path walk per file.
        let meta = entry
            .metadata()
            .with_context(|| format!("failed to read {}", entry.path().display()))?;
        if meta.is_dir() {
            if name != PYCACHE {
                subdirs.push(rel.join(&name));
            }
            rows.push((name, b'd', None));
        } else {
            let kind = if meta.is_symlink() { b'l' } else { b'f' };
            rows.push((name, kind, Some(meta)));
        }
    }
    let summaries: Vec<Result<Summary>> = if threads > 1 && subdirs.len() >= 2 * threads {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Result<Summary>>>> = subdirs
            .iter()
            .map(|_| std::sync::Mutex::new(None))
            .collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.min(subdirs.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(sub) = subdirs.get(i) else { break };
                        let summary = summarize(dir, sub, 1);
                        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(summary);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(anyhow::anyhow!("internal: a directory was not read")))
            })
            .collect()
    } else {
        subdirs
            .iter()
            .map(|sub| summarize(dir, sub, threads))
            .collect()
    };
    let mut summaries = summaries.into_iter();
    let mut hasher = Sha256::new();
    let mut paths = 0;
    let mut newest = None;
    for (name, kind, meta) in rows {
        hasher.update([kind]);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        paths += 1;
        match meta {
            None if name == PYCACHE => {}
            None => {
                let sub = summaries.next().unwrap_or_else(|| {
                    Err(anyhow::anyhow!("internal: a directory was not read"))
                })?;
                hasher.update(sub.digest);
                paths += sub.paths;
                newest = newer(newest, sub.newest);
            }
            Some(meta) => {
                hasher.update(meta.size().to_le_bytes());
                hasher.update(meta.mtime().to_le_bytes());
                hasher.update(meta.mtime_nsec().to_le_bytes());
                if let Ok(modified) = meta.modified() {
                    newest = newer(newest, Some((rel.join(&name), modified)));
                }
            }
        }
    }
    Ok(Summary {
        paths,
        digest: hasher.finalize().into(),
        newest,
    })
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
    let bytes = match fs_err::read(&file) {
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
    let sealed_at = fs_err::symlink_metadata(&file)
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
    let _ = fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    match fs_err::remove_file(dir.join(FILE_NAME)) {
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
        fs_err::create_dir_all(dir.path().join("pkg/__pycache__")).unwrap();
        fs_err::write(dir.path().join("pkg/__init__.py"), "x = 1\n").unwrap();
        fs_err::write(dir.path().join("top.txt"), "top").unwrap();
        write(dir.path()).unwrap();
        dir
    }

    #[test]
    fn a_fresh_seal_is_sound_and_bytecode_does_not_break_it() {
        let dir = sealed();
        assert_eq!(check(dir.path()).unwrap(), Verdict::Sound);
        fs_err::write(dir.path().join("pkg/__pycache__/x.pyc"), "pyc").unwrap();
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
        fs_err::remove_file(dir.path().join("top.txt")).unwrap();
        assert!(matches!(check(dir.path()).unwrap(), Verdict::Changed(_)));
        break_seal(dir.path()).unwrap();
        assert_eq!(check(dir.path()).unwrap(), Verdict::Incomplete);
    }

    #[test]
    fn a_file_added_below_the_top_is_found() {
        let dir = sealed();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs_err::write(dir.path().join("pkg/new.py"), "").unwrap();
        let Verdict::Changed(what) = check(dir.path()).unwrap() else {
            panic!("not found");
        };
        assert!(what.contains("paths"), "{what}");
    }
}
