//! Turn a lock back into an environment's composition, on this machine, and
//! say where what was built differs from what was locked.
//!
//! Every version is pinned: the base and plugin layers are resolved from
//! `name==version` of each of their distributions, wheels are found by
//! file name in `--find-links` directories and must have the locked sha256,
//! source trees must exist at the same path, and the system set is the
//! same directories with every plugin the lock did not see hidden. What the
//! machine cannot match (another interpreter patch version, a system
//! distribution missing or at another version) is found by locking the new
//! environment and comparing the two locks: [`differences`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Lock, LockedDistribution, Source};
use crate::dist::name;
use crate::dist::scan::{self, Origin, SiteDir};
use crate::env::compose::ComposeSpec;
use crate::env::install::Artifact;
use crate::env::manifest::LinkMode;
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::layers::installer::{IndexOptions, InstallerChoice};
use crate::layers::system::Selection;

/// Where the packages come from on this machine.
#[derive(Debug, Clone, Default)]
pub struct RebuildOptions {
    pub index: IndexOptions,
    pub installer: InstallerChoice,
}

/// The interpreter request that finds the locked one: its `major.minor`.
pub fn python_request(lock: &Lock) -> String {
    lock.interpreter
        .version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

/// The composition that rebuilds `lock` with `interpreter`; tempest-env's
/// bundled fixtures are this home's copy of them.
pub fn spec(
    lock: &Lock,
    interpreter: &Interpreter,
    options: &RebuildOptions,
    home: &Home,
) -> Result<ComposeSpec> {
    let pins = |source: Source| -> Vec<String> {
        lock.distributions
            .iter()
            .filter(|d| d.source == source)
            .map(|d| format!("{}=={}", d.name, d.version))
            .collect()
    };
    let mut artifacts: Vec<Artifact> = pins(Source::PluginLayer)
        .into_iter()
        .map(Artifact::Requirement)
        .collect();
    let mut link_mode = None;
    for dist in &lock.distributions {
        match dist.source {
            // pip comes from `--seed`, as it did.
            Source::Wheel if lock.composition.seed && dist.name.eq_ignore_ascii_case("pip") => {}
            Source::Wheel => {
                artifacts.push(Artifact::Wheel(find_wheel(
                    dist,
                    &options.index.find_links,
                )?));
                link_mode = link_mode.or(dist.link_mode.as_deref().and_then(parse_link_mode));
            }
            Source::Editable => artifacts.push(Artifact::Tree(find_tree(dist, home)?)),
            _ => {}
        }
    }
    Ok(ComposeSpec {
        artifacts,
        link_mode: link_mode.unwrap_or_default(),
        seed: lock.composition.seed,
        compile_bytecode: false,
        base: pins(Source::Base),
        constraints: None,
        index: options.index.clone(),
        installer: match (options.installer, lock.composition.installer.as_deref()) {
            // The installer the lock was made with, unless one is asked for.
            (InstallerChoice::Auto, Some("uv")) => InstallerChoice::Uv,
            (InstallerChoice::Auto, Some("pip")) => InstallerChoice::Pip,
            (choice, _) => choice,
        },
        system: selection(lock, interpreter)?,
        strict: false,
        // Every distribution is in the lock already: nothing more to resolve.
        no_deps: true,
    })
}

fn parse_link_mode(mode: &str) -> Option<LinkMode> {
    [
        LinkMode::Pth,
        LinkMode::Symlink,
        LinkMode::Hardlink,
        LinkMode::Copy,
    ]
    .into_iter()
    .find(|m| m.as_str() == mode)
}

/// The locked wheel, by file name in the `--find-links` directories, with
/// the locked sha256.
fn find_wheel(dist: &LockedDistribution, find_links: &[PathBuf]) -> Result<PathBuf> {
    let file = dist.origin.as_deref().unwrap_or_default();
    let hint = || {
        format!(
            "put {} in a directory and pass it with --find-links",
            if file.is_empty() { "the wheel" } else { file }
        )
    };
    let Some(path) = find_links
        .iter()
        .map(|dir| dir.join(file))
        .find(|path| !file.is_empty() && path.is_file())
    else {
        return Err(UserError::new(format!(
            "the lock's wheel of {} {} ({}) is not in any --find-links directory",
            dist.name,
            dist.version,
            if file.is_empty() {
                "no file name"
            } else {
                file
            }
        ))
        .hint(hint())
        .into());
    };
    if let Some(expected) = &dist.sha256 {
        let found = crate::store::sha256_file(&path)?;
        if &found != expected {
            return Err(UserError::new(format!(
                "{} has sha256 {found}, the lock requires {expected}",
                path.display()
            ))
            .hint("find the wheel the lock was made with")
            .into());
        }
    }
    Ok(path)
}

fn find_tree(dist: &LockedDistribution, home: &Home) -> Result<PathBuf> {
    let origin = dist.origin.as_deref().unwrap_or_default();
    let path = match origin.strip_prefix(super::BUNDLED_PREFIX) {
        Some(rest) if is_relative_inside(rest) => crate::bundled::extract(home)?.join(rest),
        _ => PathBuf::from(origin),
    };
    if path.is_dir() {
        return Ok(path);
    }
    Err(UserError::new(format!(
        "the lock's source tree of {} {} ({}) does not exist here",
        dist.name,
        dist.version,
        path.display()
    ))
    .hint("check the tree out at the same path, or lock an environment with a wheel of it")
    .into())
}

/// A plain relative path that stays inside the directory it is joined to.
fn is_relative_inside(rest: &str) -> bool {
    let path = Path::new(rest);
    !rest.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The same system directories, with every plugin the lock did not see
/// hidden.
fn selection(lock: &Lock, interpreter: &Interpreter) -> Result<Selection> {
    let mut selection = Selection {
        user_site: lock.composition.user_site,
        ..Default::default()
    };
    if !lock.composition.system_set {
        return Ok(selection);
    }
    let own = &interpreter.info.site_packages;
    for dir in &lock.composition.system_dirs {
        let dir = PathBuf::from(dir);
        if own.contains(&dir) {
            selection.all_plugin = true;
        } else if dir.is_dir() {
            selection.extra_dirs.push(dir);
        }
    }
    if !selection.all_plugin && selection.extra_dirs.is_empty() {
        // None of the locked directories is here: the interpreter's own set
        // is the nearest thing, and the comparison says what differs.
        selection.all_plugin = true;
    }
    let locked: BTreeSet<String> = lock
        .distributions
        .iter()
        .filter(|d| d.source == Source::System)
        .map(|d| name::normalize(&d.name))
        .collect();
    let sites: Vec<SiteDir> = selection
        .dirs(interpreter)
        .into_iter()
        .map(|dir| SiteDir {
            dir,
            origin: Origin::System,
        })
        .collect();
    let here = scan::scan_with(
        &scan::effective_path(&sites)?,
        scan::ScanOptions {
            files: false,
            plugins_only_details: false,
        },
    );
    selection.exclude = here
        .visible()
        .into_iter()
        .filter(|d| {
            d.entry_points
                .iter()
                .any(|ep| ep.group == crate::dist::entry_points::TEMPEST_GROUP)
        })
        .filter(|d| !locked.contains(&d.normalized_name()))
        .map(|d| d.name.clone())
        .collect();
    Ok(selection)
}

/// Lock `env`, just built from `lock`, and say where it differs from it.
pub fn check(
    lock: &Lock,
    env: &crate::env::Environment,
    interpreter: &Interpreter,
    home: &Home,
) -> Result<Vec<String>> {
    let built = super::record::environment(env, interpreter, home)?;
    Ok(differences(lock, &built))
}

/// Where `built` differs from `locked`, one line each: the interpreter, and
/// every distribution missing, extra, at another version, from another
/// source or with another sha256. Pure.
pub fn differences(locked: &Lock, built: &Lock) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (&locked.interpreter, &built.interpreter);
    if a.implementation != b.implementation || a.version != b.version {
        out.push(format!(
            "interpreter: {} {} in the lock, {} {} here",
            a.implementation, a.version, b.implementation, b.version
        ));
    }
    if a.tag != b.tag {
        out.push(format!("wheel tag: {} in the lock, {} here", a.tag, b.tag));
    }
    let find = |lock: &'_ Lock, wanted: &str| -> Option<LockedDistribution> {
        lock.distributions
            .iter()
            .find(|d| name::normalize(&d.name) == wanted)
            .cloned()
    };
    for want in &locked.distributions {
        let key = name::normalize(&want.name);
        let Some(got) = find(built, &key) else {
            out.push(format!(
                "missing: {} {} ({})",
                want.name,
                want.version,
                want.source.as_str()
            ));
            continue;
        };
        if got.version != want.version {
            out.push(format!(
                "{}: {} in the lock, {} here",
                want.name, want.version, got.version
            ));
        }
        if got.source != want.source {
            out.push(format!(
                "{}: from {} in the lock, from {} here",
                want.name,
                want.source.as_str(),
                got.source.as_str()
            ));
        }
        if want.sha256.is_some() && got.sha256 != want.sha256 {
            out.push(format!(
                "{}: sha256 {} in the lock, {} here",
                want.name,
                want.sha256.as_deref().unwrap_or("-"),
                got.sha256.as_deref().unwrap_or("none")
            ));
        }
    }
    for got in &built.distributions {
        if find(locked, &name::normalize(&got.name)).is_none() {
            out.push(format!(
                "extra: {} {} ({})",
                got.name,
                got.version,
                got.source.as_str()
            ));
        }
    }
    out
}

