//! Query an interpreter once, and keep the answer under
//! `<cache>/interpreters/`, keyed by the executable's canonical path and
//! invalidated when its mtime or size changes (or tempest-env's query does).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{InterpreterError, InterpreterInfo};
use crate::error::UserError;

const QUERY_SCRIPT: &str = include_str!("../python/query.py");

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
pub(super) fn entry_path(dir: &Path, executable: &Path) -> PathBuf {
    let name = crate::digest::short_sha256(executable.as_os_str().as_encoded_bytes(), 12);
    dir.join(format!("{name}.json"))
}

/// Query `executable` (already canonical), from the cache when still valid.
/// Returns the info and whether it came from the cache.
pub(super) fn query_cached(executable: &Path, dir: &Path) -> Result<(InterpreterInfo, bool)> {
    let (mtime_ns, size) = stamp(executable)?;
    let file = entry_path(dir, executable);
    let script = script_hash();
    if let Ok(bytes) = fs_err::read(&file)
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

/// The variable that bounds how long an interpreter may take to answer the
/// query, in seconds.
pub(super) const TIMEOUT_VAR: &str = "TEMPEST_ENV_PYTHON_TIMEOUT";
/// Without it: a real interpreter answers in tens of milliseconds, a cold
/// one on a slow disk in a second or two.
const DEFAULT_TIMEOUT: f64 = 10.0;
/// The most of an interpreter's output that is read.
const MAX_ANSWER: u64 = 1 << 20;

/// The query's time bound: [`TIMEOUT_VAR`], else [`DEFAULT_TIMEOUT`].
pub(super) fn timeout() -> Result<Duration> {
    let Some(raw) = std::env::var_os(TIMEOUT_VAR) else {
        return Ok(Duration::from_secs_f64(DEFAULT_TIMEOUT));
    };
    let text = raw.to_string_lossy();
    match text.trim().parse::<f64>() {
        // A day is more than any interpreter needs, and keeps the duration
        // representable.
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(UserError::new(format!(
            "{TIMEOUT_VAR}=`{}` is not a number of seconds between 0 and 86400",
            text.escape_debug()
        ))
        .hint(format!(
            "unset {TIMEOUT_VAR} for the default of {DEFAULT_TIMEOUT} s"
        ))
        .into()),
    }
}

/// The venv scheme's directories are where installs write inside an
/// environment: each must be a plain relative path (`data` may be `.` or
/// empty, the root itself), whatever a wrapper script answered.
fn check_scheme(scheme: &super::info::Scheme) -> Result<(), String> {
    let dirs = [
        ("purelib", &scheme.purelib),
        ("platlib", &scheme.platlib),
        ("scripts", &scheme.scripts),
        ("include", &scheme.include),
        ("data", &scheme.data),
    ];
    for (key, dir) in dirs {
        let plain = dir.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        }) && !dir.to_string_lossy().chars().any(char::is_control);
        if !plain || (key != "data" && dir.as_os_str().is_empty()) {
            return Err(format!(
                "its venv scheme's {key} directory `{}` is not a plain path inside an environment",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Run the query script with `executable` (which may be a wrapper script),
/// in a process group of its own that is killed whole if it does not answer
/// within [`timeout`].
pub(super) fn query(executable: &Path) -> Result<InterpreterInfo> {
    let broken = |reason: String| InterpreterError::Broken {
        path: executable.to_path_buf(),
        reason,
    };
    let limit = timeout()?;
    let mut cmd = Command::new(executable);
    cmd.args(["-I", "-B", "-c", QUERY_SCRIPT])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // A wrapper script that hangs must not outlive a killed tempest-env.
    crate::process::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|err| broken(err.to_string()))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            // A real answer is a few kilobytes; an endless one is cut, and
            // its writer then blocks until the time bound kills it.
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_ANSWER).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|err| broken(err.to_string()))? {
            break status;
        }
        if started.elapsed() >= limit {
            // The whole group: a wrapper script's children too.
            crate::process::kill_group(child.id());
            let _ = child.wait();
            return Err(InterpreterError::Timeout {
                path: executable.to_path_buf(),
                seconds: limit.as_secs_f64(),
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // Whatever it left running (a wrapper's background child) would keep
    // the pipes open.
    crate::process::kill_group(child.id());
    let output = std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
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
    check_scheme(&info.scheme).map_err(broken)?;
    Ok(info)
}
