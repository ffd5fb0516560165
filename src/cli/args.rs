//! The command line, as clap derive types. Doc comments are the help text.
//! Nothing here does any work: the resolver ([`super::resolve`]) turns
//! these into each command's settings.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::cli::completion::{definition_names, environment_names, runner_presets};

/// Python environments for Tempest plugins: created in milliseconds, holding
/// exactly the plugins asked for.
#[derive(Debug, Parser)]
#[command(name = "tempest-env", version, propagate_version = true)]
#[command(
    long_about = "Python environments for Tempest plugins: created in milliseconds, holding exactly \
the plugins asked for.\n\nEach environment is a PEP 405 virtual environment that pip, uv and editors \
accept as one. Plugins are installed natively from wheels or source trees into a shared store and \
made visible to the environment through layers."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Keep the cache and data dirs under DIR instead of the platform's
    /// directories.
    #[arg(long, global = true, env = "TEMPEST_ENV_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Say more about what is done (interpreter queries, store reuse, ...).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an environment.
    Create(Box<CreateArgs>),
    /// Install plugin artifacts (wheels or source trees) into an environment.
    Install(InstallArgs),
    /// Remove distributions from an environment.
    Uninstall(UninstallArgs),
    /// List the environments.
    List(ListArgs),
    /// Show what an environment is made of.
    Show(ShowArgs),
    /// Print an environment's directory.
    Path(NameArg),
    /// Remove an environment.
    Remove(RemoveArgs),
    /// Run a command inside an environment.
    Exec(ExecArgs),
    /// Run the tests: in an existing environment, or in a fresh per-run one
    /// composed from a definition or the same options as `create`.
    Run(Box<RunArgs>),
    /// Show a recorded run's results (default: the last run).
    Results(ResultsArgs),
    /// List the tests whose status changed between two runs.
    Diff(DiffArgs),
    /// List the definitions (built-in and the project's tempest-env.toml).
    Defs(ListArgs),
    /// Show the tempest plugins an environment (or interpreter) makes
    /// visible, from where, and their problems, importing nothing.
    Plugins(PluginsArgs),
    /// Why a plugin is or is not visible, and what is unhealthy: one
    /// finding at a time, with the command that fixes it. Exits 1 when
    /// something needs fixing.
    Doctor(DoctorArgs),
    /// Every plugin alone, then all together: which ones load, how many
    /// tests each lists.
    Sanity(Box<crate::cli::isolation_args::SanityArgs>),
    /// Find the smallest set of plugins that makes a test fail.
    Bisect(Box<crate::cli::isolation_args::BisectArgs>),
    /// Per-test status with a plugin alone against with the whole set.
    Compare(Box<crate::cli::isolation_args::CompareArgs>),
    /// Find the earlier tests on a failed test's worker, and their plugins,
    /// that make it fail: a recorded run's worker order replayed in fresh
    /// environments and searched.
    Pollution(Box<crate::cli::isolation_args::PollutionArgs>),
    /// Write a lock: an environment recorded exactly (interpreter, every
    /// distribution in the order Python sees it, wheel hashes), for
    /// `create --from` on another machine; or a run, with its command and
    /// per-test results, for `run --from`.
    Lock(LockArgs),
    /// Run one probe of a plan (`sanity --plan`, `compare --plan`) on this
    /// machine and write its result, for `--collect`.
    Probe(Box<crate::cli::isolation_args::ProbeArgs>),
    /// Remove what crashed or interrupted commands left behind, and store
    /// entries and bases no environment uses.
    Gc(GcArgs),
    /// List or remove base layers.
    #[command(subcommand)]
    Base(BaseCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Write the man pages (for maintainers).
    #[command(hide = true)]
    GenerateMan(GenerateManArgs),
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LinkModeArg {
    /// Make the store entry visible through the environment's `.pth` file
    /// (constant time, whatever the wheel's size).
    #[default]
    Pth,
    /// Symlink every file of the store entry into site-packages, and
    /// mirror base and requirement layers there too (tools that read
    /// site-packages without Python, such as uv, then see them).
    Symlink,
    /// Hard-link every file into site-packages (copy across filesystems).
    Hardlink,
    /// Copy every file into site-packages.
    Copy,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The environment's name.
    pub name: String,

    /// Put the environment in DIR instead of the data dir (it is still known
    /// by its name).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// The prompt shown by `bin/activate` (default: the name).
    #[arg(long, value_name = "PROMPT")]
    pub prompt: Option<String>,

    /// Rebuild the environment if it exists.
    #[arg(long)]
    pub clear: bool,

    /// Rebuild exactly the environment a lock records (`tempest-env lock`),
    /// then compare: every difference is one line, and exit 1 unless
    /// --allow-differences. Only --python, --find-links, --index-url,
    /// --offline and --installer may be added.
    #[arg(long, value_name = "LOCK")]
    pub from: Option<PathBuf>,

    /// With --from: report differences from the lock but exit 0.
    #[arg(long, requires = "from")]
    pub allow_differences: bool,

    #[command(flatten)]
    pub compose: ComposeArgs,
}

/// What an environment is made of: shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The interpreter: a version (`3.11`), a name on PATH (`python3.12`) or a
    /// path. Default: the first `python3` on PATH.
    #[arg(long, value_name = "REQ")]
    pub python: Option<String>,

    /// Install a plugin: a wheel file, a plugin source tree (editable), or a
    /// requirement resolved by the installer on top of the base. Repeatable.
    #[arg(long = "plugin", value_name = "ARTIFACT")]
    pub plugins: Vec<String>,

    /// How installed wheels are made visible (default: pth).
    #[arg(long, value_enum, value_name = "MODE")]
    pub link_mode: Option<LinkModeArg>,

    /// Install pip (from the interpreter's bundled ensurepip wheel).
    #[arg(long)]
    pub seed: bool,

    /// Compile bytecode now rather than on first import.
    #[arg(long)]
    pub compile_bytecode: bool,

    /// A requirement of the shared base layer (`--base tempest`,
    /// `--base tempest==47.0.0`). Repeatable.
    #[arg(long = "base", value_name = "REQ")]
    pub base: Vec<String>,

    #[command(flatten)]
    pub installer: InstallerArgs,

    /// Make the interpreter's system-wide site-packages a layer, as tox's
    /// `sitepackages = True` does.
    #[arg(long)]
    pub all_plugin: bool,

    /// Another directory for the system set, before the interpreter's own
    /// site-packages: its distributions win over their copies there.
    /// Repeatable.
    #[arg(long, value_name = "DIR")]
    pub system_site: Vec<PathBuf>,

    /// Include the user site-packages too.
    #[arg(long)]
    pub user_site: bool,

    /// Of the system set's plugins, include only this one (entry-point or
    /// distribution name). Repeatable.
    #[arg(long, value_name = "PLUGIN")]
    pub system_plugin: Vec<String>,

    /// Hide this plugin of the system set. Repeatable.
    #[arg(long, value_name = "PLUGIN")]
    pub exclude_plugin: Vec<String>,

    /// Fail when a visible distribution's requirements are unmet (default: warn).
    #[arg(long)]
    pub strict: bool,

    /// Install wheels without their dependencies (by default, what a wheel
    /// needs and the base lacks is resolved on top of the base).
    #[arg(long)]
    pub no_deps: bool,
}

