//! The one runner pipeline: (environment, runner preset, filter, arguments,
//! process policy) in, a finished runner process out, with its subunit
//! stream found, converted to v2 and parsed. `run` streams the runner's
//! output to the terminal; every probe of `sanity`, `bisect` and `compare`
//! captures it. Both go through [`run`], so a probe sees exactly what `run`
//! would: the same workspace, command line, shell policy, scrubbed
//! environment, process group and signal forwarding, and stream handling.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::environ::{self, Policy};
use super::preset::{self, Invocation, Preset, Stream};
use super::results::RunResults;
use crate::env::Environment;
use crate::error::UserError;
use crate::printer::Printer;

/// What to run, and how.
pub struct Request<'a> {
    pub env: &'a Environment,
    pub runner: &'a Preset,
    pub filter: Option<&'a str>,
    pub posargs: &'a [String],
    /// List the tests instead of running them.
    pub list: bool,
    pub policy: &'a Policy,
    /// The environment was made for this run alone (and is locked by it).
    pub fresh: bool,
    /// A directory of this run's own, for the pipeline's files.
    pub scratch: &'a Path,
    /// Capture the runner's output instead of streaming it to the terminal.
    pub capture: bool,
    /// Streamed output goes to stderr only (stdout is for JSON).
    pub stdout_to_stderr: bool,
}

/// A finished runner process and what it left.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// The command line, as it was run (under `sh -c` unless it needed none).
    pub command: String,
    pub code: u8,
    /// The signal forwarded to the runner, if it was interrupted.
    pub interrupted: Option<i32>,
    pub started: Option<SystemTime>,
    /// Time spent in child processes: the runner and the stream conversion.
    pub runner_time: Duration,
    /// Captured output (empty when streamed).
    pub stdout: String,
    pub stderr: String,
    /// Test ids of a captured listing.
    pub listed: Vec<String>,
    /// The run's subunit v2 stream.
    pub stream: Option<Vec<u8>>,
    pub results: Option<RunResults>,
    /// Damage found in the stream.
    pub stream_warnings: Vec<String>,
    /// Variables removed from the runner's environment.
    pub removed: Vec<String>,
}

/// A runner invocation that needs no shell, for an [`Executor`].
pub struct Direct<'a> {
    pub env: &'a Environment,
    /// The preset's program, in the environment's bin.
    pub program: &'a Path,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub vars: &'a BTreeMap<OsString, OsString>,
    pub stdout: &'a Path,
    pub stderr: &'a Path,
    pub list: bool,
}

/// How an [`Executor`]'s run of the runner ended.
pub struct Executed {
    pub status: ExitStatus,
    /// The signal forwarded to it, if it was interrupted.
    pub interrupted: Option<i32>,
}

