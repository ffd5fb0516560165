//! `plugins --check`: load every plugin in the environment's own python the
//! way tempest does, first each alone in its own process, then all together
//! in one, and say per plugin what breaks. The native report
//! ([`super::report`]) sees what is declared; this sees what happens.
//!
//! The probe is `load_check.py` (standard library only), run as
//! `python -I -B -c SCRIPT` with the request as JSON on stdin and one JSON
//! answer on stdout. `-I` ignores `PYTHON*` variables and the user site but
//! keeps `site`, so the environment's site-packages and its `.pth` files
//! (the layers) are processed as for any run. The probe hands the plugins
//! to tempest's own plugin manager and lets tempest initialise its
//! configuration and service clients, so what it reports is what tempest
//! does; it runs in a scratch directory whose empty `etc/tempest.conf`
//! keeps the host's `/etc/tempest/tempest.conf` out.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use super::report::PluginRow;
use crate::env::Environment;
use crate::printer::Printer;
use crate::runner::environ;

pub(super) const SCRIPT: &str = include_str!("../python/load_check.py");

/// A probe still running after this long is killed and reported.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The python a probe runs in, with its flags and variables.
pub struct Target {
    pub(super) python: PathBuf,
    pub(super) flags: Vec<&'static str>,
    pub(super) vars: BTreeMap<OsString, OsString>,
}

impl Target {
    /// An environment's python, with the variables `tempest-env exec` sets.
    pub fn env(env: &Environment) -> Self {
        let (vars, _) = environ::build(env, &environ::Policy::default(), std::env::vars_os());
        Self {
            python: env.python(),
            flags: vec!["-I", "-B"],
            vars,
        }
    }

    /// An interpreter as it is (no environment); the user site is kept
    /// only when asked for.
    pub fn interpreter(python: &Path, user_site: bool) -> Self {
        let vars = std::env::vars_os()
            .filter(|(k, _)| !crate::process::SCRUBBED.iter().any(|s| k == s))
            .collect();
        Self {
            python: python.to_path_buf(),
            flags: if user_site {
                vec!["-E", "-B"]
            } else {
                vec!["-I", "-B"]
            },
            vars,
        }
    }
}

/// One thing that went wrong with a plugin, as the probe found it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Problem {
    /// import-error, instantiate-error, load-tests-error,
    /// register-opts-error, config-conflict, config-error,
    /// get-opt-lists-error, service-clients-error, service-client-conflict,
    /// service-client-error, service-client-registry-error, shadowed,
    /// discovery-error, blocked, timeout or probe-failed.
    pub kind: String,
    /// Set from the kind (see [`is_warning`]).
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub message: String,
    /// The exception's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// For `ModuleNotFoundError`: the module that is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_module: Option<String>,
    /// For a configuration conflict: the group and the option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// For a service-client conflict: the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Who got there first: the plugin that registered the option or claimed
    /// the service (`tempest` for tempest's own options), or the
    /// distribution whose plugin wins a shared name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// For a discovery error: the test modules that failed to import.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<FailedModule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

/// An error fails the plugin (or, together, everybody); a warning is what
/// tempest logs and carries on from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

/// Problems that tempest logs and carries on from, on the plugin's own: its
/// `register_opts` or `get_service_clients` raising (for instance because
/// it reads an option group that only another plugin registers). The plugin
/// loads and its tests are listed; what the call would have given is
/// missing, so the tests that need it fail. A conflict between two plugins
/// stays an error: it is what tempest-env exists to find.
pub fn is_warning(kind: &str) -> bool {
    matches!(kind, "register-opts-error" | "service-clients-error")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedModule {
    pub module: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    pub tests: usize,
    pub failed_modules: Vec<FailedModule>,
}

/// How one plugin fared in one pass.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// No error (warnings allowed).
    pub ok: bool,
    /// Some warning.
    pub warned: bool,
    /// Imported and instantiated.
    pub loaded: bool,
    /// One line: `loads`, `import error: missing module x`, ...
    pub verdict: String,
    pub problems: Vec<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginCheck {
    pub name: String,
    pub target: String,
    pub dist: String,
    pub alone: Outcome,
    pub together: Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Every plugin loads alone and together.
    pub ok: bool,
    /// `oslo.config` or `tempest.config` (the offline stand-in).
    pub config_backend: Option<String>,
    pub plugins: Vec<PluginCheck>,
}

#[derive(Debug, Deserialize)]
struct ProbePlugin {
    #[serde(default)]
    loaded: bool,
    #[serde(default)]
    problems: Vec<Problem>,
    #[serde(default)]
    discovery: Option<Discovery>,
}

#[derive(Debug, Deserialize)]
struct ProbeAnswer {
    config_backend: Option<String>,
    plugins: Vec<ProbePlugin>,
}

/// What one probe found: its answer's plugins, or why it has none.
type Probed = std::result::Result<Vec<ProbePlugin>, Problem>;

/// How to check.
pub struct CheckOptions<'a> {
    /// Fork every probe from a server that imported tempest once
    /// ([`super::check_server`]); else each is a fresh python.
    pub fork_server: bool,
    /// Where the check's scratch directory goes (the data dir): a
    /// `.tmp.isolation.check.*` leased while the check lives, which `gc`
    /// removes if a killed check leaves it.
    pub scratch: &'a Path,
    /// For `-v`: how the probes ran.
    pub printer: &'a Printer,
}

