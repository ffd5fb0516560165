//! `tempest-env run --from LOCK`: the settings of a locked run (its
//! environment rebuilt from the lock, its runner, filter, arguments and
//! variables), and the verdict on whether the new run gave the locked
//! results. The run itself is [`super::run::run`], like any other.

use std::path::PathBuf;

use anyhow::Result;

use super::OutputFormat;
use super::run::{RunSettings, Target, config_file};
use crate::Context;
use crate::lockfile::Lock;
use crate::lockfile::rebuild::{self, RebuildOptions};
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;

/// A per-run environment rebuilt from a locked run, whose results the new
/// run is compared with.
pub(super) struct FromLock {
    pub python: Option<String>,
    pub lock: Lock,
    pub options: RebuildOptions,
    pub allow_differences: bool,
}

/// Resolve `run --from LOCK`: the locked run's environment, runner,
/// filter, arguments and variables; only where packages come from, the
/// interpreter, a tempest.conf and what to keep may be given.
pub(super) fn settings(args: crate::cli::RunArgs, path: &std::path::Path) -> Result<RunSettings> {
    use crate::error::UserError;
    super::compose_args::only_index_options(&args.compose, "--from")?;
    let given: Vec<&str> = [
        (args.filter.is_some(), "a filter"),
        (!args.posargs.is_empty(), "runner arguments"),
        (args.env.is_some(), "--env"),
        (args.definition.is_some(), "--def"),
        (args.runner.is_some(), "--runner"),
        (!args.set_env.is_empty(), "--set-env"),
        (!args.pass_env.is_empty(), "--pass-env"),
        (args.isolated_env, "--isolated-env"),
        (args.list, "--list"),
        (args.compose.strict, "--strict"),
        (args.compose.no_deps, "--no-deps"),
        (args.compose.compile_bytecode, "--compile-bytecode"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if !given.is_empty() {
        return Err(UserError::new(format!(
            "--from runs the locked command; {} cannot be added to it",
            given.join(", ")
        ))
        .hint("only --python, --find-links, --index-url, --offline, --installer, --config-file, --keep and --allow-differences go with it")
        .into());
    }
    let lock = rebuild::read(path)?;
    let Some(run) = &lock.run else {
        return Err(UserError::new(format!(
            "lock {}: it records an environment, not a run",
            path.display()
        ))
        .hint("`tempest-env create NAME --from FILE` rebuilds it; `tempest-env lock --run last` locks a run")
        .into());
    };
    let runner = Preset::parse(&run.runner);
    runner.validate()?;
    let config_file = match (args.config_file, &run.config_file) {
        (Some(given), _) => config_file(Some(given))?,
        (None, Some(locked)) if std::path::Path::new(locked).is_file() => {
            Some(PathBuf::from(locked))
        }
        (None, Some(locked)) => {
            return Err(UserError::new(format!(
                "the locked run used --config-file {locked}, which is not on this machine"
            ))
            .hint("give this machine's tempest.conf with --config-file")
            .into());
        }
        (None, None) => None,
    };
    let policy = Policy {
        set: run.set_env.clone().into_iter().collect(),
        pass: run.pass_env.clone(),
        isolated: run.isolated_env,
        user_site: run.user_site,
        config_file,
    };
    let python = args.compose.python.clone();
    let spec = super::compose_args::spec(args.compose)?;
    Ok(RunSettings {
        runner,
        filter: run.filter.clone(),
        posargs: run.args.clone(),
        list: false,
        keep: args.keep,
        policy,
        format: args.format.into(),
        target: Target::Lock(Box::new(FromLock {
            python,
            options: RebuildOptions {
                index: spec.index,
                installer: spec.installer,
            },
            allow_differences: args.allow_differences,
            lock,
        })),
    })
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