/// A lock file's text, read as any file input: a regular file.
pub fn read(path: &Path) -> Result<Lock> {
    let meta = fs_err::metadata(path).map_err(|e| {
        UserError::new(format!("lock {}: {e}", path.display()))
            .hint("name a lock file that `tempest-env lock` wrote")
    })?;
    if !meta.is_file() {
        return Err(UserError::new(format!("lock {}: not a regular file", path.display())).into());
    }
    let bytes = fs_err::read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| UserError::new(format!("lock {}: not UTF-8 text", path.display())))?;
    Lock::parse(&text).map_err(|e| {
        UserError::new(format!("lock {}: {e}", path.display()))
            .hint("`tempest-env lock ENV -o FILE` writes a lock this version reads")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::{FORMAT_VERSION, LockedComposition, LockedInterpreter};

    fn dist(name: &str, version: &str, source: Source, sha: Option<&str>) -> LockedDistribution {
        LockedDistribution {
            name: name.into(),
            version: version.into(),
            source,
            sha256: sha.map(str::to_string),
            origin: None,
            link_mode: None,
        }
    }

    fn lock(version: &str, dists: Vec<LockedDistribution>) -> Lock {
        Lock {
            format: FORMAT_VERSION,
            tempest_env: "0.1.0".into(),
            environment: "e".into(),
            interpreter: LockedInterpreter {
                implementation: "cpython".into(),
                version: version.into(),
                platform: "linux-x86_64".into(),
                tag: "cp311-cp311-linux_x86_64".into(),
                libc: "glibc 2.36".into(),
            },
            composition: LockedComposition::default(),
            distributions: dists,
            run: None,
        }
    }

    #[test]
    fn equal_locks_have_no_differences() {
        let a = lock(
            "3.11.7",
            vec![dist("tempest", "47.0.0", Source::Base, None)],
        );
        assert!(differences(&a, &a.clone()).is_empty());
    }

    #[test]
    fn every_kind_of_difference_is_one_line() {
        let locked = lock(
            "3.11.7",
            vec![
                dist("tempest", "47.0.0", Source::Base, None),
                dist("Valet", "1.0", Source::Wheel, Some("aa")),
                dist("gone", "2.0", Source::System, None),
                dist("moved", "1.0", Source::System, None),
            ],
        );
        let built = lock(
            "3.11.9",
            vec![
                dist("tempest", "46.0.0", Source::Base, None),
                dist("valet", "1.0", Source::Wheel, Some("bb")),
                dist("moved", "1.0", Source::Base, None),
                dist("new", "0.1", Source::System, None),
            ],
        );
        assert_eq!(
            differences(&locked, &built),
            [
                "interpreter: cpython 3.11.7 in the lock, cpython 3.11.9 here",
                "tempest: 47.0.0 in the lock, 46.0.0 here",
                "Valet: sha256 aa in the lock, bb here",
                "missing: gone 2.0 (system)",
                "moved: from system in the lock, from base here",
                "extra: new 0.1 (system)",
            ]
        );
    }

    #[test]
    fn the_python_request_is_major_minor() {
        assert_eq!(python_request(&lock("3.11.7", Vec::new())), "3.11");
    }
}
