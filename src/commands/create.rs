//! `tempest-env create`.

use std::path::PathBuf;

use anyhow::Result;

use crate::Context;
use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions};

pub struct CreateSettings {
    pub name: String,
    pub python: Option<String>,
    pub path: Option<PathBuf>,
    pub prompt: Option<String>,
    pub clear: bool,
    pub compose: ComposeSpec,
}

pub fn run(settings: CreateSettings, ctx: &Context) -> Result<u8> {
    env::name::validate(&settings.name)?;
    let interpreter =
        crate::interpreter::find(settings.python.as_deref(), &ctx.home, &ctx.printer)?;
    let options = CreateOptions {
        ephemeral: false,
        name: settings.name,
        path: settings.path,
        prompt: settings.prompt,
        clear: settings.clear,
        register: true,
    };
    let env = env::create(&ctx.home, &options, &interpreter, &ctx.printer, |env| {
        compose::compose(
            env,
            &interpreter,
            &settings.compose,
            &ctx.home,
            &ctx.printer,
        )
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
        env::sh_quote(&env.bin().join("activate").to_string_lossy())
    ));
    Ok(0)
}
