//! Man pages generated from the clap definition: `tempest-env.1` and one page
//! per subcommand. They are committed under `man/`; a test fails when they
//! are stale, and `tempest-env generate-man --dir man` rewrites them.
//!
//! Each page carries what clap knows (synopsis as the command is typed,
//! options including the global ones) and what it does not: examples, the
//! environment variables and the exit codes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

/// Examples per subcommand: `(command line, what it does)`. A test parses
/// every line with the real command-line definition.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "create",
        &[
            (
                "tempest-env create py311 --python 3.11",
                "an empty environment on Python 3.11",
            ),
            (
                "tempest-env create nt --base tempest==47.0.0 --plugin neutron-tempest-plugin",
                "tempest and one plugin from the index",
            ),
            (
                "tempest-env create sys --all-plugin",
                "the system-wide plugin set, as tox's all-plugin",
            ),
            (
                "tempest-env create nt2 --from nt.lock --find-links wheels --offline",
                "rebuild a locked environment, offline",
            ),
        ],
    ),
    (
        "install",
        &[
            (
                "tempest-env install nt dist/valet-1.0-py3-none-any.whl",
                "a wheel, through the store",
            ),
            (
                "tempest-env install nt ~/src/valet",
                "a source tree, editable",
            ),
        ],
    ),
    (
        "uninstall",
        &[("tempest-env uninstall nt valet", "remove a distribution")],
    ),
    (
        "list",
        &[(
            "tempest-env list --format json",
            "the environments, for a script",
        )],
    ),
    (
        "show",
        &[(
            "tempest-env show nt",
            "interpreter, layers and plugins of `nt`",
        )],
    ),
    (
        "path",
        &[("cd \"$(tempest-env path nt)\"", "go to an environment")],
    ),
    (
        "remove",
        &[("tempest-env remove nt py311", "remove two environments")],
    ),
    (
        "exec",
        &[
            (
                "tempest-env exec nt python -V",
                "a command inside the environment",
            ),
            (
                "tempest-env exec nt -- tempest list-plugins",
                "the same, with `--`",
            ),
        ],
    ),
    (
        "run",
        &[
            ("tempest-env run --def demo", "the offline demo"),
            (
                "tempest-env run --all-plugin valet",
                "what `tox -eall-plugin valet` did",
            ),
            (
                "tempest-env run --env nt --list neutron",
                "list the matching tests of `nt`",
            ),
            (
                "tempest-env run --from run.lock --find-links wheels --offline",
                "re-run a locked run and compare its results",
            ),
        ],
    ),
    (
        "results",
        &[
            ("tempest-env results", "the last run's results"),
            (
                "tempest-env results --junit report.xml",
                "the last run as JUnit XML",
            ),
        ],
    ),
    (
        "diff",
        &[("tempest-env diff RUN_A RUN_B", "tests whose status changed")],
    ),
    (
        "defs",
        &[("tempest-env defs", "the definitions `--def` takes")],
    ),
    (
        "plugins",
        &[
            ("tempest-env plugins nt", "the plugins `nt` makes visible"),
            (
                "tempest-env plugins --all-plugin --check",
                "load every system-wide plugin",
            ),
        ],
    ),
    (
        "doctor",
        &[
            ("tempest-env doctor nt", "what is unhealthy in `nt`"),
            (
                "tempest-env doctor nt valet",
                "why `valet` is or is not visible",
            ),
        ],
    ),
    (
        "sanity",
        &[
            (
                "tempest-env sanity --def demo",
                "every plugin alone, then together",
            ),
            (
                "tempest-env sanity --def demo --plan plan.json",
                "write the probes as a plan for a CI matrix",
            ),
            (
                "tempest-env sanity --collect results --plan plan.json",
                "merge the probes' results into the table",
            ),
        ],
    ),
    (
        "bisect",
        &[(
            "tempest-env bisect --def demo valet",
            "the plugins that break `valet`",
        )],
    ),
    (
        "compare",
        &[
            (
                "tempest-env compare --def demo valet",
                "alone against together",
            ),
            (
                "tempest-env compare --def demo valet --plan plan.json",
                "the two probes as a plan",
            ),
        ],
    ),
    (
        "probe",
        &[(
            "tempest-env probe plan.json --index 3 --out results/probe-3.json",
            "run one probe of a plan here",
        )],
    ),
    (
        "pollution",
        &[
            (
                "tempest-env pollution test_default_endpoint",
                "the earlier tests that make it fail, in the newest run where it failed",
            ),
            (
                "tempest-env pollution test_default_endpoint --repeat 3",
                "every probe three times: a flaky one is reported, never blamed",
            ),
        ],
    ),
    (
        "lock",
        &[
            ("tempest-env lock nt -o nt.lock", "record `nt` exactly"),
            ("tempest-env lock nt", "print the lock"),
            (
                "tempest-env lock --run last -o run.lock",
                "record the last run, for `run --from`",
            ),
        ],
    ),
    (
        "gc",
        &[
            ("tempest-env gc --dry-run", "what would be removed"),
            (
                "tempest-env gc",
                "remove leftovers and unused store entries",
            ),
        ],
    ),
    (
        "base",
        &[("tempest-env base list", "the bases built in the cache")],
    ),
    (
        "completions",
        &[
            (
                "source <(tempest-env completions bash)",
                "completion in bash (zsh alike)",
            ),
            (
                "tempest-env completions fish | source",
                "completion in fish",
            ),
        ],
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "TEMPEST_ENV_HOME",
        "Keep the cache and data dirs under this directory (as --home does).",
    ),
    (
        "TEMPEST_ENV_LOCK_TIMEOUT",
        "Seconds to wait for a lock another process holds before giving up.",
    ),
    (
        "TEMPEST_ENV_SCRATCH",
        "Where probe environments of sanity, bisect, compare and pollution are made.",
    ),
    ("NO_COLOR", "When set, no colour in the output."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "tempest-env failed, or (doctor, compare, plugins --check) found a problem, or pollution found no polluter.",
    ),
    ("2", "Bad usage or bad input; nothing was changed."),
    (
        "N",
        "run and exec pass the command's exit code through; a signal N becomes 128+N.",
    ),
];

