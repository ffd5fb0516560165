//! `plugins --check` probes forked from a server ([`crate::runner::fork`])
//! started exactly as a fresh probe's python (the same interpreter, flags
//! and variables, in the same environment, since every probe of a check
//! sees the same environment and only loads other plugins), which imports
//! tempest, oslo.config, stevedore and tempest's library once. Each child
//! runs `load_check.py` as `python -c` would, with the request on its
//! stdin, in a scratch directory of its own holding the empty
//! `etc/tempest.conf`; what it prints is read as a fresh probe's is.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use super::load_check::{SCRIPT, TIMEOUT, Target, request};
use super::report::PluginRow;
use crate::printer::Printer;
use crate::runner::fork::{self, ForkServer, Job, Launch, Program};

/// A running server for one check, and the directory it lives in.
pub struct CheckServer {
    server: ForkServer,
    /// The check's scratch directory, which the probes' go into.
    dir: std::path::PathBuf,
    served: AtomicUsize,
    fresh: AtomicUsize,
    /// Why the first child that refused did.
    refused: std::sync::Mutex<Option<String>>,
}

/// Start a server for `target`; `None` (said with `-v`) when it refuses or
/// cannot start, and the probes run fresh.
pub fn start(
    target: &Target,
    scratch: &std::path::Path,
    printer: &Printer,
) -> Result<Option<CheckServer>> {
    if target
        .vars
        .iter()
        .any(|(k, v)| k.to_str().is_none() || v.to_str().is_none())
    {
        printer.verbose("probes run in fresh processes: a variable is not UTF-8");
        return Ok(None);
    }
    let dir = scratch.to_path_buf();
    let launch = Launch {
        python: &target.python,
        flags: &target.flags,
        vars: &target.vars,
        dir: &dir.join("server"),
        preload: fork::CHECK_PRELOAD,
    };
    match ForkServer::start(&launch) {
        Ok(Ok(server)) => {
            printer.verbose(format!(
                "fork server ready: {} modules imported once for every probe ({} MiB)",
                server.ready.modules,
                server.ready.server_kib / 1024
            ));
            Ok(Some(CheckServer {
                server,
                dir,
                served: AtomicUsize::new(0),
                fresh: AtomicUsize::new(0),
                refused: std::sync::Mutex::new(None),
            }))
        }
        Ok(Err(why)) => {
            printer.verbose(format!(
                "probes run in fresh processes: the fork server refused: {why}"
            ));
            Ok(None)
        }
        Err(err) => {
            printer.verbose(format!(
                "probes run in fresh processes: the fork server did not start: {err:#}"
            ));
            Ok(None)
        }
    }
}

/// What a served probe left: its status (`None`: killed after the
/// timeout), stdout and stderr.
type Ended = (Option<ExitStatus>, Vec<u8>, Vec<u8>);

impl CheckServer {
    /// Run one probe in a child; `None` when the child refused and the
    /// probe must run fresh.
    pub fn probe(
        &self,
        target: &Target,
        mode: &str,
        plugins: &[PluginRow],
    ) -> Result<Option<Ended>> {
        let scratch = tempfile::Builder::new()
            .prefix("probe")
            .tempdir_in(&self.dir)?;
        let cwd = scratch.path().join("cwd");
        // As for a fresh probe: an empty configuration keeps the host's
        // /etc/tempest/tempest.conf out.
        fs_err::create_dir_all(cwd.join("etc"))?;
        fs_err::write(cwd.join("etc").join("tempest.conf"), "")?;
        let input = scratch.path().join("request.json");
        fs_err::write(&input, serde_json::to_vec(&request(mode, plugins))?)?;
        let (out, err) = (scratch.path().join("out"), scratch.path().join("err"));
        let env = target
            .vars
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
            .collect();
        let job = Job {
            program: Program::Code(SCRIPT.to_string()),
            argv: vec!["-c".into()],
            cwd,
            env,
            stdin: Some(input),
            stdout: out.clone(),
            stderr: err.clone(),
            prefix: None,
            executable: None,
            discovery: false,
        };
        let started = std::time::Instant::now();
        let reply = self.server.run(&job, Some(TIMEOUT))?;
        if let Some(why) = reply.note.as_ref().and_then(|n| n.refused.clone()) {
            self.fresh.fetch_add(1, Ordering::SeqCst);
            self.refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(why);
            return Ok(None);
        }
        self.served.fetch_add(1, Ordering::SeqCst);
        let status = ExitStatus::from_raw(reply.status);
        let killed = started.elapsed() >= TIMEOUT
            && status.signal() == Some(nix::sys::signal::Signal::SIGKILL as i32);
        Ok(Some((
            (!killed).then_some(status),
            fs_err::read(&out)?,
            fs_err::read(&err)?,
        )))
    }

    /// End the server and say, with `-v`, what it served and its memory.
    pub fn finish(self, printer: &Printer) -> Option<fork::Stats> {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(why) = refused {
            printer.verbose(format!("some probes ran in fresh processes: {why}"));
        }
        let stats = self.server.finish();
        let mib = |kib: u64| kib as f64 / 1024.0;
        if let Some(stats) = &stats {
            printer.verbose(format!(
                "fork server: {} probe(s) served, {} in fresh processes; peak memory {:.0} MiB (the server and its children, proportional shares, sampled), server {:.0} MiB, largest probe {:.0} MiB resident",
                self.served.load(Ordering::SeqCst),
                self.fresh.load(Ordering::SeqCst),
                mib(stats.peak_kib),
                mib(stats.server_kib),
                mib(stats.largest_child_kib),
            ));
        }
        stats
    }
}
