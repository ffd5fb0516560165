//! Children that die with tempest-env, and everything they started with them.
//!
//! A parent-death signal reaches only a direct child: a runner's shell
//! command, stestr's workers or pip's build backends would be reparented to
//! PID 1 and go on writing into directories `gc` removes. So a child runs
//! under a supervisor. Between fork and exec, the child (C) forks once more:
//! the grandchild (G) goes on to exec the command in a process group of its
//! own, while C re-executes this binary as a small supervisor process
//! ([`SUPERVISOR_ARG0`]) that
//!
//! - is a child subreaper, so every process G's tree orphans becomes its
//!   child instead of PID 1's;
//! - gets [`PARENT_DIED`] when tempest-env dies, SIGKILL included, and also
//!   notices it by polling its parent (a parent-death signal is sent when the
//!   *thread* that forked exits, and can be lost in a race at start);
//! - relays SIGINT, SIGTERM and SIGHUP to G's process group;
//! - when G ends, or when tempest-env dies, kills G's group and then every
//!   process left in its tree, until it has no child left, and exits with
//!   G's status (a signal re-raised), so the caller sees what it would have
//!   seen of G.
//!
//! The supervisor is in a process group of its own too, so a SIGKILL of
//! tempest-env's whole process group leaves it alive to clean up.
//!
//! Allocation after fork: `execv` builds its argument array on the heap.
//! glibc and musl take their allocator's locks around `fork` and release
//! them in the child, so this is safe in the child of a threaded process;
//! everything else between fork and exec is a plain system call.

use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::prctl;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal, kill, killpg, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, execv, fork, getpid, getppid, setpgid};

/// `argv[0]` of a supervisor: `main` hands such a process to [`main`].
pub const SUPERVISOR_ARG0: &str = "tempest-env-supervisor";

/// The parent-death signal of a supervisor. Only a wake-up: the supervisor
/// acts when its parent has really changed, so a stray one is harmless.
pub const PARENT_DIED: Signal = Signal::SIGUSR2;

/// Signals relayed to the command's process group.
pub const RELAYED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// How often the supervisor checks that its parent is alive.
const POLL: Duration = Duration::from_millis(100);

fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for signal in RELAYED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set.add(PARENT_DIED);
    set
}

/// Whether this process's `main` hands supervisor processes to
/// [`main_if_supervisor`] (the tempest-env binary does; a test harness
/// linking the library does not, and gets the fallback).
static ENTRY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The program a supervisor is executed from: this very binary.
fn supervisor_exe() -> Option<CString> {
    if !ENTRY.load(std::sync::atomic::Ordering::SeqCst) {
        return None;
    }
    let proc_exe = std::path::Path::new("/proc/self/exe");
    let path = if proc_exe.exists() {
        proc_exe.to_path_buf()
    } else {
        std::env::current_exe().ok()?
    };
    CString::new(path.as_os_str().as_bytes()).ok()
}

/// Make `cmd` run under a supervisor (see the module documentation): it and
/// everything it starts die when this process dies. The pid the caller gets
/// from spawning is the supervisor's, which leads a process group of its
/// own; signals for the command go to that group. Where this process cannot
/// run a supervisor (its `main` does not call [`main_if_supervisor`]), the
/// command itself leads the group and gets a parent-death signal.
pub fn supervise(cmd: &mut Command) {
    let parent = getpid();
    let Some(exe) = supervisor_exe() else {
        // No way to run a supervisor: the direct child, in a process group
        // of its own, at least dies with this process.
        // SAFETY: setpgid and prctl are plain system calls.
        unsafe {
            cmd.pre_exec(|| {
                setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
                prctl::set_pdeathsig(Signal::SIGKILL)?;
                Ok(())
            });
        }
        return;
    };
    // SAFETY: the closure runs between fork and exec; see the module
    // documentation for what it does there.
    unsafe {
        cmd.pre_exec(move || match in_child(&exe, parent) {
            Ok(()) => Ok(()),
            Err(errno) => Err(std::io::Error::from(errno)),
        });
    }
}

/// Runs in the forked child before it executes the command. Returns in the
/// grandchild, which goes on to execute the command; the child becomes the
/// supervisor, and returns only an error (which std reports to the parent).
fn in_child(exe: &CStr, parent: Pid) -> nix::Result<()> {
    // What the supervisor waits for stays pending until it reads it.
    let mut old_mask = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched()), Some(&mut old_mask))?;
    // SAFETY: resetting a disposition is async-signal-safe. An ignored
    // SIGCHLD would make exits vanish before the supervisor reads them.
    unsafe { signal::signal(Signal::SIGCHLD, SigHandler::SigDfl) }?;
    prctl::set_child_subreaper(true)?;
    prctl::set_pdeathsig(PARENT_DIED)?;
    if getppid() != parent {
        // tempest-env died before the signal was armed: nothing to start
        // (std ends this process with the error).
        return Err(Errno::ESRCH);
    }
    setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
    let supervisor = getpid();
    // SAFETY: the grandchild only makes system calls before it returns to
    // std, which then executes the command.
    match unsafe { fork() }? {
        ForkResult::Child => {
            setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
            prctl::set_child_subreaper(false)?;
            prctl::set_pdeathsig(Signal::SIGKILL)?;
            if getppid() != supervisor {
                return Err(Errno::ESRCH);
            }
            for signal in RELAYED.into_iter().chain([PARENT_DIED]) {
                // SAFETY: as above; tempest-env's handlers are not the
                // command's, but what tempest-env was started ignoring
                // (`nohup`) the command ignores too.
                let old = unsafe { signal::signal(signal, SigHandler::SigDfl) }?;
                if matches!(old, SigHandler::SigIgn) {
                    unsafe { signal::signal(signal, SigHandler::SigIgn) }?;
                }
            }
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None)?;
            Ok(())
        }
        ForkResult::Parent { child } => {
            // Also here, so the group exists before the supervisor relays a
            // signal to it, whichever of the two runs first.
            let _ = setpgid(child, child);
            let mut child_buf = [0u8; 24];
            let mut parent_buf = [0u8; 24];
            let arg0 = c"tempest-env-supervisor";
            let args = [
                arg0,
                decimal(child.as_raw(), &mut child_buf),
                decimal(parent.as_raw(), &mut parent_buf),
            ];
            let Err(errno) = execv(exe, &args);
            // Without a supervisor the command must not run unwatched; std
            // reports the error to the parent and ends this process.
            let _ = kill(child, Signal::SIGKILL);
            Err(errno)
        }
    }
}

