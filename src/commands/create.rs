//! `tempest-env create`.

use std::path::PathBuf;

use anyhow::Result;

use crate::Context;
use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions};
use crate::lockfile::Lock;
use crate::lockfile::rebuild::{self, RebuildOptions};

pub(crate) struct CreateSettings {
    pub name: String,
    pub python: Option<String>,
    pub path: Option<PathBuf>,
    pub prompt: Option<String>,
    pub clear: bool,
    pub compose: ComposeSpec,
    /// Rebuild from a lock instead of `compose`.
    pub from: Option<FromLock>,
}

pub(crate) struct FromLock {
    pub lock: Lock,
    pub allow_differences: bool,
}

pub(crate) fn run(settings: CreateSettings, ctx: &Context) -> Result<u8> {
    crate::home::env_name::validate(&settings.name)?;
    let python = settings.python.clone().or_else(|| {
        settings
            .from
            .as_ref()
            .map(|from| rebuild::python_request(&from.lock))
    });
    let interpreter = crate::interpreter::find(python.as_deref(), &ctx.home, &ctx.printer)?;
    let compose = match &settings.from {
        Some(from) => rebuild::spec(
            &from.lock,
            &interpreter,
            &RebuildOptions {
                index: settings.compose.index.clone(),
                installer: settings.compose.installer,
            },
            &ctx.home,
        )?,
        None => settings.compose,
    };
    let options = CreateOptions {
        ephemeral: false,
        name: settings.name,
        path: settings.path,
        prompt: settings.prompt,
        clear: settings.clear,
        register: true,
    };
    let env = env::create(&ctx.home, &options, &interpreter, &ctx.printer, |env| {
        compose::compose(env, &interpreter, &compose, &ctx.home, &ctx.printer)
    })?;
    ctx.printer.status(format!(
        "Created environment `{}` (Python {} at {}) in {}",
        env.name,
        interpreter.info.version,
        interpreter.executable.display(),
        env.root.display()
    ));
    ctx.printer.status(format!(
        "Activate with: source {}",
        crate::shell::sh_quote(&env.bin().join("activate").to_string_lossy())
    ));
    match settings.from {
        Some(from) => compare_with_lock(&env, &interpreter, &from, ctx),
        None => Ok(0),
    }
}

/// Lock what was built and compare it with the lock it was built from.
fn compare_with_lock(
    env: &env::Environment,
    interpreter: &crate::interpreter::Interpreter,
    from: &FromLock,
    ctx: &Context,
) -> Result<u8> {
    let differences = rebuild::check(&from.lock, env, interpreter, &ctx.home)?;
    if differences.is_empty() {
        ctx.printer.status(format!(
            "`{}` matches the lock: {} distributions, same versions, sources and hashes",
            env.name,
            from.lock.distributions.len()
        ));
        return Ok(0);
    }
    report_differences(&differences, from.allow_differences, ctx);
    if from.allow_differences {
        return Ok(0);
    }
    Ok(crate::error::EXIT_FAILURE)
}

/// Each difference from a lock on its own line, and what accepts them.
pub(crate) fn report_differences(differences: &[String], allowed: bool, ctx: &Context) {
    for line in differences {
        ctx.printer.warn(format!("differs from the lock: {line}"));
    }
    if !allowed {
        ctx.printer.status(format!(
            "{} difference(s) from the lock; --allow-differences accepts them",
            differences.len()
        ));
    }
}
