//! One probe: a throwaway environment composed from layers with the common
//! part and a subset of the members, the runner run in it through the one
//! runner pipeline ([`crate::runner::pipeline`], exactly as `run` runs it,
//! its output captured), the environment removed. The interpreter is found
//! once; composing is constant time in pth mode and reuses the store, so a
//! probe costs little more than the runner itself. Probes of a batch run
//! on several threads, each spawning its runner through
//! [`crate::process::run_group`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::members::{Member, Source};
use crate::env::compose::{self, ComposeSpec};
use crate::env::install::Artifact;
use crate::env::{self, CreateOptions};
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::runner::environ::Policy;
use crate::runner::pipeline;
use crate::runner::preset::Preset;
use crate::runner::results::RunResults;
use crate::runner::subunit::Status;

/// List the tests, or run them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    List,
    Run,
}

/// What one runner invocation in one fresh environment gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
    /// Test ids printed by a listing.
    pub listed: Vec<String>,
    /// Per-test results of a run, from its subunit stream.
    pub results: Option<RunResults>,
    pub runner_time: Duration,
    pub total_time: Duration,
}

impl Outcome {
    /// A listing that worked, or a run in which tests ran and all passed.
    pub fn passed(&self, action: Action) -> bool {
        match action {
            Action::List => self.code == 0 && !self.listed.is_empty(),
            Action::Run => {
                self.code == 0
                    && self
                        .results
                        .as_ref()
                        .is_none_or(|r| r.summary().is_success())
            }
        }
    }

    /// The first lines that say what went wrong: error and exception lines
    /// outside traceback frames, else the last lines of output.
    pub fn error_lines(&self, max: usize) -> Vec<String> {
        let text = format!("{}\n{}", self.stderr, self.stdout);
        let mut lines: Vec<String> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim_end();
            if trimmed.is_empty() || trimmed.starts_with(' ') || trimmed.starts_with("Traceback") {
                continue;
            }
            let lower = trimmed.to_lowercase();
            if (lower.contains("error") || lower.contains("exception") || lower.contains("failed"))
                && !lines.iter().any(|l| l == trimmed)
            {
                lines.push(trimmed.to_string());
            }
        }
        if lines.is_empty() {
            lines = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim_end().to_string())
                .collect();
            let skip = lines.len().saturating_sub(max);
            lines.drain(..skip);
        }
        if let Some(results) = &self.results {
            for test in results.failed() {
                let detail = test
                    .details
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                lines.insert(0, format!("{}: {}", test.id, detail.trim()));
            }
        }
        lines.truncate(max);
        lines
    }

    /// Statuses of the tests that ran.
    pub fn statuses(&self) -> Vec<(String, Status)> {
        self.results
            .iter()
            .flat_map(|r| r.tests.iter().map(|t| (t.id.clone(), t.status)))
            .collect()
    }
}

/// One probe of a batch: the members, what to do, the filter and the
/// runner's arguments.
pub type Job = (Vec<usize>, Action, Option<String>, Vec<String>);

/// Composes and runs probes; shared by every thread of a parallel batch.
pub struct Prober {
    pub home: Home,
    pub interpreter: Interpreter,
    /// The composition without members; members are added per probe.
    pub spec: ComposeSpec,
    pub common: Vec<Artifact>,
    pub members: Vec<Member>,
    pub runner: Preset,
    pub policy: Policy,
    printer: Printer,
    scratch: crate::lease::ScratchDir,
    counter: AtomicUsize,
    runner_time: Mutex<Duration>,
    runs: AtomicUsize,
    /// Time of tempest-env's own per probe (composing, removing, reading
    /// results): each probe's wall time less its runner's.
    own_time: Mutex<Duration>,
    probes: AtomicUsize,
    /// Drawn on a terminal only; see [`Prober::show_progress`].
    progress: Option<indicatif::ProgressBar>,
    trail: Mutex<Vec<String>>,
    /// The signal that interrupted a probe (0: none): no probe starts after.
    interrupted: std::sync::atomic::AtomicI32,
    /// Listings served by a fork server ([`super::served`]).
    forking: super::served::Forking,
}

/// A probe's runner was interrupted by a signal forwarded to it.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by signal {0}")]
pub struct Interrupted(pub i32);

