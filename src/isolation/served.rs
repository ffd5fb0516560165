//! Listing probes served by a fork server ([`crate::runner::fork`]): the
//! server runs in an environment composed like a probe's with no member
//! (the base and the common artifacts), imports once what every listing
//! shares, and forks a child per probe that becomes the probe's runner
//! process in the probe's own environment. Everything around the runner
//! (the workspace, the command line, the variables, the output files and
//! how they are read) stays the one pipeline's.
//!
//! Correctness first. A probe is served only when it is a listing by a
//! preset whose program is one of the environment's python launchers; a
//! child refuses (and the probe runs fresh) when a module the server
//! imported would come from elsewhere on the probe's path; and every served
//! child's interpreter state (its `sys.path`, prefix, executable, flags,
//! import machinery, encodings, directory and variables) is compared with
//! a fresh interpreter's in the probe's environment. Any difference ends
//! serving: that probe and the rest of the search run in fresh processes,
//! and `-v` says what differed. Runs (`--probe run`, `compare`) always
//! run fresh: a test's outcome may depend on the process it runs in.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions, Environment};
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::runner::environ::{self, Policy};
use crate::runner::fork::{self, ForkServer, Job, Launch, Program, Stats};
use crate::runner::pipeline::{Direct, Executed, Executor};

/// What the server needs to compose its environment.
pub struct Setting<'a> {
    pub home: &'a Home,
    pub interpreter: &'a Interpreter,
    /// The composition with no member.
    pub spec: ComposeSpec,
    pub policy: &'a Policy,
    pub scratch: &'a Path,
    pub printer: &'a Printer,
}

enum State {
    /// Not started: the first listing starts it.
    Idle,
    Ready(Arc<ForkServer>, Box<ServerEnv>),
    /// Refused, failed or found to differ: every probe runs fresh.
    Off,
}

/// The server's environment, removed with it.
struct ServerEnv {
    env: Environment,
    home: Home,
    _lock: crate::lock::LockGuard,
}

impl Drop for ServerEnv {
    fn drop(&mut self) {
        let _ = crate::atomic::remove_tree(&self.env.root);
        let _ = fs_err::remove_file(env::lock_path(&self.home, &self.env.name));
    }
}

/// The fork server of one search, started by its first listing.
pub struct Forking {
    enabled: bool,
    state: Mutex<State>,
    served: AtomicUsize,
    fresh: AtomicUsize,
    /// A server no longer used (its probes differed from fresh ones),
    /// kept until the search ends so no probe still in it is cut short.
    retired: Mutex<Option<(Arc<ForkServer>, Box<ServerEnv>)>>,
}

