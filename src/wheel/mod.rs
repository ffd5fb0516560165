//! Wheels (the binary distribution format): parse, check, and install them
//! natively.

pub mod archive;
pub mod filename;
pub mod launcher;
pub mod reserved;
pub mod tags;
pub mod wheel_file;

/// Why a wheel was refused. Every variant is bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("{wheel}: {reason}")]
    Invalid { wheel: String, reason: String },
}
