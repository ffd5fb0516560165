//! `tempest-env sanity`, `bisect` and `compare`.

use anyhow::Result;

use crate::Context;
use crate::isolation_cli::{BisectArgs, CompareArgs, SanityArgs};

pub fn sanity(_args: SanityArgs, _ctx: &Context) -> Result<u8> {
    anyhow::bail!("sanity is being built")
}

pub fn bisect(_args: BisectArgs, _ctx: &Context) -> Result<u8> {
    anyhow::bail!("bisect is being built")
}

pub fn compare(_args: CompareArgs, _ctx: &Context) -> Result<u8> {
    anyhow::bail!("compare is being built")
}
