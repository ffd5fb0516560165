//! Make an unpacked wheel (a store entry) part of an environment, by link
//! mode: `pth` adds the entry as a layer; `symlink`, `hardlink` and `copy`
//! make a real installation in site-packages that pip sees and can
//! uninstall. Launchers, `.data` scripts, headers and data files are always
//! written into the environment, with its own python in their shebangs.
//!
//! Everything that can be refused is checked before the first write, and a
//! failure part-way removes what was written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Environment;
use super::manifest::LinkMode;
use crate::dist::record;
use crate::error::UserError;
use crate::layers::{LayerKind, LayerRecord};
use crate::printer::Printer;
use crate::store::StoreEntry;
use crate::wheel::{WheelError, launcher};

/// What linking added to the environment.
#[derive(Debug, Default)]
pub struct Placement {
    /// Files written into the environment, relative to its root.
    pub files: Vec<PathBuf>,
    pub layer: Option<LayerRecord>,
}

enum Source {
    /// A file of the store entry, linked or copied per mode.
    Stored(PathBuf),
    /// Generated text (launchers, rewritten scripts, RECORD).
    Text(Vec<u8>, bool),
}

/// Where each file goes, relative to the environment's root, and what it
/// holds.
type Plan = Vec<(PathBuf, Source)>;

/// Link `entry` into `env`. `replaceable` are env-relative files owned by a
/// version being replaced, which may be overwritten.
pub fn place(
    env: &Environment,
    entry: &StoreEntry,
    mode: LinkMode,
    replaceable: &HashSet<PathBuf>,
    printer: &Printer,
) -> Result<Placement> {
    let info = &entry.info;
    let mut plan = plan_scripts(env, entry)?;
    plan.extend(plan_headers_and_data(env, entry)?);
    let layer = if mode == LinkMode::Pth {
        Some(LayerRecord {
            kind: LayerKind::Plugin,
            path: entry.site(),
            dist: Some(info.name.clone()),
            hash: Some(info.sha256.clone()),
            files: Vec::new(),
            linked: None,
        })
    } else {
        plan_site(env, entry, &mut plan)?;
        None
    };
    refuse(env, entry, &plan, replaceable)?;
    let files = write(env, &plan, mode, replaceable, printer)?;
    Ok(Placement { files, layer })
}

/// Launchers of the console and GUI entry points, and the wheel's own
/// scripts, with this environment's python in their shebangs.
fn plan_scripts(env: &Environment, entry: &StoreEntry) -> Result<Plan> {
    let info = &entry.info;
    let scheme = &env.manifest.interpreter.scheme;
    let python = env.dest().join(&scheme.scripts).join("python");
    let mut plan = Plan::new();
    // Names were checked when the wheel was; a store entry made by an older
    // tempest-env is checked again here.
    for group in ["console_scripts", "gui_scripts"] {
        for ep in info.group(group) {
            launcher::check_name(&ep.name).map_err(|why| WheelError::Invalid {
                wheel: info.wheel.clone(),
                reason: format!("its {group} entry point `{}` is refused: {why}", ep.name),
            })?;
            let text = launcher::script(&python, &ep.module, ep.attr.as_deref());
            plan.push((
                scheme.scripts.join(&ep.name),
                Source::Text(text.into_bytes(), true),
            ));
        }
    }
    for script in &info.scripts {
        launcher::check_name(script).map_err(|why| WheelError::Invalid {
            wheel: info.wheel.clone(),
            reason: format!("its script `{script}` is refused: {why}"),
        })?;
        let bytes = fs_err::read(entry.dir.join("scripts").join(script))?;
        plan.push((
            scheme.scripts.join(script),
            Source::Text(launcher::rewrite_script(&bytes, &python), true),
        ));
    }
    Ok(plan)
}

