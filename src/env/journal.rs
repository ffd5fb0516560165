//! A write-ahead journal of the files an install is about to place in an
//! environment. A process killed mid-install leaves files that belong to no
//! distribution in the manifest; the journal names them, so the next install
//! (or `gc`) removes them instead of refusing to overwrite them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Environment;

pub const FILE: &str = ".tempest-env-pending";

/// Record `targets` (relative to the environment's root) before writing them.
pub fn record(root: &Path, targets: &[PathBuf]) -> Result<()> {
    let path = root.join(FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
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
    let _ = std::fs::remove_file(root.join(FILE));
}

/// Remove what an interrupted install left: journaled files that no
/// distribution of the manifest owns. Returns them.
pub fn recover(env: &Environment) -> Result<Vec<PathBuf>> {
    let path = env.root.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => return Ok(Vec::new()),
    };
    let owned: std::collections::HashSet<&PathBuf> = env
        .manifest
        .distributions
        .iter()
        .flat_map(|d| d.files.iter())
        .collect();
    let mut removed = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let rel = PathBuf::from(line);
        // Only paths inside the environment, never one a distribution owns.
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            continue;
        }
        if owned.contains(&rel) {
            continue;
        }
        let full = env.root.join(&rel);
        if std::fs::symlink_metadata(&full).is_ok() {
            fs_err::remove_file(&full)?;
            removed.push(full);
        }
    }
    clear(&env.root);
    Ok(removed)
}
