//! `tempest-env exec NAME -- CMD...`.

use std::ffi::OsString;

use anyhow::Result;

use crate::Context;
use crate::env::Environment;

pub(crate) fn run(name: &str, command: &[OsString], ctx: &Context) -> Result<u8> {
    let env = Environment::open(&ctx.home, name)?;
    let mut cmd = crate::env::command::command_in(&env, command, &ctx.printer)?;
    crate::env::command::run_foreground(&mut cmd, command)
}
