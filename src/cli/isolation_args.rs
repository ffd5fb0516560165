//! Command-line arguments of `sanity`, `bisect`, `compare` and `pollution`.
//!
//! The plugin set is composed like `run`'s environment: the `--plugin`
//! artifacts that declare a `tempest.test_plugins` entry point are the
//! members (each tried alone and in subsets); everything else (tempest or
//! its stand-in, libraries, the base) is part of every probe. With
//! `--all-plugin`, every system-wide plugin is a member too.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::{ComposeArgs, Format, IndexArgs};

/// What the plugin set is made of, shared by the three commands.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Compose every probe from this definition (`--def demo`: the offline
    /// stand-in), plus the options below.
    #[arg(long = "def", value_name = "NAME")]
    pub definition: Option<String>,

    #[command(flatten)]
    pub compose: ComposeArgs,

    /// tempest, stestr, testr, subunit, or a command with `{filter}` (default:
    /// the definition's, else tempest).
    #[arg(long, value_name = "PRESET|CMD")]
    pub runner: Option<String>,

    /// Probes to run at once (default: the number of cores). `bisect` also
    /// tries that many subsets in each round of its search.
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Run every listing probe in a fresh process. By default a fork
    /// server imports what probes share once and forks each listing from
    /// it (runs are always fresh).
    #[arg(long)]
    pub no_fork_server: bool,
}

#[derive(Debug, Args)]
pub struct SanityArgs {
    #[command(flatten)]
    pub set: SetArgs,

    #[command(flatten)]
    pub plan: PlanArgs,
}

/// Fan the probes out to other machines instead of running them here.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Write the probes to FILE as a plan instead of running them: each a
    /// lock and the `tempest-env probe` command that runs it, with a
    /// GitHub Actions matrix and Zuul jobs. With --collect: the plan whose
    /// results to merge.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Merge the results of the plan's probes, found under DIR, into the
    /// report a local run prints (only --find-links, --index-url,
    /// --offline, --installer, --python and --format may be added).
    #[arg(long, value_name = "DIR", requires = "plan")]
    pub collect: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum ProbeArg {
    /// Run the filter's tests: a probe passes when they all pass.
    #[default]
    Run,
    /// List them: a probe passes when discovery finds them.
    List,
}

#[derive(Debug, Args)]
pub struct BisectArgs {
    /// The test filter (a regular expression): it passes with its own
    /// plugin alone and fails with the whole set.
    pub filter: String,

    #[command(flatten)]
    pub set: SetArgs,

    /// What a probe does with the filter.
    #[arg(long, value_enum, default_value_t)]
    pub probe: ProbeArg,

    /// Run every probe N times; probes that disagree are reported as
    /// flaky, never taken for a failure.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,

    /// The plugin whose test it is (distribution or entry-point name, or the
    /// artifact's path); default: found by listing the filter.
    #[arg(long, value_name = "PLUGIN")]
    pub target_plugin: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The test filter (a regular expression).
    #[arg(required_unless_present = "collect")]
    pub filter: Option<String>,

    #[command(flatten)]
    pub set: SetArgs,

    #[command(flatten)]
    pub plan: PlanArgs,

    /// The plugin to run alone (distribution or entry-point name, or the
    /// artifact's path); default: the one whose tests the filter lists.
    #[arg(long, value_name = "PLUGIN")]
    pub target_plugin: Option<String>,
}

#[derive(Debug, Args)]
pub struct PollutionArgs {
    /// The test that failed: its id, or a part of it that names one
    /// failed test of the run.
    pub test: String,

    /// The recorded run to replay (an id or a unique prefix); default: the
    /// newest run in which the test failed.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,

    /// Run every probe N times; probes that disagree are reported as
    /// flaky, never taken for a failure.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,

    /// Probes to run at once (default: the number of cores); the search
    /// also tries that many lists in each round.
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `probe`'s index options are the shared ones, with help that speaks of
/// the rebuild of the probe's lock.
#[derive(Debug, Args)]
#[command(mut_arg("find_links", |a| a.help("A directory of wheels for the rebuild. Repeatable")))]
#[command(mut_arg("index_url", |a| a.help("The package index for the rebuild")))]
#[command(mut_arg("offline", |a| a.help("Never use the network")))]
#[command(mut_arg("installer", |a| a.help("Which installer rebuilds the locked layers (default: the lock's)")))]
pub struct ProbeArgs {
    /// The plan (`sanity --plan FILE`, `compare --plan FILE`).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Which probe, from 0 (the plan's `matrix` lists them).
    #[arg(long, value_name = "N")]
    pub index: usize,

    /// Write the result here, for `--collect`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The interpreter (default: the locked one's major.minor).
    #[arg(long, value_name = "REQ")]
    pub python: Option<String>,

    #[command(flatten)]
    pub source: IndexArgs,

    /// Run even where the environment built here differs from the probe's
    /// lock (the result records the differences).
    #[arg(long)]
    pub allow_differences: bool,
}
