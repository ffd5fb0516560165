//! The tempest workspace, written natively inside the environment (never
//! through `tempest init`, never touching `~/.tempest`): `.stestr.conf`
//! pointing at the tempest package's `test_discover`, `etc/tempest.conf`
//! with log and lock paths, `logs/`, `tempest_lock/`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::env::Environment;
use crate::error::UserError;

#[derive(Debug, Clone)]
pub struct Workspace {
    pub dir: PathBuf,
    /// The directory holding the `tempest` package.
    pub top_dir: PathBuf,
    pub test_path: PathBuf,
}

/// Where the environment's python imports `tempest` from: the first entry
/// of its effective path that has `tempest/test_discover/`.
pub fn tempest_location(env: &Environment) -> Result<PathBuf> {
    let path = crate::dist::scan::effective_path(&[crate::dist::scan::SiteDir {
        dir: env.site_packages(),
        origin: crate::dist::scan::Origin::Env,
    }])?;
    path.entries
        .iter()
        .map(|e| e.dir.clone())
        .find(|dir| dir.join("tempest").join("test_discover").is_dir())
        .ok_or_else(|| {
            UserError::new(format!("environment `{}` has no tempest to run", env.name))
                .hint("add a base with `--base` (tempest from the index), use `--all-plugin` with a system-wide tempest, or `--def demo` for the offline stand-in")
                .into()
        })
}

/// Write the workspace in `env` (its configuration is rewritten on every
/// run; `.stestr/` history is kept). With `config_file`, the user's own
/// tempest.conf is used as is and no `etc/tempest.conf` is written. `fresh`:
/// the environment was made for this run alone (and is locked by it), so
/// its files are written directly rather than through a temporary file.
pub fn prepare(env: &Environment, config_file: Option<&Path>, fresh: bool) -> Result<Workspace> {
    let write = |path: &Path, bytes: &[u8]| -> Result<()> {
        if fresh {
            fs_err::write(path, bytes)?;
            Ok(())
        } else {
            crate::atomic::write_file(path, bytes)
        }
    };
    let top_dir = tempest_location(env)?;
    let test_path = top_dir.join("tempest").join("test_discover");
    let dir = env.root.join("workspace");
    fs_err::create_dir_all(&dir)?;
    for sub in ["etc", "logs", "tempest_lock"] {
        fs_err::create_dir_all(dir.join(sub))?;
    }
    let stestr = format!(
        "[DEFAULT]\ntest_path={}\ntop_dir={}\ngroup_regex=([^\\.]*\\.)*\n",
        test_path.display(),
        top_dir.display()
    );
    write(&dir.join(".stestr.conf"), stestr.as_bytes())?;
    // An empty stestr repository, as `stestr init` makes it: real tempest
    // refuses to list or run without one.
    let repo = dir.join(".stestr");
    if !repo.join("format").is_file() {
        fs_err::create_dir_all(&repo)?;
        write(&repo.join("format"), b"1\n")?;
        write(&repo.join("next-stream"), b"0\n")?;
    }
    let testr = format!(
        "[DEFAULT]\ntest_command=${{PYTHON:-python}} -m subunit.run discover -t {} {} $LISTOPT $IDOPTION\ntest_id_option=--load-list $IDFILE\ntest_list_option=--list\ngroup_regex=([^\\.]*\\.)*\n",
        top_dir.display(),
        test_path.display()
    );
    write(&dir.join(".testr.conf"), testr.as_bytes())?;
    if config_file.is_none() {
        let conf = format!(
            "# Written by tempest-env for this environment's runs.\n[DEFAULT]\nlog_dir = {}\nlog_file = tempest.log\n\n[oslo_concurrency]\nlock_path = {}\n",
            dir.join("logs").display(),
            dir.join("tempest_lock").display()
        );
        write(&dir.join("etc").join("tempest.conf"), conf.as_bytes())?;
    }
    Ok(Workspace {
        dir,
        top_dir,
        test_path,
    })
}