impl Prober {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        home: Home,
        interpreter: Interpreter,
        spec: ComposeSpec,
        common: Vec<Artifact>,
        members: Vec<Member>,
        runner: Preset,
        policy: Policy,
        printer: &Printer,
    ) -> Result<Self> {
        // A search that was asked to stop throws its probes' results away:
        // a probe still running 3 s later is ended.
        crate::process::end_runners_after(Duration::from_secs(3));
        let parent = scratch_parent(&home);
        // Leased while it lives: `gc` removes it only once this process is
        // gone.
        let scratch = crate::lease::ScratchDir::new(
            &parent,
            &format!("{}isolation.", crate::atomic::TMP_PREFIX),
        )?;
        printer.verbose(format!(
            "probes are composed in {}",
            scratch.path().display()
        ));
        // Probes say nothing of their own unless asked to.
        let printer = if printer.is_verbose() {
            printer.clone()
        } else {
            Printer::quiet()
        };
        Ok(Self {
            home,
            interpreter,
            spec,
            common,
            members,
            runner,
            policy,
            printer,
            scratch,
            counter: AtomicUsize::new(0),
            runner_time: Mutex::new(Duration::ZERO),
            runs: AtomicUsize::new(0),
            own_time: Mutex::new(Duration::ZERO),
            probes: AtomicUsize::new(0),
            progress: None,
            trail: Mutex::new(Vec::new()),
            interrupted: std::sync::atomic::AtomicI32::new(0),
            forking: super::served::Forking::default(),
        })
    }

    /// Run every probe in a fresh process (`--no-fork-server`).
    pub fn no_fork_server(&mut self) {
        self.forking = super::served::Forking::new(false);
    }

    /// Count probes on `bar` as they finish, expecting `expected` of them
    /// (more are added with [`Prober::grow`]).
    pub fn show_progress(&mut self, bar: indicatif::ProgressBar, expected: usize) {
        bar.set_length(expected as u64);
        self.progress = Some(bar);
    }

    /// Expect `more` probes beyond those done so far.
    pub fn grow(&self, more: usize) {
        if let Some(bar) = &self.progress {
            let done = bar.position();
            let length = bar.length().unwrap_or(0).max(done + more as u64);
            bar.set_length(length);
        }
    }

    /// Add a step to the trail shown beside the progress bar.
    pub fn note(&self, step: String) {
        if let Some(bar) = &self.progress {
            let mut trail = self.trail.lock().unwrap_or_else(|e| e.into_inner());
            trail.push(step);
            let start = trail.len().saturating_sub(4);
            bar.set_message(trail[start..].join(" | "));
        }
    }

    /// Remove the progress bar, if any.
    pub fn finish_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }

    /// tempest-env's own time over all probes so far, and how many ran.
    pub fn own_totals(&self) -> (Duration, usize) {
        (
            *self.own_time.lock().unwrap_or_else(|e| e.into_inner()),
            self.probes.load(Ordering::SeqCst),
        )
    }

    /// The time spent in runner processes so far, and how many ran.
    pub fn runner_totals(&self) -> (Duration, usize) {
        (
            *self.runner_time.lock().unwrap_or_else(|e| e.into_inner()),
            self.runs.load(Ordering::SeqCst),
        )
    }

    /// The spec for the members at `subset` (indices, in member order).
    pub fn spec_for(&self, subset: &[usize]) -> ComposeSpec {
        let mut spec = self.spec.clone();
        spec.artifacts = self.common.clone();
        for (i, member) in self.members.iter().enumerate() {
            match &member.source {
                Source::Artifact(a) if subset.contains(&i) => spec.artifacts.push(a.clone()),
                Source::System(dist) if !subset.contains(&i) => {
                    spec.system.exclude.push(dist.clone());
                }
                _ => {}
            }
        }
        spec
    }

    /// A directory of the prober's own, removed with it.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// One probe: compose, run, remove.
    pub fn probe(&self, subset: &[usize], action: Action, filter: Option<&str>) -> Result<Outcome> {
        self.probe_with(subset, action, filter, &[])
    }

    /// One probe whose runner also gets `posargs` (as `run -- ARGS` gives
    /// them).
    pub fn probe_with(
        &self,
        subset: &[usize],
        action: Action,
        filter: Option<&str>,
        posargs: &[String],
    ) -> Result<Outcome> {
        let signal = self.interrupted.load(Ordering::SeqCst);
        if signal != 0 {
            return Err(Interrupted(signal).into());
        }
        let clock = Instant::now();
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let name = format!("probe-{}-{n}", std::process::id());
        let dir = self.scratch.path().join(&name);
        let spec = self.spec_for(subset);
        let options = CreateOptions {
            name: name.clone(),
            path: Some(dir.clone()),
            prompt: None,
            clear: false,
            register: false,
            ephemeral: true,
        };
        let printer = &self.printer;
        // Locked from creation to removal.
        let made = env::create_held(&self.home, &options, &self.interpreter, printer, |env| {
            compose::compose(env, &self.interpreter, &spec, &self.home, printer)
        });
        let (outcome, lock) = match made {
            Ok((env, lock)) => (self.run_in(&env, action, filter, posargs, &dir), Some(lock)),
            Err(err) => (Err(err), None),
        };
        let _ = crate::atomic::remove_tree(&dir);
        let _ = fs_err::remove_file(env::lock_path(&self.home, &name));
        drop(lock);
        let mut outcome = outcome?;
        outcome.total_time = clock.elapsed();
        *self.own_time.lock().unwrap_or_else(|e| e.into_inner()) +=
            outcome.total_time.saturating_sub(outcome.runner_time);
        self.probes.fetch_add(1, Ordering::SeqCst);
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        Ok(outcome)
    }

    fn run_in(
        &self,
        env: &env::Environment,
        action: Action,
        filter: Option<&str>,
        posargs: &[String],
        dir: &Path,
    ) -> Result<Outcome> {
        let request = pipeline::Request {
            env,
            runner: &self.runner,
            filter,
            posargs,
            list: action == Action::List,
            policy: &self.policy,
            fresh: true,
            scratch: dir,
            capture: true,
            stdout_to_stderr: false,
        };
        let setting = super::served::Setting {
            home: &self.home,
            interpreter: &self.interpreter,
            spec: self.spec_for(&[]),
            policy: &self.policy,
            scratch: self.scratch.path(),
            printer: &self.printer,
        };
        let served = self.forking.executor(&setting);
        let executor: Option<&dyn pipeline::Executor> = match action {
            Action::List => Some(&served),
            Action::Run => None,
        };
        let finished = match pipeline::run_with(&request, &self.printer, executor) {
            Ok(finished) => finished,
            Err(err) => {
                // Refused to start because tempest-env was asked to stop:
                // an interruption, like the probe that got the signal.
                if let Some(signal) = crate::process::caught() {
                    self.interrupted.store(signal, Ordering::SeqCst);
                    return Err(Interrupted(signal).into());
                }
                return Err(err);
            }
        };
        if let Some(signal) = finished.interrupted {
            // Ctrl-C (or a TERM, HUP) reached the runner: no verdict from
            // this probe, and no more probes.
            self.interrupted.store(signal, Ordering::SeqCst);
            return Err(Interrupted(signal).into());
        }
        *self.runner_time.lock().unwrap_or_else(|e| e.into_inner()) += finished.runner_time;
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome {
            code: finished.code,
            stdout: finished.stdout,
            stderr: finished.stderr,
            listed: finished.listed,
            results: finished.results,
            runner_time: finished.runner_time,
            total_time: Duration::ZERO,
        })
    }

    /// Run `jobs` probes on `threads` threads; results in the jobs' order.
    pub fn batch(
        &self,
        jobs: &[(Vec<usize>, Action, Option<String>)],
        threads: usize,
    ) -> Vec<Result<Outcome>> {
        let jobs: Vec<Job> = jobs
            .iter()
            .map(|(subset, action, filter)| (subset.clone(), *action, filter.clone(), Vec::new()))
            .collect();
        self.batch_with(&jobs, threads)
    }

    /// [`Prober::batch`] with the runner's arguments of each job. Probes
    /// start largest first: the one with the most plugins takes longest,
    /// and started last it would run on alone while the other threads idle.
    pub fn batch_with(&self, jobs: &[Job], threads: usize) -> Vec<Result<Outcome>> {
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].0.len()));
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Result<Outcome>>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, jobs.len().max(1)) {
                scope.spawn(|| {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                        let (subset, action, filter, posargs) = &jobs[i];
                        let outcome = self.probe_with(subset, *action, filter.as_deref(), posargs);
                        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(anyhow::anyhow!("internal: a probe did not run")))
            })
            .collect()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.forking.finish(&self.printer);
    }
}

