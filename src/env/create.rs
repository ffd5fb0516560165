//! Write a new environment: built in a temporary sibling, renamed into place
//! under the environment's lock, so a crash never leaves a half-built
//! environment under its real name.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::manifest::{FILE_NAME, FORMAT_VERSION, InterpreterRecord, Manifest};
use super::{Environment, activate, is_environment, lock_path, pyvenv_cfg, registry_entry};
use crate::atomic;
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;

pub struct CreateOptions {
    pub name: String,
    /// Put the environment here instead of under the data dir.
    pub path: Option<PathBuf>,
    pub prompt: Option<String>,
    /// Rebuild an existing environment.
    pub clear: bool,
    /// Register an environment made at `path` under its name (per-run
    /// environments are not, unless kept).
    pub register: bool,
    /// Used once and removed (a per-run environment that is not kept, a
    /// bisect probe): no activation scripts, `CACHEDIR.TAG` or `.gitignore`,
    /// which nobody reads in its lifetime and which cost a file each to
    /// create and again to remove.
    pub ephemeral: bool,
}

/// The tag that tells backup tools the directory is a cache.
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by tempest-env.\n# For information about cache directory tags see https://bford.info/cachedir/\n";

/// Create (or with `clear`, rebuild) an environment. `fill` runs on the
/// half-built environment in its temporary location, before it gets its real
/// name, so whatever it installs is part of the atomic build.
pub fn create(
    home: &Home,
    options: &CreateOptions,
    interpreter: &Interpreter,
    printer: &Printer,
    fill: impl FnOnce(&mut Environment) -> Result<()>,
) -> Result<Environment> {
    create_held(home, options, interpreter, printer, fill).map(|(env, _lock)| env)
}

/// [`create`], keeping the environment's lock: a per-run environment is
/// used at once, and `gc` must never see it unlocked in between.
pub fn create_held(
    home: &Home,
    options: &CreateOptions,
    interpreter: &Interpreter,
    printer: &Printer,
    fill: impl FnOnce(&mut Environment) -> Result<()>,
) -> Result<(Environment, crate::lock::LockGuard)> {
    crate::home::env_name::validate(&options.name)?;
    let entry = registry_entry(home, &options.name);
    let target = match &options.path {
        Some(path) => std::path::absolute(path)
            .with_context(|| format!("failed to resolve {}", path.display()))?,
        None => entry.clone(),
    };
    if options.path.is_some() {
        check_path_option(home, &target)?;
    }
    check_written_values(options, &target, interpreter)?;
    fs_err::create_dir_all(home.envs())?;
    let lock = crate::lock::acquire(
        &lock_path(home, &options.name),
        &format!("environment `{}`", options.name),
        printer,
    )?;
    match build(options, interpreter, printer, fill, &entry, &target) {
        Ok(env) => Ok((env, lock)),
        Err(err) => {
            // Refused or failed with nothing under the name: its lock file
            // goes too, so bad input leaves nothing behind.
            if fs_err::symlink_metadata(&entry).is_err() && !target.exists() {
                let _ = lock.remove_file();
            }
            Err(err)
        }
    }
}

/// Build the environment under its lock (see [`create_held`]).
fn build(
    options: &CreateOptions,
    interpreter: &Interpreter,
    printer: &Printer,
    fill: impl FnOnce(&mut Environment) -> Result<()>,
    entry: &Path,
    target: &Path,
) -> Result<Environment> {
    let (entry, target) = (entry.to_path_buf(), target.to_path_buf());
    let existing = existing(&entry, &target, &options.name)?;
    if existing.is_some() && !options.clear {
        return Err(UserError::new(format!(
            "environment `{}` already exists at {}",
            options.name,
            target.display()
        ))
        .hint(format!(
            "`--clear` rebuilds it; `tempest-env remove {}` removes it",
            options.name
        ))
        .into());
    }

    let tmp = atomic::temp_sibling(&target)?;
    let prompt = options
        .prompt
        .clone()
        .unwrap_or_else(|| options.name.clone());
    let manifest = write_layout(
        tmp.path(),
        &target,
        &options.name,
        &prompt,
        interpreter,
        options.ephemeral,
    )?;
    let mut env = Environment {
        name: options.name.clone(),
        root: tmp.path().to_path_buf(),
        dest: target.clone(),
        manifest,
    };
    fill(&mut env)?;
    if !options.ephemeral {
        activate::write_pip_guard(&env)?;
    }
    env.save()?;
    crate::failpoint::hit("create-before-rename");

    // Swap into place: the old environment (if any) goes to the trash first,
    // so the real name only ever holds a complete environment.
    let trash = match &existing {
        Some(old) => Some(atomic::move_to_trash(old)?),
        None => None,
    };
    if target.is_dir() {
        // An empty directory given with --path: rename replaces it.
        fs_err::remove_dir(&target)?;
    }
    let built = tmp.keep();
    fs_err::rename(&built, &target)?;
    if target != entry && options.register {
        register_link(&entry, &target)?;
    }
    if let Some(trash) = trash {
        atomic::remove_tree(&trash)?;
    }
    env.root = target;
    printer.verbose(format!("created {}", env.root.display()));
    Ok(env)
}

