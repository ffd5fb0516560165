//! The system set: the interpreter's system-wide site-packages (plus any
//! `--system-site` dirs), made a layer so every system-wide plugin is
//! visible, as tox's `sitepackages = True` makes it. With `--system-plugin`
//! or `--exclude-plugin`, a directory is replaced by a view: links to every
//! entry except the hidden plugins' files, built inside the environment.
//! Nothing is ever written into a system directory.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::dist::entry_points::TEMPEST_GROUP;
use crate::dist::name;
use crate::dist::scan::{self, Distribution, MetadataKind, Origin, SiteDir};
use crate::error::UserError;
use crate::interpreter::Interpreter;
use crate::layers::{LayerKind, LayerRecord};
use crate::printer::Printer;

/// Which part of the system set an environment sees.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--all-plugin`: the interpreter's system site-packages.
    pub all_plugin: bool,
    /// `--system-site DIR`: more directories.
    pub extra_dirs: Vec<PathBuf>,
    /// `--system-plugin P`: only these plugins (entry-point or distribution
    /// names); empty means all.
    pub include: Vec<String>,
    /// `--exclude-plugin P`: hide these.
    pub exclude: Vec<String>,
    /// `--user-site`: the user site-packages too.
    pub user_site: bool,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        !self.all_plugin
            && self.extra_dirs.is_empty()
            && self.include.is_empty()
            && self.exclude.is_empty()
            && !self.user_site
    }

    /// The system directories, in order: the `--system-site` directories
    /// first, as the user names them to be the set (like `PYTHONPATH`
    /// entries, which precede site-packages), then the interpreter's own
    /// site-packages, whose copies they shadow.
    pub fn dirs(&self, interpreter: &Interpreter) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.extra_dirs.clone();
        if self.all_plugin || !self.include.is_empty() || !self.exclude.is_empty() {
            dirs.extend(interpreter.info.site_packages.iter().cloned());
        }
        dirs.retain(|d| d.is_dir());
        let mut seen = BTreeSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        dirs
    }
}

