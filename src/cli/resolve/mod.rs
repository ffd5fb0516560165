//! The one resolver: what the user typed (the clap structs of
//! [`crate::cli`]) and the project's definitions (`tempest-env.toml`, the
//! built-ins) become the plain settings each command takes. A flag wins
//! over a definition's key; a repeatable flag adds to its list. Input is
//! checked here, before any command makes anything.
//!
//! The shared pieces, one function each: the definition `--def` names,
//! the interpreter request, the runner, the environment policy and the
//! composition ([`compose`]). The commands' own settings: [`run`]
//! (including `run --from`), [`isolation`] (`sanity`, `bisect`, `compare`,
//! their plans, `probe`, `pollution`), and the small ones below.

pub(crate) mod compose;
pub(crate) mod isolation;
pub(crate) mod run;

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{ComposeArgs, CreateArgs, PluginsArgs};
use crate::commands::create::{CreateSettings, FromLock};
use crate::commands::plugins::PluginsSettings;
use crate::definition::{Definition, Named};
use crate::env::compose::ComposeSpec;
use crate::home::Home;
use crate::layers::system::Selection;
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;

/// The definition `--def NAME` names: the project's (found from the
/// current directory up) or a built-in one.
fn definition(name: Option<&str>) -> Result<Option<Named>> {
    let cwd = std::env::current_dir()?;
    match name {
        Some(name) => Ok(Some(crate::definition::find(name, &cwd)?)),
        None => Ok(None),
    }
}

/// The interpreter request: `--python`, else the definition's.
fn python(args: &ComposeArgs, def: Option<&Definition>) -> Option<String> {
    args.python
        .clone()
        .or_else(|| def.and_then(|d| d.python.clone()))
}

/// The runner: `--runner`, else the definition's, else tempest; a custom
/// command is checked now.
fn runner(flag: Option<&str>, def: Option<&Definition>) -> Result<Preset> {
    let runner = Preset::parse(
        flag.or(def.and_then(|d| d.runner.as_deref()))
            .unwrap_or("tempest"),
    );
    runner.validate()?;
    Ok(runner)
}

/// What the runner's environment gets beside the definition's: the
/// command line's variables and patterns (`run`'s options; none for the
/// isolation commands).
#[derive(Default)]
struct PolicyFlags<'a> {
    set_env: &'a [String],
    pass_env: &'a [String],
    isolated_env: bool,
    user_site: bool,
    config_file: Option<PathBuf>,
}

/// The runner's environment policy: the definition's, plus the flags.
fn policy(def: Option<&Definition>, flags: PolicyFlags) -> Result<Policy> {
    let mut set: Vec<(String, String)> = def
        .map(|d| d.set_env.clone().into_iter().collect())
        .unwrap_or_default();
    set.extend(run::parse_set_env(flags.set_env)?);
    let mut pass = def.map(|d| d.pass_env.clone()).unwrap_or_default();
    pass.extend(flags.pass_env.iter().cloned());
    Ok(Policy {
        set,
        pass,
        isolated: flags.isolated_env || def.is_some_and(|d| d.isolated_env),
        user_site: flags.user_site || def.is_some_and(|d| d.user_site),
        config_file: run::config_file(flags.config_file)?,
    })
}

/// The composition of a run or a probe: the flags on top of the
/// definition, and tempest as the base when nothing brings one (and
/// `default_base` allows it).
fn composition(
    args: ComposeArgs,
    def: Option<&Named>,
    home: &Home,
    default_base: bool,
) -> Result<ComposeSpec> {
    let mut spec = compose::spec_with(args, def.map(|def| (def, home)))?;
    if spec.base.is_empty() && spec.system.is_empty() && def.is_none() && default_base {
        spec.base = vec!["tempest".into()];
    }
    Ok(spec)
}

/// `create`: a composition, or a lock to rebuild (with only the index
/// options beside it).
pub(crate) fn create(args: CreateArgs) -> Result<CreateSettings> {
    let from = match args.from {
        Some(path) => Some(FromLock {
            lock: compose::only_index_options(&args.compose, "--from")
                .and_then(|()| crate::lockfile::rebuild::read(&path))?,
            allow_differences: args.allow_differences,
        }),
        None => None,
    };
    Ok(CreateSettings {
        name: args.name,
        python: args.compose.python.clone(),
        path: args.path,
        prompt: args.prompt,
        clear: args.clear,
        compose: compose::spec(args.compose)?,
        from,
    })
}

/// `plugins`: an environment, or the interpreter with a system set chosen
/// as `create` chooses it.
pub(crate) fn plugins(args: PluginsArgs) -> PluginsSettings {
    PluginsSettings {
        env: args.name,
        python: args.python,
        selection: Selection {
            all_plugin: args.all_plugin,
            extra_dirs: args
                .system_site
                .into_iter()
                .map(|d| std::path::absolute(&d).unwrap_or(d))
                .collect(),
            include: args.system_plugin,
            exclude: args.exclude_plugin,
            user_site: args.user_site,
        },
        check: args.check,
        fork_server: !args.no_fork_server,
        format: args.format.into(),
    }
}

/// Probes at once: `--jobs`, else the number of cores; at least one.
fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
    .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> Definition {
        let mut d = Definition {
            python: Some("3.11".into()),
            runner: Some("stestr".into()),
            pass_env: vec!["OS_*".into()],
            ..Definition::default()
        };
        d.set_env.insert("A".into(), "1".into());
        d
    }

    /// `create`'s composition options as the parser reads `words`.
    fn compose_args(words: &[&str]) -> ComposeArgs {
        use clap::Parser;
        let line = ["tempest-env", "create", "x"].iter().chain(words);
        match crate::cli::Cli::try_parse_from(line).unwrap().command {
            crate::cli::Command::Create(create) => create.compose,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn a_flag_wins_over_the_definition_and_the_definition_over_the_default() {
        let d = definition();
        assert_eq!(runner(Some("testr"), Some(&d)).unwrap(), Preset::Testr);
        assert_eq!(runner(None, Some(&d)).unwrap(), Preset::Stestr);
        assert_eq!(runner(None, None).unwrap(), Preset::Tempest);
        assert!(runner(Some("  "), Some(&d)).is_err());
        assert_eq!(
            python(&compose_args(&[]), Some(&d)).as_deref(),
            Some("3.11")
        );
        let args = compose_args(&["--python", "3.12"]);
        assert_eq!(python(&args, Some(&d)).as_deref(), Some("3.12"));
        assert_eq!(python(&args, None).as_deref(), Some("3.12"));
    }

    #[test]
    fn the_policy_adds_the_flags_to_the_definitions_lists() {
        let d = definition();
        let set_env = ["B=2".to_string()];
        let pass_env = ["HTTP_*".to_string()];
        let merged = policy(
            Some(&d),
            PolicyFlags {
                set_env: &set_env,
                pass_env: &pass_env,
                isolated_env: true,
                ..PolicyFlags::default()
            },
        )
        .unwrap();
        assert_eq!(
            merged.set,
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(merged.pass, ["OS_*", "HTTP_*"]);
        assert!(merged.isolated && !merged.user_site);
        let bad = ["=1".to_string()];
        let flags = PolicyFlags {
            set_env: &bad,
            ..PolicyFlags::default()
        };
        assert!(policy(None, flags).is_err());
    }

    #[test]
    fn jobs_are_at_least_one() {
        assert_eq!(threads(Some(0)), 1);
        assert_eq!(threads(Some(3)), 3);
        assert!(threads(None) >= 1);
    }
}
