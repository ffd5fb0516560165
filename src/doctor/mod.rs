//! `doctor`: why a plugin is or is not visible, and what is unhealthy about
//! an environment, one finding at a time: what is wrong, why it matters, and
//! the command that fixes it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;

use crate::dist::entry_points::TEMPEST_GROUP;
use crate::dist::scan::{self, Origin, ScanResult, SiteDir};
use crate::env::Environment;
use crate::interpreter::Interpreter;
use crate::layers::LayerKind;

mod plugin;
mod rebuild;

pub use rebuild::Rebuild;

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: &'static str,
    /// A problem to fix, or information (where a plugin comes from, what
    /// the environment leaves out on purpose).
    pub level: Level,
    pub problem: String,
    pub why: String,
    pub fix: String,
    /// The fix as one command to run as it is, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A command that shows what the finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Problem,
    Info,
}

impl Finding {
    /// The fix is this command.
    pub fn run(mut self, command: String) -> Self {
        self.fix.clone_from(&command);
        self.command = Some(command);
        self
    }

    pub fn see(mut self, command: String) -> Self {
        self.see = Some(command);
        self
    }

    pub fn info(mut self) -> Self {
        self.level = Level::Info;
        self
    }
}

/// Caller variables that change what tempest sees.
pub const LEAKING_VARS: &[&str] = &[
    "PYTHONPATH",
    "PYTHON",
    "TEMPEST_CONFIG",
    "TEMPEST_CONFIG_DIR",
];

fn finding(id: &'static str, problem: String, why: &str, fix: String) -> Finding {
    Finding {
        id,
        level: Level::Problem,
        problem,
        why: why.to_string(),
        fix,
        command: None,
        see: None,
    }
}

fn site_scan(dirs: &[PathBuf], origin: Origin) -> Result<ScanResult> {
    let sites: Vec<SiteDir> = dirs
        .iter()
        .filter(|d| d.is_dir())
        .map(|d| SiteDir {
            dir: d.clone(),
            origin,
        })
        .collect();
    Ok(scan::scan_with(
        &scan::effective_path(&sites)?,
        scan::ScanOptions {
            files: false,
            plugins_only_details: false,
        },
    ))
}

fn plugin_names(scan: &ScanResult) -> Vec<(String, String)> {
    scan.entry_points(TEMPEST_GROUP)
        .into_iter()
        .map(|(ep, d)| (ep.name.clone(), d.name.clone()))
        .collect()
}

/// Everything doctor checks about the caller's process environment.
pub fn caller(vars: impl Iterator<Item = (String, String)>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, value) in vars {
        if LEAKING_VARS.contains(&key.as_str()) {
            out.push(finding(
                "leaking-variable",
                format!("{key}={value} is set in your environment"),
                "tempest, and python started from the environment's bin/ directly, will see it: it can add or hide plugins, pick another interpreter, or point tempest at another configuration (tempest-env run removes it)",
                format!("unset {key}"),
            ));
        }
    }
    out
}

/// Check an environment (and, for `plugin`, why that plugin is or is not
/// visible in it).
pub fn environment(
    env: &Environment,
    interpreter: Option<&Interpreter>,
    plugin: Option<&str>,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    out.extend(missing_home(env));
    // The import path: .pth lines pointing nowhere.
    let path = scan::effective_path(&[SiteDir {
        dir: env.site_packages(),
        origin: Origin::Env,
    }])?;
    for (pth, line) in &path.missing {
        out.push(finding(
            "dangling-pth",
            format!("{} has a line pointing nowhere: {line}", pth.display()),
            "a layer or source tree the environment expects is gone: its plugins are silently invisible",
            format!("tempest-env create {} --clear (or restore {line})", env.name),
        ));
    }
    out.extend(missing_files(env, &scan::scan(&path)));
    out.extend(modified_layers(env));
    out.extend(stale_entry_point_cache(env));
    let rebuild = Rebuild::of(env);
    with_commands(&mut out, &rebuild);
    out.extend(plugin::visibility(env, interpreter, plugin, &rebuild)?);
    Ok(out)
}

/// The base interpreter `pyvenv.cfg`'s `home` names, if it is gone.
fn missing_home(env: &Environment) -> Option<Finding> {
    let text = fs_err::read_to_string(env.root.join("pyvenv.cfg")).ok()?;
    let pairs = crate::env::pyvenv_cfg::parse(&text);
    let home = crate::env::pyvenv_cfg::get(&pairs, "home")?;
    if Path::new(home).is_dir() {
        return None;
    }
    Some(finding(
        "missing-home",
        format!("pyvenv.cfg says home = {home}, which no longer exists"),
        "the environment's python cannot start without its base interpreter",
        format!(
            "tempest-env create {} --clear --python <a python>",
            env.name
        ),
    ))
}

