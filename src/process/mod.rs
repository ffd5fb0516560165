//! Run the test runner in its own process group under a supervisor
//! ([`crate::process::supervisor`]), streaming its output live, forwarding SIGINT,
//! SIGTERM and SIGHUP to it, and waiting for it, so tempest-env always gets
//! to record the run and remove the per-run environment afterwards; and if
//! tempest-env is killed outright, the runner and everything it started die
//! with it.
//!
//! Several runners may run at once (probes in parallel threads): each live
//! one has a slot the signal handler forwards to, and the handlers are
//! installed while at least one runs.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use anyhow::{Context, Result};
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::Pid;

pub mod supervisor;

/// Removed from every run (and listed with `-v`), unless `--pass-env`
/// names them: each makes the runner's python differ from the
/// environment's. `PYTHONHOME`, `PYTHONPATH`, `PYTHONPLATLIBDIR` and
/// `PYTHONUSERBASE` move where modules come from; `PYTHONSTARTUP` and
/// `PYTHONWARNINGS` run or change code before tests; `PYTHONOPTIMIZE`
/// silently turns asserts off; `PIP_USER` makes pip inside a run write to
/// the user site; `PYTHON` is the interpreter tempest's commands use when it
/// is set; `TEMPEST_CONFIG*` point tempest at another configuration.
pub const SCRUBBED: &[&str] = &[
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONPLATLIBDIR",
    "PYTHONUSERBASE",
    "PYTHONSTARTUP",
    "PYTHONWARNINGS",
    "PYTHONOPTIMIZE",
    "PIP_USER",
    "PYTHON",
    "TEMPEST_CONFIG",
    "TEMPEST_CONFIG_DIR",
    "__PYVENV_LAUNCHER__",
];

/// The variables that make any command started in an environment escape it
/// (as an activated virtualenv leaves them out): a subset of [`SCRUBBED`].
pub const ESCAPING: &[&str] = &["PYTHONHOME", "PYTHONPATH", "__PYVENV_LAUNCHER__"];

use supervisor::RELAYED;

/// Live runners (their supervisors' pids; 0: a free slot) and the last signal
/// forwarded to each.
const SLOTS: usize = 512;
static LIVE: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static FORWARDED: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
/// Every signal the handler caught, counted, and the last one: a runner
/// started while one arrived gets it too.
static CAUGHT: AtomicU64 = AtomicU64::new(0);
static LAST_CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(raw: std::ffi::c_int) {
    LAST_CAUGHT.store(raw, Ordering::SeqCst);
    CAUGHT.fetch_add(1, Ordering::SeqCst);
    let Ok(sig) = Signal::try_from(raw) else {
        return;
    };
    for (live, forwarded) in LIVE.iter().zip(&FORWARDED) {
        let pid = live.load(Ordering::SeqCst);
        if pid > 0 {
            forwarded.store(raw, Ordering::SeqCst);
            // kill(2) is async-signal-safe. The group: the supervisor's
            // (it relays), or the runner's own without one.
            let _ = signal::killpg(Pid::from_raw(pid), sig);
        }
    }
}

/// How many runners are live, and the dispositions to restore after the last
/// (of the signals that were not ignored when the first started).
static HANDLERS: Mutex<(usize, Vec<(Signal, SigAction)>)> = Mutex::new((0, Vec::new()));

/// The forwarding handlers, installed while any guard lives.
struct Handlers;

