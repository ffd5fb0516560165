//! `TestContext`: a temporary `TEMPEST_ENV_HOME` and working directory, and
//! helpers to run the binary and inspect what it made.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use tempfile::TempDir;

pub(crate) struct TestContext {
    pub home: TempDir,
    pub work: TempDir,
}

impl TestContext {
    pub(crate) fn new() -> Self {
        Self {
            home: TempDir::new().expect("temporary home"),
            work: TempDir::new().expect("temporary work dir"),
        }
    }

    /// `tempest-env` with this context's home, in its work dir.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("tempest-env").expect("the binary is built");
        cmd.env("TEMPEST_ENV_HOME", self.home.path())
            .env_remove("TEMPEST_ENV_FAILPOINT")
            .env_remove("NO_COLOR")
            .current_dir(self.work.path());
        cmd
    }

    /// The same, as a std command (for spawning and killing).
    pub(crate) fn std_cmd(&self) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("tempest-env"));
        cmd.env("TEMPEST_ENV_HOME", self.home.path())
            .env_remove("TEMPEST_ENV_FAILPOINT")
            .current_dir(self.work.path());
        cmd
    }

    pub(crate) fn envs_dir(&self) -> PathBuf {
        self.home.path().join("data").join("envs")
    }

    pub(crate) fn env_dir(&self, name: &str) -> PathBuf {
        self.envs_dir().join(name)
    }

    /// Create `name` with the default interpreter, asserting success.
    pub(crate) fn create(&self, name: &str) -> PathBuf {
        self.cmd().args(["create", name]).assert().success();
        self.env_dir(name)
    }

    /// The ids of the recorded runs, sorted.
    pub(crate) fn run_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.home.path().join("data/runs"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

/// Every file under `dir`, at any depth, sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Owned copies of `items`.
pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `--plugin DIR` for each named fixture plugin source tree.
pub(crate) fn fixture_plugin_args(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| {
            [
                "--plugin".to_string(),
                fixtures().join("plugins").join(n).display().to_string(),
            ]
        })
        .collect()
}

/// Assert that `out` is a refusal of bad input: exit 2, one `error:` line,
/// which says `needle`; `what` names the case in failures. Its stderr.
pub(crate) fn assert_refused(out: &std::process::Output, what: &str, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{what}: {err}"
    );
    assert!(err.contains(needle), "{what}: {err}");
    err
}

