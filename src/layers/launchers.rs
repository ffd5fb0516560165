//! The console scripts of every layer (`tempest`, `stestr`,
//! `subunit-trace`, ...): scanned once per layer and cached. `env::launchers`
//! writes them into an environment's `bin/` with its own python.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::dist::scan::{self, Origin, SiteDir};

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
    if let Ok(bytes) = fs_err::read(&file)
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