/// `(file name, contents)` of every page.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = Cli::command();
    // Building propagates the global options into every subcommand and names
    // each one as it is typed (`tempest-env run`).
    root.build();
    let mut pages = vec![(
        "tempest-env.1".to_string(),
        page(&root, "tempest-env", None)?,
    )];
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let title = format!("tempest-env-{}", sub.get_name());
        let examples = EXAMPLES
            .iter()
            .find(|(name, _)| *name == sub.get_name())
            .map(|(_, examples)| *examples);
        pages.push((format!("{title}.1"), page(sub, &title, examples)?));
    }
    Ok(pages)
}

fn page(cmd: &clap::Command, title: &str, examples: Option<&[(&str, &str)]>) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone()).title(title);
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
    }
    if let Some(examples) = examples {
        section(&mut buf, "EXAMPLES", examples);
    }
    section(&mut buf, "ENVIRONMENT", ENVIRONMENT);
    section(&mut buf, "EXIT STATUS", EXIT_STATUS);
    if cmd.get_version().is_some() || cmd.get_long_version().is_some() {
        man.render_version_section(&mut buf)?;
    }
    Ok(buf)
}

/// A section of tagged paragraphs: the tag in bold, its text below.
fn section(buf: &mut Vec<u8>, heading: &str, items: &[(&str, &str)]) {
    let mut text = format!(".SH \"{heading}\"\n");
    for (tag, body) in items {
        text.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(tag), roff(body)));
    }
    buf.extend_from_slice(text.as_bytes());
}

/// Text safe in a roff line: backslashes and hyphens escaped, and no line
/// starting with a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Write every page into `dir`.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>> {
    fs_err::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, bytes) in pages()? {
        let path = dir.join(file);
        crate::atomic::write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}
