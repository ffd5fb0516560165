//! Shell completion that knows the user's things: subcommands, options and
//! enumerated values come from the clap definition, and environment and
//! definition names are looked up when the user presses TAB.
//!
//! `tempest-env completions SHELL` prints a small registration script that
//! calls the binary back with `TEMPEST_ENV_COMPLETE=SHELL` set; the binary
//! then answers (`crate::run_cli`) before parsing anything. A static
//! script could not offer names that only exist at completion time.

use std::ffi::{OsStr, OsString};
use std::io::Write;

use anyhow::{Result, anyhow};
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::Shells;

use crate::home::Home;

/// The variable the registration scripts set when they call back.
pub const VAR: &str = "TEMPEST_ENV_COMPLETE";

/// The name the scripts register for: the binary as it is typed.
const BIN: &str = "tempest-env";

/// Write the registration script for `shell`.
pub fn write_registration(shell: &str, out: &mut dyn Write) -> Result<()> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| anyhow!("no completion support for shell `{shell}`"))?;
    completer.write_registration(VAR, BIN, BIN, BIN, out)?;
    Ok(())
}

/// The names of the environments under the home the user would get.
pub fn environment_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(home) = Home::resolve(home_of_the_line().as_deref()) else {
        return Vec::new();
    };
    let names = crate::env::names(&home).unwrap_or_default();
    starting_with(names, current)
}

/// The home the completed command line would use: its `--home DIR`, else
/// `TEMPEST_ENV_HOME` (clap reads the variable only when it parses).
fn home_of_the_line() -> Option<std::path::PathBuf> {
    let words: Vec<OsString> = std::env::args_os().collect();
    let from_flag = words.windows(2).find_map(|pair| {
        if pair[0] == "--home" {
            return Some(std::path::PathBuf::from(&pair[1]));
        }
        pair[0]
            .to_str()
            .and_then(|word| word.strip_prefix("--home="))
            .map(std::path::PathBuf::from)
    });
    from_flag.or_else(|| std::env::var_os("TEMPEST_ENV_HOME").map(Into::into))
}

/// The built-in definitions and the project's, from the current directory.
pub fn definition_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = std::env::current_dir()
        .ok()
        .and_then(|cwd| crate::definition::all(&cwd).ok())
        .map(|all| all.into_iter().map(|named| named.name).collect())
        .unwrap_or_default();
    starting_with(names, current)
}

/// The runner presets (a custom command is free text).
pub fn runner_presets(current: &OsStr) -> Vec<CompletionCandidate> {
    let presets = ["tempest", "stestr", "testr", "subunit"];
    starting_with(presets.map(String::from).to_vec(), current)
}

fn starting_with(names: Vec<String>, current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    names
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}