/// Check the plugins of `env`.
pub fn check(
    env: &Environment,
    plugins: &[PluginRow],
    options: &CheckOptions<'_>,
) -> Result<CheckReport> {
    check_with(&Target::env(env), plugins, options)
}

/// Check `plugins` in `target`: each alone (in parallel, up to the number
/// of cores), then all together in their path order.
pub fn check_with(
    target: &Target,
    plugins: &[PluginRow],
    options: &CheckOptions<'_>,
) -> Result<CheckReport> {
    let scratch = crate::lease::ScratchDir::new(
        options.scratch,
        &format!("{}isolation.check.", crate::atomic::TMP_PREFIX),
    )?;
    let scratch = scratch.path();
    let forked = if options.fork_server {
        super::check_server::start(target, scratch, options.printer)?
    } else {
        None
    };
    let server = forked.as_ref();
    let (alone, backend) = each_alone(target, server, scratch, plugins)?;
    let together = probe(target, server, scratch, "together", plugins)?;
    if let Some(forked) = forked {
        forked.finish(options.printer);
    }
    let mut backend = backend.filter(|b| !b.is_empty());
    if let Ok(answer) = &together {
        backend = answer.config_backend.clone().or(backend);
    }
    let alone: Vec<Outcome> = alone
        .into_iter()
        .map(|r| match r {
            Some(Ok(mut ps)) if ps.len() == 1 => outcome(ps.remove(0), false),
            Some(Ok(_)) | None => failed(Problem {
                kind: "probe-failed".into(),
                message: "the probe gave no answer for this plugin".into(),
                ..Problem::default()
            }),
            Some(Err(problem)) => failed(problem),
        })
        .collect();
    let together: Vec<Outcome> = match together {
        Ok(answer) if answer.plugins.len() == plugins.len() => {
            let mut probed = answer.plugins;
            add_blockers(plugins, &mut probed);
            probed.into_iter().map(|p| outcome(p, true)).collect()
        }
        Ok(_) => plugins
            .iter()
            .map(|_| {
                failed(Problem {
                    kind: "probe-failed".into(),
                    message: "the probe answered for the wrong plugins".into(),
                    ..Problem::default()
                })
            })
            .collect(),
        Err(problem) => plugins.iter().map(|_| failed(problem.clone())).collect(),
    };
    let rows: Vec<PluginCheck> = plugins
        .iter()
        .zip(alone.into_iter().zip(together))
        .map(|(row, (alone, together))| PluginCheck {
            name: row.name.clone(),
            target: row.target.clone(),
            dist: row.dist.clone(),
            alone,
            together,
        })
        .collect();
    Ok(CheckReport {
        ok: rows.iter().all(|r| r.alone.ok && r.together.ok),
        config_backend: backend,
        plugins: rows,
    })
}

/// Probe each plugin alone, in parallel up to the number of cores: each
/// one's answer (`None` if its probe gave none), and the configuration
/// backend the first answer named.
fn each_alone(
    target: &Target,
    server: Option<&super::check_server::CheckServer>,
    scratch: &Path,
    plugins: &[PluginRow],
) -> Result<(Vec<Option<Probed>>, Option<String>)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(plugins.len()).max(1);
    let alone: Mutex<Vec<Option<Probed>>> = Mutex::new((0..plugins.len()).map(|_| None).collect());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let backend: Mutex<Option<String>> = Mutex::new(None);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= plugins.len() {
                        break;
                    }
                    match probe(target, server, scratch, "alone", &plugins[i..=i]) {
                        Ok(Ok(answer)) => {
                            lock(&backend).get_or_insert_with(|| {
                                answer.config_backend.clone().unwrap_or_default()
                            });
                            lock(&alone)[i] = Some(Ok(answer.plugins));
                        }
                        Ok(Err(problem)) => lock(&alone)[i] = Some(Err(problem)),
                        Err(err) => {
                            lock(&failure).get_or_insert(err);
                        }
                    }
                }
            });
        }
    });
    if let Some(err) = lock(&failure).take() {
        return Err(err);
    }
    let alone = std::mem::take(&mut *lock(&alone));
    let backend = lock(&backend).take();
    Ok((alone, backend))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// In one tempest process, some failures of one plugin are everybody's:
