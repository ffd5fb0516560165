//! Plugin source trees installed in editable mode, natively: their metadata
//! read from `setup.cfg` (pbr style) or `pyproject.toml`.

pub mod pyproject;
pub mod setup_cfg;
pub mod tree;
