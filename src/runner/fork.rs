//! A fork server: one Python, started in an environment exactly as a fresh
//! probe's python would be (same interpreter, flags and variables), imports
//! once what every probe of a search shares (tempest, oslo, stevedore,
//! testtools, stestr, cliff: [`RUNNER_PRELOAD`], [`CHECK_PRELOAD`]), then
//! forks a child per probe that takes the probe's process state and runs
//! the runner's launcher (or the load check) in it. The server script is
//! `src/python/fork_server.py`; it says what a child does to become
//! the probe's process, and what makes it refuse.
//!
//! The server runs under a supervisor ([`crate::supervisor`]), so it and
//! every child die with tempest-env, SIGKILL included; each child leads a
//! process group of its own, as a fresh runner does, and signals forwarded
//! to the server reach every child. Its children are reaped by the server,
//! which answers each request with the child's raw wait status, its peak
//! memory and CPU time, and a note (its interpreter state, or why it
//! refused). [`ForkServer::finish`] ends it and returns its memory figures.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const SCRIPT: &str = include_str!("../python/fork_server.py");

/// What a `tempest run --list-tests` (or `stestr list`) probe imports before
/// any plugin's code runs, or that tempest's own test modules import: the
/// command line (cliff, stestr's commands), stestr's discovery runner, and
/// tempest's library and test bases; and modules of tempest's own
/// dependencies that plugins' test modules commonly import (oslo.utils'
/// string helpers, cryptography's X.509). Nothing a probe would not import:
/// every module here is on the path of the search's first round, which
/// waits for the server (cliff's interactive shell, cmd2, is not). A module
/// a tempest version lacks is skipped; one that reads tempest's
/// configuration while being imported is left to each probe.
pub const RUNNER_PRELOAD: &[&str] = &[
    "cliff.app",
    "cliff.commandmanager",
    "cliff.help",
    "cliff.complete",
    "pbr.version",
    "prettytable",
    "tempest.cmd.run",
    "tempest.cmd.account_generator",
    "tempest.cmd.cleanup",
    "tempest.cmd.list_plugins",
    "tempest.cmd.subunit_describe_calls",
    "tempest.cmd.verify_tempest_config",
    "stestr.commands",
    "stestr.test_processor",
    "stestr.subunit_runner.program",
    "tempest.test_discover.test_discover",
    "tempest.test_discover.plugins",
    "tempest.config",
    "tempest.test",
    "tempest.clients",
    "tempest.lib.services.clients",
    "tempest.api.compute.base",
    "tempest.api.identity.base",
    "tempest.api.image.base",
    "tempest.api.network.base",
    "tempest.api.object_storage.base",
    "tempest.api.volume.base",
    "tempest.scenario.manager",
    "tempest.common.tempest_fixtures",
    "requests",
    "testscenarios",
    "html.parser",
    "http.server",
    "oslo_utils.strutils",
    "oslo_utils.versionutils",
    "cryptography.x509",
    "dateutil.parser",
];

/// What `plugins --check` probes import before a plugin's code runs, and
/// what its discovery of the plugins' tests imports of tempest.
pub const CHECK_PRELOAD: &[&str] = &[
    "unittest",
    "tempest.config",
    "tempest.test_discover.plugins",
    "tempest.lib.auth",
    "tempest.lib.services.clients",
    "tempest.test",
    "tempest.clients",
    "tempest.api.compute.base",
    "tempest.api.identity.base",
    "tempest.api.image.base",
    "tempest.api.network.base",
    "tempest.api.volume.base",
    "tempest.scenario.manager",
    "requests",
    "testscenarios",
];

/// How to start a server: the python, flags and variables a fresh probe
/// would get.
pub struct Launch<'a> {
    pub python: &'a Path,
    pub flags: &'a [&'a str],
    pub vars: &'a BTreeMap<OsString, OsString>,
    /// A directory of the server's own: its working directory, its script
    /// and its log.
    pub dir: &'a Path,
    pub preload: &'a [&'a str],
}

/// The server's first answer, once it has imported what probes share.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ready {
    #[serde(default)]
    pub python: String,
    #[serde(default)]
    pub modules: usize,
    /// Preloads it did not keep (missing, or reading tempest's configuration).
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Places where preloaded modules kept the server's paths, rewritten in
    /// every child to the probe's.
    #[serde(default)]
    pub rewritten: Vec<String>,
    #[serde(default)]
    pub server_kib: u64,
}

/// Memory figures, from the server's samples and its children's usage.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub struct Stats {
    pub served: usize,
    /// The largest sum of the proportional resident memory of the server
    /// and every process below it, sampled while children ran.
    pub peak_kib: u64,
    pub server_kib: u64,
    /// The largest peak resident size of one child (shared pages included).
    pub largest_child_kib: u64,
}

/// What a child runs.
#[derive(Debug, Clone)]
pub enum Program {
    /// A launcher script, run as `__main__` (as `python SCRIPT` would).
    Launcher(PathBuf),
    /// Code, run as `python -c CODE` would.
    Code(String),
}

