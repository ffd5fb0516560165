//! Base layers: tempest and its requirements (or whatever `--base` names),
//! built once by a real installer into `<cache>/bases/<hash>/site` and shared
//! read-only by every environment that asks for the same inputs.
//!
//! The hash covers everything that decides the result: the interpreter, the
//! requirements, the constraints file's content, the index options and the
//! installer. A second environment with the same inputs costs no installer
//! run at all.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::installer::{IndexOptions, Installer, InstallerChoice};
use crate::atomic;
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::shared::Reuse;

pub const INFO_FILE: &str = "base.json";

/// What a base is built from.
#[derive(Debug, Clone, Default)]
pub struct BaseSpec {
    pub requirements: Vec<String>,
    pub constraints: Option<PathBuf>,
    pub index: IndexOptions,
    pub installer: InstallerChoice,
}

/// What a built base records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseInfo {
    pub hash: String,
    pub requirements: Vec<String>,
    pub constraints: Option<PathBuf>,
    pub constraints_sha256: Option<String>,
    pub index: IndexOptions,
    pub installer: String,
    pub python: PathBuf,
    pub python_version: String,
    pub created: String,
    /// `name==version` of everything installed, sorted.
    pub installed: Vec<String>,
    /// Its console and GUI scripts, so environments write launchers without
    /// scanning it.
    #[serde(default)]
    pub scripts: Option<Vec<super::launchers::Script>>,
    /// Extra requirements of a plugin layer resolved on top of another base.
    #[serde(default)]
    pub on_top_of: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Base {
    pub dir: PathBuf,
    pub info: BaseInfo,
    /// Whether this call built it (false: reused).
    pub fresh: bool,
}

impl Base {
    /// The directory that becomes the layer.
    pub fn site(&self) -> PathBuf {
        self.dir.join("site")
    }
}

fn lock_path(home: &Home, hash: &str) -> PathBuf {
    home.cache().join("locks").join(format!("base-{hash}.lock"))
}

/// The inputs that decide a base, as a stable hash.
fn inputs_hash(
    spec: &BaseSpec,
    installer: &Installer,
    interpreter: &Interpreter,
    constraints_sha256: Option<&str>,
    on_top_of: Option<&str>,
) -> String {
    let key = serde_json::json!({
        "format": 1,
        "python": interpreter.executable,
        "python_version": interpreter.info.version,
        "requirements": spec.requirements,
        "constraints": constraints_sha256,
        "index": spec.index,
        "installer": installer.name(),
        "on_top_of": on_top_of,
    });
    crate::digest::short_sha256(key.to_string().as_bytes(), 8)
}