impl Default for Forking {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Forking {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            state: Mutex::new(if enabled { State::Idle } else { State::Off }),
            served: AtomicUsize::new(0),
            fresh: AtomicUsize::new(0),
            retired: Mutex::new(None),
        }
    }

    /// An [`Executor`] for one probe.
    pub fn executor<'a>(&'a self, setting: &'a Setting<'a>) -> Served<'a> {
        Served {
            forking: self,
            setting,
        }
    }

    fn turn_off(&self, printer: &Printer, why: &str) {
        let state = std::mem::replace(&mut *lock(&self.state), State::Off);
        if let State::Ready(server, env) = state {
            printer.verbose(format!("probes run in fresh processes from now on: {why}"));
            *lock(&self.retired) = Some((server, env));
        }
    }

    /// Whether probes are still served (a probe that ended after serving
    /// was turned off is run again, fresh).
    fn serving(&self) -> bool {
        matches!(*lock(&self.state), State::Ready(..))
    }

    /// The server, started on first use; `None` when probes run fresh.
    fn server(&self, setting: &Setting<'_>) -> Option<Arc<ForkServer>> {
        let mut state = lock(&self.state);
        match &*state {
            State::Ready(server, _) => return Some(Arc::clone(server)),
            State::Off => return None,
            State::Idle => {}
        }
        match start(setting) {
            Ok(Ok((server, env))) => {
                let ready = &server.ready;
                setting.printer.verbose(format!(
                    "fork server ready: Python {}, {} modules imported once for every probe ({} MiB){}{}",
                    ready.python,
                    ready.modules,
                    ready.server_kib / 1024,
                    if ready.skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; left to each probe: {}", ready.skipped.join(", "))
                    },
                    if ready.rewritten.is_empty() {
                        String::new()
                    } else {
                        format!("; rewritten for each probe: {}", ready.rewritten.join(", "))
                    },
                ));
                let server = Arc::new(server);
                *state = State::Ready(Arc::clone(&server), Box::new(env));
                Some(server)
            }
            Ok(Err(why)) => {
                setting.printer.verbose(format!(
                    "probes run in fresh processes: the fork server refused: {why}"
                ));
                *state = State::Off;
                None
            }
            Err(err) => {
                setting.printer.verbose(format!(
                    "probes run in fresh processes: the fork server did not start: {err:#}"
                ));
                *state = State::Off;
                None
            }
        }
    }

    /// End the server, if one ran, and say what it served and its memory.
    pub fn finish(&self, printer: &Printer) -> Option<Stats> {
        let state = std::mem::replace(&mut *lock(&self.state), State::Off);
        let ran = match state {
            State::Ready(server, env) => Some((server, env)),
            _ => lock(&self.retired).take(),
        };
        let mut stats = None;
        if let Some((server, env)) = ran {
            stats = Arc::try_unwrap(server).ok().and_then(ForkServer::finish);
            drop(env);
        }
        if !self.enabled {
            return stats;
        }
        let (served, fresh) = (
            self.served.load(Ordering::SeqCst),
            self.fresh.load(Ordering::SeqCst),
        );
        if served + fresh == 0 {
            return stats;
        }
        let mib = |kib: u64| kib as f64 / 1024.0;
        printer.verbose(match &stats {
            Some(stats) => format!(
                "fork server: {served} probe(s) served, {fresh} in fresh processes; peak memory {:.0} MiB (the server and its children, proportional shares, sampled), server {:.0} MiB, largest probe {:.0} MiB resident",
                mib(stats.peak_kib),
                mib(stats.server_kib),
                mib(stats.largest_child_kib),
            ),
            None => format!("fork server: {served} probe(s) served, {fresh} in fresh processes"),
        });
        stats
    }
}

/// Compose the server's environment and start the server in it.
fn start(setting: &Setting<'_>) -> Result<std::result::Result<(ForkServer, ServerEnv), String>> {
    if !setting.spec.system.is_empty() {
        // Each probe gets its own view of the system set: nothing the
        // server imported from its own would be the probe's.
        return Ok(Err(
            "the set is a system set, and each probe has its own view of it".into(),
        ));
    }
    let name = format!("fork-server-{}", std::process::id());
    let dir = setting.scratch.join("fork-server");
    let options = CreateOptions {
        name: name.clone(),
        path: Some(dir.join("env")),
        prompt: None,
        clear: false,
        register: false,
        ephemeral: true,
    };
    let (env, lock) = env::create_held(
        setting.home,
        &options,
        setting.interpreter,
        setting.printer,
        |env| {
            compose::compose(
                env,
                setting.interpreter,
                &setting.spec,
                setting.home,
                setting.printer,
            )
        },
    )?;
    let server_env = ServerEnv {
        env,
        home: setting.home.clone(),
        _lock: lock,
    };
    let (vars, _) = environ::build(&server_env.env, setting.policy, std::env::vars_os());
    let launch = Launch {
        python: &server_env.env.python(),
        flags: &[],
        vars: &vars,
        dir: &dir.join("run"),
        preload: fork::RUNNER_PRELOAD,
    };
    Ok(ForkServer::start(&launch)?.map(|server| (server, server_env)))
}

/// One probe's [`Executor`].
pub struct Served<'a> {
    forking: &'a Forking,
    setting: &'a Setting<'a>,
}

