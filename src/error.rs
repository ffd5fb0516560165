//! Errors that decide the exit code.
//!
//! Operations return `anyhow::Error` with context at every I/O boundary (which
//! file, which environment, which plugin). Bad input is told apart by a
//! [`UserError`] (or another input error type listed in `tempest_env::is_user_error`)
//! somewhere in the chain: it exits 2, everything else exits 1.

use std::fmt;

/// Bad usage or bad input: a one-line message naming the thing and a hint.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Shorthand for `Err(UserError::new(..).into())`.
#[macro_export]
macro_rules! bail_user {
    ($($arg:tt)*) => {
        return Err($crate::error::UserError::new(format!($($arg)*)).into())
    };
}

/// The first 80 characters of `text`, with `…` when there is more: what an
/// error message quotes of a huge line.
pub fn preview(text: &str) -> String {
    const MAX: usize = 80;
    let mut short: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        short.push('…');
    }
    short
}

/// The hint of the first [`UserError`] in the chain, if any.
pub fn hint(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<UserError>())
        .find_map(|user| user.hint.as_deref())
}

/// Exit codes: the runner's own code is passed through elsewhere; these are
/// tempest-env's.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