impl Handlers {
    fn install() -> Self {
        let mut state = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 {
            let action = SigAction::new(
                SigHandler::Handler(forward),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            state.1 = RELAYED
                .iter()
                // SAFETY: the handler only loads atomics and calls kill(2).
                .filter_map(|&s| {
                    let old = unsafe { signal::sigaction(s, &action) }.ok()?;
                    if matches!(old.handler(), SigHandler::SigIgn) {
                        // Ignored by whoever started tempest-env (`nohup`, a
                        // shell's background job): it stays ignored, and the
                        // runner inherits that.
                        // SAFETY: putting back what was there.
                        let _ = unsafe { signal::sigaction(s, &old) };
                        return None;
                    }
                    Some((s, old))
                })
                .collect();
        }
        state.0 += 1;
        Handlers
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        let mut state = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 == 0 {
            for (sig, old) in std::mem::take(&mut state.1) {
                // SAFETY: restoring what was there before.
                let _ = unsafe { signal::sigaction(sig, &old) };
            }
        }
    }
}

/// A live runner's slot in [`LIVE`].
struct Slot(Option<usize>);

impl Slot {
    fn take(pid: u32) -> Self {
        let pid = i32::try_from(pid).unwrap_or(0);
        let free = LIVE.iter().position(|live| {
            live.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        if let Some(i) = free {
            FORWARDED[i].store(0, Ordering::SeqCst);
        }
        Self(free)
    }

    /// The last signal forwarded to this runner.
    fn forwarded(&self) -> Option<i32> {
        let raw = FORWARDED[self.0?].load(Ordering::SeqCst);
        (raw != 0).then_some(raw)
    }

    fn note(&self, raw: i32) {
        if let Some(i) = self.0 {
            FORWARDED[i].store(raw, Ordering::SeqCst);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            LIVE[i].store(0, Ordering::SeqCst);
        }
    }
}

/// Make a child, and every process it starts, die with this process, even
/// when it is SIGKILLed: a runner or installer must not go on writing into
/// directories `gc` may remove. The child runs in a process group of its own
/// under a supervisor (see [`crate::process::supervisor`]), whose pid is the one
/// spawning returns; signals sent to that pid reach the child's group.
pub fn die_with_parent(cmd: &mut Command) {
    supervisor::supervise(cmd);
}

/// Run `cmd` to completion in its own process group, forwarding SIGINT,
/// SIGTERM and SIGHUP to it; returns its status and the last signal
/// forwarded, if any. Safe to call from several threads at once. Once a
/// signal has been forwarded, no further runner is started: the process
/// was asked to stop.
pub fn run_group(cmd: &mut Command) -> Result<(ExitStatus, Option<i32>)> {
    die_with_parent(cmd);
    let _handlers = Handlers::install();
    let caught_before = CAUGHT.load(Ordering::SeqCst);
    if caught_before > 0 {
        // Asked to stop (Ctrl-C, SIGTERM, SIGHUP) while an earlier runner
        // ran: a search must not go on starting probes.
        anyhow::bail!(
            "interrupted by signal {}: no further runner is started",
            LAST_CAUGHT.load(Ordering::SeqCst)
        );
    }
    let mut child = cmd.spawn().context("failed to start the runner")?;
    let slot = Slot::take(child.id());
    if CAUGHT.load(Ordering::SeqCst) != caught_before {
        // A signal arrived while the runner was being started.
        let raw = LAST_CAUGHT.load(Ordering::SeqCst);
        if let Ok(sig) = Signal::try_from(raw) {
            let _ = signal::killpg(Pid::from_raw(child.id() as i32), sig);
            slot.note(raw);
        }
    }
    let status = child.wait().context("failed to wait for the runner")?;
    let forwarded = slot.forwarded();
    Ok((status, forwarded))
}

/// From now on, runners still live `grace` after tempest-env was asked to
/// stop get SIGTERM (through their supervisors, which relay it to each
/// group): for probes of a search, whose results an interrupted search
/// throws away. Python code can swallow the forwarded SIGINT (a bare
/// `except:`, as unittest's discovery has around each import) and go on
/// for minutes; SIGTERM's default action ends it. A plain `run` does not
/// call this: its runner gets all the time it takes to stop and report.
pub fn end_runners_after(grace: std::time::Duration) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let watcher = move || {
            // When the last SIGTERM went out (first: when the signal came).
            let mut since: Option<std::time::Instant> = None;
            loop {
                std::thread::sleep(std::time::Duration::from_millis(50));
                if CAUGHT.load(Ordering::SeqCst) == 0 {
                    continue;
                }
                let last = *since.get_or_insert_with(std::time::Instant::now);
                if last.elapsed() >= grace {
                    for live in &LIVE {
                        let pid = live.load(Ordering::SeqCst);
                        if pid > 0 {
                            let _ = signal::killpg(Pid::from_raw(pid), Signal::SIGTERM);
                        }
                    }
                    since = Some(std::time::Instant::now());
                }
            }
        };
        let _ = std::thread::Builder::new()
            .name("end-runners".into())
            .spawn(watcher);
    });
}

/// SIGKILL the process group led by `pid` (a child started in a group of
/// its own); a group already gone is no error.
pub fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// The exit code a shell would report for `status`.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
        (None, None) => 1,
    }
}

/// While it lives, SIGINT, SIGTERM and SIGHUP reaching tempest-env are
/// forwarded to a process group it did not start with [`run_group`] (a fork
/// server's supervisor, whose probes are runners all the same).
pub struct Watch {
    _handlers: Handlers,
    slot: Slot,
}

impl Watch {
    /// The last signal forwarded to the group while watched.
    pub fn forwarded(&self) -> Option<i32> {
        self.slot.forwarded()
    }
}

/// Watch the group led by `pid`; refused once a signal has been forwarded
/// (the process was asked to stop), as [`run_group`] refuses to start.
pub fn watch(pid: u32) -> Result<Watch> {
    let handlers = Handlers::install();
    if CAUGHT.load(Ordering::SeqCst) > 0 {
        anyhow::bail!(
            "interrupted by signal {}: no further runner is started",
            LAST_CAUGHT.load(Ordering::SeqCst)
        );
    }
    Ok(Watch {
        _handlers: handlers,
        slot: Slot::take(pid),
    })
}

/// The last signal tempest-env was asked to stop with (SIGINT, SIGTERM or
/// SIGHUP, while a runner was watched), if any.
pub fn caught() -> Option<i32> {
    (CAUGHT.load(Ordering::SeqCst) > 0).then(|| LAST_CAUGHT.load(Ordering::SeqCst))
}