/// `n` in decimal, NUL-terminated, in `buf`: no allocation.
fn decimal(n: i32, buf: &mut [u8; 24]) -> &CStr {
    let mut digits = [0u8; 12];
    let mut len = 0;
    let mut rest = n.unsigned_abs();
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut at = 0;
    if n < 0 {
        buf[0] = b'-';
        at = 1;
    }
    for i in 0..len {
        buf[at + i] = digits[len - 1 - i];
    }
    buf[at + len] = 0;
    CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"0")
}

/// The supervisor's `main`, when this process is one.
pub fn main_if_supervisor() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    if args.next()? != SUPERVISOR_ARG0 {
        ENTRY.store(true, std::sync::atomic::Ordering::SeqCst);
        return None;
    }
    let pid = |arg: Option<OsString>| {
        arg.and_then(|a| a.to_str()?.parse::<i32>().ok())
            .map(Pid::from_raw)
    };
    match (pid(args.next()), pid(args.next())) {
        (Some(child), Some(parent)) => Some(supervise_child(child, parent)),
        _ => Some(ExitCode::from(2)),
    }
}

fn supervise_child(child: Pid, parent: Pid) -> ExitCode {
    let Ok(signals) =
        SignalFd::with_flags(&watched(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
    else {
        // Cannot watch: wait for the command, still killing its tree after.
        let status = waitpid(child, None);
        kill_tree(child);
        return exit_like(status.ok());
    };
    let mut status = None;
    loop {
        while let Ok(Some(info)) = signals.read_signal() {
            let relay = Signal::try_from(info.ssi_signo as i32)
                .ok()
                .filter(|s| RELAYED.contains(s));
            if let (Some(signal), None) = (relay, status) {
                let _ = killpg(child, signal);
            }
        }
        reap(child, &mut status);
        if status.is_some() {
            // The command is done; whatever it left running goes with it.
            kill_tree(child);
            return exit_like(status);
        }
        if getppid() != parent {
            kill_tree(child);
            return ExitCode::from(1);
        }
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&signals),
            PollFlags::POLLIN,
        )];
        let timeout = PollTimeout::try_from(POLL).unwrap_or(PollTimeout::NONE);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Reap every child that has exited; `status` gets the command's.
fn reap(child: Pid, status: &mut Option<WaitStatus>) {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
            Ok(done) => {
                if done.pid() == Some(child)
                    && matches!(done, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
                {
                    *status = Some(done);
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Kill the command's process group, then every process that is or becomes
/// a child of this one (orphans of the tree are reparented here), until none
/// is left.
fn kill_tree(group: Pid) {
    let _ = killpg(group, Signal::SIGKILL);
    loop {
        for pid in children() {
            let _ = kill(pid, Signal::SIGKILL);
        }
        let mut none_left = false;
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => {
                    none_left = true;
                    break;
                }
            }
        }
        if none_left {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// This process's children: from `/proc/self/task/PID/children`, else by
/// scanning every process's parent.
fn children() -> Vec<Pid> {
    let me = getpid();
    let file = format!("/proc/self/task/{me}/children");
    if let Ok(text) = fs_err::read_to_string(file) {
        return text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(Pid::from_raw)
            .collect();
    }
    let Ok(entries) = fs_err::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs_err::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid ...`; comm may hold spaces and `)`.
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(me.as_raw())
            })
        })
        .map(Pid::from_raw)
        .collect()
}

/// Exit as the command did: its code, or its signal raised again (without a
/// core dump: the command already made one if it was going to).
fn exit_like(status: Option<WaitStatus>) -> ExitCode {
    match status {
        Some(WaitStatus::Exited(_, code)) => ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)),
        Some(WaitStatus::Signaled(_, signal, _)) => {
            let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
            // SAFETY: restoring the default disposition.
            let _ = unsafe { signal::signal(signal, SigHandler::SigDfl) };
            let mut only = SigSet::empty();
            only.add(signal);
            let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
            let _ = signal::raise(signal);
            ExitCode::from(u8::try_from(128 + signal as i32).unwrap_or(255))
        }
        _ => ExitCode::from(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pids_without_allocating() {
        let mut buf = [0u8; 24];
        assert_eq!(decimal(0, &mut buf), c"0");
        assert_eq!(decimal(4_194_304, &mut buf), c"4194304");
        assert_eq!(decimal(-12, &mut buf), c"-12");
        assert_eq!(decimal(i32::MAX, &mut buf), c"2147483647");
    }
}