/// Runs a captured preset invocation in place of spawning a fresh process
/// (a fork server's probe, see [`super::fork`]). It may decline (`None`),
/// and the process is then spawned as always. Everything around it (the
/// workspace, the command line, the variables, reading what the runner
/// left) is the pipeline's, whoever runs it.
pub trait Executor: Sync {
    fn execute(&self, direct: &Direct<'_>) -> Result<Option<Executed>>;
}

/// Run the runner once in `req.env`.
pub fn run(req: &Request<'_>, printer: &Printer) -> Result<Finished> {
    run_with(req, printer, None)
}

/// [`run`], with an [`Executor`] offered the invocation first.
pub fn run_with(
    req: &Request<'_>,
    printer: &Printer,
    executor: Option<&dyn Executor>,
) -> Result<Finished> {
    // Checked before the workspace is written: bad input changes nothing.
    super::workspace::tempest_location(req.env)?;
    require_runner(req.env, req.runner, req.fresh)?;
    let workspace =
        super::workspace::prepare(req.env, req.policy.config_file.as_deref(), req.fresh)?;
    let stream_file = req.scratch.join("pipeline.subunit");
    let invocation = preset::invocation(
        req.runner,
        req.filter,
        req.posargs,
        req.list,
        &workspace,
        req.policy.config_file.as_deref(),
        &stream_file,
    )?;
    let (vars, removed) = environ::build(req.env, req.policy, std::env::vars_os());
    for name in &removed {
        printer.verbose(format!("removed {name} from the runner's environment"));
    }
    printer.verbose(format!(
        "running `{}` in {}",
        invocation.shell,
        invocation.cwd.display()
    ));
    let before = match &invocation.stream {
        Stream::Repository(repo) => preset::stream_numbers(repo),
        _ => Vec::new(),
    };
    let direct = crate::shell::argv(&invocation.shell);
    let mut cmd = command(&invocation, direct.as_deref(), req.runner, req.env);
    cmd.current_dir(&invocation.cwd).env_clear().envs(&vars);
    let captured = Captured {
        stdout: req.scratch.join("runner.out"),
        stderr: req.scratch.join("runner.err"),
    };
    if req.capture {
        captured.redirect(&mut cmd)?;
    } else if req.stdout_to_stderr {
        cmd.stdout(Stdio::from(std::io::stderr()));
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let (status, interrupted) = execute(
        req,
        executor,
        direct.as_deref(),
        &invocation,
        &vars,
        &captured,
        &mut cmd,
    )?;
    let mut runner_time = clock.elapsed();
    let mut finished = Finished {
        command: invocation.shell.clone(),
        code: crate::process::exit_code(status),
        interrupted,
        started: Some(started),
        removed,
        ..Finished::default()
    };
    if req.capture {
        (finished.stdout, finished.stderr) = captured.take()?;
        if req.list {
            finished.listed = listed_ids(&finished.stdout);
        }
    }
    if req.list {
        finished.runner_time = runner_time;
        return Ok(finished);
    }
    let clock = Instant::now();
    let stream = new_stream(
        &invocation,
        &before,
        &stream_file,
        &vars,
        req.env,
        &mut finished.stream_warnings,
    );
    runner_time += clock.elapsed();
    finished.runner_time = runner_time;
    if let Some(bytes) = &stream {
        let parsed = super::subunit::parse(bytes);
        finished
            .stream_warnings
            .extend(parsed.warnings.iter().cloned());
        finished.results = Some(RunResults::from_parsed(&parsed));
    }
    finished.stream = stream;
    Ok(finished)
}

/// The test ids a listing printed, without its log lines.
fn listed_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| is_test_id(l))
        .map(str::to_string)
        .collect()
}

