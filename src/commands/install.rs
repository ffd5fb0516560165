//! `tempest-env install` / `uninstall`.

use anyhow::Result;

use crate::Context;
use crate::env::compose::{self, ComposeSpec};
use crate::env::install::{self as ops, Artifact};
use crate::env::manifest::LinkMode;
use crate::env::{self, Environment};
use crate::layers::LayerKind;

fn locked(name: &str, ctx: &Context) -> Result<(crate::lock::LockGuard, Environment)> {
    crate::home::env_name::validate(name)?;
    let guard = crate::lock::acquire(
        &env::lock_path(&ctx.home, name),
        &format!("environment `{name}`"),
        &ctx.printer,
    )?;
    Ok((guard, Environment::open(&ctx.home, name)?))
}

pub(crate) fn install(
    name: &str,
    raw: &[String],
    mode: LinkMode,
    compile_bytecode: bool,
    installing: ComposeSpec,
    ctx: &Context,
) -> Result<u8> {
    let artifacts = ops::resolve_artifacts(raw)?;
    let (_guard, mut env) = locked(name, ctx)?;
    let interpreter = env.interpreter(&ctx.home, &ctx.printer)?;
    // A pip wheel takes the place of the guard; the guard comes back unless
    // pip did, whether or not the install worked. Nothing else touches it.
    let brings_pip = artifacts.iter().any(is_pip_wheel);
    if brings_pip {
        env::activate::remove_pip_guard(&env)?;
    }
    let result = install_artifacts(
        &mut env,
        &interpreter,
        artifacts,
        mode,
        compile_bytecode,
        installing,
        ctx,
    );
    if brings_pip {
        env::activate::write_pip_guard(&env)?;
    }
    result
}

fn is_pip_wheel(artifact: &Artifact) -> bool {
    let Artifact::Wheel(path) = artifact else {
        return false;
    };
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .is_some_and(|dist| crate::dist::name::normalize(dist) == "pip")
}

fn install_artifacts(
    env: &mut Environment,
    interpreter: &crate::interpreter::Interpreter,
    artifacts: Vec<Artifact>,
    mode: LinkMode,
    compile_bytecode: bool,
    installing: ComposeSpec,
    ctx: &Context,
) -> Result<u8> {
    let (requirements, files): (Vec<Artifact>, Vec<Artifact>) = artifacts
        .into_iter()
        .partition(|a| matches!(a, Artifact::Requirement(_)));
    if !files.is_empty() {
        let all: Vec<(Artifact, LinkMode)> = files.into_iter().map(|a| (a, mode)).collect();
        let options = ops::InstallOptions {
            compile_bytecode,
            index: installing.index.clone(),
            installer: installing.installer,
        };
        ops::install_into(env, interpreter, &all, &options, &ctx.home, &ctx.printer)?;
    }
    if !requirements.is_empty() {
        let requirements: Vec<String> = requirements
            .into_iter()
            .filter_map(|a| match a {
                Artifact::Requirement(r) => Some(r),
                _ => None,
            })
            .collect();
        // Resolved on top of the environment's base, if it has one.
        let base = env
            .manifest
            .layers
            .iter()
            .find(|l| l.kind == LayerKind::Base)
            .and_then(|l| l.path.parent())
            .map(crate::layers::base::open)
            .transpose()?
            .flatten();
        let scripts = compose::add_requirements(
            env,
            interpreter,
            &installing,
            &requirements,
            base.as_ref(),
            &ctx.home,
            &ctx.printer,
        )?;
        let layer = env.manifest.layers.len() - 1;
        compose::write_launchers(env, vec![(layer, scripts)])?;
        // Linked like the environment's other layers, or asked for now.
        let linked = env.manifest.layers.iter().any(|l| l.linked.is_some());
        if linked || mode == LinkMode::Symlink {
            env::expose::link_layers(env)?;
        }
        env::layers::write(env)?;
        env.save()?;
    }
    compose::check_requirements(env, interpreter, false, &ctx.home, &ctx.printer)?;
    Ok(0)
}

pub(crate) fn uninstall(name: &str, dists: &[String], ctx: &Context) -> Result<u8> {
    let (_guard, mut env) = locked(name, ctx)?;
    ops::uninstall(&mut env, dists, &ctx.printer)?;
    // Uninstalling pip leaves the guard in its place.
    if dists
        .iter()
        .any(|d| crate::dist::name::normalize(d) == "pip")
    {
        env::activate::write_pip_guard(&env)?;
    }
    Ok(0)
}
