//! Read a plugin source tree's metadata natively, without running
//! `setup.py`: pbr-style `setup.cfg` or a `pyproject.toml` `[project]` table.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::pyproject::Pyproject;
use super::setup_cfg::SetupCfg;
use crate::dist::entry_points::EntryPoint;
use crate::error::UserError;

#[derive(Debug, Clone)]
pub struct SourceTree {
    pub root: PathBuf,
    /// The directory that goes on `sys.path` (the root, or `src/`).
    pub import_root: PathBuf,
    pub name: String,
    pub version: String,
    pub summary: Option<String>,
    pub requires_python: Option<String>,
    pub requires: Vec<String>,
    pub entry_points: Vec<EntryPoint>,
    /// `setup.cfg` or `pyproject.toml`: where the metadata came from.
    pub metadata_file: &'static str,
}

fn bad(root: &Path, what: String) -> anyhow::Error {
    UserError::new(format!("plugin source tree {}: {what}", root.display())).into()
}

/// Whether `root` is a tree only `setup.py` describes (no `setup.cfg`
/// `[metadata] name`, no `pyproject.toml` `[project]` table): such trees go
/// through the installer backend instead.
pub fn only_setup_py(root: &Path) -> bool {
    if !root.join("setup.py").is_file() {
        return false;
    }
    // Only regular files are read: a FIFO would block.
    let read = |name: &str| {
        let path = root.join(name);
        path.is_file()
            .then(|| fs_err::read_to_string(path).ok())
            .flatten()
    };
    let cfg_names_it = read("setup.cfg")
        .and_then(|text| SetupCfg::parse(&text).ok())
        .is_some_and(|cfg| cfg.name.is_some());
    let pyproject_names_it = read("pyproject.toml")
        .and_then(|text| Pyproject::parse(&text).ok())
        .is_some_and(|p| p.name.is_some());
    !cfg_names_it && !pyproject_names_it
}

/// Fields of `[project]` that tempest-env reads; when the build backend
/// computes any of them, only the backend can say what they are.
const READ_FIELDS: &[&str] = &[
    "version",
    "dependencies",
    "entry-points",
    "scripts",
    "gui-scripts",
    "requires-python",
];

/// Whether the tree's metadata can only come from its build backend: only
/// `setup.py` describes it, `[project]` declares a field tempest-env reads
/// `dynamic` (setuptools `attr:`, setuptools-scm, hatch-vcs, flit), or a
/// setuptools `setup.cfg` computes its version (`attr:`, `file:`) or has
/// none and is not a pbr tree (pbr's version is read from git natively).
/// Such trees are installed by the installer, which runs the backend, so
/// their version is the true one, never a made-up `0.0.0`.
pub fn needs_backend(root: &Path) -> bool {
    if only_setup_py(root) {
        return true;
    }
    let cfg = fs_err::read_to_string(root.join("setup.cfg"))
        .ok()
        .and_then(|text| SetupCfg::parse(&text).ok())
        .filter(|cfg| cfg.name.is_some());
    if let Some(cfg) = cfg {
        return match cfg.version.as_deref().map(str::trim) {
            Some(v) => v.starts_with("attr:") || v.starts_with("file:"),
            None => !is_pbr(root),
        };
    }
    fs_err::read_to_string(root.join("pyproject.toml"))
        .ok()
        .and_then(|text| Pyproject::parse(&text).ok())
        .filter(|p| p.name.is_some())
        .is_some_and(|p| p.dynamic.iter().any(|f| READ_FIELDS.contains(&f.as_str())))
}

/// A pbr tree: `setup.py` passes `pbr=True`, or the build system needs pbr.
fn is_pbr(root: &Path) -> bool {
    let setup_py = fs_err::read_to_string(root.join("setup.py")).unwrap_or_default();
    let compact: String = setup_py.split_whitespace().collect();
    let pyproject = fs_err::read_to_string(root.join("pyproject.toml")).unwrap_or_default();
    compact.contains("pbr=True") || pyproject.contains("\"pbr")
}

