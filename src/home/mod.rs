//! Where tempest-env keeps things: a cache dir (interpreter info, the store,
//! bases) and a data dir (environments, runs).
//!
//! Both come from the `directories` crate unless `TEMPEST_ENV_HOME` or
//! `--home` puts them under one directory, which every test does.

pub mod env_name;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, Clone)]
pub struct Home {
    cache: PathBuf,
    data: PathBuf,
}

impl Home {
    /// Resolve from an explicit home (flag or environment variable), else the
    /// platform's directories.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        if let Some(root) = explicit {
            let root = std::path::absolute(root)
                .with_context(|| format!("failed to resolve home {}", root.display()))?;
            if root.exists() && !root.is_dir() {
                return Err(crate::error::UserError::new(format!(
                    "the home {} is not a directory",
                    root.display()
                ))
                .hint("--home and TEMPEST_ENV_HOME name a directory (made if missing)")
                .into());
            }
            return Ok(Self::under(&root));
        }
        let dirs = directories::ProjectDirs::from("org", "openstack", "tempest-env")
            .context("no home directory found for the cache and data dirs; set TEMPEST_ENV_HOME")?;
        Ok(Self {
            cache: dirs.cache_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
        })
    }

    /// Both dirs under one root: `<root>/cache` and `<root>/data`.
    pub fn under(root: &Path) -> Self {
        Self {
            cache: root.join("cache"),
            data: root.join("data"),
        }
    }

    pub fn cache(&self) -> &Path {
        &self.cache
    }

    pub fn data(&self) -> &Path {
        &self.data
    }

    pub fn envs(&self) -> PathBuf {
        self.data.join("envs")
    }

    pub fn locks(&self) -> PathBuf {
        self.data.join("locks")
    }

    pub fn interpreters(&self) -> PathBuf {
        self.cache.join("interpreters")
    }

    pub fn store(&self) -> PathBuf {
        self.cache.join("store")
    }

    pub fn bases(&self) -> PathBuf {
        self.cache.join("bases")
    }
}
