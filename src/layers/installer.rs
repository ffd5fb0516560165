//! The installer backend that builds base layers and resolves plugins given
//! as requirements: uv when it is on PATH, else the interpreter's own pip.
//! tempest-env installs wheels natively; resolving requirements against an
//! index is what it hands to a real resolver.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::error::UserError;
use crate::interpreter::Interpreter;
use crate::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallerChoice {
    #[default]
    Auto,
    Uv,
    Pip,
}

#[derive(Debug, Clone)]
pub enum Installer {
    Uv(PathBuf),
    /// `python -m pip` of this interpreter.
    Pip(PathBuf),
}

/// Where an installation goes.
#[derive(Clone, Copy)]
enum Destination<'a> {
    /// A directory that becomes a layer (`--target`).
    Target(&'a Path),
    /// An environment, by its python.
    Environment(&'a Path),
}

/// Where requirements come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexOptions {
    pub find_links: Vec<PathBuf>,
    pub index_url: Option<String>,
    pub offline: bool,
}

impl Installer {
    /// Pick the backend for `choice` without running anything: uv is looked
    /// up on PATH, pip is assumed until [`Installer::check`] is called before
    /// a build (a reused base needs no installer at all).
    pub fn choose(choice: InstallerChoice, interpreter: &Interpreter) -> Result<Self> {
        let uv = || {
            crate::interpreter::discover::path_dirs()
                .into_iter()
                .map(|dir| dir.join("uv"))
                .find(|c| crate::interpreter::is_executable(c))
        };
        match choice {
            InstallerChoice::Uv => uv().map(Self::Uv).ok_or_else(|| {
                UserError::new("--installer uv: uv is not on PATH")
                    .hint("install it with `pip install uv` (or pipx, or your package manager)")
                    .into()
            }),
            InstallerChoice::Pip => Ok(Self::Pip(interpreter.executable.clone())),
            InstallerChoice::Auto => Ok(uv()
                .map(Self::Uv)
                .unwrap_or_else(|| Self::Pip(interpreter.executable.clone()))),
        }
    }