/// A `setup.py` that names no distribution would be installed as `UNKNOWN`
/// (and have `UNKNOWN.egg-info` written into the tree): refuse it before the
/// installer runs. Without executing it, a `name=` argument is what is looked
/// for.
pub fn check_setup_py_names_itself(root: &Path) -> Result<()> {
    let text = read_text(&root.join("setup.py"))?;
    let names_itself = text
        .split("name")
        .skip(1)
        .any(|rest| rest.trim_start().starts_with('='));
    if names_itself {
        return Ok(());
    }
    Err(UserError::new(format!(
        "plugin source tree {}: its setup.py names no distribution (no `name=`), and there is no setup.cfg or pyproject.toml metadata",
        root.display()
    ))
    .hint("add `name=` to setup(), a setup.cfg [metadata] name, or a pyproject.toml [project] table")
    .into())
}

/// Read the tree at `root`.
pub fn read(root: &Path) -> Result<SourceTree> {
    let root = fs_err::canonicalize(root)?;
    let setup_cfg = root.join("setup.cfg");
    let pyproject = root.join("pyproject.toml");
    let from_cfg = if setup_cfg.is_file() {
        let text = read_text(&setup_cfg)?;
        let cfg = SetupCfg::parse(&text).map_err(|e| bad(&root, format!("setup.cfg: {e}")))?;
        cfg.name.is_some().then_some(cfg)
    } else {
        None
    };
    let mut tree = if let Some(cfg) = from_cfg {
        let name = cfg.name.clone().unwrap_or_default();
        let version = match std::env::var("PBR_VERSION") {
            Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ => cfg
                .version
                .clone()
                .or_else(|| git_version(&root))
                .unwrap_or_else(|| "0.0.0".into()),
        };
        SourceTree {
            import_root: root.clone(),
            name,
            version,
            summary: cfg.summary.clone(),
            requires_python: cfg.requires_python.clone(),
            requires: requirements_txt(&root)?,
            entry_points: cfg.entry_points.clone(),
            metadata_file: "setup.cfg",
            root: root.clone(),
        }
    } else if pyproject.is_file() {
        let text = read_text(&pyproject)?;
        let project =
            Pyproject::parse(&text).map_err(|e| bad(&root, format!("pyproject.toml: {e}")))?;
        let name = project
            .name
            .clone()
            .ok_or_else(|| bad(&root, "pyproject.toml has no [project] name".into()))?;
        SourceTree {
            import_root: root.clone(),
            name,
            // A computed version goes through the backend (see
            // `needs_backend`); no version at all is not a valid project.
            version: project.version.clone().ok_or_else(|| {
                bad(
                    &root,
                    "pyproject.toml [project] has no `version` and does not list it in `dynamic`"
                        .into(),
                )
            })?,
            summary: None,
            requires_python: project.requires_python.clone(),
            requires: project.dependencies.clone(),
            entry_points: project.entry_points.clone(),
            metadata_file: "pyproject.toml",
            root: root.clone(),
        }
    } else if root.join("setup.py").is_file() {
        return Err(UserError::new(format!(
            "plugin source tree {} has only setup.py, which tempest-env does not run",
            root.display()
        ))
        .hint("add a setup.cfg with [metadata] name (pbr style) or a pyproject.toml [project] table, or install it with pip")
        .into());
    } else {
        return Err(UserError::new(format!(
            "{} is not a plugin source tree: it has no setup.cfg, pyproject.toml or setup.py",
            root.display()
        ))
        .into());
    };
    if !crate::dist::name::is_valid(&tree.name) {
        return Err(bad(
            &root,
            format!("`{}` is not a valid distribution name", tree.name),
        ));
    }
    if tree.version.parse::<pep440_rs::Version>().is_err() {
        return Err(bad(
            &root,
            format!("`{}` is not a valid PEP 440 version", tree.version),
        ));
    }
    // A `src/` layout puts the packages one level down.
    let src = root.join("src");
    if src.is_dir() && !has_package(&root) && has_package(&src) {
        tree.import_root = src;
    }
    Ok(tree)
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = fs_err::read(path)?;
    String::from_utf8(bytes)
        .map_err(|_| UserError::new(format!("{} is not valid UTF-8", path.display())).into())
}

fn has_package(dir: &Path) -> bool {
    fs_err::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().join("__init__.py").is_file())
    })
}

