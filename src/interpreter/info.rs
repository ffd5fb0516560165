//! What one query of an interpreter reports (see `query.py`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InterpreterInfo {
    pub executable: PathBuf,
    pub sys_executable: PathBuf,
    pub version: String,
    /// `(major, minor, micro, releaselevel, serial)`.
    pub version_info: (u32, u32, u32, String, u32),
    pub implementation: String,
    pub cache_tag: Option<String>,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    pub base_exec_prefix: PathBuf,
    /// The venv install scheme, relative to an environment's root.
    pub scheme: Scheme,
    /// The standard library (where `ensurepip` keeps its bundled wheels).
    pub stdlib: PathBuf,
    pub site_packages: Vec<PathBuf>,
    pub user_site: Option<PathBuf>,
    pub platform: String,
    pub soabi: Option<String>,
    pub abiflags: String,
    /// `platform.libc_ver()`: e.g. `("glibc", "2.36")`.
    pub libc: (String, String),
    pub pointer_64: bool,
    /// PEP 508 marker environment.
    pub markers: BTreeMap<String, String>,
}

/// Install paths relative to an environment's root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scheme {
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    pub include: PathBuf,
    pub data: PathBuf,
}

impl InterpreterInfo {
    /// Whether a venv for this interpreter gets a `lib64 -> lib` link, as
    /// `python -m venv` makes one on 64-bit POSIX systems other than macOS.
    pub fn wants_lib64(&self) -> bool {
        self.pointer_64
            && self.markers.get("os_name").map(String::as_str) == Some("posix")
            && self.markers.get("sys_platform").map(String::as_str) != Some("darwin")
    }

    /// `python3.11` for CPython 3.11.
    pub fn versioned_name(&self) -> String {
        format!("python{}.{}", self.version_info.0, self.version_info.1)
    }
}
