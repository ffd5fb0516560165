//! One module per subcommand: orchestration and output. The work itself is in
//! the library modules; clap types stop at [`dispatch`].

mod base;
mod compose_args;
mod create;
mod defs;
mod doctor;
mod exec;
pub mod gc;
mod install;
mod isolation;
mod list;
mod lock;
mod plan;
mod plugins;
mod pollution;
mod remove;
mod results;
mod run;
mod run_from;
mod show;

use anyhow::Result;

use crate::Context;
use crate::cli::{BaseCommand, Command, Format, LinkModeArg};
use crate::env::manifest::LinkMode;

/// Human output or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
}

impl From<Format> for OutputFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Human => Self::Human,
            Format::Json => Self::Json,
        }
    }
}

impl From<LinkModeArg> for LinkMode {
    fn from(mode: LinkModeArg) -> Self {
        match mode {
            LinkModeArg::Pth => Self::Pth,
            LinkModeArg::Symlink => Self::Symlink,
            LinkModeArg::Hardlink => Self::Hardlink,
            LinkModeArg::Copy => Self::Copy,
        }
    }
}

/// Run one command; the result is the process exit code.
pub fn dispatch(command: Command, ctx: &Context) -> Result<u8> {
    match command {
        Command::Create(args) => {
            let args = *args;
            let from = match args.from {
                Some(path) => Some(create::FromLock {
                    lock: compose_args::only_index_options(&args.compose, "--from")
                        .and_then(|()| crate::lockfile::rebuild::read(&path))?,
                    allow_differences: args.allow_differences,
                }),
                None => None,
            };
            create::run(
                create::CreateSettings {
                    name: args.name,
                    python: args.compose.python.clone(),
                    path: args.path,
                    prompt: args.prompt,
                    clear: args.clear,
                    compose: compose_args::spec(args.compose)?,
                    from,
                },
                ctx,
            )
        }
        Command::Lock(args) => {
            let subject = match (&args.name, &args.run) {
                (_, Some(run)) => lock::Subject::Run(run),
                (Some(name), None) => lock::Subject::Env(name),
                (None, None) => {
                    return Err(crate::error::UserError::new(
                        "name an environment, or a run with --run RUN",
                    )
                    .into());
                }
            };
            lock::run(subject, args.output.as_deref(), ctx)
        }
        Command::Base(BaseCommand::List(args)) => base::list(args.format.into(), ctx),
        Command::Base(BaseCommand::Remove { hash, force }) => base::remove(&hash, force, ctx),
        Command::Install(args) => install::install(
            &args.name,
            &args.artifacts,
            args.link_mode.into(),
            args.compile_bytecode,
            compose_args::installing(args.installer)?,
            ctx,
        ),
        Command::Uninstall(args) => install::uninstall(&args.name, &args.dists, ctx),
        Command::List(args) => list::run(args.format.into(), ctx),
        Command::Show(args) => show::show(&args.name, args.format.into(), ctx),
        Command::Path(args) => show::path(&args.name, ctx),
        Command::Remove(args) => remove::run(&args.names, ctx),
        Command::Exec(args) => exec::run(&args.name, &args.command, ctx),
        Command::Gc(args) => gc::run(args.dry_run, ctx),
        Command::Defs(args) => defs::run(args.format.into(), ctx),
        Command::Doctor(args) => doctor::run(
            args.name.as_deref(),
            args.plugin.as_deref(),
            args.format.into(),
            ctx,
        ),
        Command::Sanity(args) => isolation::sanity(*args, ctx),
        Command::Bisect(args) => isolation::bisect(*args, ctx),
        Command::Compare(args) => isolation::compare(*args, ctx),
        Command::Pollution(args) => pollution::pollution(*args, ctx),
        Command::Probe(args) => isolation::interrupted(plan::probe(*args, ctx), ctx),
        Command::Plugins(args) => plugins::run(
            plugins::PluginsSettings {
                env: args.name,
                python: args.python,
                selection: crate::layers::system::Selection {
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
            },
            ctx,
        ),
        Command::Run(args) => run::run(run::settings(*args, ctx)?, ctx),
        Command::Results(args) => results::show(
            args.run.as_deref(),
            args.junit.as_deref(),
            args.list,
            args.format.into(),
            ctx,
        ),
        Command::Diff(args) => results::diff(&args.run_a, &args.run_b, args.format.into(), ctx),
        Command::Completions(args) => {
            let mut stdout = std::io::stdout().lock();
            crate::cli::completion::write_registration(&args.shell.to_string(), &mut stdout)?;
            Ok(0)
        }
        Command::GenerateMan(args) => {
            for written in crate::cli::man::write_all(&args.dir)? {
                ctx.printer.status(format!("wrote {}", written.display()));
            }
            Ok(0)
        }
    }
}