/// One probe for the server.
#[derive(Debug, Clone)]
pub struct Job {
    pub program: Program,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub stdin: Option<PathBuf>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The probe's environment, when it is not the server's own: the child
    /// takes its interpreter identity and `sys.path` (built by `site`).
    pub prefix: Option<PathBuf>,
    pub executable: Option<PathBuf>,
    /// Serve stestr's test-listing subprocess too.
    pub discovery: bool,
}

impl Job {
    fn request(&self, id: u64) -> Value {
        let mut request = json!({
            "op": "run",
            "id": id,
            "argv": self.argv,
            "cwd": self.cwd,
            "env": self.env,
            "stdin": self.stdin,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "prefix": self.prefix,
            "executable": self.executable,
            "discovery": self.discovery,
        });
        match &self.program {
            Program::Launcher(path) => request["program"] = json!(path),
            Program::Code(code) => request["code"] = json!(code),
        }
        request
    }
}

/// A child's end.
#[derive(Debug, Clone, Deserialize)]
pub struct Reply {
    /// The raw wait status.
    pub status: i32,
    #[serde(default)]
    pub maxrss_kib: u64,
    #[serde(default)]
    pub cpu_seconds: f64,
    #[serde(default)]
    pub note: Option<Note>,
}

/// What the child said before it ran anything of the probe's.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Note {
    /// Why it could not be the probe's process (it then ran nothing).
    pub refused: Option<String>,
    /// Its interpreter state, to compare with a fresh interpreter's.
    pub state: Option<Value>,
}

/// The replies awaited, by request id.
type Pending = Mutex<HashMap<u64, mpsc::Sender<Reply>>>;

/// A running fork server.
pub struct ForkServer {
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
    pending: Arc<Pending>,
    bye: Arc<Mutex<Option<Stats>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    next: AtomicU64,
    script: PathBuf,
    log: PathBuf,
    pub ready: Ready,
}

impl ForkServer {
    /// Start a server and wait until it has preloaded. `Ok(Err(why))`: it
    /// refused (something it would share depends on the process), and
    /// probes must run fresh.
    pub fn start(launch: &Launch<'_>) -> Result<std::result::Result<Self, String>> {
        fs_err::create_dir_all(launch.dir)?;
        let script = launch.dir.join("fork_server.py");
        fs_err::write(&script, SCRIPT)?;
        let log = launch.dir.join("server.err");
        let err = std::fs::File::create(&log)
            .with_context(|| format!("failed to create {}", log.display()))?;
        let mut cmd = Command::new(launch.python);
        cmd.args(launch.flags)
            .arg(&script)
            .env_clear()
            .envs(launch.vars)
            .current_dir(launch.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err));
        crate::process::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("failed to start {}", launch.python.display()))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            anyhow::bail!("the fork server has no pipes");
        };
        let config = json!({"preload": launch.preload});
        writeln!(stdin, "{config}").context("failed to talk to the fork server")?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        let answer: Value = serde_json::from_str(first.trim()).unwrap_or(Value::Null);
        if answer["ready"] != json!(true) {
            drop(stdin);
            let _ = child.wait();
            let why = answer["why"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("it exited: {}", tail(&log)));
            return Ok(Err(why));
        }
        let ready: Ready = serde_json::from_value(answer).unwrap_or_default();
        let pending: Arc<Pending> = Arc::default();
        let bye: Arc<Mutex<Option<Stats>>> = Arc::default();
        let reader = {
            let pending = Arc::clone(&pending);
            let bye = Arc::clone(&bye);
            std::thread::spawn(move || read_replies(lines, &pending, &bye))
        };
        Ok(Ok(Self {
            child,
            stdin: Mutex::new(Some(stdin)),
            pending,
            bye,
            reader: Some(reader),
            next: AtomicU64::new(0),
            script,
            log,
            ready,
        }))
    }

    /// The supervisor's pid: signals for the server go to its group.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server script (it also prints a fresh interpreter's state).
    pub fn script(&self) -> &Path {
        &self.script
    }

    fn send(&self, message: &Value) -> Result<()> {
        let mut stdin = lock(&self.stdin);
        let pipe = stdin
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the fork server was ended"))?;
        writeln!(pipe, "{message}")
            .with_context(|| format!("the fork server is gone: {}", tail(&self.log)))
    }

    /// Run `job` in a child and wait for its end; after `timeout`, the
    /// child's process group is killed (and its end still awaited).
    pub fn run(&self, job: &Job, timeout: Option<Duration>) -> Result<Reply> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        lock(&self.pending).insert(id, tx);
        if let Err(err) = self.send(&job.request(id)) {
            lock(&self.pending).remove(&id);
            return Err(err);
        }
        let gone = || anyhow::anyhow!("the fork server ended: {}", tail(&self.log));
        match timeout {
            None => rx.recv().map_err(|_| gone()),
            Some(limit) => match rx.recv_timeout(limit) {
                Ok(reply) => Ok(reply),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.send(&json!({"op": "kill", "id": id, "signal": nix::sys::signal::Signal::SIGKILL as i32}))?;
                    rx.recv().map_err(|_| gone())
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
            },
        }
    }

    /// End the server (and any child still running) and return its figures.
    pub fn finish(mut self) -> Option<Stats> {
        self.end()
    }

    fn end(&mut self) -> Option<Stats> {
        if let Some(mut pipe) = lock(&self.stdin).take() {
            let _ = writeln!(pipe, "{}", json!({"op": "bye"}));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let _ = self.child.wait();
        *lock(&self.bye)
    }
}