/// The wheel's headers and `.data/data` files, where pip puts them.
fn plan_headers_and_data(env: &Environment, entry: &StoreEntry) -> Result<Plan> {
    let info = &entry.info;
    let scheme = &env.manifest.interpreter.scheme;
    let mut plan = Plan::new();
    let headers = headers_dir(env, &info.name);
    for rel in &info.headers {
        plan.push((
            headers.join(rel),
            Source::Stored(entry.dir.join("headers").join(rel)),
        ));
    }
    let scripts_dir = scheme.scripts.to_string_lossy();
    let libs = [
        scheme.purelib.to_string_lossy(),
        scheme.platlib.to_string_lossy(),
    ];
    let libs: Vec<&str> = libs.iter().map(|l| l.as_ref()).collect();
    // `data` is `.` in a venv scheme: `./share/x` is `share/x`, the same
    // place as every other path that names it.
    let data_dir: PathBuf = scheme
        .data
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect();
    for rel in &info.data {
        // Checked with this environment's own layout, for a store entry an
        // older tempest-env made.
        crate::wheel::reserved::check_root(rel, &info.dist_info, &scripts_dir, &libs).map_err(
            |why| WheelError::Invalid {
                wheel: info.wheel.clone(),
                reason: format!("entry `{rel}` of its .data/data {why}"),
            },
        )?;
        plan.push((
            data_dir.join(rel),
            Source::Stored(entry.dir.join("data").join(rel)),
        ));
    }
    Ok(plan)
}

/// A real installation: the importable tree in the library directory, and
/// a RECORD listing every file of `plan` (so pip can uninstall it).
fn plan_site(env: &Environment, entry: &StoreEntry, plan: &mut Plan) -> Result<()> {
    let info = &entry.info;
    let scheme = &env.manifest.interpreter.scheme;
    // The store merges purelib and platlib (one directory on every venv
    // scheme CPython has on Linux); a real installation honours
    // Root-Is-Purelib.
    let lib = if info.root_is_purelib {
        &scheme.purelib
    } else {
        &scheme.platlib
    };
    let record_rel = format!("{}/RECORD", info.dist_info);
    for rel in &info.site_files {
        if *rel != record_rel {
            plan.push((lib.join(rel), Source::Stored(entry.site().join(rel))));
        }
    }
    // RECORD lists every file, relative to the library directory.
    let site_depth = lib.components().count();
    let up: PathBuf = (0..site_depth).map(|_| "..").collect();
    let mut entries = Vec::new();
    for (target, source) in plan.iter() {
        let rel = match target.strip_prefix(lib) {
            Ok(inside) => inside.to_path_buf(),
            Err(_) => up.join(target),
        };
        let bytes = match source {
            Source::Stored(path) => fs_err::read(path)?,
            Source::Text(bytes, _) => bytes.clone(),
        };
        entries.push(record::RecordEntry {
            path: rel.to_string_lossy().into_owned(),
            hash: Some(record::digest(&bytes)),
            size: Some(bytes.len() as u64),
        });
    }
    entries.push(record::RecordEntry {
        path: record_rel.clone(),
        hash: None,
        size: None,
    });
    plan.push((
        lib.join(&record_rel),
        Source::Text(record::render(&entries).into_bytes(), false),
    ));
    Ok(())
}

/// Refuse before writing: no two files in one place, nothing written
/// through a symbolic link (out of the environment), nothing overwriting
/// another distribution's files or the environment's own.
fn refuse(
    env: &Environment,
    entry: &StoreEntry,
    plan: &Plan,
    replaceable: &HashSet<PathBuf>,
) -> Result<()> {
    let wheel = &entry.info.wheel;
    let places: Vec<String> = plan
        .iter()
        .map(|(t, _)| t.to_string_lossy().into_owned())
        .collect();
    if let Some(why) = crate::wheel::reserved::conflict(places.iter().map(String::as_str), &[]) {
        return Err(WheelError::Invalid {
            wheel: wheel.clone(),
            reason: format!("cannot be installed: {why}"),
        }
        .into());
    }
    let mut confinement = super::confine::Confinement::new(&env.root);
    for (target, _) in plan {
        confinement
            .check(target)
            .map_err(|escape| escape.refusal(&format!("install {wheel}")))?;
    }
    // A file identical to the one planned is what an interrupted install of
    // the same wheel left: overwriting it changes nothing.
    for (target, source) in plan {
        let path = env.root.join(target);
        if fs_err::symlink_metadata(&path).is_ok()
            && !replaceable.contains(target)
            && !same_content(&path, source)
        {
            return Err(UserError::new(format!(
                "installing {wheel} would overwrite {}, which belongs to something else in environment `{}`",
                target.display(),
                env.name
            ))
            .into());
        }
    }
    Ok(())
}

