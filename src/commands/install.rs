//! `tempest-env install` / `uninstall`, and the plugins of `create`.

use anyhow::Result;

use crate::Context;
use crate::env::install::{self as ops, Artifact};
use crate::env::manifest::LinkMode;
use crate::env::{self, Environment};
use crate::interpreter::Interpreter;

pub use ops::resolve_artifacts;

/// What `create` installs while the environment is still being built.
pub fn install_into(
    env: &mut Environment,
    interpreter: &Interpreter,
    artifacts: &[Artifact],
    mode: LinkMode,
    seed: bool,
    compile_bytecode: bool,
    ctx: &Context,
) -> Result<()> {
    let mut all: Vec<(Artifact, LinkMode)> = Vec::new();
    if seed {
        // pip manages itself, so it is a real installation.
        all.push((
            Artifact::Wheel(ops::ensurepip_wheel(interpreter)?),
            LinkMode::Copy,
        ));
    }
    all.extend(artifacts.iter().cloned().map(|a| (a, mode)));
    if all.is_empty() {
        return Ok(());
    }
    ops::install_into(
        env,
        interpreter,
        &all,
        compile_bytecode,
        &ctx.home,
        &ctx.printer,
    )?;
    Ok(())
}

fn locked(name: &str, ctx: &Context) -> Result<(crate::lock::LockGuard, Environment)> {
    env::name::validate(name)?;
    let guard = crate::lock::acquire(
        &env::lock_path(&ctx.home, name),
        &format!("environment `{name}`"),
        &ctx.printer,
    )?;
    Ok((guard, Environment::open(&ctx.home, name)?))
}

pub fn install(
    name: &str,
    raw: &[String],
    mode: LinkMode,
    compile_bytecode: bool,
    ctx: &Context,
) -> Result<u8> {
    let artifacts = resolve_artifacts(raw)?;
    let (_guard, mut env) = locked(name, ctx)?;
    let executable = env
        .manifest
        .interpreter
        .executable
        .to_string_lossy()
        .into_owned();
    let interpreter = crate::interpreter::find(Some(&executable), &ctx.home, &ctx.printer)?;
    install_into(
        &mut env,
        &interpreter,
        &artifacts,
        mode,
        false,
        compile_bytecode,
        ctx,
    )?;
    Ok(0)
}

pub fn uninstall(name: &str, dists: &[String], ctx: &Context) -> Result<u8> {
    let (_guard, mut env) = locked(name, ctx)?;
    ops::uninstall(&mut env, dists, &ctx.printer)?;
    Ok(0)
}
