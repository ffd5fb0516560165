//! Install artifacts into an environment (removing them is in
//! `uninstall.rs`).
//!
//! An artifact is a wheel file (unpacked once into the store, then linked by
//! mode) or a plugin source tree (editable). Installing a distribution that
//! is already there replaces it: an environment never holds two versions of
//! one distribution.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Environment;
use super::link::Placement;
use super::manifest::{DistRecord, LinkMode};
use crate::dist::name;
use crate::editable;
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::wheel::WheelError;
use crate::wheel::filename::WheelFilename;
use crate::wheel::tags::Tags;

pub use super::uninstall::uninstall;

#[derive(Debug, Clone)]
pub enum Artifact {
    Wheel(PathBuf),
    Tree(PathBuf),
    /// A source distribution (a path, or a URL), built into a wheel once by
    /// the installer backend and installed like one.
    Sdist(String),
    /// A requirement by name, resolved by the installer backend.
    Requirement(String),
}

/// Turn command-line artifacts into checked paths, before anything is built.
pub fn resolve_artifacts(raw: &[String]) -> Result<Vec<Artifact>> {
    raw.iter().map(|item| resolve_artifact(item)).collect()
}

fn resolve_artifact(item: &str) -> Result<Artifact> {
    let path = Path::new(item);
    match fs_err::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            // The files tempest-env or the installer read: a FIFO among
            // them would block either.
            for name in [
                "setup.cfg",
                "pyproject.toml",
                "setup.py",
                "requirements.txt",
            ] {
                let file = path.join(name);
                if fs_err::metadata(&file).is_ok() {
                    crate::input::regular_file(&file, "the plugin source tree's")?;
                }
            }
            Ok(Artifact::Tree(std::path::absolute(path)?))
        }
        Ok(_) if item.ends_with(".whl") => {
            crate::input::regular_file(path, "the wheel")?;
            Ok(Artifact::Wheel(std::path::absolute(path)?))
        }
        Ok(_) if crate::layers::sdist::is_sdist(item) => {
            crate::input::regular_file(path, "the sdist")?;
            Ok(Artifact::Sdist(
                std::path::absolute(path)?.to_string_lossy().into_owned(),
            ))
        }
        Ok(_) => Err(UserError::new(format!(
            "`{item}` is neither a wheel (.whl), an sdist (.tar.gz, .zip) nor a plugin source directory"
        ))
        .into()),
        Err(_) if crate::layers::sdist::is_url(item) && crate::layers::sdist::is_sdist(item) => {
            Ok(Artifact::Sdist(item.to_string()))
        }
        // A direct reference (`name @ git+file:///repo@v1`, `name @ https://…`)
        // names no local file: it goes to the installer like any requirement.
        Err(_) if item.contains('@') && crate::dist::requirement::parse(item).is_ok() => {
            Ok(Artifact::Requirement(item.to_string()))
        }
        Err(_) if item.contains('/') || item.ends_with(".whl") => {
            Err(UserError::new(format!("`{item}` does not exist")).into())
        }
        Err(_) => match crate::dist::requirement::parse(item) {
            Ok(_) => Ok(Artifact::Requirement(item.to_string())),
            Err(why) => Err(UserError::new(format!(
                "`{item}` is not a wheel, a source directory or a requirement ({why})"
            ))
            .into()),
        },
    }
}

/// The tags `interpreter` accepts.
pub fn tags_for(interpreter: &Interpreter) -> Tags {
    let info = &interpreter.info;
    Tags::new(
        &info.implementation,
        (info.version_info.0, info.version_info.1),
        &info.abiflags,
        &info.platform,
        (&info.libc.0, &info.libc.1),
    )
}

/// Check a wheel's file name against the interpreter, before it is opened.
pub fn check_compatible(
    path: &Path,
    tags: &Tags,
    interpreter: &Interpreter,
) -> Result<WheelFilename> {
    let shown = path.display().to_string();
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let filename = WheelFilename::parse(file_name).map_err(|e| WheelError::Invalid {
        wheel: shown.clone(),
        reason: e.to_string(),
    })?;
    if tags.compatibility(&filename).is_none() {
        return Err(WheelError::Invalid {
            wheel: shown,
            reason: format!(
                "it is tagged {}, which Python {} ({}) cannot use; it accepts tags such as {}",
                filename.tag_string(),
                interpreter.info.version,
                interpreter.info.platform,
                tags.sample(4).join(", ")
            ),
        }
        .into());
    }
    Ok(filename)
}

