//! The command line in one place: the clap types ([`args`],
//! [`isolation_args`]), the man pages ([`man`]) and shell completion
//! ([`completion`]). What the user typed stops here; the commands below
//! take plain settings.

mod args;
pub mod completion;
pub mod isolation_args;
pub mod man;

pub use args::*;