/// The base for `spec`, building it if no environment has asked for it yet.
/// `on_top_of` builds a plugin layer: only what that base lacks, at versions
/// consistent with its pins.
pub fn ensure(
    home: &Home,
    spec: &BaseSpec,
    interpreter: &Interpreter,
    on_top_of: Option<&Base>,
    printer: &Printer,
) -> Result<Base> {
    let installer = Installer::choose(spec.installer, interpreter)?;
    let constraints_sha256 = match &spec.constraints {
        Some(path) => {
            if !path.is_file() {
                return Err(UserError::new(format!(
                    "the constraints file {} does not exist",
                    path.display()
                ))
                .into());
            }
            Some(crate::store::sha256_file(path)?)
        }
        None => None,
    };
    for dir in &spec.index.find_links {
        if !dir.exists() {
            return Err(UserError::new(format!(
                "--find-links {}: no such directory",
                dir.display()
            ))
            .into());
        }
    }
    let parent_hash = on_top_of.map(|b| b.info.hash.as_str());
    let hash = inputs_hash(
        spec,
        &installer,
        interpreter,
        constraints_sha256.as_deref(),
        parent_hash,
    );
    let dir = home.bases().join(&hash);
    if let Reuse::Sound(base) = reuse(&dir)? {
        printer.verbose(format!(
            "reusing base {hash} ({}) without running the installer",
            base.info.requirements.join(" ")
        ));
        return Ok(base);
    }
    fs_err::create_dir_all(home.bases())?;
    let _lock = crate::lock::acquire(&lock_path(home, &hash), &format!("base {hash}"), printer)?;
    match reuse(&dir)? {
        Reuse::Sound(base) => return Ok(base),
        Reuse::Missing => {}
        Reuse::Broken(why) => {
            printer.warn(format!("base {hash} {why}; building it again"));
            crate::shared::discard(&dir, &format!("base {hash}"), &why)?;
        }
    }
    installer.check()?;
    let tmp = atomic::temp_sibling(&dir)?;
    let site = tmp.path().join("site");
    fs_err::create_dir_all(&site)?;
    let mut constraints: Vec<PathBuf> = spec.constraints.iter().cloned().collect();
    let pins_file = tmp.path().join("base-pins.txt");
    if let Some(parent) = on_top_of {
        // The parent's versions are fixed: the plugin must fit them.
        fs_err::write(&pins_file, parent.info.installed.join("\n") + "\n")?;
        constraints.push(pins_file.clone());
    }
    printer.status(format!(
        "Building {} {hash} with {}: {}",
        if on_top_of.is_some() {
            "plugin layer"
        } else {
            "base"
        },
        installer.name(),
        spec.requirements.join(" ")
    ));
    crate::failpoint::hit("base-before-install");
    installer.install_target(
        interpreter,
        &site,
        &spec.requirements,
        &constraints,
        &spec.index,
        printer,
    )?;
    // Scripts the installer wrote point at the base interpreter; environments
    // get their own launchers instead.
    let scripts = site.join("bin");
    if scripts.is_dir() {
        fs_err::rename(&scripts, tmp.path().join("installer-bin"))?;
    }
    if let Some(parent) = on_top_of {
        remove_present(&site, &parent.info.installed)?;
    }
    let installed = installed(&site)?;
    let info = BaseInfo {
        hash: hash.clone(),
        requirements: spec.requirements.clone(),
        constraints: spec.constraints.clone(),
        constraints_sha256,
        index: spec.index.clone(),
        installer: installer.name().into(),
        python: interpreter.executable.clone(),
        python_version: interpreter.info.version.clone(),
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        installed,
        scripts: Some(super::launchers::scripts(&site)?),
        on_top_of: parent_hash.map(str::to_string),
    };
    let _ = fs_err::remove_file(&pins_file);
    fs_err::write(
        tmp.path().join(INFO_FILE),
        serde_json::to_vec_pretty(&info)?,
    )?;
    crate::store::prepare_read_only(&site)?;
    crate::shared::seal_read_only(tmp.path())?;
    let built = tmp.keep();
    fs_err::rename(&built, &dir)?;
    // Used from now on: leased like a reused one.
    if let Some(lease) = crate::lease::shared(&dir)? {
        lease.keep();
    }
    Ok(Base {
        dir,
        info,
        fresh: true,
    })
}

/// The base at `dir`, if one was built there.
pub fn open(dir: &Path) -> Result<Option<Base>> {
    read(dir)
}

/// A base reused: leased, and every path of it checked against its seal
/// (once per process), so a file edited in place is found before another
/// environment uses it.
fn reuse(dir: &Path) -> Result<Reuse<Base>> {
    crate::shared::reuse(dir, || read(dir))
}