/// The wheel `ensurepip` bundles for `interpreter`.
pub fn ensurepip_wheel(interpreter: &Interpreter) -> Result<PathBuf> {
    let bundled = interpreter.info.stdlib.join("ensurepip").join("_bundled");
    let found = fs_err::read_dir(&bundled)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pip-") && n.ends_with(".whl"))
        });
    found.ok_or_else(|| {
        UserError::new(format!(
            "Python {} at {} has no bundled pip wheel in {}",
            interpreter.info.version,
            interpreter.executable.display(),
            bundled.display()
        ))
        .hint(
            "install without --seed; Debian's python3 needs the python3-venv package for ensurepip",
        )
        .into()
    })
}

/// How artifacts are installed.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub compile_bytecode: bool,
    /// For trees only `setup.py` describes, which go through the installer.
    pub index: crate::layers::installer::IndexOptions,
    pub installer: crate::layers::installer::InstallerChoice,
}

/// Install `artifacts` into `env` (whose manifest and `.pth` are updated in
/// memory and on disk). `env` must be locked by the caller.
pub fn install_into(
    env: &mut Environment,
    interpreter: &Interpreter,
    artifacts: &[(Artifact, LinkMode)],
    options: &InstallOptions,
    home: &Home,
    printer: &Printer,
) -> Result<Vec<DistRecord>> {
    // Whatever fails (a refused second artifact, a full disk writing the
    // `.pth` or the manifest), the environment is left as it was: the files
    // placed so far are removed and the manifest restored.
    for leftover in super::journal::recover(env)? {
        printer.verbose(format!(
            "removed {} (left by an interrupted install)",
            leftover.display()
        ));
    }
    let before = env.clone();
    let mut placed: Vec<PathBuf> = Vec::new();
    let result = install_all(
        env,
        interpreter,
        artifacts,
        options,
        home,
        printer,
        &mut placed,
    );
    if result.is_err() {
        for rel in placed.iter().rev() {
            let _ = fs_err::remove_file(env.root.join(rel));
        }
        // An empty dist-info directory left behind would still be found
        // (with no metadata) by importlib.metadata.
        super::journal::prune_empty_dirs(env, &placed);
        // A replaced version's files go back where they were.
        if let Err(err) = super::journal::restore_aside(&env.root) {
            printer.warn(format!(
                "could not put back the files of the version being replaced in environment `{}`: {err:#}",
                env.name
            ));
        }
        *env = before;
        let _ = super::layers::write(env);
    } else {
        // Committed: the manifest names the new files.
        super::journal::discard_aside(&env.root)?;
    }
    super::journal::clear(&env.root);
    result
}

/// An artifact checked and ready to install.
enum Ready {
    Wheel(PathBuf, WheelFilename, LinkMode),
    Tree(Box<editable::tree::SourceTree>),
    /// A tree whose metadata only its build backend knows: the
    /// installer makes it editable.
    Legacy(PathBuf),
}

fn install_all(
    env: &mut Environment,
    interpreter: &Interpreter,
    artifacts: &[(Artifact, LinkMode)],
    options: &InstallOptions,
    home: &Home,
    printer: &Printer,
    placed: &mut Vec<PathBuf>,
) -> Result<Vec<DistRecord>> {
    let ready = check_all(artifacts, interpreter, options, home, printer)?;
    let mut installed = Vec::new();
    for item in ready {
        let (placement, record) = place_one(env, interpreter, item, options, home, printer)?;
        let record = take_in(env, placement, record, placed, printer)?;
        installed.push(record);
    }
    crate::failpoint::hit("install-before-commit");
    super::layers::write(env)?;
    env.save()?;
    Ok(installed)
}

/// Check every wheel's tags and every tree's metadata before installing
/// any of them (an sdist is built into a wheel first).
fn check_all(
    artifacts: &[(Artifact, LinkMode)],
    interpreter: &Interpreter,
    options: &InstallOptions,
    home: &Home,
    printer: &Printer,
) -> Result<Vec<Ready>> {
    let tags = tags_for(interpreter);
    let mut ready = Vec::new();
    for (artifact, mode) in artifacts {
        ready.push(match artifact {
            Artifact::Wheel(path) => Ready::Wheel(
                path.clone(),
                check_compatible(path, &tags, interpreter)?,
                *mode,
            ),
            Artifact::Tree(path) if editable::tree::needs_backend(path) => {
                if editable::tree::only_setup_py(path) {
                    editable::tree::check_setup_py_names_itself(path)?;
                }
                Ready::Legacy(path.clone())
            }
            Artifact::Tree(path) => Ready::Tree(Box::new(editable::tree::read(path)?)),
            Artifact::Sdist(source) => {
                let wheel = crate::layers::sdist::wheel_for(
                    home,
                    interpreter,
                    options.installer,
                    source,
                    &options.index,
                    printer,
                )?;
                Ready::Wheel(
                    wheel.clone(),
                    check_compatible(&wheel, &tags, interpreter)?,
                    *mode,
                )
            }
            Artifact::Requirement(r) => {
                anyhow::bail!("internal: requirement `{r}` reached the artifact installer")
            }
        });
    }
    Ok(ready)
}

