//! `tempest-env lock ENV [-o FILE]` and `tempest-env lock --run RUN [-o FILE]`.
//!
//! A run's environment is locked when the run is recorded, while it still
//! exists (a per-run environment is removed right after): `lock --run`
//! reads that lock back and adds what the run ran and gave, so locking a
//! run twice gives the same bytes.

use std::path::Path;

use anyhow::Result;

use crate::Context;
use crate::env::Environment;
use crate::error::UserError;
use crate::lockfile::Lock;
use crate::runner::record;

/// What to lock.
pub(crate) enum Subject<'a> {
    Env(&'a str),
    /// A recorded run: its id, a prefix of it, or `last`.
    Run(&'a str),
}

pub(crate) fn run(subject: Subject, output: Option<&Path>, ctx: &Context) -> Result<u8> {
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
    let (lock, what) = match subject {
        Subject::Env(name) => {
            let env = Environment::open(&ctx.home, name)?;
            let interpreter = env.interpreter(&ctx.home, &ctx.printer)?;
            let lock = crate::lockfile::record::environment(&env, &interpreter, &ctx.home)?;
            (lock, format!("`{name}`"))
        }
        Subject::Run(id) => {
            let lock = of_run(id, ctx)?;
            let what = format!(
                "run {}",
                lock.run.as_ref().map_or(id, |run| run.id.as_str())
            );
            (lock, what)
        }
    };
    let text = lock.render();
    match output {
        Some(path) => {
            crate::atomic::write_file(path, text.as_bytes())?;
            ctx.printer.status(format!(
                "Locked {what} ({} distributions{}) in {}",
                lock.distributions.len(),
                lock.run
                    .as_ref()
                    .map(|run| format!(", {} test results", run.results.len()))
                    .unwrap_or_default(),
                path.display()
            ));
        }
        None => ctx.printer.out(text.trim_end()),
    }
    Ok(0)
}

/// The lock of recorded run `id`: its environment's lock from the time of
/// the run, with the run section.
fn of_run(id: &str, ctx: &Context) -> Result<Lock> {
    let (rec, results, dir) = record::load(&ctx.home, Some(id))?;
    let not_lockable = |why: &str| -> anyhow::Error {
        UserError::new(format!("run {} cannot be locked: {why}", rec.id))
            .hint("runs recorded by this version of tempest-env can be; `tempest-env run` records one")
            .into()
    };
    let Some(run) = crate::runner::replay::locked_run(&rec, results.as_ref()) else {
        return Err(not_lockable("it was recorded without its command"));
    };
    let text = match fs_err::read_to_string(dir.join(record::LOCK_FILE)) {
        Ok(text) => text,
        Err(_) => {
            return Err(not_lockable(
                "it was recorded without its environment's lock",
            ));
        }
    };
    let mut lock = Lock::parse(&text).map_err(|e| {
        anyhow::anyhow!("{} is corrupt: {e}", dir.join(record::LOCK_FILE).display())
    })?;
    lock.run = Some(run);
    Ok(lock)
}
