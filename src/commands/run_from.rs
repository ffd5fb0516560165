//! `tempest-env run --from LOCK`: what a locked run brings (its lock and
//! how to rebuild its environment), and the verdict on whether the new run
//! gave the locked results. The run itself is [`super::run::run`], like any
//! other; the command line resolves its settings from the lock.

use super::OutputFormat;
use super::run::{RunSettings, Target};
use crate::Context;
use crate::lockfile::Lock;
use crate::lockfile::rebuild::RebuildOptions;

/// A per-run environment rebuilt from a locked run, whose results the new
/// run is compared with.
pub(crate) struct FromLock {
    pub python: Option<String>,
    pub lock: Lock,
    pub options: RebuildOptions,
    pub allow_differences: bool,
}

/// Say whether a run from a lock gave the locked results: 0 when it did
/// (whatever the runner's own exit code, which then is the locked one), 1
/// when anything differs, one line each.
pub(super) fn judge(differences: &[String], code: u8, settings: &RunSettings, ctx: &Context) -> u8 {
    let human = settings.format == OutputFormat::Human;
    if differences.is_empty() {
        if human {
            let tests = match &settings.target {
                Target::Lock(from) => from.lock.run.as_ref().map_or(0, |r| r.results.len()),
                _ => 0,
            };
            ctx.printer.out(format!(
                "The results match the lock: {tests} tests, the same statuses, exit code {code}"
            ));
        }
        return 0;
    }
    if human {
        for line in differences {
            ctx.printer
                .out(format!("differs from the locked run: {line}"));
        }
    }
    ctx.printer.status(format!(
        "{} difference(s) from the locked run",
        differences.len()
    ));
    crate::error::EXIT_FAILURE
}