/// Write the plan, journalled first; on a failure part-way, what was
/// written is removed. The files written, relative to the root.
fn write(
    env: &Environment,
    plan: &Plan,
    mode: LinkMode,
    replaceable: &HashSet<PathBuf>,
    printer: &Printer,
) -> Result<Vec<PathBuf>> {
    let targets: Vec<PathBuf> = plan.iter().map(|(t, _)| t.clone()).collect();
    super::journal::record(&env.root, &targets)?;
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        for (target, source) in plan {
            let path = env.root.join(target);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            if fs_err::symlink_metadata(&path).is_ok() {
                if replaceable.contains(target) {
                    super::journal::set_aside(&env.root, target)?;
                } else {
                    // What an interrupted install of this wheel left.
                    fs_err::remove_file(&path)?;
                }
            }
            // Counted as written before writing: a write that fails part-way
            // (a full disk) leaves a partial file that the rollback removes.
            written.push(target.clone());
            match source {
                Source::Text(bytes, executable) => {
                    write_new(&path, bytes)?;
                    set_mode(&path, if *executable { 0o755 } else { 0o644 })?;
                }
                Source::Stored(src) => link_file(src, &path, mode, printer)?,
            }
        }
        Ok(())
    })();
    if let Err(err) = result {
        for target in written.iter().rev() {
            let _ = fs_err::remove_file(env.root.join(target));
        }
        return Err(err);
    }
    Ok(written)
}

/// `include/site/pythonX.Y/<dist>`, where pip puts a venv's headers.
fn headers_dir(env: &Environment, dist: &str) -> PathBuf {
    let include = &env.manifest.interpreter.scheme.include;
    let version_dir = include.file_name().map(PathBuf::from).unwrap_or_default();
    let parent = include.parent().unwrap_or(Path::new("include"));
    parent.join("site").join(version_dir).join(dist)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn link_file(src: &Path, dest: &Path, mode: LinkMode, printer: &Printer) -> Result<()> {
    match mode {
        LinkMode::Symlink => std::os::unix::fs::symlink(src, dest)
            .with_context(|| format!("failed to link {} to {}", dest.display(), src.display())),
        LinkMode::Hardlink => match fs_err::hard_link(src, dest) {
            Ok(()) => Ok(()),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::CrossesDevices | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                printer.verbose(format!(
                    "cannot hard-link {} across filesystems; copying",
                    src.display()
                ));
                copy_file(src, dest)
            }
            Err(err) => Err(anyhow::Error::new(err).context(format!(
                "failed to hard-link {} to {}",
                dest.display(),
                src.display()
            ))),
        },
        // Data and headers of a `pth` install are copied too: they are small
        // and must live inside the environment.
        LinkMode::Copy | LinkMode::Pth | LinkMode::Editable => copy_file(src, dest),
    }
}

/// Whether the file at `path` already is what `source` would put there.
fn same_content(path: &Path, source: &Source) -> bool {
    // Only a regular file or a link is read or compared: a FIFO planted at
    // the target would block the read.
    let Ok(meta) = fs_err::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return matches!(source, Source::Stored(src) if fs_err::read_link(path).is_ok_and(|l| l == *src));
    }
    if !meta.is_file() {
        return false;
    }
    match source {
        Source::Stored(src) => match (fs_err::read(path), fs_err::read(src)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
        Source::Text(bytes, _) => fs_err::read(path).is_ok_and(|existing| existing == *bytes),
    }
}

/// Create `dest` (never through a link: `O_EXCL`) holding `bytes`.
fn write_new(dest: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = fs_err::File::create_new(dest)?;
    file.write_all(bytes)
        .with_context(|| format!("failed to write {}", dest.display()))
}

/// Copy one stored file into the environment. Not fs_extra's copy (file or
/// tree): it checks whether the target exists and then opens it to write
/// with `std::fs::copy`, which follows a link planted at the last component
/// in between, out of the environment; every file here is journalled,
/// confined and rolled back one by one anyway.
fn copy_file(src: &Path, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let copy = || -> std::io::Result<()> {
        let mut from = std::fs::File::open(src)?;
        // `O_EXCL`: never through a link at the last component.
        let mut to = std::fs::File::create_new(dest)?;
        std::io::copy(&mut from, &mut to)?;
        Ok(())
    };
    copy().map_err(|err| {
        anyhow::anyhow!(
            "failed to copy {} to {}: {err}",
            src.display(),
            dest.display()
        )
    })?;
    // Store files are read-only; an installed copy is the user's to change.
    let executable = fs_err::metadata(src)?.permissions().mode() & 0o111 != 0;
    set_mode(dest, if executable { 0o755 } else { 0o644 })
}
