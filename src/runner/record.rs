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
/// The environment's lock, written while it still existed.
pub const LOCK_FILE: &str = "lock.toml";

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
    /// What it takes to run it again: absent in runs recorded before
    /// tempest-env kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

/// Everything a recorded run's command depended on besides the
/// environment's contents (which `manifest.json` holds): enough to compose
/// the same environment again and give the runner the same command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// The runner as given: a preset name or a custom template.
    pub runner: String,
    /// Arguments after `--`, passed to the runner.
    #[serde(default)]
    pub posargs: Vec<String>,
    /// `--set-env NAME=VALUE` pairs, in order.
    #[serde(default)]
    pub set_env: Vec<(String, String)>,
    /// `--pass-env` patterns.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// `--isolated-env`: nothing from the caller's environment but PATH.
    #[serde(default)]
    pub isolated_env: bool,
    /// `--user-site`: the user's site-packages stays visible.
    #[serde(default)]
    pub user_site: bool,
    /// `--config-file`, absolute.
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// The `create` arguments that compose the run's per-run environment;
    /// `None`: the run used the existing environment `environment`.
    #[serde(default)]
    pub composition: Option<Vec<String>>,
}

pub fn runs_dir(home: &Home) -> PathBuf {
    home.data().join("runs")
}

/// A new run id: a ULID, which sorts by its start time (to the
/// millisecond) and holds 80 random bits, so two runs started at once,
/// in one process or in two, never get the same id.
pub fn new_id() -> String {
    ulid::Ulid::generate().to_string()
}

/// A new run's id and its directory, created exclusively: a directory that
/// exists already (an id taken) is never shared, a new id is drawn instead.
pub fn create_run_dir(home: &Home) -> Result<(String, PathBuf)> {
    let runs = runs_dir(home);
    for _ in 0..16 {
        // Inside the loop: a run that recorded nothing removes an empty
        // `runs/` as it leaves, maybe just before this one's mkdir.
        fs_err::create_dir_all(&runs)?;
        let id = new_id();
        let dir = runs.join(&id);
        match fs_err::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
                ) =>
            {
                continue;
            }
            Err(err) => {
                return Err(err).with_context(|| format!("failed to create {}", dir.display()));
            }
        }
    }
    anyhow::bail!("could not find a free run id under {}", runs.display())
}

/// When a run started, in milliseconds since the epoch, from its id: a
/// ULID's own timestamp, or the `YYYYMMDD-HHMMSS-xxxx` stamp of ids from
/// before ULIDs (to the second).
pub fn started_ms(id: &str) -> Option<u64> {
    if let Ok(ulid) = ulid::Ulid::from_string(id) {
        return Some(ulid.timestamp_ms());
    }
    let (date, rest) = id.split_once('-')?;
    let time = rest.get(..6)?;
    if date.len() != 8 || !date.chars().chain(time.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let stamp = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[..4],
        &date[4..6],
        &date[6..8],
        &time[..2],
        &time[2..4],
        &time[4..6]
    );
    let at = humantime::parse_rfc3339(&stamp).ok()?;
    let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    u64::try_from(ms).ok()
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

/// Every complete run id, oldest first (by start time, then id).
pub fn ids(home: &Home) -> Vec<String> {
    let mut ids: Vec<String> = fs_err::read_dir(runs_dir(home))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(RUN_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort_by_cached_key(|id| (started_ms(id).unwrap_or(0), id.clone()));
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
    let results = match fs_err::read(dir.join(RESULTS_FILE)) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is corrupt", dir.join(RESULTS_FILE).display()))?,
        ),
        Err(_) => None,
    };
    Ok((record, results, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sort_by_start_time() {
        let mut ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
        let set: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        let before = new_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let after = new_id();
        assert!(started_ms(&before) < started_ms(&after));
        ids.sort_by_key(|id| started_ms(id));
        assert!(
            ids.windows(2)
                .all(|w| started_ms(&w[0]) <= started_ms(&w[1]))
        );
    }

    #[test]
    fn old_ids_keep_their_time() {
        let ms = started_ms("20261122-101500-00ab").unwrap();
        let ulid = ulid::Ulid::from_string(&new_id()).unwrap().timestamp_ms();
        assert!(ms < ulid);
        assert_eq!(ms % 1000, 0);
        assert_eq!(started_ms("not-an-id"), None);
    }
}
