//! Command-line arguments of `sanity`, `bisect` and `compare`.

use clap::Args;

#[derive(Debug, Args)]
pub struct SanityArgs {}

#[derive(Debug, Args)]
pub struct BisectArgs {}

#[derive(Debug, Args)]
pub struct CompareArgs {}
