//! `tempest-env.json`: what an environment is made of. It decides reuse versus
//! rebuild and lets another machine rebuild the same environment.
//!
//! The format is versioned with semver: a newer minor adds fields this
//! version ignores; a newer major is refused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layers::LayerRecord;

pub const FILE_NAME: &str = "tempest-env.json";
pub const FORMAT_VERSION: semver::Version = semver::Version::new(1, 0, 0);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: semver::Version,
    pub tempest_env_version: String,
    pub name: String,
    /// RFC 3339, seconds.
    pub created: String,
    pub prompt: String,
    pub interpreter: InterpreterRecord,
    /// Directories made visible through the generated `.pth`, in order.
    #[serde(default)]
    pub layers: Vec<LayerRecord>,
    /// Distributions installed by tempest-env.
    #[serde(default)]
    pub distributions: Vec<DistRecord>,
    #[serde(default)]
    pub definition_hash: Option<String>,
    /// The composition options the environment was made with, as `create`
    /// arguments (paths absolute, the interpreter as its executable), so a
    /// command that rebuilds it keeps them. Empty in older manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_args: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InterpreterRecord {
    pub request: String,
    pub executable: PathBuf,
    pub version: String,
    pub implementation: String,
    /// The venv install scheme, relative to the environment's root.
    pub scheme: crate::interpreter::Scheme,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    #[default]
    Pth,
    Symlink,
    Hardlink,
    Copy,
    Editable,
}

impl LinkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pth => "pth",
            Self::Symlink => "symlink",
            Self::Hardlink => "hardlink",
            Self::Copy => "copy",
            Self::Editable => "editable",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistRecord {
    /// As written in the distribution's metadata.
    pub name: String,
    pub version: String,
    pub mode: LinkMode,
    /// Where it came from: a wheel file or a source tree.
    pub source: PathBuf,
    /// sha256 of the wheel file (absent for source trees).
    #[serde(default)]
    pub sha256: Option<String>,
    /// The store entry or source tree the files live in.
    #[serde(default)]
    pub location: Option<PathBuf>,
    /// Its `tempest.test_plugins` entry-point names.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// Files written into the environment, relative to its root (launchers,
    /// scripts, and for the linking modes everything its RECORD lists).
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("it is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("it has no valid `format_version`")]
    NoVersion,
    #[error(
        "it was written by a newer tempest-env (format {found}); this one reads format {}.x",
        FORMAT_VERSION.major
    )]
    Newer { found: semver::Version },
}

impl Manifest {
    /// The layer mirrored into site-packages (`--link-mode symlink`) that
    /// the metadata directory at `metadata_path`, found in site-packages,
    /// comes from.
    pub fn linked_layer(&self, metadata_path: &Path) -> Option<&LayerRecord> {
        let name = metadata_path.file_name()?.to_str()?;
        self.layers.iter().find(|layer| {
            layer
                .linked
                .as_ref()
                .is_some_and(|names| names.iter().any(|n| n == name))
        })
    }

    /// Parse a manifest's text. Pure, for tests and fuzzing.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let found = value
            .get("format_version")
            .and_then(|v| v.as_str())
            .and_then(|v| semver::Version::parse(v).ok())
            .ok_or(ManifestError::NoVersion)?;
        if found.major > FORMAT_VERSION.major {
            return Err(ManifestError::Newer { found });
        }
        Ok(serde_json::from_value(value)?)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data structures cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The number of `tempest.test_plugins` entry points installed.
    pub fn plugin_count(&self) -> usize {
        self.distributions.iter().map(|d| d.plugins.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            create_args: Vec::new(),
            format_version: FORMAT_VERSION,
            tempest_env_version: "0.1.0".into(),
            name: "e".into(),
            created: "2026-11-22T00:00:00Z".into(),
            prompt: "e".into(),
            interpreter: InterpreterRecord {
                request: "3.11".into(),
                executable: "/usr/bin/python3.11".into(),
                version: "3.11.7".into(),
                implementation: "cpython".into(),
                scheme: crate::interpreter::Scheme {
                    purelib: "lib/python3.11/site-packages".into(),
                    platlib: "lib/python3.11/site-packages".into(),
                    scripts: "bin".into(),
                    include: "include/python3.11".into(),
                    data: ".".into(),
                },
            },
            layers: vec![],
            distributions: vec![DistRecord {
                name: "valet".into(),
                version: "1.0".into(),
                mode: LinkMode::Pth,
                source: "/w/valet-1.0-py3-none-any.whl".into(),
                sha256: Some("ab".into()),
                location: None,
                plugins: vec!["valet_tests".into()],
                files: vec![],
            }],
            definition_hash: None,
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        assert_eq!(Manifest::parse(&m.to_json()).unwrap(), m);
        assert_eq!(m.plugin_count(), 1);
    }

    #[test]
    fn accepts_newer_minor_with_unknown_fields() {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["format_version"] = "1.7.0".into();
        v["something_new"] = 3.into();
        assert!(Manifest::parse(&v.to_string()).is_ok());
    }

    #[test]
    fn refuses_newer_major_and_garbage() {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["format_version"] = "2.0.0".into();
        assert!(matches!(
            Manifest::parse(&v.to_string()),
            Err(ManifestError::Newer { .. })
        ));
        assert!(matches!(
            Manifest::parse("{}"),
            Err(ManifestError::NoVersion)
        ));
        assert!(matches!(Manifest::parse("{"), Err(ManifestError::Json(_))));
    }
}
