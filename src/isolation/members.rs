//! The plugin set under study: which parts of a composition are members
//! (tempest plugins, each tried alone and in subsets) and which are part of
//! every probe (tempest or its stand-in, libraries). An artifact is a member
//! when it declares a `tempest.test_plugins` entry point; with the system
//! set, every system-wide plugin the selection lets through is one.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::dist::entry_points::TEMPEST_GROUP;
use crate::dist::name;
use crate::env::compose::ComposeSpec;
use crate::env::install::Artifact;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;

/// Where a member comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An artifact given with `--plugin` (or by the definition).
    Artifact(Artifact),
    /// A plugin of the system set, by distribution name.
    System(String),
}

/// One plugin of the set.
#[derive(Debug, Clone)]
pub struct Member {
    /// The distribution name.
    pub name: String,
    /// Its `tempest.test_plugins` entry-point names.
    pub entry_points: Vec<String>,
    /// Top-level importable names: test ids start with one of them.
    pub top_level: Vec<String>,
    pub source: Source,
}

impl Member {
    /// Whether the user's `wanted` names this member: its distribution or
    /// entry-point name, or the path it was given as.
    pub fn is_named(&self, wanted: &str) -> bool {
        if name::normalize(&self.name) == name::normalize(wanted)
            || self.entry_points.iter().any(|ep| ep == wanted)
        {
            return true;
        }
        match &self.source {
            Source::Artifact(Artifact::Tree(p) | Artifact::Wheel(p)) => {
                std::path::absolute(wanted).is_ok_and(|w| same_path(&w, p))
            }
            _ => false,
        }
    }

    /// Whether `wanted` is the start of this member's distribution name
    /// (`state-victim` for `state-victim-tempest-plugin`).
    pub fn is_prefixed(&self, wanted: &str) -> bool {
        name::normalize(&self.name).starts_with(&format!("{}-", name::normalize(wanted)))
    }

    /// Whether a test id belongs to this member.
    pub fn owns(&self, test_id: &str) -> bool {
        let first = test_id.split(['.', '[']).next().unwrap_or_default();
        self.top_level.iter().any(|t| t == first)
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || fs_err::canonicalize(a).ok() == fs_err::canonicalize(b).ok()
}

/// The spec's artifacts split into those every probe gets and the members,
/// plus the system set's plugins.
pub struct Split {
    pub common: Vec<Artifact>,
    pub members: Vec<Member>,
}

pub fn split(
    spec: &ComposeSpec,
    interpreter: &Interpreter,
    home: &Home,
    printer: &Printer,
) -> Result<Split> {
    let mut common = Vec::new();
    let mut members = Vec::new();
    for artifact in &spec.artifacts {
        match artifact_member(artifact, interpreter, home, printer)? {
            Some(member) => members.push(member),
            None => common.push(artifact.clone()),
        }
    }
    members.extend(system_members(spec, interpreter)?);
    Ok(Split { common, members })
}

fn artifact_member(
    artifact: &Artifact,
    interpreter: &Interpreter,
    home: &Home,
    printer: &Printer,
) -> Result<Option<Member>> {
    let member = match artifact {
        Artifact::Tree(path) => {
            let tree = crate::editable::tree::read(path)?;
            let entry_points: Vec<String> = crate::editable::tree::plugins(&tree);
            Member {
                name: tree.name.clone(),
                entry_points,
                top_level: top_level_of_dir(&tree.import_root),
                source: Source::Artifact(artifact.clone()),
            }
        }
        Artifact::Wheel(_) | Artifact::Sdist(_) => {
            let path = &match artifact {
                // Built once; every probe then installs the cached wheel.
                Artifact::Sdist(source) => crate::layers::sdist::wheel_for(
                    home,
                    interpreter,
                    Default::default(),
                    source,
                    &Default::default(),
                    printer,
                )?,
                _ => artifact_path(artifact),
            };
            let tags = crate::env::install::tags_for(interpreter);
            let filename = crate::env::install::check_compatible(path, &tags, interpreter)?;
            let entry =
                crate::store::ensure_wheel(home, path, &filename, interpreter, false, printer)?;
            Member {
                name: entry.info.name.clone(),
                entry_points: entry.info.plugins(),
                top_level: top_level_of_dir(&entry.site()),
                source: Source::Artifact(artifact.clone()),
            }
        }
        Artifact::Requirement(r) => {
            let dist = crate::env::compose::requirement_name(r);
            if name::normalize(&dist) == "tempest" {
                return Ok(None);
            }
            // Not resolved yet: assume a plugin, importable under its name.
            Member {
                top_level: vec![name::normalize(&dist).replace('-', "_")],
                name: dist,
                entry_points: Vec::new(),
                source: Source::Artifact(artifact.clone()),
            }
        }
    };
    let is_plugin = !member.entry_points.is_empty() || matches!(artifact, Artifact::Requirement(_));
    Ok(is_plugin.then_some(member))
}

fn artifact_path(artifact: &Artifact) -> std::path::PathBuf {
    match artifact {
        Artifact::Tree(path) | Artifact::Wheel(path) => path.clone(),
        Artifact::Sdist(source) | Artifact::Requirement(source) => source.into(),
    }
}

/// Packages and modules directly in `dir`.
fn top_level_of_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file_name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if path.is_dir() && path.join("__init__.py").is_file() {
                Some(file_name)
            } else {
                file_name.strip_suffix(".py").map(str::to_string)
            }
        })
        .filter(|n| n != "setup")
        .collect();
    names.sort();
    names
}

/// The system set's plugins that the selection lets through, one member per
/// distribution.
fn system_members(spec: &ComposeSpec, interpreter: &Interpreter) -> Result<Vec<Member>> {
    let selection = &spec.system;
    let dirs: Vec<PathBuf> = selection.dirs(interpreter);
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    let sites: Vec<crate::dist::scan::SiteDir> = dirs
        .iter()
        .map(|d| crate::dist::scan::SiteDir {
            dir: d.clone(),
            origin: crate::dist::scan::Origin::System,
        })
        .collect();
    let scanned = crate::dist::scan::scan(&crate::dist::scan::effective_path(&sites)?);
    let named = |d: &crate::dist::scan::Distribution, wanted: &str| {
        name::normalize(&d.name) == name::normalize(wanted)
            || d.entry_points
                .iter()
                .any(|ep| ep.group == TEMPEST_GROUP && ep.name == wanted)
    };
    let mut members: Vec<Member> = Vec::new();
    for dist in &scanned.dists {
        let entry_points: Vec<String> = dist
            .entry_points
            .iter()
            .filter(|ep| ep.group == TEMPEST_GROUP)
            .map(|ep| ep.name.clone())
            .collect();
        if entry_points.is_empty()
            || selection.exclude.iter().any(|w| named(dist, w))
            || (!selection.include.is_empty() && !selection.include.iter().any(|w| named(dist, w)))
            || members
                .iter()
                .any(|m| name::normalize(&m.name) == dist.normalized_name())
        {
            continue;
        }
        members.push(Member {
            name: dist.name.clone(),
            entry_points,
            top_level: dist.top_level.clone(),
            source: Source::System(dist.name.clone()),
        });
    }
    Ok(members)
}
