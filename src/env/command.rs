//! Commands run inside an environment: the process environment a user
//! expects of an activated virtualenv, and exit codes passed through (a
//! signal N becomes 128+N).

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::env::Environment;
use crate::error::UserError;
use crate::printer::Printer;

/// A [`Command`] for `argv` with `VIRTUAL_ENV` set, the environment's bin
/// first on PATH, and the escaping variables removed.
pub fn command_in(env: &Environment, argv: &[OsString], printer: &Printer) -> Result<Command> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| UserError::new("no command given").hint("put it after `--`"))?;
    let bin = env.bin();
    let mut path: Vec<PathBuf> = vec![bin.clone()];
    if let Some(old) = std::env::var_os("PATH") {
        path.extend(std::env::split_paths(&old));
    }
    let path = std::env::join_paths(path)?;
    // Look the program up on the new PATH ourselves, so `python` means the
    // environment's python.
    let resolved = resolve_program(program, &path);
    let mut cmd = Command::new(resolved);
    cmd.args(args)
        .env("VIRTUAL_ENV", &env.root)
        .env("PATH", path);
    for var in crate::process::ESCAPING {
        if std::env::var_os(var).is_some() {
            printer.verbose(format!("removed {var} from the environment"));
        }
        cmd.env_remove(var);
    }
    Ok(cmd)
}

fn resolve_program(program: &OsStr, path: &OsStr) -> PathBuf {
    let as_path = PathBuf::from(program);
    if as_path.components().count() > 1 {
        return as_path;
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| crate::interpreter::is_executable(candidate))
        .unwrap_or(as_path)
}

/// Run `cmd` in the foreground, sharing the terminal: Ctrl-C reaches it
/// directly, while this process waits to report its exit status.
pub fn run_foreground(cmd: &mut Command, argv: &[OsString]) -> Result<u8> {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: resetting a disposition is async-signal-safe; the child
    // restores the defaults that this process ignores while it waits.
    unsafe {
        cmd.pre_exec(|| {
            signal(Signal::SIGINT, SigHandler::SigDfl)?;
            signal(Signal::SIGQUIT, SigHandler::SigDfl)?;
            Ok(())
        });
    }
    // SAFETY: ignoring signals installs no handler.
    let previous = unsafe {
        (
            signal(Signal::SIGINT, SigHandler::SigIgn),
            signal(Signal::SIGQUIT, SigHandler::SigIgn),
        )
    };
    let status = cmd.status();
    // SAFETY: restoring what was there before.
    unsafe {
        if let Ok(old) = previous.0 {
            let _ = signal(Signal::SIGINT, old);
        }
        if let Ok(old) = previous.1 {
            let _ = signal(Signal::SIGQUIT, old);
        }
    }
    let program = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    match status {
        Ok(status) => Ok(crate::process::exit_code(status)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(UserError::new(format!(
            "command `{program}` not found in the environment or on PATH"
        ))
        .into()),
        Err(err) => Err(anyhow::Error::new(err).context(format!("failed to run `{program}`"))),
    }
}
