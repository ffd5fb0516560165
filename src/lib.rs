//! tempest-env: Python environments for Tempest plugins.
//!
//! `run_cli` is the whole program: parse, resolve settings, run one command,
//! print the error if any, and return the exit code.

pub mod atomic;
pub mod bundled;
pub mod cli;
pub mod commands;
pub mod crash;
pub mod definition;
pub mod digest;
pub mod dist;
pub mod doctor;
pub mod editable;
pub mod env;
pub mod error;
pub mod failpoint;
pub mod gc;
pub mod home;
pub mod input;
pub mod interpreter;
pub mod isolation;
pub mod layers;
pub mod lease;
pub mod lock;
pub mod lockfile;
pub mod plugins;
pub mod printer;
pub mod process;
pub mod runner;
pub mod seal;
pub mod shared;
pub mod shell;
pub mod store;
pub mod wheel;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::printer::{Printer, Verbosity};

/// What every command gets: where things live and how to speak.
pub struct Context {
    pub home: home::Home,
    pub printer: Printer,
}

/// The command line's clap definition: every command and option, for the
/// man pages and for tests that try them all.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn run_cli(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if complete_if_asked(&args) {
        return ExitCode::SUCCESS;
    }
    if let Err(err) = check_utf8(&args) {
        Printer::new(Verbosity::Normal).error(&err, is_user_error(&err));
        return ExitCode::from(error::EXIT_USAGE);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                error::EXIT_USAGE
            } else {
                0
            });
        }
    };
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let printer = Printer::new(verbosity);
    let result = home::Home::resolve(cli.home.as_deref()).and_then(|home| {
        let ctx = Context {
            home,
            printer: printer.clone(),
        };
        cli::dispatch(cli.command, &ctx)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer.error(&err, is_user_error(&err));
            ExitCode::from(if is_user_error(&err) {
                error::EXIT_USAGE
            } else {
                error::EXIT_FAILURE
            })
        }
    }
}

/// True when any cause in the chain is bad input rather than a failure of
/// tempest-env or the machine: exit 2 and a one-line error.
pub fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<error::UserError>()
            || cause.is::<wheel::WheelError>()
            || cause.is::<interpreter::InterpreterError>()
    })
}

/// Answer a shell's completion request (see [`cli::completion`]) and return
/// true, or return false when this is an ordinary run.
fn complete_if_asked(args: &[OsString]) -> bool {
    if std::env::var_os(cli::completion::VAR).is_none() {
        return false;
    }
    let cwd = std::env::current_dir().ok();
    // A failed completion offers nothing; it must never print an error into
    // the user's command line.
    clap_complete::env::CompleteEnv::with_factory(command)
        .var(cli::completion::VAR)
        .try_complete(args.iter().cloned(), cwd.as_deref())
        .unwrap_or(true)
}

/// Paths and names end up in manifests, records and JSON output, which hold
/// only UTF-8: an argument before `--` (what follows it is a command's own)
/// or a `TEMPEST_ENV_*` variable that is not UTF-8 is refused up front.
fn check_utf8(args: &[OsString]) -> anyhow::Result<()> {
    for arg in args.iter().skip(1).take_while(|a| *a != "--") {
        if arg.to_str().is_none() {
            return Err(error::UserError::new(format!(
                "the argument `{}` is not valid UTF-8",
                arg.to_string_lossy()
            ))
            .hint("tempest-env records paths and names as UTF-8; rename or link the file")
            .into());
        }
    }
    for (key, value) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("TEMPEST_ENV_")) && value.to_str().is_none() {
            return Err(error::UserError::new(format!(
                "{}=`{}` is not valid UTF-8",
                key.to_string_lossy(),
                value.to_string_lossy()
            ))
            .hint("tempest-env records paths and names as UTF-8")
            .into());
        }
    }
    Ok(())
}