/// `--path DIR`: a directory of its own, outside the registry (where
/// `<data>/envs/NAME` is another environment, or would be taken for one),
/// under directories (not files).
fn check_path_option(home: &Home, target: &Path) -> Result<()> {
    let envs = resolved(&home.envs());
    let resolved_target = resolved(target);
    if resolved_target.starts_with(&envs) {
        return Err(UserError::new(format!(
            "--path {}: it is inside {}, where tempest-env registers environments by name",
            target.display(),
            envs.display()
        ))
        .hint("give a --path outside the data directory's envs/, or leave --path out")
        .into());
    }
    for ancestor in target.ancestors().skip(1) {
        match fs_err::metadata(ancestor) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(UserError::new(format!(
                    "--path {}: {} is not a directory",
                    target.display(),
                    ancestor.display()
                ))
                .hint("give a --path whose parent is a directory")
                .into());
            }
            Err(_) => continue,
        }
    }
    Ok(())
}

/// `path` with its longest existing prefix resolved (links followed), and
/// the `..` of the rest (which does not exist, so holds no links) applied,
/// so a path through a link or a detour into the registry is recognised.
fn resolved(path: &Path) -> PathBuf {
    let parts: Vec<std::path::Component> = path.components().collect();
    for existing in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..existing].iter().collect();
        let Ok(mut real) = fs_err::canonicalize(&prefix) else {
            continue;
        };
        for part in &parts[existing..] {
            match part {
                std::path::Component::ParentDir => {
                    real.pop();
                }
                std::path::Component::Normal(name) => real.push(name),
                _ => {}
            }
        }
        return real;
    }
    path.to_path_buf()
}

/// Every value written into `pyvenv.cfg` and the activation scripts is one
/// line without control characters: the prompt, the environment's path and
/// the interpreter's directory.
fn check_written_values(
    options: &CreateOptions,
    target: &Path,
    interpreter: &Interpreter,
) -> Result<()> {
    if let Some(prompt) = &options.prompt
        && let Err(why) = pyvenv_cfg::check_value(prompt)
    {
        return Err(UserError::new(format!(
            "--prompt `{}` is refused: {why}",
            prompt.escape_debug()
        ))
        .hint("a prompt is one line of printable text")
        .into());
    }
    let target_text = target.to_string_lossy();
    if let Err(why) = pyvenv_cfg::check_value(&target_text) {
        return Err(UserError::new(format!(
            "the environment's path `{}` is refused: {why}",
            target_text.escape_debug()
        ))
        .hint("pick a --path without newlines or control characters")
        .into());
    }
    let executable = interpreter.executable.to_string_lossy();
    if let Err(why) = pyvenv_cfg::check_value(&executable) {
        return Err(UserError::new(format!(
            "the interpreter's path `{}` is refused: {why}",
            executable.escape_debug()
        ))
        .hint("use an interpreter whose path has no newlines or control characters")
        .into());
    }
    Ok(())
}

/// The existing environment that `create` would replace, refusing anything at
/// the target that is not a tempest-env environment.
fn existing(entry: &Path, target: &Path, name: &str) -> Result<Option<PathBuf>> {
    if fs_err::symlink_metadata(entry).is_ok() && entry != target {
        // Registered elsewhere: the old location is what gets replaced.
        let old = fs_err::read_link(entry).unwrap_or_else(|_| entry.to_path_buf());
        if is_environment(&old) {
            if old != target && target.exists() && !is_empty_dir(target) {
                return Err(not_an_env(target, name));
            }
            return Ok(Some(old));
        }
        if old.exists() {
            return Err(not_an_env(&old, name));
        }
        // A link to nothing: forget it.
        fs_err::remove_file(entry)?;
    }
    match fs_err::symlink_metadata(target) {
        Err(_) => Ok(None),
        Ok(_) if is_environment(target) => Ok(Some(target.to_path_buf())),
        Ok(meta) if meta.is_dir() && is_empty_dir(target) => Ok(None),
        Ok(_) => Err(not_an_env(target, name)),
    }
}

