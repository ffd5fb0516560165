//! `tempest-env lock ENV [-o FILE]`.

use std::path::Path;

use anyhow::Result;

use crate::Context;
use crate::env::Environment;
use crate::error::UserError;

pub(super) fn run(name: &str, output: Option<&Path>, ctx: &Context) -> Result<u8> {
    if let Some(path) = output
        && let Ok(meta) = fs_err::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(UserError::new(format!(
            "-o {}: exists and is not a regular file",
            path.display()
        ))
        .hint("name a new file or a regular file to replace")
        .into());
    }
    let env = Environment::open(&ctx.home, name)?;
    let interpreter = env.interpreter(&ctx.home, &ctx.printer)?;
    let lock = crate::lockfile::record::environment(&env, &interpreter)?;
    let text = lock.render();
    match output {
        Some(path) => {
            crate::atomic::write_file(path, text.as_bytes())?;
            ctx.printer.status(format!(
                "Locked `{name}` ({} distributions) in {}",
                lock.distributions.len(),
                path.display()
            ));
        }
        None => ctx.printer.out(text.trim_end()),
    }
    Ok(0)
}