/// a plugin that fails to load stops every plugin; a `load_tests` that
/// raises or a test module that fails to import fails discovery for
/// everybody; a configuration that cannot be initialised fails every test
/// module that reads it; a service client tempest refuses fails every test
/// that builds clients.
fn add_blockers(plugins: &[PluginRow], probed: &mut [ProbePlugin]) {
    let mut blockers = Vec::new();
    for (row, p) in plugins.iter().zip(probed.iter()) {
        for problem in &p.problems {
            let name = &row.name;
            blockers.push(match problem.kind.as_str() {
                "import-error" | "instantiate-error" => {
                    format!("tempest stops loading plugins: {name} fails to load")
                }
                "load-tests-error" => {
                    format!("test discovery fails for every plugin: load_tests of {name} fails")
                }
                "discovery-error" => format!(
                    "test discovery fails for every plugin: {name} has a test module that fails to import"
                ),
                "config-error" => format!(
                    "tempest's configuration cannot be initialised, so every test module fails to import: {}",
                    verdict(problem)
                ),
                "service-client-conflict" | "service-client-error" => format!(
                    "every test that builds service clients fails: {name}: {}",
                    verdict(problem)
                ),
                _ => continue,
            });
        }
    }
    for p in probed.iter_mut() {
        if !p
            .problems
            .iter()
            .any(|q| q.severity == Severity::Error && !is_warning(&q.kind))
            && let Some(first) = blockers.first()
        {
            p.problems.push(Problem {
                kind: "blocked".into(),
                message: first.clone(),
                ..Problem::default()
            });
        }
    }
}

fn failed(problem: Problem) -> Outcome {
    Outcome {
        ok: false,
        warned: false,
        loaded: false,
        verdict: verdict(&problem),
        problems: vec![problem],
        discovery: None,
    }
}

fn outcome(mut p: ProbePlugin, together: bool) -> Outcome {
    for problem in &mut p.problems {
        if is_warning(&problem.kind) {
            problem.severity = Severity::Warning;
        }
    }
    let error = p.problems.iter().find(|q| q.severity == Severity::Error);
    let warning = p.problems.iter().find(|q| q.severity == Severity::Warning);
    let verdict = match (error, &p.discovery) {
        (Some(problem), _) => verdict(problem),
        (None, Some(d)) if together => format!("loads; discovery ok ({} tests)", d.tests),
        (None, _) => "loads".into(),
    };
    let verdict = match (error, warning) {
        (None, Some(w)) => format!("{verdict}; tempest logs: {}", self::verdict(w)),
        _ => verdict,
    };
    Outcome {
        ok: p.loaded && error.is_none(),
        warned: warning.is_some(),
        loaded: p.loaded,
        verdict,
        problems: p.problems,
        discovery: p.discovery,
    }
}

