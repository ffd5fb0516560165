//! The command line in one place: the clap types ([`args`],
//! [`isolation_args`]) with the values they map onto ([`values`]), the
//! resolver that turns them and the definitions into each command's
//! settings ([`resolve`]), the dispatch to [`crate::commands`], the man
//! pages ([`man`]) and shell completion ([`completion`]). What the user
//! typed stops here: no module below names clap.

mod args;
pub mod completion;
mod dispatch;
pub mod isolation_args;
pub mod man;
pub(crate) mod resolve;
mod values;

pub use args::*;
pub use dispatch::dispatch;