/// Put one ready artifact into the environment: a wheel through the store,
/// a tree as an editable install, a legacy tree by the installer. What was
/// placed, and its record (without its files yet).
fn place_one(
    env: &Environment,
    interpreter: &Interpreter,
    item: Ready,
    options: &InstallOptions,
    home: &Home,
    printer: &Printer,
) -> Result<(Placement, DistRecord)> {
    match item {
        Ready::Wheel(path, filename, mode) => {
            let entry = crate::store::ensure_wheel(
                home,
                &path,
                &filename,
                interpreter,
                options.compile_bytecode,
                printer,
            )
            .with_context(|| {
                format!(
                    "failed to install {} into environment `{}`",
                    filename, env.name
                )
            })?;
            let replaceable = owned_files(env, &entry.info.name);
            check_confined(env, &replaceable, &filename.to_string())?;
            let placement = super::link::place(env, &entry, mode, &replaceable, printer)?;
            let record = DistRecord {
                name: entry.info.name.clone(),
                version: entry.info.version.clone(),
                mode,
                source: path.clone(),
                sha256: Some(entry.info.sha256.clone()),
                location: Some(entry.dir.clone()),
                plugins: entry.info.plugins(),
                files: Vec::new(),
            };
            Ok((placement, record))
        }
        Ready::Legacy(path) => {
            let installer =
                crate::layers::installer::Installer::choose(options.installer, interpreter)?;
            installer.check()?;
            legacy_editable(env, interpreter, &installer, &path, &options.index, printer)
        }
        Ready::Tree(tree) => {
            let replaceable = owned_files(env, &tree.name);
            check_confined(env, &replaceable, &tree.root.display().to_string())?;
            let placement = super::editable::place(env, &tree, &replaceable)?;
            let record = DistRecord {
                name: tree.name.clone(),
                version: tree.version.clone(),
                mode: LinkMode::Editable,
                source: tree.root.clone(),
                sha256: None,
                location: Some(tree.import_root.clone()),
                plugins: crate::editable::tree::plugins(&tree),
                files: Vec::new(),
            };
            Ok((placement, record))
        }
    }
}

/// Record what was placed in the manifest, replacing an installed version
/// of the same distribution; the record as the manifest now has it.
fn take_in(
    env: &mut Environment,
    placement: Placement,
    mut record: DistRecord,
    placed: &mut Vec<PathBuf>,
    printer: &Printer,
) -> Result<DistRecord> {
    let Placement { files, layer } = placement;
    placed.extend(files.iter().cloned());
    // Replace an installed version: its files that the new one did not
    // overwrite go, and so does its layer.
    if let Some(old) = take_dist(env, &record.name) {
        let kept: HashSet<&PathBuf> = files.iter().collect();
        let stale: Vec<PathBuf> = old
            .files
            .iter()
            .filter(|f| !kept.contains(f))
            .cloned()
            .collect();
        // Set aside, not removed: a failure later in this install puts
        // them back.
        set_aside_files(env, &stale)?;
        printer.status(format!(
            "Replaced {} {} with {}",
            old.name, old.version, record.version
        ));
    }
    record.files = files;
    if let Some(layer) = layer {
        env.manifest.layers.push(layer);
    }
    printer.status(format!(
        "Installed {} {} ({}){}",
        record.name,
        record.version,
        record.mode.as_str(),
        if record.plugins.is_empty() {
            String::new()
        } else {
            format!(": plugins {}", record.plugins.join(", "))
        }
    ));
    env.manifest.distributions.push(record.clone());
    Ok(record)
}

