//! The `tempest-env` binary: parse the command line, run it, map the outcome
//! to an exit code. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    tempest_env::run_cli(std::env::args_os())
}
