//! Run the test runner in its own process group, streaming its output live,
//! forwarding SIGINT, SIGTERM and SIGHUP to the whole group, and waiting for
//! it, so tempest-env always gets to record the run and remove the per-run
//! environment afterwards.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};

/// The process group to forward signals to (0: none yet).
static CHILD_GROUP: AtomicI32 = AtomicI32::new(0);
/// The last signal forwarded, so the caller can report an interruption.
static FORWARDED: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(signal: libc::c_int) {
    let group = CHILD_GROUP.load(Ordering::SeqCst);
    FORWARDED.store(signal, Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

const FORWARDED_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Make a child die with this process: a SIGKILLed tempest-env must not
/// leave a runner or installer writing into directories `gc` may remove.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; it only sets the calling (child)
    // process's parent-death signal.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

/// Run `cmd` to completion in its own process group.
pub fn run_group(cmd: &mut Command) -> Result<(ExitStatus, Option<i32>)> {
    cmd.process_group(0);
    die_with_parent(cmd);
    // SAFETY: installing a handler that only calls async-signal-safe
    // functions; the previous dispositions are restored below.
    let previous: Vec<libc::sighandler_t> = FORWARDED_SIGNALS
        .iter()
        .map(|&signal| unsafe { libc::signal(signal, forward as *const () as libc::sighandler_t) })
        .collect();
    FORWARDED.store(0, Ordering::SeqCst);
    let result = cmd
        .spawn()
        .context("failed to start the runner")
        .and_then(|mut child| {
            CHILD_GROUP.store(child.id() as i32, Ordering::SeqCst);
            let status = child.wait().context("failed to wait for the runner");
            CHILD_GROUP.store(0, Ordering::SeqCst);
            status
        });
    for (&signal, &handler) in FORWARDED_SIGNALS.iter().zip(&previous) {
        unsafe {
            libc::signal(signal, handler);
        }
    }
    let forwarded = FORWARDED.swap(0, Ordering::SeqCst);
    Ok((result?, (forwarded != 0).then_some(forwarded)))
}
