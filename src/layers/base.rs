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

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::installer::{IndexOptions, Installer, InstallerChoice};
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::shared::{Built, Cache, Reuse};

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

/// The bases: `<cache>/bases/<hash>/`, described by [`INFO_FILE`].
fn cache(home: &Home) -> Cache {
    Cache::new(
        home.bases(),
        home.cache().join("locks"),
        "base",
        "base",
        INFO_FILE,
    )
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
    let constraints_sha256 = check_inputs(spec)?;
    let parent_hash = on_top_of.map(|b| b.info.hash.as_str());
    let hash = inputs_hash(
        spec,
        &installer,
        interpreter,
        constraints_sha256.as_deref(),
        parent_hash,
    );
    let cache = cache(home);
    let dir = cache.dir(&hash);
    if let Reuse::Sound(info) = cache.reuse::<BaseInfo>(&hash)? {
        printer.verbose(format!(
            "reusing base {hash} ({}) without running the installer",
            info.requirements.join(" ")
        ));
        return Ok(Base {
            dir,
            info,
            fresh: false,
        });
    }
    let built = cache.build(
        &hash,
        &format!("base {hash}"),
        printer,
        |why| printer.warn(format!("base {hash} {why}; building it again")),
        |root| {
            installer.check()?;
            install(
                root,
                spec,
                &installer,
                interpreter,
                on_top_of,
                &hash,
                printer,
            )?;
            let site = root.join("site");
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
                installed: installed(&site)?,
                scripts: Some(super::launchers::scripts(&site)?),
                on_top_of: parent_hash.map(str::to_string),
            };
            crate::store::prepare_read_only(&site)?;
            Ok(info)
        },
    )?;
    let (info, fresh) = match built {
        Built::Reused(info) => (info, false),
        Built::Fresh(info) => (info, true),
    };
    Ok(Base { dir, info, fresh })
}

/// Refuse a constraints file or a `--find-links` directory that is not
/// there; the constraints file's sha256.
fn check_inputs(spec: &BaseSpec) -> Result<Option<String>> {
    for dir in &spec.index.find_links {
        if !dir.exists() {
            return Err(UserError::new(format!(
                "--find-links {}: no such directory",
                dir.display()
            ))
            .into());
        }
    }
    let Some(path) = &spec.constraints else {
        return Ok(None);
    };
    if !path.is_file() {
        return Err(UserError::new(format!(
            "the constraints file {} does not exist",
            path.display()
        ))
        .into());
    }
    Ok(Some(crate::store::sha256_file(path)?))
}

/// Run the installer into `site/` under the temporary `root`: the
/// requirements under the constraints, and for a plugin layer the parent's
/// pins too, keeping only what the parent lacks.
fn install(
    root: &Path,
    spec: &BaseSpec,
    installer: &Installer,
    interpreter: &Interpreter,
    on_top_of: Option<&Base>,
    hash: &str,
    printer: &Printer,
) -> Result<()> {
    let site = &root.join("site");
    fs_err::create_dir_all(site)?;
    let mut constraints: Vec<PathBuf> = spec.constraints.iter().cloned().collect();
    let pins_file = root.join("base-pins.txt");
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
        site,
        &spec.requirements,
        &constraints,
        &spec.index,
        printer,
    )?;
    // Scripts the installer wrote point at the base interpreter; environments
    // get their own launchers instead.
    let scripts = site.join("bin");
    if scripts.is_dir() {
        fs_err::rename(&scripts, root.join("installer-bin"))?;
    }
    if let Some(parent) = on_top_of {
        remove_present(site, &parent.info.installed)?;
    }
    let _ = fs_err::remove_file(&pins_file);
    Ok(())
}

/// The base at `dir`, if one was built there.
pub fn open(dir: &Path) -> Result<Option<Base>> {
    read(dir)
}

fn read(dir: &Path) -> Result<Option<Base>> {
    Ok(
        crate::shared::read_description(dir, INFO_FILE, "base")?.map(|info| Base {
            dir: dir.to_path_buf(),
            info,
            fresh: false,
        }),
    )
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
    let mut bases: Vec<Base> = cache(home)
        .list()?
        .into_iter()
        .map(|(dir, info)| Base {
            dir,
            info,
            fresh: false,
        })
        .collect();
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
    cache(home).remove(hash, printer)?;
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
    cache(home).gc(used, dry_run)
}