/// Install a `setup.py`-only tree with the installer in editable mode, then
/// take what it wrote into the manifest: the files its RECORD lists, and
/// launchers rewritten for the environment's final location (the installer
/// saw the temporary one while `create` builds).
fn legacy_editable(
    env: &Environment,
    interpreter: &Interpreter,
    installer: &crate::layers::installer::Installer,
    tree: &Path,
    index: &crate::layers::installer::IndexOptions,
    printer: &Printer,
) -> Result<(Placement, DistRecord)> {
    let site = env.site_packages();
    let before: HashSet<PathBuf> = dist_infos(&site);
    installer.install_editable(
        interpreter,
        &env.root
            .join(&env.manifest.interpreter.scheme.scripts)
            .join("python"),
        tree,
        index,
        printer,
    )?;
    let new: Vec<PathBuf> = dist_infos(&site)
        .into_iter()
        .filter(|d| !before.contains(d))
        .collect();
    let [dist_info] = new.as_slice() else {
        anyhow::bail!(
            "the installer left {} new distributions in {} after installing {} (expected one)",
            new.len(),
            site.display(),
            tree.display()
        );
    };
    let metadata = crate::dist::metadata::Metadata::parse(&fs_err::read_to_string(
        dist_info.join("METADATA"),
    )?)
    .map_err(|e| anyhow::anyhow!("{}: {e}", dist_info.join("METADATA").display()))?;
    let entry_points = fs_err::read_to_string(dist_info.join("entry_points.txt"))
        .ok()
        .and_then(|t| crate::dist::entry_points::parse(&t).ok())
        .unwrap_or_default();
    let files = super::uninstall::record_files(env, dist_info)?;
    // Launchers: the installer's point at the temporary location.
    let scripts: Vec<crate::layers::launchers::Script> = entry_points
        .iter()
        .filter(|e| e.group == "console_scripts" || e.group == "gui_scripts")
        .map(|e| crate::layers::launchers::Script {
            name: e.name.clone(),
            module: e.module.clone(),
            attr: e.attr.clone(),
        })
        .collect();
    super::launchers::write_scripts_over(env, &scripts)?;
    let record = DistRecord {
        name: metadata.name.clone(),
        version: metadata.version.clone(),
        mode: LinkMode::Editable,
        source: tree.to_path_buf(),
        sha256: None,
        location: Some(tree.to_path_buf()),
        plugins: entry_points
            .iter()
            .filter(|e| e.group == crate::dist::entry_points::TEMPEST_GROUP)
            .map(|e| e.name.clone())
            .collect(),
        files: Vec::new(),
    };
    Ok((Placement { files, layer: None }, record))
}

fn dist_infos(site: &Path) -> HashSet<PathBuf> {
    fs_err::read_dir(site)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "dist-info"))
        .collect()
}

/// The files a distribution already installed under `dist` owns.
fn owned_files(env: &Environment, dist: &str) -> HashSet<PathBuf> {
    let wanted = name::normalize(dist);
    env.manifest
        .distributions
        .iter()
        .filter(|d| name::normalize(&d.name) == wanted)
        .flat_map(|d| d.files.iter().cloned())
        .collect()
}

/// Before a replacement writes anything: none of the installed version's
/// files, which it may overwrite or move aside, is reached through a link.
fn check_confined(env: &Environment, files: &HashSet<PathBuf>, what: &str) -> Result<()> {
    let mut confinement = super::confine::Confinement::new(&env.root);
    for rel in files {
        confinement.check(rel).map_err(|escape| {
            escape.refusal(&format!("replace the installed version with {what}"))
        })?;
    }
    Ok(())
}

/// Remove `dist`'s record and layer from the manifest, returning the record.
pub(super) fn take_dist(env: &mut Environment, dist: &str) -> Option<DistRecord> {
    let wanted = name::normalize(dist);
    let index = env
        .manifest
        .distributions
        .iter()
        .position(|d| name::normalize(&d.name) == wanted)?;
    let old = env.manifest.distributions.remove(index);
    env.manifest
        .layers
        .retain(|l| l.dist.as_deref().map(name::normalize) != Some(wanted.clone()));
    Some(old)
}

/// Move `files` aside for a rollback (see [`super::journal::set_aside`]),
/// then remove the directories they leave empty.
fn set_aside_files(env: &Environment, files: &[PathBuf]) -> Result<()> {
    let mut confinement = super::confine::Confinement::new(&env.root);
    for rel in files {
        confinement
            .check(rel)
            .map_err(|escape| escape.refusal(&format!("replace `{}`", rel.display())))?;
        if fs_err::symlink_metadata(env.root.join(rel)).is_ok() {
            super::journal::set_aside(&env.root, rel)?;
        }
    }
    super::journal::prune_empty_dirs(env, files);
    Ok(())
}
