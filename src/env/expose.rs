//! `--link-mode symlink` for base and requirement layers: the layer's site
//! directory is mirrored into the environment's site-packages, real
//! directories holding a symbolic link per file (as `symlink` installs a
//! wheel), and the layer leaves the `.pth` file. Python sees the same modules
//! and distributions either way; tools that read site-packages without
//! running Python (uv, which does not follow a linked `.dist-info`) see them
//! only this way. The directories are real so that an uninstaller removes
//! links, never the shared layer's files through a linked directory.
//!
//! Linking keeps Python's order: site-packages comes first, then the layers
//! in manifest order, so an entry whose name is already there (installed by
//! a wheel, or linked from an earlier layer) is not linked again, and
//! neither is the metadata of a project already recorded there; a namespace
//! package (a directory without `__init__.py`) spread over several layers is
//! merged, as Python merges its portions. A layer's `.pth` files are linked
//! too; Python processes them in site-packages, where the layer's other
//! entries are, so relative lines still resolve. `__pycache__` is left out.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result};

use super::Environment;
use crate::layers::LayerKind;

/// Link every base and requirement layer not linked yet; the `.pth` file is
/// rewritten by the caller.
pub fn link_layers(env: &mut Environment) -> Result<()> {
    let site = env.site_packages();
    let mut projects = projects_in(&site)?;
    for index in 0..env.manifest.layers.len() {
        let layer = &env.manifest.layers[index];
        if layer.linked.is_some() || !matches!(layer.kind, LayerKind::Base | LayerKind::Plugin) {
            continue;
        }
        let source = layer.path.clone();
        let linked = link_one(&source, &site, &mut projects)?;
        env.manifest.layers[index].linked = Some(linked);
    }
    Ok(())
}

/// The projects with metadata in `dir`, normalized.
fn projects_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut projects = BTreeSet::new();
    for name in sorted_names(dir)? {
        if let Some(project) = crate::dist::name::metadata_project(&name.to_string_lossy()) {
            projects.insert(project);
        }
    }
    Ok(projects)
}

fn sorted_names(dir: &Path) -> Result<Vec<OsString>> {
    let read = match fs_err::read_dir(dir) {
        Ok(read) => read,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("failed to list {}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
        names.push(entry.file_name());
    }
    names.sort();
    Ok(names)
}

/// Link the entries of `source` into `site`; returns the names linked.
fn link_one(source: &Path, site: &Path, projects: &mut BTreeSet<String>) -> Result<Vec<String>> {
    let names = sorted_names(source)?;
    // A layer's own projects, to add once all of its metadata is linked: a
    // layer holding two records of one project links both, as its `.pth`
    // would have shown both.
    let mut own = BTreeSet::new();
    let mut linked = Vec::new();
    for name in names {
        if name == "__pycache__" {
            continue;
        }
        if let Some(project) = crate::dist::name::metadata_project(&name.to_string_lossy()) {
            if projects.contains(&project) {
                continue;
            }
            own.insert(project);
        }
        if !mirror(&source.join(&name), &site.join(&name))? {
            continue;
        }
        linked.push(name.to_string_lossy().into_owned());
    }
    projects.extend(own);
    Ok(linked)
}

/// Mirror `source` at `target`: a file as a link to it, a directory as a
/// real directory of mirrors. Whether anything was made: an existing file,
/// or an existing regular package, is kept (it comes first on the path); an
/// existing namespace directory gets the portions it lacks.
fn mirror(source: &Path, target: &Path) -> Result<bool> {
    let kind = fs_err::symlink_metadata(source)
        .with_context(|| format!("failed to read {}", source.display()))?;
    let existing = fs_err::symlink_metadata(target).ok();
    if !kind.is_dir() {
        if existing.is_some() {
            return Ok(false);
        }
        std::os::unix::fs::symlink(source, target)
            .with_context(|| format!("failed to link {}", target.display()))?;
        return Ok(true);
    }
    match existing {
        None => fs_err::create_dir(target)?,
        Some(ref meta) if meta.is_dir() && !target.join("__init__.py").exists() => {}
        Some(_) => return Ok(false),
    }
    let mut made = false;
    for name in sorted_names(source)? {
        if name != "__pycache__" {
            made |= mirror(&source.join(&name), &target.join(&name))?;
        }
    }
    Ok(made || existing.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_path_order_and_keeps_what_comes_first() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        let base = tmp.path().join("base");
        let upper = tmp.path().join("upper");
        for dir in [&site, &base, &upper] {
            fs_err::create_dir_all(dir).unwrap();
        }
        // Installed into site-packages by a wheel: foo 2.0.
        fs_err::create_dir_all(site.join("foo")).unwrap();
        fs_err::write(site.join("foo/__init__.py"), "# 2.0").unwrap();
        fs_err::create_dir_all(site.join("foo-2.0.dist-info")).unwrap();
        // The base has foo 1.0 and bar; the upper layer bar again and baz.
        for dir in [
            "foo",
            "foo-1.0.dist-info",
            "bar",
            "bar-1.0.dist-info",
            "__pycache__",
        ] {
            fs_err::create_dir_all(base.join(dir)).unwrap();
        }
        fs_err::write(base.join("nspkg.pth"), "import os\n").unwrap();
        fs_err::write(base.join("foo/__init__.py"), "").unwrap();
        fs_err::write(base.join("bar/__init__.py"), "").unwrap();
        for dir in ["bar", "Bar-2.0.dist-info", "baz", "baz-1.0.dist-info", "ns"] {
            fs_err::create_dir_all(upper.join(dir)).unwrap();
        }
        fs_err::write(upper.join("bar/__init__.py"), "").unwrap();
        fs_err::write(upper.join("bar/mod.py"), "").unwrap();
        // A namespace package spread over both layers.
        fs_err::create_dir_all(base.join("ns")).unwrap();
        fs_err::write(base.join("ns/a.py"), "").unwrap();
        fs_err::write(upper.join("ns/b.py"), "").unwrap();
        let mut projects = projects_in(&site).unwrap();
        let first = link_one(&base, &site, &mut projects).unwrap();
        assert_eq!(first, ["bar", "bar-1.0.dist-info", "ns", "nspkg.pth"]);
        let second = link_one(&upper, &site, &mut projects).unwrap();
        assert_eq!(second, ["baz", "baz-1.0.dist-info", "ns"]);
        assert!(fs_err::symlink_metadata(site.join("bar")).unwrap().is_dir());
        assert_eq!(
            fs_err::read_link(site.join("bar/__init__.py")).unwrap(),
            base.join("bar/__init__.py")
        );
        assert!(
            fs_err::read_link(site.join("bar/mod.py")).is_err(),
            "the upper bar is hidden"
        );
        assert_eq!(
            fs_err::read_link(site.join("ns/a.py")).unwrap(),
            base.join("ns/a.py")
        );
        assert_eq!(
            fs_err::read_link(site.join("ns/b.py")).unwrap(),
            upper.join("ns/b.py")
        );
        assert!(fs_err::symlink_metadata(site.join("foo")).unwrap().is_dir());
        assert_eq!(
            fs_err::read_to_string(site.join("foo/__init__.py")).unwrap(),
            "# 2.0",
            "foo from the wheel is kept"
        );
        assert!(!site.join("__pycache__").exists());
    }
}
