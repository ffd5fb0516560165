//! Remove distributions from an environment: exactly what tempest-env
//! recorded for them, or for a distribution another tool (pip) installed,
//! what its RECORD lists. Nothing is removed through a symbolic link out of
//! the environment, nor any of the environment's own files, and the removal
//! is journaled (see [`super::journal`]) so that a process killed part-way
//! never leaves a half-removed distribution that the manifest still lists.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Environment;
use super::install::take_dist;
use super::manifest::DistRecord;
use crate::dist::name;
use crate::dist::record;
use crate::error::UserError;
use crate::printer::Printer;

/// Files a dist-info's RECORD lists, as env-relative paths; paths that would
/// leave the environment are refused.
pub(super) fn record_files(env: &Environment, dist_info: &Path) -> Result<Vec<PathBuf>> {
    let record_path = dist_info.join("RECORD");
    let text = fs_err::read_to_string(&record_path)?;
    let entries = record::parse(&text)
        .map_err(|e| UserError::new(format!("{} is unreadable: {e}", record_path.display())))?;
    let site = env.manifest.interpreter.scheme.purelib.clone();
    let mut files = Vec::new();
    for entry in entries {
        // A newline would split the line that names it in the journal.
        if entry.path.chars().any(char::is_control) {
            return Err(UserError::new(format!(
                "{} lists `{}`, a path with a control character; refusing to remove it",
                record_path.display(),
                entry.path.escape_debug()
            ))
            .hint("a RECORD may only name the distribution's own files; remove them by hand")
            .into());
        }
        let mut rel = site.clone();
        for part in Path::new(&entry.path).components() {
            match part {
                std::path::Component::ParentDir => {
                    if !rel.pop() {
                        return Err(UserError::new(format!(
                            "{} lists `{}`, which is outside the environment; refusing to remove it",
                            record_path.display(),
                            entry.path
                        ))
                        .into());
                    }
                }
                std::path::Component::Normal(p) => rel.push(p),
                _ => {
                    return Err(UserError::new(format!(
                        "{} lists `{}`, which is outside the environment; refusing to remove it",
                        record_path.display(),
                        entry.path
                    ))
                    .into());
                }
            }
        }
        let shown = rel.to_string_lossy();
        let scripts = env.manifest.interpreter.scheme.scripts.to_string_lossy();
        let libs = [
            env.manifest.interpreter.scheme.purelib.to_string_lossy(),
            env.manifest.interpreter.scheme.platlib.to_string_lossy(),
        ];
        let libs: Vec<&str> = libs.iter().map(|l| l.as_ref()).collect();
        let owner = env
            .manifest
            .distributions
            .iter()
            .find(|d| d.files.contains(&rel));
        let refused = match owner {
            Some(owner) => Err(format!("`{shown}` belongs to {}", owner.name)),
            None => crate::wheel::reserved::check_removal(&shown, &scripts, &libs),
        };
        if let Err(why) = refused {
            return Err(UserError::new(format!(
                "{} lists `{}`: {why}; refusing to remove it",
                record_path.display(),
                entry.path
            ))
            .hint("a RECORD may only name the distribution's own files; remove them by hand")
            .into());
        }
        files.push(rel);
    }
    Ok(files)
}

/// A dist-info in site-packages for `dist` that tempest-env did not install
/// (pip did, for instance).
fn foreign_dist_info(env: &Environment, dist: &str) -> Option<PathBuf> {
    let wanted = name::normalize(dist);
    fs_err::read_dir(env.site_packages())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".dist-info"))
                .and_then(|stem| stem.rsplit_once('-'))
                .is_some_and(|(n, _)| name::normalize(n) == wanted)
        })
}

/// Remove `dists` from `env`: exactly what their RECORD lists, and their
/// layer. A name that is not installed, or a file that would be removed
/// through a symbolic link (out of the environment), is refused before
/// anything is removed.
///
/// Like an install, an uninstall is journaled, and it commits first: the
/// files to remove are written to the journal, the manifest without the
/// distributions is saved, and only then are the files removed (metadata
/// first, so Python stops seeing the distribution at once). A process
/// killed part-way leaves a manifest that no longer lists them and a
/// journal naming the files still there, which the next install, uninstall
/// or `gc` removes.
pub fn uninstall(env: &mut Environment, dists: &[String], printer: &Printer) -> Result<()> {
    for leftover in super::journal::recover(env)? {
        printer.verbose(format!(
            "removed {} (left by an interrupted install or uninstall)",
            leftover.display()
        ));
    }
    let removals = removals(env, dists)?;
    let mut files: Vec<PathBuf> = Vec::new();
    for removal in &removals {
        match removal {
            Removal::Managed(record) => files.extend(record.files.iter().cloned()),
            Removal::Foreign(_, listed) => files.extend(listed.iter().cloned()),
        }
    }
    refuse(env, &files)?;
    // Metadata first: tempest finds plugins through `entry_points.txt` and
    // Python finds a distribution through its METADATA, so once those are
    // gone nothing sees a half-removed distribution.
    files.sort_by_key(|rel| removal_order(rel));
    commit(env, &removals, &files)?;
    crate::failpoint::hit("uninstall-after-commit");
    for (done, rel) in files.iter().enumerate() {
        if done == 2 {
            crate::failpoint::hit("uninstall-part-way");
        }
        let path = env.root.join(rel);
        match fs_err::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(
                    anyhow::Error::new(err).context(format!("failed to remove {}", path.display()))
                );
            }
        }
    }
    super::journal::prune_empty_dirs(env, &files);
    for removal in removals {
        match removal {
            Removal::Managed(record) => {
                printer.status(format!("Removed {} {}", record.name, record.version));
            }
            Removal::Foreign(dist_info, _) => {
                let _ = fs_err::remove_dir(&dist_info);
                printer.status(format!(
                    "Removed {} (installed by another tool)",
                    dist_info.display()
                ));
            }
        }
    }
    super::journal::clear(&env.root);
    Ok(())
}

