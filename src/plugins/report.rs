//! What tempest will load, from where, and what is wrong with it, found
//! natively from the scan of the effective import path: nothing is
//! imported.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use crate::dist::check;
use crate::dist::entry_points::TEMPEST_GROUP;
use crate::dist::scan::{Distribution, ScanResult};

/// One `tempest.test_plugins` entry point.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRow {
    /// The entry-point name (what `tempest list-plugins` shows).
    pub name: String,
    /// `module:attr`.
    pub target: String,
    pub dist: String,
    pub version: String,
    /// env, base, store, editable, system or user.
    pub origin: String,
    /// The sys.path entry it was found in.
    pub location: PathBuf,
}

/// A problem found without importing anything.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// duplicate-entry-point, shadowed-distribution, shadowed-module,
    /// unmet-requirement or missing-module.
    pub kind: &'static str,
    /// The plugin (entry-point name) or distribution concerned.
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugins: Vec<PluginRow>,
    pub problems: Vec<Finding>,
}

/// Build the report. `origin_of` names where a sys.path entry comes from.
pub fn report(
    scan: &ScanResult,
    markers: &BTreeMap<String, String>,
    origin_of: &dyn Fn(&Distribution) -> String,
) -> Report {
    let mut plugins = Vec::new();
    for (ep, dist) in scan.entry_points(TEMPEST_GROUP) {
        plugins.push(PluginRow {
            name: ep.name.clone(),
            target: match &ep.attr {
                Some(attr) => format!("{}:{attr}", ep.module),
                None => ep.module.clone(),
            },
            dist: dist.name.clone(),
            version: dist.version.clone(),
            origin: origin_of(dist),
            location: dist.site_dir.clone(),
        });
    }
    let mut problems = Vec::new();
    duplicate_names(&plugins, &mut problems);
    for (hidden, winner) in scan.shadowed() {
        problems.push(Finding {
            kind: "shadowed-distribution",
            subject: hidden.name.clone(),
            message: shadowing(hidden, winner),
        });
    }
    let plugin_dists: Vec<&Distribution> = {
        let mut seen = std::collections::HashSet::new();
        scan.entry_points(TEMPEST_GROUP)
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| seen.insert(d.metadata_path.clone()))
            .collect()
    };
    shadowed_modules(scan, &plugin_dists, &mut problems);
    let plugin_names: HashMap<String, Vec<String>> = plugin_dists
        .iter()
        .map(|d| {
            (
                d.normalized_name(),
                d.entry_points
                    .iter()
                    .filter(|e| e.group == TEMPEST_GROUP)
                    .map(|e| e.name.clone())
                    .collect(),
            )
        })
        .collect();
    // Only plugins' requirements are reported: check those alone (every
    // distribution still counts as present), not all of a base's hundreds.
    let mut plugins_only = scan.clone();
    for dist in &mut plugins_only.dists {
        if !plugin_names.contains_key(&dist.normalized_name()) {
            dist.requires.clear();
        }
    }
    for problem in check::check(&plugins_only, markers) {
        if let Some(names) = plugin_names.get(&problem.dist) {
            problems.push(Finding {
                kind: "unmet-requirement",
                subject: names.join(", "),
                message: problem.to_string(),
            });
        }
    }
    for (ep, dist) in scan.entry_points(TEMPEST_GROUP) {
        if !module_exists(dist, &ep.module) {
            problems.push(Finding {
                kind: "missing-module",
                subject: ep.name.clone(),
                message: format!(
                    "entry point {} points at module `{}`, which {} {} does not contain",
                    ep.name, ep.module, dist.name, dist.version
                ),
            });
        }
    }
    Report { plugins, problems }
}

