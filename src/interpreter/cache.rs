//! Query an interpreter once, and keep the answer under
//! `<cache>/interpreters/`, keyed by the executable's canonical path and
//! invalidated when its mtime or size changes (or tempest-env's query does).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{InterpreterError, InterpreterInfo};

const QUERY_SCRIPT: &str = include_str!("query.py");

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    script: String,
    path: PathBuf,
    mtime_ns: i128,
    size: u64,
    info: InterpreterInfo,
}

fn script_hash() -> String {
    crate::digest::short_sha256(QUERY_SCRIPT.as_bytes(), 8)
}

fn stamp(path: &Path) -> Result<(i128, u64)> {
    let meta = fs_err::metadata(path)?;
    let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Ok((mtime_ns, meta.size()))
}

/// The cache file for one canonical executable path.
pub fn entry_path(dir: &Path, executable: &Path) -> PathBuf {
    let name = crate::digest::short_sha256(executable.as_os_str().as_encoded_bytes(), 12);
    dir.join(format!("{name}.json"))
}

/// Query `executable` (already canonical), from the cache when still valid.
/// Returns the info and whether it came from the cache.
pub fn query_cached(executable: &Path, dir: &Path) -> Result<(InterpreterInfo, bool)> {
    let (mtime_ns, size) = stamp(executable)?;
    let file = entry_path(dir, executable);
    let script = script_hash();
    if let Ok(bytes) = std::fs::read(&file)
        && let Ok(entry) = serde_json::from_slice::<CacheEntry>(&bytes)
        && entry.script == script
        && entry.path == executable
        && entry.mtime_ns == mtime_ns
        && entry.size == size
    {
        return Ok((entry.info, true));
    }
    let info = query(executable)?;
    let entry = CacheEntry {
        script,
        path: executable.to_path_buf(),
        mtime_ns,
        size,
        info,
    };
    // A cache that cannot be written only costs a query next time.
    let _ = write_atomically(dir, &file, &entry);
    Ok((entry.info, false))
}

fn write_atomically(dir: &Path, file: &Path, entry: &CacheEntry) -> Result<()> {
    fs_err::create_dir_all(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("failed to create a file in {}", dir.display()))?;
    serde_json::to_writer(tmp.as_file(), entry)?;
    tmp.persist(file)
        .with_context(|| format!("failed to write {}", file.display()))?;
    Ok(())
}

/// Run the query script with `executable` (which may be a wrapper script).
pub fn query(executable: &Path) -> Result<InterpreterInfo> {
    let broken = |reason: String| InterpreterError::Broken {
        path: executable.to_path_buf(),
        reason,
    };
    let mut cmd = Command::new(executable);
    cmd.args(["-I", "-B", "-c", QUERY_SCRIPT])
        .stdin(Stdio::null());
    // A wrapper script that hangs must not outlive a killed tempest-env.
    crate::runner::process::die_with_parent(&mut cmd);
    let output = cmd.output().map_err(|err| broken(err.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        let last: String = last.trim().chars().take(200).collect();
        return Err(broken(format!("it exited with {} ({last})", output.status)).into());
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| broken(format!("its answer is not JSON ({err})")))?;
    if let Some(version) = value.get("too_old").and_then(|v| v.as_str()) {
        return Err(InterpreterError::TooOld {
            path: executable.to_path_buf(),
            version: version.to_string(),
        }
        .into());
    }
    let info: InterpreterInfo = serde_json::from_value(value)
        .map_err(|err| broken(format!("its answer is incomplete ({err})")))?;
    let (major, minor) = (info.version_info.0, info.version_info.1);
    if (major, minor) < super::MIN_VERSION {
        return Err(InterpreterError::TooOld {
            path: executable.to_path_buf(),
            version: info.version.clone(),
        }
        .into());
    }
    Ok(info)
}