/// A distribution to uninstall.
enum Removal {
    /// One the manifest lists.
    Managed(DistRecord),
    /// One another tool installed: its dist-info and the files its RECORD
    /// lists.
    Foreign(PathBuf, Vec<PathBuf>),
}

/// What uninstalling `dists` removes; a name not installed is refused.
fn removals(env: &Environment, dists: &[String]) -> Result<Vec<Removal>> {
    let mut removals = Vec::new();
    for dist in dists {
        let managed = env
            .manifest
            .distributions
            .iter()
            .find(|d| name::normalize(&d.name) == name::normalize(dist));
        if let Some(record) = managed {
            removals.push(Removal::Managed(record.clone()));
        } else if let Some(dist_info) = foreign_dist_info(env, dist) {
            let files = record_files(env, &dist_info)?;
            removals.push(Removal::Foreign(dist_info, files));
        } else {
            return Err(UserError::new(format!(
                "`{dist}` is not installed in environment `{}`",
                env.name
            ))
            .hint(format!(
                "`tempest-env show {}` lists what is installed",
                env.name
            ))
            .into());
        }
    }
    Ok(removals)
}

/// Refuse before removing anything: a file outside the environment (or
/// through a link out of it), one of the environment's own, a directory.
fn refuse(env: &Environment, files: &[PathBuf]) -> Result<()> {
    let mut confinement = super::confine::Confinement::new(&env.root);
    let scheme = &env.manifest.interpreter.scheme;
    let scripts = scheme.scripts.to_string_lossy();
    let libs = [
        scheme.purelib.to_string_lossy(),
        scheme.platlib.to_string_lossy(),
    ];
    let libs: Vec<&str> = libs.iter().map(|l| l.as_ref()).collect();
    for rel in files {
        confinement.check(rel).map_err(|escape| {
            escape.refusal(&format!("uninstall from environment `{}`", env.name))
        })?;
        // Also for a distribution the manifest lists: an edited manifest
        // must not make uninstall remove the environment's own files.
        crate::wheel::reserved::check_removal(&rel.to_string_lossy(), &scripts, &libs).map_err(
            |why| {
                UserError::new(format!(
                    "refusing to uninstall from environment `{}`: {why}",
                    env.name
                ))
                .hint("the environment's own files are never a distribution's")
            },
        )?;
        if fs_err::symlink_metadata(env.root.join(rel)).is_ok_and(|m| m.is_dir()) {
            return Err(UserError::new(format!(
                "refusing to uninstall from environment `{}`: {} is a directory, not a file of the distribution",
                env.name,
                env.root.join(rel).display()
            ))
            .hint("a RECORD names files only; remove the directory by hand")
            .into());
        }
    }
    Ok(())
}

/// Journal the files, then save the manifest without the distributions:
/// from here on the uninstall is done, whatever stops it.
fn commit(env: &mut Environment, removals: &[Removal], files: &[PathBuf]) -> Result<()> {
    super::journal::record(&env.root, files)?;
    let committed = (|| -> Result<()> {
        for removal in removals {
            if let Removal::Managed(record) = removal {
                take_dist(env, &record.name);
            }
        }
        super::layers::write(env)?;
        env.save()
    })();
    if let Err(err) = committed {
        // Nothing was removed: the journal must not make the next command
        // remove files a distribution the saved manifest lists still owns,
        // nor a foreign distribution nobody uninstalled.
        super::journal::clear(&env.root);
        return Err(err);
    }
    Ok(())
}

/// When a file is removed in an uninstall: entry points, then the metadata,
/// then the rest of the metadata directory, then everything else.
fn removal_order(rel: &Path) -> u8 {
    let in_metadata = rel.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|c| c.ends_with(".dist-info") || c.ends_with(".egg-info"))
    });
    match rel.file_name().and_then(|n| n.to_str()) {
        _ if !in_metadata => 3,
        Some("entry_points.txt") => 0,
        Some("METADATA" | "PKG-INFO") => 1,
        _ => 2,
    }
}
