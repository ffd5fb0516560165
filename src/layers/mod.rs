//! Layers: directories of installed distributions made visible to an
//! environment through its generated `.pth` (see `env::layers`): shared
//! bases built by an installer, plugin layers resolved on top of them, and
//! the interpreter's system-wide site-packages, whole or as a view.

pub mod base;
pub mod installer;
pub mod launchers;
mod record;
pub mod sdist;
pub mod system;

pub use record::{LayerKind, LayerRecord};