/// Where a captured runner's stdout and stderr go.
struct Captured {
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Captured {
    fn redirect(&self, cmd: &mut Command) -> Result<()> {
        let create = |path: &Path| {
            std::fs::File::create(path)
                .with_context(|| format!("failed to create {}", path.display()))
        };
        cmd.stdin(Stdio::null())
            .stdout(create(&self.stdout)?)
            .stderr(create(&self.stderr)?);
        Ok(())
    }

    /// What the runner wrote, as text; the files are removed.
    fn take(&self) -> Result<(String, String)> {
        let out = String::from_utf8_lossy(&fs_err::read(&self.stdout)?).into_owned();
        let err = String::from_utf8_lossy(&fs_err::read(&self.stderr)?).into_owned();
        let _ = fs_err::remove_file(&self.stdout);
        let _ = fs_err::remove_file(&self.stderr);
        Ok((out, err))
    }
}

/// Run the invocation: offered to the executor first (a captured preset
/// run directly), else as `cmd` in its own process group. Its status and
/// the signal forwarded to it, if any.
fn execute(
    req: &Request<'_>,
    executor: Option<&dyn Executor>,
    direct: Option<&[String]>,
    invocation: &Invocation,
    vars: &BTreeMap<OsString, OsString>,
    captured: &Captured,
    cmd: &mut Command,
) -> Result<(ExitStatus, Option<i32>)> {
    let served = match (executor, direct, req.runner) {
        (Some(executor), Some(words), runner)
            if req.capture && !matches!(runner, Preset::Custom(_)) =>
        {
            executor.execute(&Direct {
                env: req.env,
                program: &req.env.bin().join(&words[0]),
                args: &words[1..],
                cwd: &invocation.cwd,
                vars,
                stdout: &captured.stdout,
                stderr: &captured.stderr,
                list: req.list,
            })?
        }
        _ => None,
    };
    let spawned = match served {
        Some(done) => Ok((done.status, done.interrupted)),
        None => crate::process::run_group(cmd),
    };
    match spawned {
        Err(err) if direct.is_some() && is_not_found(&err) => {
            let program = direct.map_or("", |w| w[0].as_str());
            Err(UserError::new(format!(
                "runner `{program}` not found in environment `{}`",
                req.env.name
            ))
            .hint("the runner runs with the environment's bin first on PATH: name a program it or the system has, or add what provides it (--base, --plugin)")
            .into())
        }
        other => other,
    }
}

/// The subunit stream this run produced (a repository's newest stream
/// that was not there `before`, or the stream file), as version 2; the
/// stream file and its ids file are removed.
fn new_stream(
    invocation: &Invocation,
    before: &[u64],
    stream_file: &Path,
    vars: &BTreeMap<OsString, OsString>,
    env: &Environment,
    warnings: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let raw = match &invocation.stream {
        Stream::Repository(repo) => preset::stream_numbers(repo)
            .into_iter()
            .filter(|n| !before.contains(n))
            .max()
            .and_then(|n| fs_err::read(repo.join(n.to_string())).ok()),
        Stream::File(file) => fs_err::read(file).ok(),
        Stream::None => None,
    };
    let _ = fs_err::remove_file(stream_file);
    let _ = fs_err::remove_file(preset::ids_file(stream_file));
    match (raw, &invocation.stream) {
        (Some(bytes), Stream::Repository(repo)) if is_v1(&bytes) => {
            let converted = to_v2(repo, invocation, vars, env);
            if converted.is_none() {
                warnings.push(format!(
                    "the runner stored a subunit v1 stream in {} and `last --subunit` did not convert it",
                    repo.display()
                ));
            }
            converted
        }
        (raw, _) => raw,
    }
}

/// The process for an invocation: executed directly when it needs no shell
/// (a preset's program by its path in the environment), else under
/// `/bin/sh -c`, or bash when it needs `pipefail`.
fn command(
    invocation: &Invocation,
    direct: Option<&[String]>,
    runner: &Preset,
    env: &Environment,
) -> Command {
    match direct {
        Some(words) => {
            // A preset's program is the environment's, never the host's.
            let program = match runner {
                Preset::Custom(_) => PathBuf::from(&words[0]),
                _ => env.bin().join(&words[0]),
            };
            let mut cmd = Command::new(program);
            cmd.args(&words[1..]);
            cmd
        }
        None => {
            // dash starts in a fraction of bash's time; only pipelines that
            // need pipefail get bash. By path: the runner's PATH starts with
            // the environment's bin, and a search costs an exec per entry.
            let shell = if invocation.shell.contains("pipefail") {
                ["/bin/bash", "/usr/bin/bash"]
                    .into_iter()
                    .find(|p| Path::new(p).is_file())
                    .unwrap_or("bash")
            } else {
                "/bin/sh"
            };
            let mut cmd = Command::new(shell);
            cmd.arg("-c").arg(&invocation.shell);
            cmd
        }
    }
}

fn is_not_found(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    })
}

/// stestr and testrepository store v1 (text) streams.
fn is_v1(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.first() != Some(&0xB3)
}

/// The same run as v2, from the repository's own `last --subunit`.
fn to_v2(
    repo: &Path,
    invocation: &Invocation,
    vars: &BTreeMap<OsString, OsString>,
    env: &Environment,
) -> Option<Vec<u8>> {
    let tool = if repo.ends_with(".testrepository") {
        "testr"
    } else {
        "stestr"
    };
    let mut cmd = Command::new(env.bin().join(tool));
    cmd.args(["last", "--subunit"])
        .current_dir(&invocation.cwd)
        .env_clear()
        .envs(vars)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    let out = cmd.output().ok()?;
    (out.stdout.first() == Some(&0xB3)).then_some(out.stdout)
}