/// The real executable behind the machine's `python3`.
pub(crate) fn real_python() -> PathBuf {
    let out = StdCommand::new("python3")
        .args([
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}

/// `major.minor` of the machine's `python3`.
pub(crate) fn python_version() -> String {
    let out = StdCommand::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .expect("python3 runs");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every path under `root` with its kind, size, mode and mtime: equal
/// snapshots mean nothing was changed.
pub(crate) fn tree(root: &Path) -> BTreeMap<PathBuf, (char, u64, u32, i64, i64)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (char, u64, u32, i64, i64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = if meta.is_symlink() {
                'l'
            } else if meta.is_dir() {
                'd'
            } else {
                'f'
            };
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.insert(
                rel,
                (
                    kind,
                    meta.size(),
                    meta.permissions().mode(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                ),
            );
            if kind == 'd' {
                walk(root, &path, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Fail unless a tool is on PATH. Tests that need a tool a fresh machine
/// lacks (uv, fish, zsh) are `#[ignore]`d with the reason, so a plain
/// `cargo test` lists them as ignored instead of passing them silently;
/// `.ci/run` installs the tools and runs them with `--ignored`.
pub(crate) fn require_tool(name: &str) {
    let found = StdCommand::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{name} is needed by this test but is not on PATH");
}

pub(crate) fn manifest(env: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(env.join("tempest-env.json")).expect("manifest exists");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// The repository's `fixtures/` directory.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Build a wheel from the source tree `src` into `out` with the fixture
/// builder (real `python3`, real zip), returning its path.
pub(crate) fn build_wheel(src: &Path, out: &Path, version: Option<&str>) -> PathBuf {
    let mut cmd = StdCommand::new("python3");
    cmd.arg(fixtures().join("build_wheel.py")).arg(src).arg(out);
    if let Some(version) = version {
        cmd.args(["--version", version]);
    }
    let output = cmd.output().expect("python3 runs the wheel builder");
    assert!(
        output.status.success(),
        "build_wheel failed: {}",
        stderr(&output)
    );
    PathBuf::from(stdout(&output).trim())
}

/// The wheel of fixture plugin `name` (or `tempest-standin`), built once per
/// test process.
pub(crate) fn fixture_wheel(name: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DIR: OnceLock<TempDir> = OnceLock::new();
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let dir = DIR.get_or_init(|| TempDir::new().expect("wheel dir"));
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let src = if name == "tempest-standin" {
        fixtures().join("tempest-standin")
    } else {
        fixtures().join("plugins").join(name)
    };
    let out = dir.path().join(name);
    let path = build_wheel(&src, &out, None);
    built.insert(name.to_string(), path.clone());
    path
}

/// The sorted `tempest.test_plugins` entry-point names the environment's
/// python sees through importlib.metadata.
pub(crate) fn visible_plugins(env: &Path) -> Vec<String> {
    let out = StdCommand::new(env.join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m\neps = m.entry_points()\nsel = eps.select(group='tempest.test_plugins') if hasattr(eps, 'select') else eps.get('tempest.test_plugins', [])\nprint('\\n'.join(sorted(e.name for e in sel)))",
        ])
        .output()
        .expect("the env's python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// An interpreter made for a test, whose system site-packages is a fresh,
/// empty directory the test owns: a copy of the real executable beside
/// links to every entry of the real standard library except site-packages.
/// Returns (python, its site-packages).
pub(crate) fn system_python(dir: &Path) -> (PathBuf, PathBuf) {
    let real = real_python();
    let out = StdCommand::new(&real)
        .args([
            "-c",
            "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']); print('%d.%d' % sys.version_info[:2]); print(sys.base_prefix)",
        ])
        .output()
        .expect("python runs");
    let text = stdout(&out);
    let mut lines = text.lines();
    let stdlib = PathBuf::from(lines.next().expect("stdlib"));
    let version = lines.next().expect("version").to_string();
    let prefix = PathBuf::from(lines.next().expect("prefix"));
    let lib = dir.join("lib").join(format!("python{version}"));
    let site = lib.join("site-packages");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    for entry in std::fs::read_dir(&stdlib).unwrap().flatten() {
        if entry.file_name() != "site-packages" {
            std::os::unix::fs::symlink(entry.path(), lib.join(entry.file_name())).unwrap();
        }
    }
    // A shared libpython is found relative to the executable.
    for entry in std::fs::read_dir(prefix.join("lib")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("libpython") {
            std::os::unix::fs::symlink(entry.path(), dir.join("lib").join(&name)).unwrap();
        }
    }
    let python = dir.join("bin").join(format!("python{version}"));
    std::fs::copy(&real, &python).unwrap();
    (python, site)
}

/// Install wheels into a directory with the real pip (`--target`), offline.
pub(crate) fn pip_target(dir: &Path, wheels: &[PathBuf]) {
    let out = StdCommand::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(dir)
        .args(wheels)
        .output()
        .expect("pip runs");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `tempest-env plugins ARGS --format json`: the report and the exit code.
pub(crate) fn plugins_json(ctx: &TestContext, args: &[&str]) -> (serde_json::Value, i32) {
    let out = ctx
        .cmd()
        .arg("plugins")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1))
}

/// A directory of the stand-in tempest and fixture plugin wheels, for
/// offline installer runs (`--find-links DIR --offline`).
pub(crate) fn wheelhouse(ctx: &TestContext) -> PathBuf {
    let dir = ctx.work.path().join("wheelhouse");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["tempest-standin", "valet", "alpha", "bravo"] {
        let wheel = fixture_wheel(name);
        std::fs::copy(&wheel, dir.join(wheel.file_name().unwrap())).unwrap();
    }
    dir
}

/// Start `cmd` with SIGINT at its default, as a shell starts a foreground
/// command: a suite run from a background shell inherits SIGINT ignored,
/// and tempest-env keeps a signal ignored that it was started ignoring.
pub(crate) fn as_foreground(cmd: &mut StdCommand) -> &mut StdCommand {
    // SAFETY: signal(2) between fork and exec, no allocation.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        })
    }
}
