//! One module per subcommand: orchestration and output. The work itself is in
//! the library modules. Commands take plain settings (each module's
//! `*Settings`, or plain arguments); the command line ([`crate::cli`])
//! resolves what the user typed into them; the parser's types stop there.

pub(crate) mod base;
pub(crate) mod create;
pub(crate) mod defs;
pub(crate) mod doctor;
pub(crate) mod exec;
pub mod gc;
pub(crate) mod install;
pub(crate) mod isolation;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod plan;
pub(crate) mod plugins;
pub(crate) mod pollution;
pub(crate) mod remove;
pub(crate) mod results;
pub(crate) mod run;
pub(crate) mod run_from;
pub(crate) mod show;

/// Human output or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
}
