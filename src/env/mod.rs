//! Environments: PEP 405 venv directories that pip, uv and editors accept as
//! venvs, each with a manifest saying what it is made of.
//!
//! An environment named `NAME` is registered at `<data>/envs/NAME`: the
//! directory itself, or a symlink to it when it was made with `--path`.

pub mod activate;
pub mod command;
pub mod compose;
pub mod confine;
mod create;
pub mod editable;
pub mod expose;
pub mod install;
pub mod journal;
pub mod launchers;
pub mod layers;
pub mod link;
pub mod manifest;
pub mod pyvenv_cfg;
mod uninstall;

pub use create::{CreateOptions, create, create_held};
pub use manifest::{Manifest, ManifestError};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::UserError;
use crate::home::Home;

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    /// Where the environment's files are now.
    pub root: PathBuf,
    /// Where it will live: differs from `root` only while `create` builds it
    /// in a temporary sibling. Paths written into files (shebangs) use it.
    pub dest: PathBuf,
    pub manifest: Manifest,
}

/// Where `name` is registered.
pub fn registry_entry(home: &Home, name: &str) -> PathBuf {
    home.envs().join(name)
}

/// The lock file that serialises changes to environment `name`.
pub fn lock_path(home: &Home, name: &str) -> PathBuf {
    home.locks().join(format!("env-{name}.lock"))
}

/// Whether `dir` holds a tempest-env manifest (the only kind of directory
/// tempest-env ever deletes).
pub fn is_environment(dir: &Path) -> bool {
    dir.join(manifest::FILE_NAME).is_file()
}

impl Environment {
    /// Open the environment registered as `name`.
    pub fn open(home: &Home, name: &str) -> Result<Self> {
        crate::home::env_name::validate(name)?;
        let entry = registry_entry(home, name);
        if fs_err::symlink_metadata(&entry).is_err() {
            return Err(UserError::new(format!("no environment named `{name}`"))
                .hint("`tempest-env list` shows the environments; `tempest-env create NAME` makes one")
                .into());
        }
        let root = fs_err::canonicalize(&entry).map_err(|_| {
            UserError::new(format!(
                "environment `{name}` points at {}, which no longer exists",
                fs_err::read_link(&entry).unwrap_or_default().display()
            ))
            .hint(format!("`tempest-env remove {name}` forgets it"))
        })?;
        Self::at(name, root)
    }

    /// Open the environment rooted at `root`.
    pub fn at(name: &str, root: PathBuf) -> Result<Self> {
        let file = root.join(manifest::FILE_NAME);
        let text = match fs_err::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(UserError::new(format!(
                    "{} is not a tempest-env environment (no {})",
                    root.display(),
                    manifest::FILE_NAME
                ))
                .into());
            }
            Err(err) => {
                return Err(err).with_context(|| format!("failed to read {}", file.display()));
            }
        };
        let cfg_path = root.join("pyvenv.cfg");
        let cfg = fs_err::read_to_string(&cfg_path).unwrap_or_default();
        if pyvenv_cfg::get(&pyvenv_cfg::parse(&cfg), "home").is_none() {
            return Err(UserError::new(format!(
                "environment `{name}` has a corrupt pyvenv.cfg ({}): it names no `home`",
                cfg_path.display()
            ))
            .hint(format!(
                "`tempest-env create {name} --clear` rebuilds the environment"
            ))
            .into());
        }
        let manifest = Manifest::parse(&text).map_err(|err| {
            UserError::new(format!(
                "the manifest of environment `{name}` ({}) is unreadable: {err}",
                file.display()
            ))
            .hint(format!(
                "`tempest-env create {name} --clear` rebuilds the environment"
            ))
        })?;
        Ok(Self {
            name: name.to_string(),
            dest: root.clone(),
            root,
            manifest,
        })
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    pub fn bin(&self) -> PathBuf {
        self.root.join(&self.manifest.interpreter.scheme.scripts)
    }

    pub fn python(&self) -> PathBuf {
        self.bin().join("python")
    }

    pub fn site_packages(&self) -> PathBuf {
        self.root.join(&self.manifest.interpreter.scheme.purelib)
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(manifest::FILE_NAME)
    }

    /// The interpreter the environment was made with, found (and queried,
    /// or read from the cache) again.
    pub fn interpreter(
        &self,
        home: &Home,
        printer: &crate::printer::Printer,
    ) -> Result<crate::interpreter::Interpreter> {
        let executable = self.manifest.interpreter.executable.to_string_lossy();
        crate::interpreter::find(Some(&executable), home, printer)
    }

    /// Write the manifest back.
    pub fn save(&self) -> Result<()> {
        self.write_file(&self.manifest_path(), self.manifest.to_json().as_bytes())
    }

    /// Write a file of the environment: atomically once it is live, directly
    /// while `create` builds it (the whole temporary directory is renamed
    /// into place, so nothing in it is seen half-written).
    pub fn write_file(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        if self.root == self.dest {
            crate::atomic::write_file(path, bytes)
        } else {
            fs_err::write(path, bytes)?;
            Ok(())
        }
    }
}

/// Scan what the environment's python will see: its own site-packages and,
/// through the generated `.pth`, every layer in order.
pub fn scan(env: &Environment) -> Result<crate::dist::scan::ScanResult> {
    use crate::dist::scan;
    // Whether `.pth` files starting with `.` are read depends on the
    // interpreter's version (gh-113659); the manifest records it.
    let version: Vec<u32> = env
        .manifest
        .interpreter
        .version
        .split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect();
    let options = scan::PathOptions {
        known: &[],
        skip_hidden_pth: scan::skips_hidden_pth(
            version.first().copied().unwrap_or(3),
            version.get(1).copied().unwrap_or(0),
            version.get(2).copied().unwrap_or(0),
        ),
    };
    let path = scan::effective_path_with(
        &[scan::SiteDir {
            dir: env.site_packages(),
            origin: scan::Origin::Env,
        }],
        &options,
    )?;
    // Callers need names, versions, requirements and entry points: no file
    // lists (RECORD can be large, and a base has hundreds).
    Ok(scan::scan_with(
        &path,
        scan::ScanOptions {
            files: false,
            plugins_only_details: false,
        },
    ))
}

/// Every registered environment name, sorted; temporaries are skipped.
pub fn names(home: &Home) -> Result<Vec<String>> {
    let dir = home.envs();
    let entries = match fs_err::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("failed to read {}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| crate::home::env_name::validate(n).is_ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Registered environments with a layer or distribution inside `dir`.
pub fn users_of(home: &Home, dir: &Path) -> Result<Vec<String>> {
    let mut users = Vec::new();
    for name in names(home)? {
        let Ok(env) = Environment::open(home, &name) else {
            continue;
        };
        let layers = env.manifest.layers.iter().map(|l| &l.path);
        let dists = env
            .manifest
            .distributions
            .iter()
            .filter_map(|d| d.location.as_ref());
        if layers.chain(dists).any(|p| p.starts_with(dir)) {
            users.push(name);
        }
    }
    Ok(users)
}