impl Executor for Served<'_> {
    fn execute(&self, direct: &Direct<'_>) -> Result<Option<Executed>> {
        if !direct.list || !is_launcher_of(direct.program, &direct.env.python()) {
            return Ok(None);
        }
        let Some(env) = utf8_vars(direct.vars) else {
            return Ok(None);
        };
        let Some(server) = self.forking.server(self.setting) else {
            self.forking.fresh.fetch_add(1, Ordering::SeqCst);
            return Ok(None);
        };
        let printer = self.setting.printer;
        let mut argv = vec![direct.program.to_string_lossy().into_owned()];
        argv.extend(direct.args.iter().cloned());
        let job = Job {
            program: Program::Launcher(direct.program.to_path_buf()),
            argv,
            cwd: direct.cwd.to_path_buf(),
            env,
            stdin: None,
            stdout: direct.stdout.to_path_buf(),
            stderr: direct.stderr.to_path_buf(),
            prefix: Some(direct.env.root.clone()),
            executable: Some(direct.env.python()),
            discovery: true,
        };
        let watch = crate::process::watch(server.pid())?;
        let python = direct.env.python();
        let (reply, fresh) = std::thread::scope(|scope| {
            let fresh = scope
                .spawn(|| fork::fresh_state(&python, server.script(), direct.vars, direct.cwd));
            let reply = server.run(&job, None);
            (reply, fresh.join())
        });
        let interrupted = watch.forwarded();
        let reply = match reply {
            Ok(reply) => reply,
            Err(err) => {
                if let Some(signal) = interrupted {
                    return Ok(Some(Executed {
                        status: ExitStatus::from_raw(signal),
                        interrupted,
                    }));
                }
                self.forking.turn_off(printer, &format!("{err:#}"));
                return self.fresh(direct);
            }
        };
        let note = reply.note.unwrap_or_default();
        if let Some(why) = note.refused {
            printer.verbose(format!(
                "probe in {} runs in a fresh process: {why}",
                direct.env.root.display()
            ));
            return self.fresh(direct);
        }
        let differences = match (&note.state, fresh) {
            (Some(served), Ok(Ok(fresh))) => fork::state_differences(served, &fresh),
            (None, _) => vec!["the served child gave no interpreter state".into()],
            (_, Ok(Err(err))) => vec![format!("{err:#}")],
            (_, Err(_)) => vec!["the fresh interpreter's state was not read".into()],
        };
        if differences.is_empty() && !self.forking.serving() {
            return self.fresh(direct);
        }
        if !differences.is_empty() {
            self.forking.turn_off(
                printer,
                &format!(
                    "a served probe's interpreter differs from a fresh one's in {}: {}",
                    direct.env.root.display(),
                    differences.join("; ")
                ),
            );
            return self.fresh(direct);
        }
        self.forking.served.fetch_add(1, Ordering::SeqCst);
        printer.verbose(format!(
            "served {}: {:.2}s of CPU, {} MiB at most",
            direct.env.root.display(),
            reply.cpu_seconds,
            reply.maxrss_kib / 1024
        ));
        Ok(Some(Executed {
            status: ExitStatus::from_raw(reply.status),
            interrupted,
        }))
    }
}

impl Served<'_> {
    /// Decline: the pipeline runs the probe in a fresh process, into the
    /// same (emptied) output files.
    fn fresh(&self, direct: &Direct<'_>) -> Result<Option<Executed>> {
        self.forking.fresh.fetch_add(1, Ordering::SeqCst);
        for path in [direct.stdout, direct.stderr] {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(0))
                .map_err(|e| anyhow::anyhow!("failed to empty {}: {e}", path.display()))?;
        }
        Ok(None)
    }
}

/// Whether `program` is a launcher that this python runs as it is: a
/// script whose first line is `#!PYTHON` (no flags).
fn is_launcher_of(program: &Path, python: &Path) -> bool {
    let Ok(file) = std::fs::File::open(program) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    first.trim_end_matches('\n') == format!("#!{}", python.display())
}

fn utf8_vars(
    vars: &BTreeMap<std::ffi::OsString, std::ffi::OsString>,
) -> Option<BTreeMap<String, String>> {
    vars.iter()
        .map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchers_are_told_by_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let python = dir.path().join("bin/python");
        let script = dir.path().join("tempest");
        fs_err::write(&script, format!("#!{}\nimport sys\n", python.display())).unwrap();
        assert!(is_launcher_of(&script, &python));
        fs_err::write(&script, format!("#!{} -E\nimport sys\n", python.display())).unwrap();
        assert!(!is_launcher_of(&script, &python));
        fs_err::write(&script, "#!/bin/sh\nexec x\n").unwrap();
        assert!(!is_launcher_of(&script, &python));
        assert!(!is_launcher_of(&dir.path().join("missing"), &python));
    }
}