fn read(dir: &Path) -> Result<Option<Base>> {
    let file = dir.join(INFO_FILE);
    match fs_err::read(&file) {
        Ok(bytes) => {
            let info: BaseInfo = serde_json::from_slice(&bytes)
                .with_context(|| format!("base {} is corrupt", file.display()))?;
            Ok(Some(Base {
                dir: dir.to_path_buf(),
                info,
                fresh: false,
            }))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to read {}", file.display())),
    }
}

/// `name==version` of every dist-info in `site`, sorted.
pub fn installed(site: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(site)? {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".dist-info"))
        else {
            continue;
        };
        let text = fs_err::read_to_string(path.join("METADATA"))?;
        match crate::dist::metadata::Metadata::parse(&text) {
            Ok(m) => out.push(format!("{}=={}", m.name, m.version)),
            Err(_) => {
                if let Some((name, version)) = stem.rsplit_once('-') {
                    out.push(format!("{name}=={version}"));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Remove from a plugin layer the distributions its parent base already has
/// at the same version (the installer put them there to satisfy the
/// resolution), by their RECORD.
fn remove_present(site: &Path, parent: &[String]) -> Result<()> {
    let present: std::collections::HashSet<String> = parent
        .iter()
        .map(|pin| {
            crate::dist::name::normalize(pin.split("==").next().unwrap_or(pin))
                + "=="
                + pin.split("==").nth(1).unwrap_or("")
        })
        .collect();
    for entry in fs_err::read_dir(site)? {
        let dist_info = entry?.path();
        let Some(stem) = dist_info
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".dist-info"))
        else {
            continue;
        };
        let Some((name, version)) = stem.rsplit_once('-') else {
            continue;
        };
        let key = format!("{}=={}", crate::dist::name::normalize(name), version);
        if !present.contains(&key) {
            continue;
        }
        let record = fs_err::read_to_string(dist_info.join("RECORD"))?;
        let entries = crate::dist::record::parse(&record)
            .map_err(|e| anyhow::anyhow!("{}: {e}", dist_info.join("RECORD").display()))?;
        for file in entries {
            // Only paths inside the layer.
            if crate::wheel::archive::check_path(&file.path).is_ok() {
                let _ = fs_err::remove_file(site.join(&file.path));
            }
        }
        let _ = fs_err::remove_dir_all(&dist_info);
        remove_empty_dirs(site)?;
    }
    Ok(())
}

fn remove_empty_dirs(dir: &Path) -> Result<bool> {
    let mut empty = true;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if !remove_empty_dirs(&entry.path())? {
                empty = false;
            } else {
                let _ = fs_err::remove_dir(entry.path());
            }
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

/// Every built base.
pub fn list(home: &Home) -> Result<Vec<Base>> {
    let mut bases = Vec::new();
    let Ok(entries) = fs_err::read_dir(home.bases()) else {
        return Ok(bases);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if let Some(base) = read(&entry.path())? {
            bases.push(base);
        }
    }
    bases.sort_by(|a, b| a.info.created.cmp(&b.info.created));
    Ok(bases)
}

/// Remove a base by hash (or a unique prefix of one). A base that a
/// registered environment uses is refused unless `force`; one that a live
/// process holds a lease on is always refused. Returns the base's directory
/// and the environments that used it.
pub fn remove(
    home: &Home,
    prefix: &str,
    force: bool,
    users_of: impl Fn(&Path) -> Result<Vec<String>>,
    printer: &Printer,
) -> Result<(PathBuf, Vec<String>)> {
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(UserError::new(format!(
            "`{prefix}` is not a base hash: give the hash, or a unique prefix of it (hexadecimal digits)"
        ))
        .hint("`tempest-env base list` shows the bases and their hashes")
        .into());
    }
    let matches: Vec<Base> = list(home)?
        .into_iter()
        .filter(|b| b.info.hash.starts_with(prefix))
        .collect();
    let base = match matches.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(UserError::new(format!("no base with hash `{prefix}`"))
                .hint("`tempest-env base list` shows the bases")
                .into());
        }
        many => {
            return Err(UserError::new(format!(
                "`{prefix}` matches {} bases: {}",
                many.len(),
                many.iter()
                    .map(|b| b.info.hash.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("give more of the hash")
            .into());
        }
    };
    let hash = &base.info.hash;
    let users = users_of(&base.dir)?;
    if !users.is_empty() && !force {
        return Err(UserError::new(format!(
            "base {hash} is used by {}",
            describe_users(&users)
        ))
        .hint(format!(
            "remove those environments first, or `tempest-env base remove {hash} --force` (they then need `create NAME --clear`)"
        ))
        .into());
    }
    let _lock = crate::lock::acquire(&lock_path(home, hash), &format!("base {hash}"), printer)?;
    let Some(held) = crate::lease::exclusive(&base.dir)? else {
        return Err(UserError::new(format!(
            "base {hash} is in use by {}",
            crate::lease::describe_holders(&base.dir)
        ))
        .hint("try again once it has finished")
        .into());
    };
    let trash = atomic::move_to_trash(&base.dir)?;
    drop(held);
    crate::seal::break_seal(&trash)?;
    atomic::remove_tree(&trash)?;
    Ok((base.dir, users))
}

/// "environment `a`" or "environments `a`, `b`".
pub fn describe_users(users: &[String]) -> String {
    let names: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
    match names.as_slice() {
        [one] => format!("environment {one}"),
        _ => format!("environments {}", names.join(", ")),
    }
}

/// Remove leftovers and bases that no environment uses and no live process
/// leases; each is moved aside before it is deleted.
pub fn gc(home: &Home, used: &[PathBuf], dry_run: bool) -> Result<Vec<PathBuf>> {
    let bases_dir = home.bases();
    let mut removed = crate::shared::leftovers(&bases_dir, dry_run, |hash| lock_path(home, hash))?;
    let Ok(entries) = fs_err::read_dir(&bases_dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let Some(hash) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if hash.starts_with('.')
            || used
                .iter()
                .any(|u| u.starts_with(&dir) || dir.starts_with(u))
        {
            continue;
        }
        if crate::shared::remove_unused(&dir, &lock_path(home, hash), dry_run)? {
            removed.push(dir);
        }
    }
    Ok(removed)
}