/// Where probes' environments go: under the data dir, like everything
/// tempest-env writes. On a disk, creating thousands of small files right
/// after deleting as many costs tens of milliseconds per probe in inode
/// allocation; `TEMPEST_ENV_SCRATCH` names a faster place (a tmpfs that
/// allows executing, since launchers are scripts), and is used only when it
/// is one. Putting `TEMPEST_ENV_HOME` on a tmpfs has the same effect.
fn scratch_parent(home: &Home) -> PathBuf {
    if let Some(dir) = std::env::var_os("TEMPEST_ENV_SCRATCH").map(PathBuf::from)
        && is_memory_fs(&dir)
    {
        return dir;
    }
    home.data().to_path_buf()
}

/// A writable tmpfs mounted without `noexec`.
fn is_memory_fs(dir: &Path) -> bool {
    use nix::sys::statvfs::FsFlags;
    let (Ok(fs), Ok(vfs)) = (
        nix::sys::statfs::statfs(dir),
        nix::sys::statvfs::statvfs(dir),
    ) else {
        return false;
    };
    fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC
        && !vfs
            .flags()
            .intersects(FsFlags::ST_NOEXEC | FsFlags::ST_RDONLY)
        && nix::unistd::access(
            dir,
            nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
        )
        .is_ok()
}