    /// Check the chosen backend can run, before it is needed.
    pub fn check(&self) -> Result<()> {
        let Self::Pip(python) = self else {
            return Ok(());
        };
        let mut cmd = Command::new(python);
        cmd.args(["-m", "pip", "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        crate::process::die_with_parent(&mut cmd);
        let ok = cmd.status().is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        Err(UserError::new(format!(
            "building a base layer needs an installer: uv is not on PATH and {} has no pip",
            python.display()
        ))
        .hint("install uv (`pip install uv`), or use a Python that has pip")
        .into())
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Uv(_) => "uv",
            Self::Pip(_) => "pip",
        }
    }

    /// `uv pip install` or `python -m pip install`, aimed at a layer
    /// directory or an environment, with the index options, and without the
    /// caller's virtualenv or paths in its environment.
    fn install_command(
        &self,
        interpreter: &Interpreter,
        into: Destination,
        index: &IndexOptions,
    ) -> Command {
        let mut cmd = match self {
            Self::Uv(uv) => {
                let mut cmd = Command::new(uv);
                cmd.args(["pip", "install", "--no-progress", "--python"]);
                match into {
                    Destination::Target(dir) => {
                        cmd.arg(&interpreter.executable).arg("--target").arg(dir)
                    }
                    Destination::Environment(python) => cmd.arg(python),
                };
                if index.offline {
                    cmd.arg("--offline");
                }
                cmd
            }
            Self::Pip(python) => {
                let mut cmd = Command::new(python);
                cmd.args(["-m", "pip"]);
                if let Destination::Environment(env_python) = into {
                    cmd.arg("--python").arg(env_python);
                }
                cmd.args([
                    "install",
                    "--no-input",
                    "--disable-pip-version-check",
                    "--progress-bar",
                    "off",
                ]);
                if let Destination::Target(dir) = into {
                    cmd.arg("--target").arg(dir);
                }
                if index.offline {
                    cmd.arg("--no-index");
                }
                cmd
            }
        };
        with_index_and_clean_env(&mut cmd, index);
        cmd
    }

    /// Install `requirements` (and their dependencies) into `target`, a
    /// directory that becomes a layer.
    pub fn install_target(
        &self,
        interpreter: &Interpreter,
        target: &Path,
        requirements: &[String],
        constraints: &[PathBuf],
        index: &IndexOptions,
        printer: &Printer,
    ) -> Result<()> {
        let mut cmd = self.install_command(interpreter, Destination::Target(target), index);
        for c in constraints {
            cmd.arg("-c").arg(c);
        }
        cmd.arg("--").args(requirements);
        self.run(cmd, printer)
    }

    /// Install the source tree at `tree` in editable mode into the
    /// environment whose python is `env_python` (its own site-packages),
    /// without dependencies: what the tree needs is checked afterwards.
    pub fn install_editable(
        &self,
        interpreter: &Interpreter,
        env_python: &Path,
        tree: &Path,
        index: &IndexOptions,
        printer: &Printer,
    ) -> Result<()> {
        let mut cmd =
            self.install_command(interpreter, Destination::Environment(env_python), index);
        cmd.arg("--no-deps").arg("-e").arg(tree);
        self.run(cmd, printer)
    }

    /// Build the source distribution `sdist` into a wheel in `out_dir`
    /// (`uv build --wheel` or `pip wheel --no-deps`), with the backend's
    /// build isolation and the index options.
    pub fn build_wheel(
        &self,
        interpreter: &Interpreter,
        sdist: &Path,
        out_dir: &Path,
        index: &IndexOptions,
        printer: &Printer,
    ) -> Result<()> {
        let mut cmd = match self {
            Self::Uv(uv) => {
                let mut cmd = Command::new(uv);
                cmd.args(["build", "--wheel", "--no-progress", "--python"])
                    .arg(&interpreter.executable)
                    .arg("--out-dir")
                    .arg(out_dir);
                if index.offline {
                    cmd.arg("--offline");
                }
                cmd
            }
            Self::Pip(python) => {
                let mut cmd = Command::new(python);
                cmd.args([
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    "--no-input",
                    "--disable-pip-version-check",
                    "--progress-bar",
                    "off",
                    "--wheel-dir",
                ])
                .arg(out_dir);
                if index.offline {
                    cmd.arg("--no-index");
                }
                cmd
            }
        };
        with_index_and_clean_env(&mut cmd, index);
        cmd.arg(sdist);
        self.run(cmd, printer)
    }

    /// Run the installer, showing its output as progress, and reporting its
    /// last lines if it fails.
    fn run(&self, mut cmd: Command, printer: &Printer) -> Result<()> {
        printer.verbose(format!("running {:?}", cmd));
        crate::process::die_with_parent(&mut cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("failed to start {}", self.name()))?;
        let bar = printer.progress_enabled().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{}: starting", self.name()));
            bar
        });
        // Both streams into one channel, in arrival order.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
        drop(tx);
        let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        for line in rx {
            if let Some(bar) = &bar {
                bar.set_message(format!("{}: {}", self.name(), line.trim()));
            } else {
                printer.verbose(format!("  {}", line));
            }
            tail.push_back(line);
            if tail.len() > 20 {
                tail.pop_front();
            }
        }
        for reader in readers {
            let _ = reader.join();
        }
        let status = child
            .wait()
            .with_context(|| format!("failed to wait for {}", self.name()))?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if !status.success() {
            let lines: Vec<String> = tail.into_iter().collect();
            // Not necessarily bad input (the index may be unreachable): exit 1.
            anyhow::bail!(
                "{} failed ({status}); its last lines:\n    {}",
                self.name(),
                lines.join("\n    ")
            );
        }
        Ok(())
    }
}

/// The index options, and none of the caller's virtualenv, paths or pip
/// destinations in the installer's environment.
fn with_index_and_clean_env(cmd: &mut Command, index: &IndexOptions) {
    for dir in &index.find_links {
        cmd.arg("--find-links").arg(dir);
    }
    if let Some(url) = &index.index_url {
        cmd.args(["--index-url", url]);
    }
    for var in [
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "PIP_TARGET",
        "PIP_PREFIX",
        "PIP_USER",
    ] {
        cmd.env_remove(var);
    }
}
