//! Runs recorded under `<data>/runs/<id>/`: the raw subunit stream, the
//! results, the command and the environment's manifest, so `results` and
//! `diff` can look at any past run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::results::RunResults;
use crate::error::UserError;
use crate::home::Home;

pub const STREAM_FILE: &str = "stream.subunit";
pub const RESULTS_FILE: &str = "results.json";
pub const RUN_FILE: &str = "run.json";
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub environment: String,
    pub runner: String,
    pub command: String,
    pub filter: Option<String>,
    pub exit_code: u8,
    pub started: String,
    pub duration_secs: f64,
    /// Whether the per-run environment was kept (and where).
    pub kept: Option<PathBuf>,
    /// The signal forwarded to the runner, if it was interrupted.
    pub interrupted_by: Option<i32>,
}

pub fn runs_dir(home: &Home) -> PathBuf {
    home.data().join("runs")
}

/// A new, sortable run id: UTC time plus a random suffix.
pub fn new_id() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_digit()).collect();
    let suffix: u32 = rand_suffix();
    format!(
        "{}-{}-{suffix:04x}",
        &stamp[..8.min(stamp.len())],
        stamp.get(8..14).unwrap_or("")
    )
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    (h.finish() & 0xffff) as u32
}

/// Write a finished run's files into `dir`.
pub fn write(
    dir: &Path,
    record: &RunRecord,
    results: Option<&RunResults>,
    stream: Option<&[u8]>,
    manifest: &str,
) -> Result<()> {
    fs_err::create_dir_all(dir)?;
    // Nothing reads a run directory before it has run.json, so these are
    // written directly.
    if let Some(stream) = stream {
        fs_err::write(dir.join(STREAM_FILE), stream)?;
    }
    if let Some(results) = results {
        fs_err::write(
            dir.join(RESULTS_FILE),
            serde_json::to_string_pretty(results)?.as_bytes(),
        )?;
    }
    fs_err::write(dir.join(MANIFEST_FILE), manifest.as_bytes())?;
    // Written last: a run directory with run.json is complete.
    crate::atomic::write_file(
        &dir.join(RUN_FILE),
        serde_json::to_string_pretty(record)?.as_bytes(),
    )?;
    Ok(())
}

/// Every complete run id, oldest first.
pub fn ids(home: &Home) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(runs_dir(home))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(RUN_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    ids
}

/// A recorded run: `id` (or a unique prefix; `None` or `last` for the newest).
pub fn load(home: &Home, id: Option<&str>) -> Result<(RunRecord, Option<RunResults>, PathBuf)> {
    let all = ids(home);
    let chosen = match id {
        None | Some("last") => all.last().cloned().ok_or_else(|| {
            UserError::new("no runs recorded yet").hint("`tempest-env run` records one")
        })?,
        Some(prefix) => {
            let matches: Vec<&String> = all.iter().filter(|i| i.starts_with(prefix)).collect();
            match matches.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    return Err(UserError::new(format!("no run `{prefix}`"))
                        .hint("`tempest-env results --list` shows the recorded runs")
                        .into());
                }
                _ => {
                    return Err(
                        UserError::new(format!("`{prefix}` matches more than one run")).into(),
                    );
                }
            }
        }
    };
    let dir = runs_dir(home).join(&chosen);
    let record: RunRecord = serde_json::from_slice(&fs_err::read(dir.join(RUN_FILE))?)
        .with_context(|| format!("{} is corrupt", dir.join(RUN_FILE).display()))?;
    let results = match std::fs::read(dir.join(RESULTS_FILE)) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is corrupt", dir.join(RESULTS_FILE).display()))?,
        ),
        Err(_) => None,
    };
    Ok((record, results, dir))
}
