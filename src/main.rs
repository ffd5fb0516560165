//! The `tempest-env` binary: parse the command line, run it, map the outcome
//! to an exit code. Everything else lives in the library; an unexpected
//! panic is one `error:` line and exit 1 (see `tempest_env::crash`).

use std::process::ExitCode;

fn main() -> ExitCode {
    // A process supervisor is this binary executed under another name.
    if let Some(code) = tempest_env::process::supervisor::main_if_supervisor() {
        return code;
    }
    tempest_env::crash::install_hook();
    tempest_env::crash::guard(|| tempest_env::run_cli(std::env::args_os()))
}