impl Drop for ForkServer {
    fn drop(&mut self) {
        self.end();
    }
}

fn read_replies(mut lines: impl BufRead, pending: &Pending, bye: &Mutex<Option<Stats>>) {
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(value) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        if let Some(stats) = value.get("bye") {
            *lock(bye) = serde_json::from_value(stats.clone()).ok();
            continue;
        }
        let Some(id) = value["id"].as_u64() else {
            continue;
        };
        if let (Some(tx), Ok(reply)) = (
            lock(pending).remove(&id),
            serde_json::from_value::<Reply>(value),
        ) {
            let _ = tx.send(reply);
        }
    }
    // Whoever still waits learns that the server is gone.
    lock(pending).clear();
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last lines of the server's log, for an error message.
fn tail(log: &Path) -> String {
    let text = fs_err::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        "no message".into()
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

/// A fresh interpreter's state, from `python SCRIPT --state` run as a
/// probe's runner would start (same python, variables and directory).
pub fn fresh_state(
    python: &Path,
    script: &Path,
    vars: &BTreeMap<OsString, OsString>,
    cwd: &Path,
) -> Result<Value> {
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--state")
        .env_clear()
        .envs(vars)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    let out = cmd
        .output()
        .with_context(|| format!("failed to run {}", python.display()))?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "{} gave no interpreter state (exit {})",
            python.display(),
            crate::process::exit_code(out.status)
        )
    })
}

/// How a served child's interpreter state differs from a fresh one's: one
/// line per differing field.
pub fn state_differences(served: &Value, fresh: &Value) -> Vec<String> {
    let (Some(served), Some(fresh)) = (served.as_object(), fresh.as_object()) else {
        return vec!["no interpreter state to compare".into()];
    };
    let mut keys: Vec<&String> = served.keys().chain(fresh.keys()).collect();
    keys.sort();
    keys.dedup();
    let short = |v: Option<&Value>| {
        let text = v.map_or("nothing".to_string(), Value::to_string);
        if text.chars().count() > 160 {
            format!("{}...", text.chars().take(160).collect::<String>())
        } else {
            text
        }
    };
    keys.into_iter()
        .filter(|k| served.get(*k) != fresh.get(*k))
        .map(|k| match (served.get(k), fresh.get(k)) {
            (Some(Value::Array(a)), Some(Value::Array(b))) => {
                let only = |x: &[Value], y: &[Value]| -> Vec<String> {
                    x.iter()
                        .filter(|v| !y.contains(v))
                        .map(|v| short(Some(v)))
                        .collect()
                };
                let (served_only, fresh_only) = (only(a, b), only(b, a));
                if served_only.is_empty() && fresh_only.is_empty() {
                    format!("{k}: the same items in another order")
                } else {
                    format!(
                        "{k}: served only [{}], fresh only [{}]",
                        served_only.join(", "),
                        fresh_only.join(", ")
                    )
                }
            }
            (a, b) => format!("{k}: served {}, fresh {}", short(a), short(b)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_differ_field_by_field() {
        let fresh = json!({"path": ["/a", "/b"], "prefix": "/e", "flags": [0, 1]});
        assert!(state_differences(&fresh, &fresh).is_empty());
        let served = json!({"path": ["/a"], "prefix": "/e", "flags": [0, 1], "extra": 1});
        let diff = state_differences(&served, &fresh);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(
            diff[0].starts_with("extra: served 1, fresh nothing"),
            "{diff:?}"
        );
        assert_eq!(
            diff[1], "path: served only [], fresh only [\"/b\"]",
            "{diff:?}"
        );
        let reordered = json!({"path": ["/b", "/a"], "prefix": "/e", "flags": [0, 1]});
        assert_eq!(
            state_differences(&reordered, &fresh),
            vec!["path: the same items in another order".to_string()]
        );
        assert_eq!(
            state_differences(&json!(null), &fresh),
            vec!["no interpreter state to compare".to_string()]
        );
    }

    #[test]
    fn requests_name_the_program_or_the_code() {
        let job = Job {
            program: Program::Code("print(1)".into()),
            argv: vec!["-c".into()],
            cwd: "/w".into(),
            env: BTreeMap::from([("A".to_string(), "b".to_string())]),
            stdin: None,
            stdout: "/o".into(),
            stderr: "/e".into(),
            prefix: None,
            executable: None,
            discovery: false,
        };
        let request = job.request(7);
        assert_eq!(request["id"], 7);
        assert_eq!(request["code"], "print(1)");
        assert!(request.get("program").is_none());
        assert_eq!(request["env"]["A"], "b");
    }
}