fn duplicate_names(plugins: &[PluginRow], problems: &mut Vec<Finding>) {
    let mut by_name: BTreeMap<&str, Vec<&PluginRow>> = BTreeMap::new();
    for row in plugins {
        by_name.entry(&row.name).or_default().push(row);
    }
    for (name, rows) in by_name {
        let dists: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", r.dist, r.version))
            .collect();
        if rows.len() < 2 {
            continue;
        }
        // stevedore loads both; tempest keys plugins by name, so the one
        // loaded last (last in path order) is the one whose tests are found.
        let (shadowed, used) = rows.split_at(rows.len() - 1);
        problems.push(Finding {
            kind: "duplicate-entry-point",
            subject: name.to_string(),
            message: format!(
                "entry point {name} is declared by {}; tempest finds the tests of {} only (loaded last), and those of {} are shadowed",
                dists.join(" and "),
                used[0].dist,
                shadowed.iter().map(|r| r.dist.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
}

/// A plugin's top-level module that an earlier path entry provides too.
fn shadowed_modules(scan: &ScanResult, plugins: &[&Distribution], problems: &mut Vec<Finding>) {
    let order: Vec<PathBuf> = {
        let mut dirs = Vec::new();
        for d in &scan.dists {
            if !dirs.contains(&d.site_dir) {
                dirs.push(d.site_dir.clone());
            }
        }
        dirs
    };
    for plugin in plugins {
        let own = order
            .iter()
            .position(|d| *d == plugin.site_dir)
            .unwrap_or(0);
        for top in &plugin.top_level {
            for earlier in &order[..own] {
                if top.is_empty()
                    || !(earlier.join(top).is_dir() || earlier.join(format!("{top}.py")).is_file())
                {
                    continue;
                }
                let owner = scan
                    .dists
                    .iter()
                    .filter(|d| d.site_dir == *earlier)
                    .find(|d| owns_top_level(d, top))
                    .map(|d| format!("{} {}", d.name, d.version))
                    .unwrap_or_else(|| "an unknown distribution".into());
                problems.push(Finding {
                    kind: "shadowed-module",
                    subject: plugin.name.clone(),
                    message: format!(
                        "module `{top}` of {} is shadowed by {owner} in {}, which comes first on the path",
                        plugin.name,
                        earlier.display()
                    ),
                });
            }
        }
    }
}

/// Whether `dist` provides the top-level name `top`: its `top_level`, or
/// (when the scan skipped it) its `top_level.txt` read now.
fn owns_top_level(dist: &Distribution, top: &str) -> bool {
    if dist.top_level.iter().any(|t| t == top) {
        return true;
    }
    fs_err::read_to_string(dist.metadata_path.join("top_level.txt")).is_ok_and(|text| {
        crate::dist::egg_info::top_level(&text)
            .iter()
            .any(|t| t == top)
    })
}

/// Whether `module` exists in `dist`: listed in its RECORD, or present where
/// it lives (its site dir, its egg-link project, or the source tree its
/// `direct_url.json` names for an editable install, and that tree's `src/`).
fn module_exists(dist: &Distribution, module: &str) -> bool {
    let rel: PathBuf = module.split('.').collect();
    let as_file = rel.with_extension("py");
    let as_package = rel.join("__init__.py");
    if dist.files.iter().any(|f| *f == as_file || *f == as_package) {
        return true;
    }
    // The scan reads `direct_url.json` (and `.egg-link`) for plugins into
    // `editable_location`; a `src/` layout keeps its packages one level down.
    let mut roots: Vec<PathBuf> = vec![dist.site_dir.clone()];
    if let Some(tree) = &dist.editable_location {
        roots.push(tree.clone());
        roots.push(tree.join("src"));
    }
    roots.iter().any(|root| {
        let base = root.join(&rel);
        if base.with_extension("py").is_file()
            || base.join("__init__.py").is_file()
            || base.is_dir()
        {
            return true;
        }
        // Extension modules: `name.cpython-311-x86_64-linux-gnu.so`.
        let stem = rel
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = base.parent().unwrap_or(root);
        fs_err::read_dir(parent).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&format!("{stem}.")) && name.ends_with(".so")
            })
        })
    })
}

/// Why `hidden` is not the copy of its project Python reads: `winner` comes
/// first on the path, or, in one directory, its `.dist-info` comes before
/// an `.egg-info` (Debian installs both for some packages).
pub fn shadowing(hidden: &Distribution, winner: &Distribution) -> String {
    let file = |d: &Distribution| {
        d.metadata_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if hidden.site_dir == winner.site_dir {
        format!(
            "{} is recorded twice in {}: Python reads {} ({}) and ignores {} ({})",
            hidden.name,
            winner.site_dir.display(),
            file(winner),
            winner.version,
            file(hidden),
            hidden.version
        )
    } else {
        format!(
            "{} is visible twice: {} in {} wins by path order over {} in {}",
            hidden.name,
            winner.version,
            winner.site_dir.display(),
            hidden.version,
            hidden.site_dir.display()
        )
    }
}