/// Where the installer backend gets packages, and which backend: shared
/// by `create`, `run` and `install`.
#[derive(Debug, Args)]
pub struct InstallerArgs {
    /// A constraints file for the base (OpenStack's upper-constraints.txt).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,

    #[command(flatten)]
    pub index: IndexArgs,
}

/// Where packages come from, and which installer fetches them: shared by
/// everything that installs (with [`InstallerArgs`]) and by `probe`, which
/// rebuilds a lock (its help says so, see `ProbeArgs`).
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// A directory of wheels for the installer. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub find_links: Vec<PathBuf>,

    /// The package index for the installer.
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,

    /// Never use the network (only --find-links and the installer's cache).
    #[arg(long)]
    pub offline: bool,

    /// Which installer builds bases and resolves requirements (default:
    /// auto).
    #[arg(long, value_enum, value_name = "INSTALLER")]
    pub installer: Option<InstallerArg>,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum InstallerArg {
    /// uv when it is on PATH, else the interpreter's pip.
    #[default]
    Auto,
    Uv,
    Pip,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The environment.
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: String,
    /// Wheel files, plugin source trees, or requirements (resolved by the
    /// installer on top of the environment's base).
    #[arg(required = true, value_name = "ARTIFACT")]
    pub artifacts: Vec<String>,
    /// How installed wheels are made visible.
    #[arg(long, value_enum, default_value_t)]
    pub link_mode: LinkModeArg,
    /// Compile bytecode now rather than on first import.
    #[arg(long)]
    pub compile_bytecode: bool,
    #[command(flatten)]
    pub installer: InstallerArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The environment.
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: String,
    /// Distribution names.
    #[arg(required = true, value_name = "DIST")]
    pub dists: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The environment.
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The environment.
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The environments.
    #[arg(required = true)]
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The environment.
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: String,
    /// The command and its arguments (`--` before them is optional).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The environment to lock.
    #[arg(add = ArgValueCompleter::new(environment_names),
          required_unless_present = "run", conflicts_with = "run")]
    pub name: Option<String>,
    /// Lock a recorded run instead (its id, a unique prefix, or `last`):
    /// its environment as it was, and what it ran and gave, for
    /// `run --from`.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Write the lock here instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell. Load with
    /// `source <(tempest-env completions bash)` (zsh alike), or
    /// `tempest-env completions fish | source`.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct GenerateManArgs {
    /// Where to write the pages.
    #[arg(long, default_value = "man")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum BaseCommand {
    /// List the built bases.
    List(ListArgs),
    /// Remove a base.
    Remove {
        /// The base's hash (or a unique prefix of it).
        hash: String,
        /// Remove it even though registered environments use it (they are
        /// named, and need `create NAME --clear` afterwards). A base that a
        /// running tempest-env process uses is never removed.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The test filter: a regular expression for tempest, stestr and testr.
    pub filter: Option<String>,

    /// Arguments passed on to the runner (`{posargs}` of a custom runner).
    #[arg(last = true, value_name = "RUNNER_ARGS")]
    pub posargs: Vec<String>,

    /// Run in this existing environment.
    #[arg(long, value_name = "NAME", conflicts_with = "definition",
          add = ArgValueCompleter::new(environment_names))]
    pub env: Option<String>,

    /// Compose the per-run environment from this definition.
    #[arg(long = "def", value_name = "NAME", add = ArgValueCompleter::new(definition_names))]
    pub definition: Option<String>,

    #[command(flatten)]
    pub compose: ComposeArgs,

    /// tempest, stestr, testr, subunit, or a command with `{filter}` and
    /// `{posargs}` placeholders (default: the definition's, else tempest).
    #[arg(long, value_name = "PRESET|CMD", add = ArgValueCompleter::new(runner_presets))]
    pub runner: Option<String>,

    /// List the tests instead of running them.
    #[arg(long)]
    pub list: bool,

    /// Keep the per-run environment (as `run-<id>`) and print its path.
    #[arg(long)]
    pub keep: bool,

    /// Compose without the default `tempest` base: the plugins bring
    /// tempest themselves (as in a run recorded from a definition).
    #[arg(long, conflicts_with_all = ["env", "base", "definition"])]
    pub no_base: bool,

    /// Run against this tempest.conf (a real cloud), used as is.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Re-run a locked run (`tempest-env lock --run`): its environment
    /// rebuilt, its command run, and its per-test results compared; exit 1
    /// when they differ. Only --python, --find-links, --index-url,
    /// --offline, --installer, --config-file and --keep may be added.
    #[arg(long, value_name = "LOCK")]
    pub from: Option<PathBuf>,

    /// With --from: report where the rebuilt environment differs from the
    /// lock, and run anyway.
    #[arg(long, requires = "from")]
    pub allow_differences: bool,

    /// Set a variable in the runner's environment. Repeatable.
    #[arg(long = "set-env", value_name = "K=V")]
    pub set_env: Vec<String>,

    /// Pass variables matching this glob even when they would be removed
    /// (or, with --isolated-env, at all). Repeatable.
    #[arg(long = "pass-env", value_name = "PATTERN")]
    pub pass_env: Vec<String>,

    /// Pass only what --pass-env names (and what a shell needs), like tox.
    #[arg(long)]
    pub isolated_env: bool,

    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The run id (or a unique prefix); default: the last run.
    pub run: Option<String>,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// List the recorded runs instead.
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    pub run_a: String,
    pub run_b: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PluginsArgs {
    /// The environment (default: the interpreter as it is, see --python).
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: Option<String>,
    /// Look at the interpreter's system-wide set, as `create --all-plugin`
    /// composes it.
    #[arg(long, conflicts_with = "name")]
    pub all_plugin: bool,
    /// The interpreter to look at without an environment; a virtual
    /// environment's python stands for that environment.
    #[arg(long, value_name = "REQ", conflicts_with = "name")]
    pub python: Option<String>,
    /// Another directory for the system set, before the interpreter's own
    /// site-packages (as `create`). Repeatable.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    pub system_site: Vec<PathBuf>,
    /// Of the system set's plugins, show only this one, as `create` would
    /// select it. Repeatable.
    #[arg(long, value_name = "PLUGIN", conflicts_with = "name")]
    pub system_plugin: Vec<String>,
    /// Hide this plugin of the system set, as `create` would. Repeatable.
    #[arg(long, value_name = "PLUGIN", conflicts_with = "name")]
    pub exclude_plugin: Vec<String>,
    /// Include the user site-packages in the system set.
    #[arg(long, conflicts_with = "name")]
    pub user_site: bool,
    /// Also load every plugin the way tempest does, each alone in its own
    /// process and then all together, and report what breaks; exits 1 when
    /// a plugin does not load alone or together.
    #[arg(long)]
    pub check: bool,
    /// With --check, run every probe in a fresh python. By default a fork
    /// server imports tempest once and forks each probe from it.
    #[arg(long, requires = "check")]
    pub no_fork_server: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The environment to examine (default: only the calling environment).
    #[arg(add = ArgValueCompleter::new(environment_names))]
    pub name: Option<String>,
    /// The plugin (entry-point or distribution name) whose visibility to
    /// explain.
    pub plugin: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}