/// Files a distribution's RECORD lists that are gone. One mirrored from a
/// layer (`--link-mode symlink`) has its paths relative to the layer, whose
/// seal [`modified_layers`] checks.
fn missing_files(env: &Environment, scanned: &ScanResult) -> Vec<Finding> {
    let mut out = Vec::new();
    for dist in scanned.dists.iter().filter(|d| {
        d.site_dir == env.site_packages() && env.manifest.linked_layer(&d.metadata_path).is_none()
    }) {
        let missing: Vec<&PathBuf> = dist
            .files
            .iter()
            .filter(|f| !f.starts_with("..") && !f.to_string_lossy().contains("__pycache__"))
            .filter(|f| !dist.site_dir.join(f).exists())
            .collect();
        if let Some(first) = missing.first() {
            out.push(finding(
                "missing-files",
                format!("{} {}: {} file(s) its RECORD lists are gone, e.g. {}", dist.name, dist.version, missing.len(), first.display()),
                "a half-removed distribution still announces itself (and its plugins) but cannot be imported",
                format!("tempest-env uninstall {} {} and install it again", env.name, dist.name),
            ));
        }
    }
    out
}

/// Layers and store entries modified after they were made read-only.
fn modified_layers(env: &Environment) -> Vec<Finding> {
    let mut out = Vec::new();
    for layer in &env.manifest.layers {
        if !matches!(layer.kind, LayerKind::Base | LayerKind::Plugin) {
            continue;
        }
        let Some(root) = layer.path.parent() else {
            continue;
        };
        let stamp = [crate::layers::base::INFO_FILE, crate::store::INFO_FILE]
            .iter()
            .find_map(|f| {
                fs_err::metadata(root.join(f))
                    .and_then(|m| m.modified())
                    .ok()
            });
        if let Some(stamp) = stamp
            && let Some(changed) = modified_after(&layer.path, stamp)
        {
            out.push(finding(
                "modified-layer",
                format!("{} was modified after it was made read-only ({} changed)", root.display(), changed.display()),
                "a shared layer is used by every environment built from it; a change to it changes them all, and no manifest records it",
                format!("tempest-env gc after removing the environments that use it, or `tempest-env base remove` and create {} --clear", env.name),
            ));
        }
    }
    out
}

/// stevedore's entry-point cache (kept in the environment by `run`), if it
/// is older than the environment's last change.
fn stale_entry_point_cache(env: &Environment) -> Option<Finding> {
    let cache = env.root.join(".cache").join("python-entrypoints");
    let changed = fs_err::metadata(env.manifest_path())
        .and_then(|m| m.modified())
        .ok()?;
    let stale = fs_err::read_dir(&cache)
        .ok()?
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < changed)
        })
        .count();
    (stale > 0).then(|| {
        finding(
            "stale-entry-point-cache",
            format!(
                "stevedore's entry-point cache in {} is older than the environment's last change",
                cache.display()
            ),
            "stevedore may load the plugin list it cached before, not what is installed now",
            format!(
                "rm -rf {}",
                crate::shell::sh_quote(&cache.to_string_lossy())
            ),
        )
    })
}

/// The commands that fix the findings: rebuilding the environment with its
/// own options restores a `.pth` line pointing nowhere, or files gone.
fn with_commands(out: &mut [Finding], rebuild: &Rebuild) {
    for f in out
        .iter_mut()
        .filter(|f| matches!(f.id, "dangling-pth" | "missing-files"))
    {
        let command = rebuild.command();
        f.fix = format!("{command}   (or restore what is gone)");
        f.command = Some(command);
    }
    for f in out.iter_mut().filter(|f| f.id == "missing-home") {
        // Another interpreter is the user's choice; every other option stays.
        f.fix = rebuild.with_python("<a python>").command();
    }
    for f in out.iter_mut().filter(|f| f.id == "stale-entry-point-cache") {
        f.command = Some(f.fix.clone());
    }
}

/// The first file under `dir` changed after `stamp` (or made writable).
fn modified_after(dir: &Path, stamp: SystemTime) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let entries = fs_err::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == "__pycache__" {
            continue;
        }
        let Ok(meta) = fs_err::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Some(found) = modified_after(&path, stamp) {
                return Some(found);
            }
        } else if meta.modified().is_ok_and(|t| t > stamp) || meta.permissions().mode() & 0o222 != 0
        {
            return Some(path);
        }
    }
    None
}
