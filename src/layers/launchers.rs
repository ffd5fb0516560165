//! Launchers for the console scripts of every layer (`tempest`, `stestr`,
//! `subunit-trace`, ...), written into the environment's `bin/` with its own
//! python, so `ENV/bin/tempest` runs inside the environment, not the base.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::dist::scan::{self, Origin, SiteDir};
use crate::env::Environment;
use crate::wheel::launcher;

/// Write launchers for the console and GUI scripts of the distributions in
/// `layer`, skipping names the environment already has. Returns the files
/// written, relative to the environment's root.
pub fn write(env: &Environment, layer: &Path) -> Result<Vec<PathBuf>> {
    let scanned = scan::scan(&scan::effective_path(&[SiteDir {
        dir: layer.to_path_buf(),
        origin: Origin::Base,
    }])?);
    let scheme = &env.manifest.interpreter.scheme;
    let python = env.dest().join(&scheme.scripts).join("python");
    let mut written = Vec::new();
    for group in ["console_scripts", "gui_scripts"] {
        for (ep, _) in scanned.entry_points(group) {
            if launcher::check_name(&ep.name).is_err() {
                continue;
            }
            let rel = scheme.scripts.join(&ep.name);
            let path = env.root.join(&rel);
            if std::fs::symlink_metadata(&path).is_ok() {
                continue;
            }
            fs_err::write(
                &path,
                launcher::script(&python, &ep.module, ep.attr.as_deref()),
            )?;
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            written.push(rel);
        }
    }
    Ok(written)
}