fn is_empty_dir(dir: &Path) -> bool {
    fs_err::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

fn not_an_env(path: &Path, name: &str) -> anyhow::Error {
    UserError::new(format!(
        "{} exists and is not a tempest-env environment; refusing to touch it",
        path.display()
    ))
    .hint(format!(
        "pick another --path or name than `{name}`, or move that directory away yourself"
    ))
    .into()
}

/// Register an environment made with `--path`: `<data>/envs/NAME -> DIR`,
/// written through a temporary link and renamed, like everything else.
fn register_link(entry: &Path, target: &Path) -> Result<()> {
    let tmp = entry.with_file_name(format!(
        "{}{}.{}",
        atomic::TMP_PREFIX,
        entry.file_name().and_then(|n| n.to_str()).unwrap_or("env"),
        std::process::id()
    ));
    let _ = fs_err::remove_file(&tmp);
    symlink(target, &tmp)
        .with_context(|| format!("failed to link {} to {}", tmp.display(), target.display()))?;
    fs_err::rename(&tmp, entry)?;
    Ok(())
}

/// Write the venv files into `dir`, which will be renamed to `target`: paths
/// written into files name the target.
fn write_layout(
    dir: &Path,
    target: &Path,
    name: &str,
    prompt: &str,
    interpreter: &Interpreter,
    ephemeral: bool,
) -> Result<Manifest> {
    let info = &interpreter.info;
    let scheme = &info.scheme;
    let home_dir = interpreter
        .executable
        .parent()
        .context("the interpreter's executable has no parent directory")?;
    let cfg = pyvenv_cfg::render(&[
        ("home", home_dir.display().to_string()),
        ("implementation", implementation_title(&info.implementation)),
        ("version_info", version_info(info)),
        ("include-system-site-packages", "false".into()),
        ("prompt", prompt.to_string()),
        ("tempest-env", env!("CARGO_PKG_VERSION").into()),
    ])
    .map_err(|why| UserError::new(format!("cannot write pyvenv.cfg: {why}")))?;
    fs_err::write(dir.join("pyvenv.cfg"), cfg)?;

    let bin = dir.join(&scheme.scripts);
    fs_err::create_dir_all(&bin)?;
    symlink(&interpreter.executable, bin.join("python")).with_context(|| {
        format!(
            "failed to link {} to {}",
            bin.join("python").display(),
            interpreter.executable.display()
        )
    })?;
    for alias in ["python3".to_string(), info.versioned_name()] {
        // A hard link to the `python` symlink is the same symlink without a
        // new inode; where hard links are refused, a symlink to `python`.
        let path = bin.join(&alias);
        fs_err::hard_link(bin.join("python"), &path)
            .or_else(|_| symlink("python", &path))
            .with_context(|| format!("failed to link {}", path.display()))?;
    }
    if !ephemeral {
        for (file, text) in activate::scripts(target, prompt) {
            fs_err::write(bin.join(file), text)?;
        }
    }

    fs_err::create_dir_all(dir.join(&scheme.purelib))?;
    fs_err::create_dir_all(dir.join(&scheme.platlib))?;
    if info.wants_lib64() && scheme.purelib.starts_with("lib") && !dir.join("lib64").exists() {
        symlink("lib", dir.join("lib64"))
            .with_context(|| format!("failed to link {}", dir.join("lib64").display()))?;
    }
    if !ephemeral {
        fs_err::write(dir.join("CACHEDIR.TAG"), CACHEDIR_TAG)?;
        fs_err::write(
            dir.join(".gitignore"),
            "# Created by tempest-env: nothing in an environment belongs in git.\n*\n",
        )?;
    }

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tempest_env_version: env!("CARGO_PKG_VERSION").into(),
        name: name.to_string(),
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        prompt: prompt.to_string(),
        interpreter: InterpreterRecord {
            request: interpreter.request.clone(),
            executable: interpreter.executable.clone(),
            version: info.version.clone(),
            implementation: info.implementation.clone(),
            scheme: scheme.clone(),
        },
        layers: Vec::new(),
        distributions: Vec::new(),
        definition_hash: None,
        create_args: Vec::new(),
    };
    debug_assert_eq!(FILE_NAME, "tempest-env.json");
    Ok(manifest)
}

fn implementation_title(name: &str) -> String {
    match name {
        "cpython" => "CPython".into(),
        "pypy" => "PyPy".into(),
        other => other.to_string(),
    }
}

fn version_info(info: &crate::interpreter::InterpreterInfo) -> String {
    let (major, minor, micro, level, serial) = &info.version_info;
    format!("{major}.{minor}.{micro}.{level}.{serial}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_links_and_detours_through_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs_err::canonicalize(dir.path()).unwrap();
        let envs = root.join("data/envs");
        fs_err::create_dir_all(&envs).unwrap();
        symlink(&envs, root.join("link")).unwrap();
        assert_eq!(resolved(&root.join("link/x")), envs.join("x"));
        assert_eq!(
            resolved(&root.join("missing/../data/envs/x")),
            envs.join("x")
        );
        assert_eq!(resolved(&root.join("a/b")), root.join("a/b"));
    }
}
