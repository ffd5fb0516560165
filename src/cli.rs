//! The command line, as clap derive types. Doc comments are the help text.
//! Nothing here does any work: `lib.rs` turns these into each command's
//! options.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Sanity(Box<crate::isolation_cli::SanityArgs>),
    /// Find the smallest set of plugins that makes a test fail.
    Bisect(Box<crate::isolation_cli::BisectArgs>),
    /// Per-test status with a plugin alone against with the whole set.
    Compare(Box<crate::isolation_cli::CompareArgs>),
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
    /// Symlink every file of the store entry into site-packages.
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

    /// How installed wheels are made visible.
    #[arg(long, value_enum, default_value_t)]
    pub link_mode: LinkModeArg,

    /// Install pip (from the interpreter's bundled ensurepip wheel).
    #[arg(long)]
    pub seed: bool,

    /// Compile bytecode now rather than on first import.
    #[arg(long)]
    pub compile_bytecode: bool,

    /// A requirement of the shared base layer; `--base` alone means
    /// `tempest`. Repeatable.
    #[arg(long = "base", value_name = "REQ", num_args = 0..=1, default_missing_value = "tempest")]
    pub base: Vec<String>,

    /// A constraints file for the base (OpenStack's upper-constraints.txt).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,

    /// A directory of wheels for the installer. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub find_links: Vec<PathBuf>,

    /// The package index for the installer.
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,

    /// Never use the network (only --find-links and the installer's cache).
    #[arg(long)]
    pub offline: bool,

    /// Which installer builds bases and resolves requirements.
    #[arg(long, value_enum, default_value_t)]
    pub installer: InstallerArg,

    /// Make the interpreter's system-wide site-packages a layer, as tox's
    /// `sitepackages = True` does.
    #[arg(long)]
    pub all_plugin: bool,

    /// Another directory for the system set. Repeatable.
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
    pub name: String,
    /// Wheel files or plugin source trees.
    #[arg(required = true, value_name = "ARTIFACT")]
    pub artifacts: Vec<String>,
    /// How installed wheels are made visible.
    #[arg(long, value_enum, default_value_t)]
    pub link_mode: LinkModeArg,
    /// Compile bytecode now rather than on first import.
    #[arg(long)]
    pub compile_bytecode: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The environment.
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
    pub name: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The environment.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The environments.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The environment.
    pub name: String,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
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
    #[arg(long, value_name = "NAME", conflicts_with = "definition")]
    pub env: Option<String>,

    /// Compose the per-run environment from this definition.
    #[arg(long = "def", value_name = "NAME")]
    pub definition: Option<String>,

    #[command(flatten)]
    pub compose: ComposeArgs,

    /// tempest, stestr, testr, subunit, or a command with `{filter}` and
    /// `{posargs}` placeholders (default: the definition's, else tempest).
    #[arg(long, value_name = "PRESET|CMD")]
    pub runner: Option<String>,

    /// List the tests instead of running them.
    #[arg(long)]
    pub list: bool,

    /// Keep the per-run environment (as `run-<id>`) and print its path.
    #[arg(long)]
    pub keep: bool,

    /// Run against this tempest.conf (a real cloud), used as is.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,

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
    pub name: Option<String>,
    /// Look at the interpreter's system-wide set, as `--all-plugin` sees it.
    #[arg(long, conflicts_with = "name")]
    pub all_plugin: bool,
    /// The interpreter to look at without an environment.
    #[arg(long, value_name = "REQ", conflicts_with = "name")]
    pub python: Option<String>,
    /// With --all-plugin, include the user site-packages.
    #[arg(long)]
    pub user_site: bool,
    /// Also load every plugin the way tempest does, each alone in its own
    /// process and then all together, and report what breaks; exits 1 when
    /// a plugin does not load alone or together.
    #[arg(long)]
    pub check: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The environment to examine (default: only the calling environment).
    pub name: Option<String>,
    /// The plugin (entry-point or distribution name) whose visibility to
    /// explain.
    pub plugin: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}
