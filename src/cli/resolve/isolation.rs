//! The isolation commands' settings: the plugin set of `sanity`, `bisect`
//! and `compare` (composed like `run`'s environment, from `--def` and the
//! composition options), their plans and collections, `probe`, and
//! `pollution`, whose composition is the recorded run's.

use std::path::Path;

use anyhow::Result;
use clap::Parser;

use super::{PolicyFlags, compose};
use crate::cli::isolation_args::{
    BisectArgs, CompareArgs, PlanArgs, PollutionArgs, ProbeArgs, SetArgs,
};
use crate::cli::{Cli, Command};
use crate::commands::isolation::{BisectSettings, CompareSettings, SetSettings};
use crate::commands::plan::{CollectSettings, ProbeSettings};
use crate::commands::pollution::PollutionSettings;
use crate::env::compose::ComposeSpec;
use crate::error::UserError;
use crate::home::Home;
use crate::isolation::plan::execute;

/// The plugin set: the flags on top of the definition, tempest as the base
/// when nothing brings one; the runner's environment is the definition's.
pub(crate) fn set(args: SetArgs, home: &Home) -> Result<SetSettings> {
    let definition = super::definition(args.definition.as_deref())?;
    let d = definition.as_ref().map(|n| &n.definition);
    let python = super::python(&args.compose, d);
    let from_definition = d.map_or(0, |d| d.plugins.len());
    let policy = super::policy(
        d,
        PolicyFlags {
            user_site: args.compose.user_site,
            ..PolicyFlags::default()
        },
    )?;
    let runner = super::runner(args.runner.as_deref(), d)?;
    let spec = super::composition(args.compose, definition.as_ref(), home, true)?;
    Ok(SetSettings {
        python,
        definition: args.definition,
        from_definition,
        spec,
        runner,
        policy,
        threads: super::threads(args.jobs),
        fork_server: !args.no_fork_server,
        format: args.format.into(),
    })
}

pub(crate) fn bisect(args: &BisectArgs) -> BisectSettings {
    BisectSettings {
        filter: args.filter.clone(),
        action: args.probe.into(),
        repeat: args.repeat as usize,
        target: args.target_plugin.clone(),
    }
}

pub(crate) fn compare(args: &CompareArgs) -> CompareSettings {
    CompareSettings {
        filter: args.filter.clone().unwrap_or_default(),
        target: args.target_plugin.clone(),
    }
}

/// A file to write: new, or a regular file to replace.
pub(crate) fn writable(path: &Path, option: &str) -> Result<()> {
    if let Ok(meta) = fs_err::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(UserError::new(format!(
            "{option} {}: exists and is not a regular file",
            path.display()
        ))
        .hint("name a new file or a regular file to replace")
        .into());
    }
    Ok(())
}

/// `sanity|compare --collect DIR --plan FILE`: the set comes from the
/// plan, so only where packages come from (for the one probe collecting
/// may run itself), the interpreter and the format may be given; `filter`
/// is `compare`'s positional filter (`None` for `sanity`), which the plan
/// has too.
pub(crate) fn collect(
    set: SetArgs,
    plan: PlanArgs,
    filter: Option<Option<String>>,
) -> Result<CollectSettings> {
    let command = if filter.is_some() {
        "compare"
    } else {
        "sanity"
    };
    only_collect_options(&set, filter.as_ref().and_then(Option::as_ref))?;
    let (Some(path), Some(dir)) = (plan.plan, plan.collect) else {
        return Err(UserError::new("--collect DIR needs --plan FILE").into());
    };
    Ok(CollectSettings {
        command,
        plan: path,
        dir,
        python: set.compose.python.clone(),
        rebuild: compose::rebuild(&set.compose.installer.index),
        format: set.format.into(),
    })
}

/// `--collect` takes the set from the plan: only where packages come from
/// (for the one probe it may run itself), the interpreter and the format.
fn only_collect_options(set: &SetArgs, filter: Option<&String>) -> Result<()> {
    compose::only_index_options(&set.compose, "--collect")?;
    let given: Vec<&str> = [
        (set.definition.is_some(), "--def"),
        (set.runner.is_some(), "--runner"),
        (filter.is_some(), "a filter"),
        (set.compose.strict, "--strict"),
        (set.compose.no_deps, "--no-deps"),
        (set.compose.compile_bytecode, "--compile-bytecode"),
        (set.compose.installer.constraints.is_some(), "--constraints"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "--collect takes the set from the plan; {} cannot be added to it",
        given.join(", ")
    ))
    .hint(
        "only --python, --find-links, --index-url, --offline, --installer and --format go with it",
    )
    .into())
}

/// `probe PLAN --index N --out FILE`: the probe's lock is rebuilt with
/// this machine's interpreter and packages.
pub(crate) fn probe(args: ProbeArgs) -> Result<ProbeSettings> {
    writable(&args.out, "--out")?;
    Ok(ProbeSettings {
        options: execute::Options {
            python: args.python,
            rebuild: compose::rebuild(&args.source),
            allow_differences: args.allow_differences,
        },
        plan: args.plan,
        index: args.index,
        out: args.out,
    })
}

/// `pollution TEST`: the run and its composition are found by the command;
/// recorded compositions are read by [`recorded_composition`].
pub(crate) fn pollution(args: PollutionArgs) -> PollutionSettings {
    PollutionSettings {
        test: args.test,
        run: args.run,
        repeat: args.repeat as usize,
        threads: super::threads(args.jobs),
        format: args.format.into(),
        read_composition: recorded_composition,
    }
}

/// The interpreter request and spec that `create ARGS` would compose: a
/// recorded run's composition, read as `create` reads its options.
fn recorded_composition(args: &[String]) -> Result<(Option<String>, ComposeSpec)> {
    let words = ["tempest-env", "create", "replay"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    let cli = Cli::try_parse_from(words)
        .map_err(|e| anyhow::anyhow!("the run's recorded composition does not parse: {e}"))?;
    let Command::Create(create) = cli.command else {
        anyhow::bail!("the run's recorded composition does not parse");
    };
    let python = create.compose.python.clone();
    Ok((python, compose::spec(create.compose)?))
}
