//! Launchers for the console scripts of every layer, written into the
//! environment's `bin/` with its own python, so `ENV/bin/tempest` runs
//! inside the environment, not the base.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Environment;
use crate::layers::launchers::Script;
use crate::wheel::launcher;

/// The file every layer launcher is a hard link to.
pub const DISPATCHER: &str = ".tempest-env-launcher";

/// Write the launchers of every layer's scripts, `layers` in order (the
/// first layer with a name wins, and so does any file the environment
/// already has, such as an installed wheel's launcher). Returns, per layer,
/// the files written relative to the environment's root.
///
/// A layer set has dozens of console scripts (tempest's base alone has ~35)
/// and every file created is paid again when a per-run environment is
/// removed. So the launchers are hard links to one dispatcher script that
/// holds the table of entry points and picks one by the name it was started
/// by: one file written, then one `link` per launcher. Where the filesystem
/// refuses hard links, a launcher is written as its own script.
pub fn write_layers(env: &Environment, layers: &[Vec<Script>]) -> Result<Vec<Vec<PathBuf>>> {
    let scheme = &env.manifest.interpreter.scheme;
    let bin = env.root.join(&scheme.scripts);
    let python = env.dest().join(&scheme.scripts).join("python");
    let mut claimed = std::collections::HashSet::new();
    let mut planned: Vec<(usize, &Script)> = Vec::new();
    for (index, scripts) in layers.iter().enumerate() {
        for script in scripts {
            if launcher::check_name(&script.name).is_ok() && claimed.insert(script.name.as_str()) {
                planned.push((index, script));
            }
        }
    }
    let mut written = vec![Vec::new(); layers.len()];
    if planned.is_empty() {
        return Ok(written);
    }
    let dispatcher = bin.join(DISPATCHER);
    // A re-composed environment gets a new table; links made to the old one
    // keep the old file (and table) until they are replaced.
    let _ = fs_err::remove_file(&dispatcher);
    let text = launcher::dispatcher(
        &python,
        planned
            .iter()
            .map(|(_, s)| (s.name.as_str(), s.module.as_str(), s.attr.as_deref())),
    );
    create_executable(&dispatcher, text.as_bytes())?;
    for (index, script) in planned {
        let path = bin.join(&script.name);
        match fs_err::hard_link(&dispatcher, &path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                let text = launcher::script(&python, &script.module, script.attr.as_deref());
                if !create_executable(&path, text.as_bytes())? {
                    continue;
                }
            }
        }
        written[index].push(scheme.scripts.join(&script.name));
    }
    Ok(written)
}

/// Create `path` executable with `bytes` in one open that fails if the name
/// is taken (returns false then). A failed write leaves no partial file.
fn create_executable(path: &Path, bytes: &[u8]) -> Result<bool> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) => {
            return Err(
                anyhow::Error::new(err).context(format!("failed to create {}", path.display()))
            );
        }
    };
    if let Err(err) = file.write_all(bytes) {
        // No partial launcher is left behind (a full disk).
        let _ = fs_err::remove_file(path);
        return Err(anyhow::Error::new(err).context(format!("failed to write {}", path.display())));
    }
    Ok(true)
}

/// Write launchers for `scripts`, each its own script, replacing existing
/// files of those names (an installer's launchers that point at another
/// python). Returns the files written, relative to the environment's root.
pub fn write_scripts_over(env: &Environment, scripts: &[Script]) -> Result<Vec<PathBuf>> {
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
        let _ = fs_err::remove_file(&path);
        if create_executable(&path, text.as_bytes())? {
            written.push(rel);
        }
    }
    Ok(written)
}
