//! Runner presets: how each runner of the older workflows is invoked inside
//! the environment, and where its subunit v2 stream ends up.

use std::path::{Path, PathBuf};

use crate::error::UserError;
use crate::shell::{quoted, sh_quote};

use super::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// `tempest run --regex FILTER`.
    Tempest,
    /// `stestr run FILTER`.
    Stestr,
    /// `testr run FILTER` (testrepository).
    Testr,
    /// `python -m subunit.run discover | subunit-trace`.
    Subunit,
    /// A command with `{filter}` and `{posargs}` placeholders.
    Custom(String),
}

impl Preset {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "tempest" => Self::Tempest,
            "stestr" => Self::Stestr,
            "testr" => Self::Testr,
            "subunit" => Self::Subunit,
            other => Self::Custom(other.to_string()),
        }
    }

    /// Bad input in a custom template, found before anything is made.
    pub fn validate(&self) -> Result<(), UserError> {
        match self {
            Self::Custom(template) if template.trim().is_empty() => {
                Err(UserError::new("--runner: the custom command is empty")
                    .hint("give a preset (tempest, stestr, testr, subunit) or a command"))
            }
            Self::Custom(template) => substitute(template, "", "").map(drop),
            _ => Ok(()),
        }
    }

    /// The runner as the user gave it: the preset's name or the custom
    /// template, so `Preset::parse(p.as_given())` is `p` again.
    pub fn as_given(&self) -> &str {
        match self {
            Self::Custom(template) => template,
            preset => preset.name(),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Tempest => "tempest",
            Self::Stestr => "stestr",
            Self::Testr => "testr",
            Self::Subunit => "subunit",
            Self::Custom(_) => "custom",
        }
    }
}

/// Where the results of a run come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// The newest numbered stream a run adds to this repository directory.
    Repository(PathBuf),
    /// A file the pipeline writes.
    File(PathBuf),
    /// The runner produces no subunit.
    None,
}

/// What to run: a shell command line (so pipelines work), where, and the
/// stream it leaves.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub shell: String,
    pub cwd: PathBuf,
    pub stream: Stream,
}

