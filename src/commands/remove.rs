//! `tempest-env remove`: only ever deletes tempest-env environments.

use anyhow::Result;

use crate::Context;
use crate::atomic;
use crate::env::{self, Environment};

pub(crate) fn run(names: &[String], ctx: &Context) -> Result<u8> {
    for name in names {
        crate::home::env_name::validate(name)?;
    }
    for name in names {
        let _lock = crate::lock::acquire(
            &env::lock_path(&ctx.home, name),
            &format!("environment `{name}`"),
            &ctx.printer,
        )?;
        let entry = env::registry_entry(&ctx.home, name);
        let is_link = fs_err::symlink_metadata(&entry).is_ok_and(|m| m.is_symlink());
        if is_link && !entry.exists() {
            // Registered with --path, and the directory is gone already.
            fs_err::remove_file(&entry)?;
            ctx.printer.status(format!(
                "Forgot environment `{name}` (its directory was gone)"
            ));
            continue;
        }
        // Opening checks the manifest: a directory that is not a tempest-env
        // environment is never deleted.
        let env = Environment::open(&ctx.home, name)?;
        let trash = atomic::move_to_trash(&env.root)?;
        if is_link {
            fs_err::remove_file(&entry)?;
        }
        atomic::remove_tree(&trash)?;
        ctx.printer.status(format!(
            "Removed environment `{name}` ({})",
            env.root.display()
        ));
    }
    Ok(0)
}