/// A key for the state of a system directory: its path and mtime, which
/// changes whenever a distribution is installed or removed in it (a new
/// version is a new dist-info directory). Cached answers about the
/// directory (scripts, requirement verdicts) are keyed by it.
pub fn state_key(dir: &Path, extra: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs_err::metadata(dir).ok()?;
    let key = format!(
        "{}\0{}\0{}\0{extra}",
        dir.display(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    Some(format!(
        "dir:{}",
        crate::digest::short_sha256(key.as_bytes(), 12)
    ))
}

/// A tempest plugin found in the system set.
#[derive(Debug, Clone)]
pub struct SystemPlugin {
    pub entry_point: String,
    pub dist: String,
    pub site_dir: PathBuf,
}

/// The layers for `selection`; views are written under `root/system/` (the
/// environment while it is built) and recorded at `dest/system/`.
pub fn layers(
    root: &Path,
    dest: &Path,
    interpreter: &Interpreter,
    selection: &Selection,
    printer: &Printer,
) -> Result<Vec<LayerRecord>> {
    let dirs = selection.dirs(interpreter);
    let mut layers = Vec::new();
    let filtering = !selection.include.is_empty() || !selection.exclude.is_empty();
    let sites: Vec<SiteDir> = dirs
        .iter()
        .map(|d| SiteDir {
            dir: d.clone(),
            origin: Origin::System,
        })
        .collect();
    let scanned = if filtering {
        // File lists are read only for the plugins being hidden.
        Some(scan::scan_with(
            &scan::effective_path(&sites)?,
            scan::ScanOptions {
                files: false,
                plugins_only_details: false,
            },
        ))
    } else {
        None
    };
    if let Some(scanned) = &scanned {
        check_names(scanned, selection)?;
    }
    for (index, dir) in dirs.iter().enumerate() {
        let hidden: Vec<&Distribution> = match &scanned {
            Some(scanned) => scanned
                .dists
                .iter()
                .filter(|d| &d.site_dir == dir && is_hidden(d, selection))
                .collect(),
            None => Vec::new(),
        };
        if hidden.is_empty() {
            layers.push(LayerRecord {
                kind: LayerKind::System,
                path: dir.clone(),
                dist: None,
                hash: state_key(dir, ""),
                files: Vec::new(),
                linked: None,
            });
            continue;
        }
        let rel = PathBuf::from("system").join(index.to_string());
        let view = root.join(&rel);
        let (paths, rewrites) = hidden_paths(dir, &hidden)?;
        let start = std::time::Instant::now();
        let links = build_view(dir, &view, Path::new(""), &paths, &rewrites)?;
        printer.verbose(format!(
            "view of {} hiding {} in {:.1?} ({links} links)",
            dir.display(),
            hidden
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            start.elapsed()
        ));
        let hidden_names: Vec<&str> = hidden.iter().map(|d| d.name.as_str()).collect();
        layers.push(LayerRecord {
            kind: LayerKind::System,
            path: dest.join(&rel),
            dist: None,
            // The view's content follows from the directory and what it hides.
            hash: state_key(dir, &hidden_names.join(",")),
            files: Vec::new(),
            linked: None,
        });
    }
    if selection.user_site
        && let Some(user) = &interpreter.info.user_site
        && user.is_dir()
    {
        layers.push(LayerRecord {
            kind: LayerKind::User,
            path: user.clone(),
            dist: None,
            hash: None,
            files: Vec::new(),
            linked: None,
        });
    }
    Ok(layers)
}

/// The plugins of a scanned system set.
pub fn plugins(scanned: &scan::ScanResult) -> Vec<SystemPlugin> {
    scanned
        .dists
        .iter()
        .flat_map(|d| {
            d.entry_points
                .iter()
                .filter(|ep| ep.group == TEMPEST_GROUP)
                .map(move |ep| SystemPlugin {
                    entry_point: ep.name.clone(),
                    dist: d.name.clone(),
                    site_dir: d.site_dir.clone(),
                })
        })
        .collect()
}

fn matches(dist: &Distribution, wanted: &str) -> bool {
    name::normalize(&dist.name) == name::normalize(wanted)
        || dist
            .entry_points
            .iter()
            .any(|ep| ep.group == TEMPEST_GROUP && ep.name == wanted)
}

fn is_plugin(dist: &Distribution) -> bool {
    dist.entry_points.iter().any(|ep| ep.group == TEMPEST_GROUP)
}

/// Whether `selection` hides `dist` (a plugin not selected or excluded).
pub fn is_hidden(dist: &Distribution, selection: &Selection) -> bool {
    if !is_plugin(dist) {
        return false;
    }
    let excluded = selection.exclude.iter().any(|p| matches(dist, p));
    let not_included =
        !selection.include.is_empty() && !selection.include.iter().any(|p| matches(dist, p));
    excluded || not_included
}

/// Every name given must be a plugin of the system set.
fn check_names(scanned: &scan::ScanResult, selection: &Selection) -> Result<()> {
    for wanted in selection.include.iter().chain(&selection.exclude) {
        if !scanned
            .dists
            .iter()
            .any(|d| is_plugin(d) && matches(d, wanted))
        {
            let known: BTreeSet<String> = plugins(scanned)
                .into_iter()
                .map(|p| format!("{} ({})", p.entry_point, p.dist))
                .collect();
            return Err(
                UserError::new(format!("`{wanted}` is not a plugin of the system set"))
                    .hint(format!(
                        "the system set has: {}",
                        if known.is_empty() {
                            "no plugins".to_string()
                        } else {
                            known.into_iter().collect::<Vec<_>>().join(", ")
                        }
                    ))
                    .into(),
            );
        }
    }
    Ok(())
}

/// What a hidden distribution owns in `site`, relative to it, and `.pth`
/// files that must be rewritten without its lines.
fn hidden_paths(
    site: &Path,
    hidden: &[&Distribution],
) -> Result<(BTreeSet<PathBuf>, HashMap<PathBuf, String>)> {
    let mut paths = BTreeSet::new();
    let mut editable_dirs = Vec::new();
    for dist in hidden {
        if let Ok(rel) = dist.metadata_path.strip_prefix(site) {
            paths.insert(rel.to_path_buf());
        }
        let files = files_of(dist);
        for file in &files {
            if file
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
            {
                paths.insert(file.clone());
            }
        }
        if files.is_empty() || dist.kind == MetadataKind::EggInfo {
            // Debian's egg-info lists no files: hide its top-level names.
            for top in &dist.top_level {
                if top.is_empty() || top.contains(['/', '\\']) || top == ".." {
                    continue;
                }
                for entry in fs_err::read_dir(site).into_iter().flatten().flatten() {
                    let file_name = entry.file_name().to_string_lossy().into_owned();
                    let module = file_name.split('.').next().unwrap_or_default();
                    if file_name == *top || (module == top && !entry.path().is_dir()) {
                        paths.insert(PathBuf::from(file_name));
                    }
                }
            }
        }
        if let Some(location) = &dist.editable_location {
            editable_dirs.push(location.clone());
        }
        // Editable installs: their own .pth and .egg-link files.
        let escaped = name::escape(&dist.name).to_lowercase();
        for entry in fs_err::read_dir(site).into_iter().flatten().flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let lower = file_name.to_lowercase();
            let editable_pth = lower.starts_with("__editable__")
                && lower.contains(&escaped)
                && lower.ends_with(".pth");
            let egg_link = lower.ends_with(".egg-link")
                && name::normalize(lower.trim_end_matches(".egg-link"))
                    == name::normalize(&dist.name);
            if editable_pth || egg_link {
                paths.insert(PathBuf::from(file_name));
            }
        }
    }
    // Shared .pth files (easy-install.pth) lose the hidden trees' lines.
    let mut rewrites = HashMap::new();
    if !editable_dirs.is_empty() {
        for entry in fs_err::read_dir(site).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "pth")
                || paths.contains(Path::new(&entry.file_name()))
            {
                continue;
            }
            let Ok(text) = fs_err::read_to_string(&path) else {
                continue;
            };
            let kept: Vec<&str> = text
                .lines()
                .filter(|line| {
                    let target = site.join(line.trim());
                    !editable_dirs
                        .iter()
                        .any(|d| *d == target || d.as_path() == Path::new(line.trim()))
                })
                .collect();
            if kept.len() != text.lines().count() {
                rewrites.insert(PathBuf::from(entry.file_name()), kept.join("\n") + "\n");
            }
        }
    }
    Ok((paths, rewrites))
}

