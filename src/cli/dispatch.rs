//! One command run: the parsed command line resolved into the command's
//! settings ([`super::resolve`]) and handed to [`crate::commands`]. The
//! two commands that are about the command line itself, `completions` and
//! `generate-man`, are answered here.

use anyhow::Result;

use super::resolve::{self, compose, isolation};
use super::{BaseCommand, Command};
use crate::Context;
use crate::commands::{self, lock::Subject};

/// Run one command; the result is the process exit code.
///
/// Long: one arm per subcommand, each a few lines; splitting the match
/// would only scatter the table.
pub fn dispatch(command: Command, ctx: &Context) -> Result<u8> {
    let home = &ctx.home;
    match command {
        Command::Create(args) => commands::create::run(resolve::create(*args)?, ctx),
        Command::Lock(args) => {
            let subject = match (&args.name, &args.run) {
                (_, Some(run)) => Subject::Run(run),
                (Some(name), None) => Subject::Env(name),
                (None, None) => {
                    return Err(crate::error::UserError::new(
                        "name an environment, or a run with --run RUN",
                    )
                    .into());
                }
            };
            commands::lock::run(subject, args.output.as_deref(), ctx)
        }
        Command::Base(BaseCommand::List(args)) => commands::base::list(args.format.into(), ctx),
        Command::Base(BaseCommand::Remove { hash, force }) => {
            commands::base::remove(&hash, force, ctx)
        }
        Command::Install(args) => commands::install::install(
            &args.name,
            &args.artifacts,
            args.link_mode.into(),
            args.compile_bytecode,
            compose::installing(args.installer)?,
            ctx,
        ),
        Command::Uninstall(args) => commands::install::uninstall(&args.name, &args.dists, ctx),
        Command::List(args) => commands::list::run(args.format.into(), ctx),
        Command::Show(args) => commands::show::show(&args.name, args.format.into(), ctx),
        Command::Path(args) => commands::show::path(&args.name, ctx),
        Command::Remove(args) => commands::remove::run(&args.names, ctx),
        Command::Exec(args) => commands::exec::run(&args.name, &args.command, ctx),
        Command::Gc(args) => commands::gc::run(args.dry_run, ctx),
        Command::Defs(args) => commands::defs::run(args.format.into(), ctx),
        Command::Doctor(args) => commands::doctor::run(
            args.name.as_deref(),
            args.plugin.as_deref(),
            args.format.into(),
            ctx,
        ),
        Command::Sanity(args) => {
            let args = *args;
            match (&args.plan.plan, &args.plan.collect) {
                (Some(_), Some(_)) => {
                    commands::plan::collect(isolation::collect(args.set, args.plan, None)?, ctx)
                }
                (Some(path), None) => {
                    let path = path.clone();
                    isolation::writable(&path, "--plan")?;
                    commands::plan::write_sanity(path, isolation::set(args.set, home)?, ctx)
                }
                _ => commands::isolation::sanity(isolation::set(args.set, home)?, ctx),
            }
        }
        Command::Bisect(args) => {
            let bisect = isolation::bisect(&args);
            commands::isolation::bisect(isolation::set(args.set, home)?, bisect, ctx)
        }
        Command::Compare(args) => {
            let args = *args;
            let compare = isolation::compare(&args);
            match (&args.plan.plan, &args.plan.collect) {
                (Some(_), Some(_)) => commands::plan::collect(
                    isolation::collect(args.set, args.plan, Some(args.filter))?,
                    ctx,
                ),
                (Some(path), None) => {
                    let path = path.clone();
                    isolation::writable(&path, "--plan")?;
                    let set = isolation::set(args.set, home)?;
                    commands::plan::write_compare(path, set, compare, ctx)
                }
                _ => commands::isolation::compare(isolation::set(args.set, home)?, compare, ctx),
            }
        }
        Command::Pollution(args) => {
            commands::pollution::pollution(isolation::pollution(*args), ctx)
        }
        Command::Probe(args) => commands::plan::probe(isolation::probe(*args)?, ctx),
        Command::Plugins(args) => commands::plugins::run(resolve::plugins(args), ctx),
        Command::Run(args) => commands::run::run(resolve::run::settings(*args, home)?, ctx),
        Command::Results(args) => commands::results::show(
            args.run.as_deref(),
            args.junit.as_deref(),
            args.list,
            args.format.into(),
            ctx,
        ),
        Command::Diff(args) => {
            commands::results::diff(&args.run_a, &args.run_b, args.format.into(), ctx)
        }
        Command::Completions(args) => {
            let mut stdout = std::io::stdout().lock();
            super::completion::write_registration(&args.shell.to_string(), &mut stdout)?;
            Ok(0)
        }
        Command::GenerateMan(args) => {
            for written in super::man::write_all(&args.dir)? {
                ctx.printer.status(format!("wrote {}", written.display()));
            }
            Ok(0)
        }
    }
}
