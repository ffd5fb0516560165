//! Launchers for the console scripts of every layer (`tempest`, `stestr`,
//! `subunit-trace`, ...), written into the environment's `bin/` with its own
//! python, so `ENV/bin/tempest` runs inside the environment, not the base.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::dist::scan::{self, Origin, SiteDir};
use crate::env::Environment;
use crate::wheel::launcher;

/// A console or GUI script of a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub name: String,
    pub module: String,
    pub attr: Option<String>,
}

/// The scripts of every distribution in `layer` (scanned; a base records
/// them when it is built so environments need not scan it).
pub fn scripts(layer: &Path) -> Result<Vec<Script>> {
    let scanned = scan::scan_with(
        &scan::effective_path(&[SiteDir {
            dir: layer.to_path_buf(),
            origin: Origin::Base,
        }])?,
        scan::ScanOptions {
            files: false,
            plugins_only_details: false,
        },
    );
    let mut out = Vec::new();
    for group in ["console_scripts", "gui_scripts"] {
        for (ep, _) in scanned.entry_points(group) {
            out.push(Script {
                name: ep.name.clone(),
                module: ep.module.clone(),
                attr: ep.attr.clone(),
            });
        }
    }
    Ok(out)
}

/// The scripts of `layer`, cached under `<cache>/scripts/` by `key` (the
/// layer's hash or state key) when it has one.
pub fn scripts_cached(
    home: &crate::home::Home,
    layer: &Path,
    key: Option<&str>,
) -> Result<Vec<Script>> {
    let Some(key) = key else {
        return scripts(layer);
    };
    let file = home
        .cache()
        .join("scripts")
        .join(format!("{}.json", key.replace(':', "-")));
    if let Ok(bytes) = std::fs::read(&file)
        && let Ok(cached) = serde_json::from_slice(&bytes)
    {
        return Ok(cached);
    }
    let found = scripts(layer)?;
    if let Some(dir) = file.parent()
        && fs_err::create_dir_all(dir).is_ok()
    {
        let _ = crate::atomic::write_file(&file, serde_json::to_string(&found)?.as_bytes());
    }
    Ok(found)
}

/// Write launchers for `scripts`, skipping refused names and names the
/// environment already has. Returns the files written, relative to the
/// environment's root.
pub fn write_scripts(env: &Environment, scripts: &[Script]) -> Result<Vec<PathBuf>> {
    write_launchers(env, scripts, false)
}

/// Write launchers for `scripts`, replacing existing files of those names
/// (an installer's launchers that point at another python).
pub fn write_scripts_over(env: &Environment, scripts: &[Script]) -> Result<Vec<PathBuf>> {
    write_launchers(env, scripts, true)
}

fn write_launchers(env: &Environment, scripts: &[Script], replace: bool) -> Result<Vec<PathBuf>> {
    let scheme = &env.manifest.interpreter.scheme;
    let python = env.dest().join(&scheme.scripts).join("python");
    let mut written = Vec::new();
    for script in scripts {
        if launcher::check_name(&script.name).is_err() {
            continue;
        }
        let rel = scheme.scripts.join(&script.name);
        let path = env.root.join(&rel);
        let text = launcher::script(&python, &script.module, script.attr.as_deref());
        if replace {
            let _ = std::fs::remove_file(&path);
        }
        // One open that creates the file executable, or finds the name
        // taken (the environment's own script wins): environments get
        // dozens of launchers, and each saved syscall counts.
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&path);
        let mut file = match file {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(
                    anyhow::Error::new(err).context(format!("failed to create {}", path.display()))
                );
            }
        };
        if let Err(err) = file.write_all(text.as_bytes()) {
            // No partial launcher is left behind (a full disk).
            let _ = std::fs::remove_file(&path);
            return Err(
                anyhow::Error::new(err).context(format!("failed to write {}", path.display()))
            );
        }
        written.push(rel);
    }
    Ok(written)
}

/// Scan `layer` and write launchers for its scripts.
pub fn write(env: &Environment, layer: &Path) -> Result<Vec<PathBuf>> {
    write_scripts(env, &scripts(layer)?)
}
