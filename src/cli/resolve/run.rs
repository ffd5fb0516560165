//! `run`'s settings: an existing environment (`--env`), a composition
//! (`--def` and the composition options, tempest as the default base), or
//! a locked run (`--from`, whose lock brings everything but where
//! packages come from, the interpreter, a tempest.conf and what to keep).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{PolicyFlags, compose};
use crate::cli::RunArgs;
use crate::commands::run::{FromLock, RunSettings, Target};
use crate::error::UserError;
use crate::home::Home;
use crate::lockfile::rebuild;
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;

/// Resolve `run`'s arguments: an existing environment, a definition, or
/// inline options; the default base is `tempest`.
pub(crate) fn settings(args: RunArgs, home: &Home) -> Result<RunSettings> {
    if let Some(path) = args.from.clone() {
        return from_lock(args, &path);
    }
    let definition = super::definition(args.definition.as_deref())?;
    let d = definition.as_ref().map(|n| &n.definition);
    let policy = super::policy(
        d,
        PolicyFlags {
            set_env: &args.set_env,
            pass_env: &args.pass_env,
            isolated_env: args.isolated_env,
            user_site: args.compose.user_site,
            config_file: args.config_file.clone(),
        },
    )?;
    let runner = super::runner(args.runner.as_deref(), d)?;
    let target = match &args.env {
        Some(name) => {
            if compose::any_given(&args.compose) {
                return Err(UserError::new(
                    "--env runs in an existing environment; it cannot be combined with options that compose one (--plugin, --base, --all-plugin, --python, ...)",
                )
                .hint(format!("`tempest-env install {name} ...` adds plugins to it"))
                .into());
            }
            Target::Env(name.clone())
        }
        None => {
            let python = super::python(&args.compose, d);
            let spec = super::composition(args.compose, definition.as_ref(), home, !args.no_base)?;
            Target::Compose {
                python,
                spec: Box::new(spec),
            }
        }
    };
    Ok(RunSettings {
        target,
        runner,
        filter: args.filter,
        posargs: args.posargs,
        list: args.list,
        keep: args.keep,
        policy,
        format: args.format.into(),
    })
}

/// Resolve `run --from LOCK`: the locked run's environment, runner,
/// filter, arguments and variables; only where packages come from, the
/// interpreter, a tempest.conf and what to keep may be given.
fn from_lock(args: RunArgs, path: &Path) -> Result<RunSettings> {
    compose::only_index_options(&args.compose, "--from")?;
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
        (None, Some(locked)) if Path::new(locked).is_file() => Some(PathBuf::from(locked)),
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
    Ok(RunSettings {
        runner,
        filter: run.filter.clone(),
        posargs: run.args.clone(),
        list: false,
        keep: args.keep,
        policy,
        format: args.format.into(),
        target: Target::Lock(Box::new(FromLock {
            python: args.compose.python.clone(),
            options: compose::rebuild(&args.compose.installer.index),
            allow_differences: args.allow_differences,
            lock,
        })),
    })
}

/// Parse `K=V` for `--set-env`.
pub(super) fn parse_set_env(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|item| {
            item.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    UserError::new(format!("--set-env `{item}` is not KEY=VALUE")).into()
                })
        })
        .collect()
}

/// A path for a config file, checked.
pub(super) fn config_file(raw: Option<PathBuf>) -> Result<Option<PathBuf>> {
    match raw {
        None => Ok(None),
        Some(path) if path.is_file() => Ok(Some(std::path::absolute(&path)?)),
        Some(path) => {
            Err(UserError::new(format!("--config-file {}: no such file", path.display())).into())
        }
    }
}