/// The command for `preset`. `list` lists the tests instead of running them.
pub fn invocation(
    preset: &Preset,
    filter: Option<&str>,
    posargs: &[String],
    list: bool,
    workspace: &Workspace,
    config_file: Option<&Path>,
    stream_file: &Path,
) -> Result<Invocation, UserError> {
    let ws = &workspace.dir;
    let f = filter.map(sh_quote);
    let rest = quoted(posargs);
    let join = |parts: Vec<String>| {
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (shell, stream) = match preset {
        Preset::Tempest => {
            let mut parts = vec!["tempest".to_string(), "run".into()];
            if list {
                parts.push("--list-tests".into());
            }
            if let Some(f) = &f {
                parts.push("--regex".into());
                parts.push(f.clone());
            }
            if let Some(conf) = config_file {
                parts.push("--config-file".into());
                parts.push(sh_quote(&conf.to_string_lossy()));
            }
            parts.push(rest);
            (join(parts), Stream::Repository(ws.join(".stestr")))
        }
        Preset::Stestr => {
            let verb = if list { "list" } else { "run" };
            (
                join(vec![
                    "stestr".into(),
                    verb.into(),
                    f.clone().unwrap_or_default(),
                    rest,
                ]),
                Stream::Repository(ws.join(".stestr")),
            )
        }
        Preset::Testr => {
            let verb = if list { "list-tests" } else { "run" };
            let init = if ws.join(".testrepository").is_dir() {
                ""
            } else {
                "testr init >/dev/null && "
            };
            (
                format!(
                    "{init}{}",
                    join(vec![
                        "testr".into(),
                        verb.into(),
                        f.clone().unwrap_or_default(),
                        rest
                    ])
                ),
                Stream::Repository(ws.join(".testrepository")),
            )
        }
        Preset::Subunit => subunit(workspace, f.as_deref(), &rest, list, stream_file),
        Preset::Custom(template) => {
            if template.trim().is_empty() {
                return Err(UserError::new("--runner: the custom command is empty"));
            }
            let shell = substitute(template, f.as_deref().unwrap_or(""), &rest)?;
            (shell, Stream::None)
        }
    };
    Ok(Invocation {
        shell,
        cwd: ws.clone(),
        stream,
    })
}

/// The `subunit` preset's shell command line: python-subunit's discovery,
/// the filter applied to the listing as stestr applies it, and
/// subunit-trace reading a copy of the stream.
fn subunit(
    workspace: &Workspace,
    f: Option<&str>,
    rest: &str,
    list: bool,
    stream_file: &Path,
) -> (String, Stream) {
    let discover = format!(
        "python -m subunit.run discover -t {} {}",
        sh_quote(&workspace.top_dir.to_string_lossy()),
        sh_quote(&workspace.test_path.to_string_lossy())
    );
    // The filter selects ids as stestr's does: Python's `re.search`
    // on each listed id. A run runs exactly the ids the listing
    // gives (`--load-list`, as testr's configuration runs them).
    let select = match &f {
        Some(f) => format!(
            " | python -c \"import re, sys; r = re.compile(sys.argv[1]); sys.stdout.writelines(l for l in sys.stdin if r.search(l.rstrip('\\\\n')))\" {f}"
        ),
        None => String::new(),
    };
    let listing = format!("{discover} --list | subunit-ls --exists{select}");
    if list {
        (
            format!("set -o pipefail 2>/dev/null; {listing}"),
            Stream::None,
        )
    } else {
        let ids = sh_quote(&ids_file(stream_file).to_string_lossy());
        let (selected, load) = match &f {
            Some(_) => (
                format!("{listing} > {ids} && "),
                format!(" --load-list {ids}"),
            ),
            None => (String::new(), String::new()),
        };
        // subunit-trace: stestr's maintained copy when it is there,
        // else os-testr's. Both reach `subunit.test_results` without
        // importing it, which python-subunit after 1.4.2 no longer
        // does for them: import it first.
        let trace = "python -c \"import importlib.util, runpy, sys, subunit.test_results; sys.argv[0] = 'subunit-trace'; runpy.run_module('stestr.subunit_trace' if importlib.util.find_spec('stestr') else 'os_testr.subunit_trace', run_name='__main__')\" --no-failure-debug";
        (
            format!(
                "set -o pipefail 2>/dev/null; {selected}{discover}{load} {rest} | tee {} | {trace}",
                sh_quote(&stream_file.to_string_lossy())
            ),
            Stream::File(stream_file.to_path_buf()),
        )
    }
}

/// A custom template with `{filter}` and `{posargs}` replaced, in one pass
/// (a filter holding the text `{posargs}` stays as it is). Each value is
/// already quoted for the shell, so it is one word (the arguments: one word
/// each) wherever it stands; inside quotes the template's own quotes would
/// end the value's and let the filter run as shell code, so a placeholder
/// there is refused.
pub fn substitute(template: &str, filter: &str, posargs: &str) -> Result<String, UserError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut out = String::with_capacity(template.len() + filter.len());
    let mut quote = Quote::None;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let placeholder = ["{filter}", "{posargs}"]
            .into_iter()
            .find(|p| rest.starts_with(p));
        if let Some(p) = placeholder {
            if quote != Quote::None {
                return Err(UserError::new(format!(
                    "--runner: `{p}` stands inside quotes in `{template}`"
                ))
                .hint(format!(
                    "write {p} without quotes: it is substituted as one shell word, already quoted"
                )));
            }
            out.push_str(if p == "{filter}" { filter } else { posargs });
            rest = &rest[p.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        match (quote, c) {
            (Quote::None, '\\') | (Quote::Double, '\\') => {
                if let Some(next) = rest.chars().next() {
                    out.push(next);
                    rest = &rest[next.len_utf8()..];
                }
            }
            (Quote::None, '\'') => quote = Quote::Single,
            (Quote::Single, '\'') => quote = Quote::None,
            (Quote::None, '"') => quote = Quote::Double,
            (Quote::Double, '"') => quote = Quote::None,
            _ => {}
        }
    }
    Ok(out)
}

/// Where the subunit preset keeps the ids a filtered run loads: beside the
/// pipeline's stream file.
pub fn ids_file(stream_file: &Path) -> PathBuf {
    stream_file.with_file_name("pipeline.ids")
}

/// The numbered streams in a repository directory.
pub fn stream_numbers(repo: &Path) -> Vec<u64> {
    let mut numbers: Vec<u64> = fs_err::read_dir(repo)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    numbers.sort_unstable();
    numbers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace {
            dir: "/e/workspace".into(),
            top_dir: "/e/site".into(),
            test_path: "/e/site/tempest/test_discover".into(),
        }
    }

    #[test]
    fn a_quoted_placeholder_is_refused() {
        for template in [
            "echo '{filter}'",
            "echo \"{filter}\"",
            "echo \"a {posargs} b\"",
            "sh -c 'run {filter}'",
        ] {
            let err = substitute(template, "'x'", "").unwrap_err();
            assert!(
                err.to_string().contains("inside quotes"),
                "{template}: {err}"
            );
        }
        // Quotes that close before the placeholder, and escaped quotes,
        // leave it outside.
        assert_eq!(
            substitute("echo 'a' {filter} \\' \"b\\\"\" {filter}", "'f'", "").unwrap(),
            "echo 'a' 'f' \\' \"b\\\"\" 'f'"
        );
    }

    #[test]
    fn presets_build_the_old_commands() {
        let s = Path::new("/r/stream");
        let t = invocation(&Preset::Tempest, Some("valet"), &[], false, &ws(), None, s).unwrap();
        assert_eq!(t.shell, "tempest run --regex 'valet'");
        let l = invocation(&Preset::Tempest, Some("valet"), &[], true, &ws(), None, s).unwrap();
        assert_eq!(l.shell, "tempest run --list-tests --regex 'valet'");
        let st = invocation(
            &Preset::Stestr,
            Some("x"),
            &["--serial".into()],
            false,
            &ws(),
            None,
            s,
        )
        .unwrap();
        assert_eq!(st.shell, "stestr run 'x' '--serial'");
        let c = invocation(
            &Preset::Custom("echo {filter} {posargs}".into()),
            Some("a b"),
            &["c".into()],
            false,
            &ws(),
            None,
            s,
        )
        .unwrap();
        assert_eq!(c.shell, "echo 'a b' 'c'");
        let c = invocation(
            &Preset::Custom("run --regex={filter} {posargs}".into()),
            Some("x'; touch pwned; '{posargs}"),
            &[],
            false,
            &ws(),
            None,
            s,
        )
        .unwrap();
        assert_eq!(
            c.shell,
            "run --regex='x'\\''; touch pwned; '\\''{posargs}' "
        );
        assert_eq!(c.stream, Stream::None);
        let sub = invocation(&Preset::Subunit, None, &[], false, &ws(), None, s).unwrap();
        assert!(
            sub.shell
                .contains("python -m subunit.run discover -t '/e/site'")
                && sub.shell.contains("stestr.subunit_trace")
        );
    }
}