/// pbr takes install requirements from `requirements.txt`.
fn requirements_txt(root: &Path) -> Result<Vec<String>> {
    let path = root.join("requirements.txt");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = read_text(&path)?;
    Ok(text
        .lines()
        .map(|l| l.split(" #").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
        .map(str::to_string)
        .collect())
}

/// The newest tag reachable from HEAD, if git knows one and it is a PEP 440
/// version (what pbr would start from). Asked once per tree per process:
/// `bisect` and `sanity` compose the same trees into every probe.
fn git_version(root: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static ASKED: OnceLock<Mutex<HashMap<PathBuf, Option<String>>>> = OnceLock::new();
    let asked = ASKED.get_or_init(Default::default);
    if let Some(known) = asked.lock().ok().and_then(|m| m.get(root).cloned()) {
        return known;
    }
    let found = ask_git_version(root);
    if let Ok(mut m) = asked.lock() {
        m.insert(root.to_path_buf(), found.clone());
    }
    found
}

fn ask_git_version(root: &Path) -> Option<String> {
    let mut cmd = Command::new("git");
    cmd.args(["describe", "--tags", "--abbrev=0"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    let out = cmd.output().ok()?;
    let tag = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && tag.parse::<pep440_rs::Version>().is_ok()).then_some(tag)
}

/// Check a path names a directory, with the error a user can act on.
pub fn check_dir(path: &Path) -> Result<()> {
    let meta = fs_err::metadata(path).context("plugin source tree")?;
    if !meta.is_dir() {
        return Err(UserError::new(format!("{} is not a directory", path.display())).into());
    }
    Ok(())
}

/// The tree's `tempest.test_plugins` entry-point names.
pub fn plugins(tree: &SourceTree) -> Vec<String> {
    tree.entry_points
        .iter()
        .filter(|ep| ep.group == crate::dist::entry_points::TEMPEST_GROUP)
        .map(|ep| ep.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs_err::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn computed_metadata_needs_the_backend_and_static_metadata_does_not() {
        let project = |extra: &str| format!("[project]\nname = \"p\"\n{extra}\n");
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("pyproject.toml", &project("version = \"1.0\""))], false),
            (
                &[("pyproject.toml", &project("dynamic = [\"version\"]"))],
                true,
            ),
            (
                &[(
                    "pyproject.toml",
                    &project("version = \"1\"\ndynamic = [\"dependencies\"]"),
                )],
                true,
            ),
            // A computed description is not read: the static rest is enough.
            (
                &[(
                    "pyproject.toml",
                    &project("version = \"1\"\ndynamic = [\"description\"]"),
                )],
                false,
            ),
            (
                &[("setup.cfg", "[metadata]\nname = p\nversion = 1.0\n")],
                false,
            ),
            (
                &[(
                    "setup.cfg",
                    "[metadata]\nname = p\nversion = attr: p.__version__\n",
                )],
                true,
            ),
            (
                &[(
                    "setup.cfg",
                    "[metadata]\nname = p\nversion = file: VERSION\n",
                )],
                true,
            ),
            (
                &[
                    ("setup.cfg", "[metadata]\nname = p\n"),
                    ("setup.py", "setup()\n"),
                ],
                true,
            ),
            (
                &[
                    ("setup.cfg", "[metadata]\nname = p\n"),
                    ("setup.py", "setup(pbr = True)\n"),
                ],
                false,
            ),
            (&[("setup.py", "setup(name='p')\n")], true),
        ];
        for (files, expected) in cases {
            let dir = tree(files);
            assert_eq!(needs_backend(dir.path()), *expected, "{files:?}");
        }
    }

    #[test]
    fn the_git_version_is_asked_once_per_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        fs_err::write(root.join("f"), "x").unwrap();
        git(root, &["add", "f"]);
        git(root, &["commit", "-q", "-m", "c"]);
        git(root, &["tag", "1.2.3"]);
        assert_eq!(git_version(root).as_deref(), Some("1.2.3"));
        // The tag goes; this process keeps the answer it had.
        git(root, &["tag", "-d", "1.2.3"]);
        assert_eq!(ask_git_version(root), None);
        assert_eq!(git_version(root).as_deref(), Some("1.2.3"));
        // A tag that is not a PEP 440 version is not one.
        git(root, &["tag", "release-candidate"]);
        assert_eq!(ask_git_version(root), None);
    }
}