/// The one-line verdict for a problem.
pub fn verdict(p: &Problem) -> String {
    let exception = || match (&p.exception, p.message.is_empty()) {
        (Some(e), false) => format!("{e}: {}", p.message),
        (Some(e), true) => e.clone(),
        (None, _) => p.message.clone(),
    };
    let first = p.first.as_deref().unwrap_or("an earlier plugin");
    match p.kind.as_str() {
        "import-error" => match &p.missing_module {
            Some(m) => format!("import error: missing module {m}"),
            None => format!("import error: {}", exception()),
        },
        "instantiate-error" => format!("cannot be instantiated: {}", exception()),
        "load-tests-error" => format!("load_tests fails: {}", exception()),
        "register-opts-error" => format!("register_opts fails: {}", exception()),
        "config-error" => format!("configuration fails: {}", exception()),
        "get-opt-lists-error" => format!("get_opt_lists fails: {}", exception()),
        "service-clients-error" => format!("get_service_clients fails: {}", exception()),
        "config-conflict" => format!(
            "configuration conflict: [{}] {} is already registered by {first}",
            p.group.as_deref().unwrap_or("?"),
            p.option.as_deref().unwrap_or("?"),
        ),
        "service-client-conflict" => format!(
            "service-client conflict: {} is already claimed by {first}",
            p.service.as_deref().unwrap_or("?")
        ),
        "service-client-error" => format!(
            "service client {} is refused: {}",
            p.service.as_deref().unwrap_or("?"),
            exception()
        ),
        "service-client-registry-error" => {
            format!("tempest refuses its service clients: {}", exception())
        }
        "shadowed" => format!("tests shadowed: a plugin of the same name from {first} wins"),
        "discovery-error" if p.modules.len() > 3 => format!(
            "discovery fails: {} test modules fail to import, the first {} ({})",
            p.modules.len(),
            p.modules[0].module,
            p.modules[0].message
        ),
        "discovery-error" if !p.modules.is_empty() => format!(
            "discovery fails: {}",
            p.modules
                .iter()
                .map(|m| format!("{} ({})", m.module, m.message))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "discovery-error" => format!("discovery fails: {}", exception()),
        _ => p.message.clone(),
    }
}

/// The probe's request line for `plugins`.
pub(super) fn request(mode: &str, plugins: &[PluginRow]) -> serde_json::Value {
    let specs: Vec<serde_json::Value> = plugins
        .iter()
        .map(|p| {
            let (module, attr) = match p.target.split_once(':') {
                Some((m, a)) => (m.trim(), a.split(['[', ' ']).next().unwrap_or("").trim()),
                None => (p.target.trim(), ""),
            };
            serde_json::json!({
                "name": p.name,
                "module": module,
                "attr": attr,
                "target": p.target,
                "dist": p.dist,
            })
        })
        .collect();
    serde_json::json!({"mode": mode, "plugins": specs})
}

/// Run one probe. The outer error is ours (the python cannot be started);
/// the inner one is the probe's (timed out, crashed, no answer).
fn probe(
    target: &Target,
    server: Option<&super::check_server::CheckServer>,
    scratch: &Path,
    mode: &str,
    plugins: &[PluginRow],
) -> Result<std::result::Result<ProbeAnswer, Problem>> {
    if let Some(server) = server
        && let Some((status, out, err)) = server.probe(target, mode, plugins)?
    {
        return Ok(answer(status, &out, &err));
    }
    let cwd = tempfile::Builder::new()
        .prefix("probe")
        .tempdir_in(scratch)
        .with_context(|| {
            format!(
                "failed to make a probe's directory in {}",
                scratch.display()
            )
        })?;
    // Tempest reads `./etc/tempest.conf`, else `/etc/tempest/tempest.conf`:
    // an empty one here means tempest's defaults, whatever the host holds.
    let etc = cwd.path().join("etc");
    fs_err::create_dir(&etc)?;
    fs_err::write(etc.join("tempest.conf"), "")?;
    let mut child = Command::new(&target.python)
        .args(&target.flags)
        .arg("-c")
        .arg(SCRIPT)
        .env_clear()
        .envs(&target.vars)
        .current_dir(cwd.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("failed to run {}", target.python.display()))?;
    let input = serde_json::to_vec(&request(mode, plugins))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() >= TIMEOUT {
            // The whole process group: a plugin may have started children.
            crate::process::kill_group(child.id());
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    Ok(answer(status, &out, &err))
}

/// What a probe that ended with `status` (`None`: killed after
/// [`TIMEOUT`]) and printed `out` and `err` found. Its failure is its
/// answer, as in [`Probed`].
#[allow(clippy::result_large_err)]
fn answer(
    status: Option<std::process::ExitStatus>,
    out: &[u8],
    err: &[u8],
) -> std::result::Result<ProbeAnswer, Problem> {
    let Some(status) = status else {
        return Err(Problem {
            kind: "timeout".into(),
            message: format!("timed out after {} s", TIMEOUT.as_secs()),
            ..Problem::default()
        });
    };
    let answer = std::str::from_utf8(out)
        .ok()
        .and_then(|text| text.lines().rev().find(|l| !l.trim().is_empty()))
        .and_then(|line| serde_json::from_str::<ProbeAnswer>(line).ok());
    match answer {
        Some(answer) if status.success() => Ok(answer),
        _ => {
            let text = String::from_utf8_lossy(err);
            let tail: Vec<&str> = text.lines().rev().take(12).collect();
            Err(Problem {
                kind: "probe-failed".into(),
                message: format!(
                    "the probe exited with {} without an answer",
                    crate::process::exit_code(status)
                ),
                traceback: Some(tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
                    .filter(|t| !t.is_empty()),
                ..Problem::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str) -> Problem {
        Problem {
            kind: kind.into(),
            ..Problem::default()
        }
    }

    #[test]
    fn verdicts_name_what_went_wrong() {
        let mut p = problem("import-error");
        p.exception = Some("ModuleNotFoundError".into());
        p.missing_module = Some("foo".into());
        assert_eq!(verdict(&p), "import error: missing module foo");
        let mut p = problem("config-conflict");
        p.group = Some("shared".into());
        p.option = Some("shared_timeout".into());
        p.first = Some("a_tests".into());
        assert_eq!(
            verdict(&p),
            "configuration conflict: [shared] shared_timeout is already registered by a_tests"
        );
    }

    #[test]
    fn requests_split_targets() {
        let row = PluginRow {
            name: "x".into(),
            target: "pkg.plugin:Cls [extra]".into(),
            dist: "d".into(),
            version: "1".into(),
            origin: "env".into(),
            location: PathBuf::new(),
        };
        let req = request("alone", &[row]);
        assert_eq!(req["plugins"][0]["module"], "pkg.plugin");
        assert_eq!(req["plugins"][0]["attr"], "Cls");
    }
}