/// The files a distribution owns, relative to its site dir: its RECORD, or
/// an egg-info's `installed-files.txt` (relative to the egg-info).
fn files_of(dist: &Distribution) -> Vec<PathBuf> {
    if !dist.files.is_empty() {
        return dist.files.clone();
    }
    let meta = &dist.metadata_path;
    if let Ok(text) = fs_err::read_to_string(meta.join("RECORD"))
        && let Ok(entries) = crate::dist::record::parse(&text)
    {
        return entries.into_iter().map(|e| PathBuf::from(e.path)).collect();
    }
    if let Ok(text) = fs_err::read_to_string(meta.join("installed-files.txt"))
        && let Ok(rel) = meta.strip_prefix(&dist.site_dir)
    {
        return crate::dist::egg_info::installed_files(&text)
            .into_iter()
            .map(|f| scan::normalize(&rel.join(f)))
            .collect();
    }
    Vec::new()
}

/// Link every entry of `src/rel` into `view/rel` except the hidden ones,
/// descending only into directories that contain something hidden. A
/// directory left with nothing visible is not created (an empty directory
/// would import as a namespace package). Returns the number of links.
fn build_view(
    src: &Path,
    view: &Path,
    rel: &Path,
    hidden: &BTreeSet<PathBuf>,
    rewrites: &HashMap<PathBuf, String>,
) -> Result<usize> {
    let dir = src.join(rel);
    let mut made = 0;
    let out_dir = view.join(rel);
    fs_err::create_dir_all(&out_dir)?;
    let entries = fs_err::read_dir(&dir)?;
    for entry in entries {
        let entry = entry?;
        let child = rel.join(entry.file_name());
        if hidden.contains(&child) {
            continue;
        }
        let target = out_dir.join(entry.file_name());
        if let Some(text) = rewrites.get(&child) {
            fs_err::write(&target, text)?;
            made += 1;
            continue;
        }
        let contains_hidden = hidden
            .range(child.clone()..)
            .next()
            .is_some_and(|h| h.starts_with(&child) && h != &child);
        if contains_hidden && entry.file_type()?.is_dir() {
            let inner = build_view(src, view, &child, hidden, rewrites)?;
            if inner == 0 {
                let _ = fs_err::remove_dir(&target);
            }
            made += inner;
        } else {
            std::os::unix::fs::symlink(entry.path(), &target).with_context(|| {
                format!(
                    "failed to link {} to {}",
                    target.display(),
                    entry.path().display()
                )
            })?;
            made += 1;
        }
    }
    Ok(made)
}

/// The directory a view shows (the one its links point into), or `None`
/// for a directory that is not a view.
pub fn view_source(view: &Path) -> Option<PathBuf> {
    fs_err::read_dir(view)
        .ok()?
        .flatten()
        .find_map(|entry| fs_err::read_link(entry.path()).ok())
        .and_then(|target| target.parent().map(Path::to_path_buf))
}