/// A preset's programs must be the environment's own: a runner that is
/// missing there is bad input naming the option that adds it, never the
/// host's copy found further down PATH.
pub fn require_runner(env: &Environment, runner: &Preset, fresh: bool) -> Result<(), UserError> {
    let bin = env.bin();
    let has = |program: &str| crate::interpreter::is_executable(&bin.join(program));
    let importable = |module: &str| importable(env, module);
    let missing: Option<(&str, &str)> = match runner {
        Preset::Tempest if !has("tempest") => Some((
            "tempest",
            "add tempest with `--base` (or a system-wide one with `--all-plugin`)",
        )),
        Preset::Stestr if !has("stestr") => Some((
            "stestr",
            "add it with `--plugin stestr` (tempest's base brings it)",
        )),
        Preset::Testr if !has("testr") => Some(("testr", "add it with `--plugin testrepository`")),
        Preset::Subunit if !importable("subunit") => Some((
            "python -m subunit.run",
            "add it with `--plugin python-subunit` (tempest's base brings it)",
        )),
        Preset::Subunit if !importable("stestr") && !importable("os_testr") => Some((
            "subunit-trace",
            "add it with `--plugin stestr` or `--plugin os-testr`",
        )),
        _ => None,
    };
    match missing {
        None => Ok(()),
        Some((program, hint)) => Err(UserError::new(format!(
            "runner `{program}` ({} preset) not found in environment `{}`",
            runner.name(),
            env.name
        ))
        .hint(if fresh {
            hint.to_string()
        } else {
            format!(
                "{hint}; for this environment: `tempest-env install {} ...`",
                env.name
            )
        })),
    }
}

/// Whether the environment's python finds a top-level package or module.
fn importable(env: &Environment, module: &str) -> bool {
    let Ok(path) = crate::dist::scan::effective_path(&[crate::dist::scan::SiteDir {
        dir: env.site_packages(),
        origin: crate::dist::scan::Origin::Env,
    }]) else {
        return false;
    };
    path.entries.iter().any(|e| {
        e.dir.join(module).join("__init__.py").is_file()
            || e.dir.join(format!("{module}.py")).is_file()
    })
}

/// A line of a listing that is a test id, as tempest, stestr and
/// subunit-ls print them: a dotted Python name (identifiers may be
/// non-ASCII), then any `[attributes]` and testscenarios `(scenario)`
/// suffixes, as in `a.B.test_x[id-1,smoke](ingress)`.
pub fn is_test_id(line: &str) -> bool {
    let end = line.find(['[', '(']).unwrap_or(line.len());
    let (name, mut rest) = line.split_at(end);
    let ident = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !(name.contains('.') && name.split('.').all(ident)) {
        return false;
    }
    // Each suffix is one bracketed group; a scenario name may itself hold
    // brackets, so a group closes at its last matching bracket.
    while !rest.is_empty() {
        let close = match rest.as_bytes()[0] {
            b'[' => ']',
            b'(' => ')',
            _ => return false,
        };
        let Some(at) = group_end(rest, close) else {
            return false;
        };
        rest = &rest[at + 1..];
    }
    true
}

/// The index of the bracket closing the group that opens `text`.
fn group_end(text: &str, close: char) -> Option<usize> {
    let open = text.chars().next()?;
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ids_are_told_from_log_lines() {
        for id in [
            "valet.tests.test_groups.ValetGroupsTest.test_list_groups",
            "a.b.C.test_x[id-123,smoke]",
            "neutron_tempest_plugin.api.test_security_groups.RbacSharedSecurityGroupTest.test_rule_delete[id-67ee8e7f-b5d2-4b5f-8b0c-2b3f4c5d6e7f](ingress)",
            "a.b.C.test_x(scenario with spaces)",
            "a.b.C.test_x[id-1](v4)(v6)",
            "plugin.tests.Prüfung.test_größe",
            "a.b.C.test_x(nested (parens))",
        ] {
            assert!(is_test_id(id), "{id}");
        }
        for line in [
            "Totals: ran 3 tests",
            "WARNING x.y raised",
            "nodots",
            "a..b",
            "a.b.C.test_x[unclosed",
            "a.b.C.test_x[id] trailing",
            "a.b.C.test_x(x)y",
            "1a.b",
            "",
            "{0} a.b.C.test [0.1s] ... ok",
        ] {
            assert!(!is_test_id(line), "{line}");
        }
    }
}
