//! Python interpreters: find one from a request (`3.11`, `python3.12`, a
//! path), resolve wrappers such as pyenv shims to the real executable, and
//! learn what it is from one query, cached until the executable changes.

mod cache;
pub mod discover;
mod info;
mod pyenv;
mod request;

pub use discover::{find, is_executable};
pub use info::{InterpreterInfo, Scheme};
pub use request::PythonRequest;

use std::path::PathBuf;

/// The oldest Python an environment can be made for.
pub const MIN_VERSION: (u32, u32) = (3, 8);

/// A found and queried interpreter.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// What the user asked for, as they wrote it (or the default).
    pub request: String,
    /// The real executable (symlinks and pyenv shims resolved).
    pub executable: PathBuf,
    pub info: InterpreterInfo,
}

/// Query `executable` as it is: symlinks kept, no cache. A virtual
/// environment's `bin/python` then answers for the environment (its
/// `sys.prefix`, its site-packages), not for its base interpreter.
pub fn query_as_is(executable: &std::path::Path) -> anyhow::Result<InterpreterInfo> {
    cache::query(executable)
}

impl Interpreter {
    /// `major.minor`, e.g. `3.11`.
    pub fn major_minor(&self) -> String {
        format!("{}.{}", self.info.version_info.0, self.info.version_info.1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error("no Python interpreter found for `{request}`; found: {found}")]
    NotFound { request: String, found: String },
    #[error("the Python interpreter at {path} is broken: {reason}")]
    Broken { path: PathBuf, reason: String },
    #[error(
        "Python {version} at {path} is too old: tempest-env needs Python {}.{} or newer",
        MIN_VERSION.0,
        MIN_VERSION.1
    )]
    TooOld { path: PathBuf, version: String },
    #[error(
        "the Python interpreter at {path} did not answer within {seconds} s (set {} to wait longer)",
        cache::TIMEOUT_VAR
    )]
    Timeout { path: PathBuf, seconds: f64 },
}
