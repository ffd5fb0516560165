//! Every write and every delete of an install, an uninstall, a rollback or a
//! replacement stays inside the environment. Paths are joined onto its root,
//! and a path's directories may be symbolic links: a view of the system set
//! (`system/N/`) is a directory of links into a system directory, `lib64`
//! is a link to `lib`, and a user may link anything anywhere. Writing or
//! deleting through such a link would change a file outside the
//! environment, so no directory above a target may be a symbolic link.
//!
//! Each directory is checked once per operation (the check costs one
//! `lstat` per directory, not per file), and files are then created with
//! `O_EXCL`, which never follows a link at the last component either.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::error::UserError;

/// Why a path may not be written or deleted.
#[derive(Debug, thiserror::Error)]
pub enum Escape {
    #[error("`{0}` is not a plain path inside the environment")]
    NotInside(PathBuf),
    #[error("{path} would be reached through {link}, a symbolic link to {target}")]
    Link {
        path: PathBuf,
        link: PathBuf,
        target: PathBuf,
    },
    #[error("{path} would be placed under {file}, which is not a directory")]
    NotADirectory { path: PathBuf, file: PathBuf },
}

impl Escape {
    /// The refusal a user sees: bad input, exit 2.
    pub fn refusal(self, doing: &str) -> anyhow::Error {
        UserError::new(format!("refusing to {doing}: {self}"))
            .hint(
                "nothing inside an environment is ever written or removed through a symbolic link",
            )
            .into()
    }
}

/// The directories of one environment checked so far.
#[derive(Debug)]
pub struct Confinement {
    root: PathBuf,
    /// Env-relative directories known to be real directories (or absent,
    /// and so created as real ones).
    checked: HashSet<PathBuf>,
}

impl Confinement {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            checked: HashSet::new(),
        }
    }

    /// Check that `rel` (relative to the root) is a plain relative path and
    /// that none of the directories above it is a symbolic link or a file.
    pub fn check(&mut self, rel: &Path) -> Result<(), Escape> {
        if rel.as_os_str().is_empty()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(Escape::NotInside(rel.to_path_buf()));
        }
        // `./share/x` (a scheme whose data directory is `.`) is `share/x`.
        let plain: PathBuf;
        let rel = if rel.starts_with(".") {
            plain = rel
                .components()
                .filter(|c| *c != Component::CurDir)
                .collect();
            plain.as_path()
        } else {
            rel
        };
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        if parent.as_os_str().is_empty() || self.checked.contains(parent) {
            return Ok(());
        }
        let mut dir = PathBuf::new();
        let mut absent = false;
        for part in parent.components() {
            dir.push(part);
            if absent || self.checked.contains(&dir) {
                continue;
            }
            let full = self.root.join(&dir);
            match fs_err::symlink_metadata(&full) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Escape::Link {
                        path: self.root.join(rel),
                        target: fs_err::read_link(&full).unwrap_or_default(),
                        link: full,
                    });
                }
                Ok(_) => {
                    return Err(Escape::NotADirectory {
                        path: self.root.join(rel),
                        file: full,
                    });
                }
                // Created by the install as a real directory.
                Err(_) => absent = true,
            }
            self.checked.insert(dir.clone());
        }
        Ok(())
    }

    /// Whether `rel` passes [`Self::check`].
    pub fn allows(&mut self, rel: &Path) -> bool {
        self.check(rel).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_links_and_files_above_a_target() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(root.path().join("lib/site")).unwrap();
        fs_err::write(root.path().join("file"), "").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("lib/view")).unwrap();
        let mut c = Confinement::new(root.path());
        assert!(c.check(Path::new("lib/site/a.py")).is_ok());
        assert!(c.check(Path::new("lib/new/deeper/a.py")).is_ok());
        assert!(c.check(Path::new("top.txt")).is_ok());
        assert!(c.check(Path::new("./lib/site/b.py")).is_ok());
        assert!(c.check(Path::new("./lib/view/b.py")).is_err());
        assert!(matches!(
            c.check(Path::new("lib/view/pkg/x.py")),
            Err(Escape::Link { .. })
        ));
        assert!(matches!(
            c.check(Path::new("file/x")),
            Err(Escape::NotADirectory { .. })
        ));
        assert!(c.check(Path::new("../x")).is_err());
        assert!(c.check(Path::new("/etc/x")).is_err());
    }
}
