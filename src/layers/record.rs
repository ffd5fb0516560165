//! What an environment records of each of its layers: the kind, the
//! directory on the path, and what was written or linked for it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    Base,
    Plugin,
    Editable,
    System,
    User,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerRecord {
    pub kind: LayerKind,
    pub path: PathBuf,
    /// The distribution this layer carries (plugin and editable layers).
    #[serde(default)]
    pub dist: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
    /// Files written into the environment for this layer (launchers).
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// With `--link-mode symlink`, a base or requirement layer is linked
    /// into site-packages entry by entry instead of named in the `.pth`
    /// file, so tools that read site-packages without Python see it: the
    /// names linked. `None`: the layer is on the path through the `.pth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<Vec<String>>,
}
