//! `tempest-env install` / `uninstall`, and the plugins of `create`.

use anyhow::Result;

use crate::Context;
use crate::env::Environment;
use crate::env::manifest::LinkMode;
use crate::interpreter::Interpreter;

pub struct Artifact;

pub fn resolve_artifacts(raw: &[String]) -> Result<Vec<Artifact>> {
    if let Some(first) = raw.first() {
        crate::bail_user!("cannot install `{first}` yet");
    }
    Ok(Vec::new())
}

pub fn install_into(
    _env: &mut Environment,
    _interpreter: &Interpreter,
    _artifacts: &[Artifact],
    _mode: LinkMode,
    _seed: bool,
    _ctx: &Context,
) -> Result<()> {
    Ok(())
}

pub fn install(_name: &str, _artifacts: &[String], _mode: LinkMode, _ctx: &Context) -> Result<u8> {
    Ok(0)
}

pub fn uninstall(_name: &str, _dists: &[String], _ctx: &Context) -> Result<u8> {
    Ok(0)
}
