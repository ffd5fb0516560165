//! tempest-env: Python environments for Tempest plugins.
//!
//! `run_cli` is the whole program: parse, resolve settings, run one command,
//! print the error if any, and return the exit code.

pub mod atomic;
pub mod bundled;
pub mod cli;
pub mod commands;
pub mod definition;
pub mod digest;
pub mod dist;
pub mod doctor;
pub mod editable;
pub mod env;
pub mod error;
pub mod failpoint;
pub mod home;
pub mod interpreter;
pub mod isolation;
pub mod isolation_cli;
pub mod layers;
pub mod lease;
pub mod lock;
pub mod man;
pub mod plugins;
pub mod printer;
pub mod process;
pub mod runner;
pub mod seal;
pub mod shared;
pub mod store;
pub mod supervisor;
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

pub fn run_cli(args: impl IntoIterator<Item = OsString>) -> ExitCode {
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
        commands::dispatch(cli.command, &ctx)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            printer.error(&err);
            ExitCode::from(if error::is_user_error(&err) {
                error::EXIT_USAGE
            } else {
                error::EXIT_FAILURE
            })
        }
    }
}
