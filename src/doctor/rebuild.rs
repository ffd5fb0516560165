//! The commands doctor suggests, built from the options an environment was
//! made with (its manifest's `create_args`), so that a fix changes one thing
//! and keeps the interpreter, the base, the plugins and the selection.

use std::path::{Path, PathBuf};

use crate::dist::name;
use crate::env::Environment;
use crate::shell::quote_if_needed as quote;

/// `create NAME --clear` with the environment's own options.
#[derive(Debug, Clone)]
pub struct Rebuild {
    name: String,
    args: Vec<String>,
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl Rebuild {
    pub fn of(env: &Environment) -> Self {
        let mut args = env.manifest.create_args.clone();
        if args.is_empty() {
            // A manifest from before the options were recorded: at least
            // the interpreter stays.
            args = vec![
                "--python".into(),
                env.manifest.interpreter.executable.display().to_string(),
            ];
        }
        // What `install` added after `create`.
        let given: Vec<PathBuf> = pairs(&args, "--plugin")
            .map(|p| canonical(Path::new(p)))
            .collect();
        let seeded = args.iter().any(|a| a == "--seed");
        let mut added = Vec::new();
        for record in &env.manifest.distributions {
            if (seeded && record.name.eq_ignore_ascii_case("pip"))
                || !record.source.exists()
                || given.contains(&canonical(&record.source))
            {
                continue;
            }
            added.push(record.source.display().to_string());
        }
        for source in added {
            args.push("--plugin".into());
            args.push(source);
        }
        Self {
            name: env.name.clone(),
            args,
        }
    }

    /// Whether `flag` is given with a value naming `plugin` (entry point or
    /// distribution, any spelling).
    pub fn names(&self, flag: &str, plugin: &[&str]) -> bool {
        self.value_naming(flag, plugin).is_some()
    }

    /// The value given with `flag` that names one of `plugin`.
    pub fn value_naming(&self, flag: &str, plugin: &[&str]) -> Option<String> {
        pairs(&self.args, flag)
            .find(|v| matches_any(v, plugin))
            .map(str::to_string)
    }

    pub fn has(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    /// Without `flag VALUE` where VALUE names one of `plugin`.
    pub fn without(mut self, flag: &str, plugin: &[&str]) -> Self {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.args.len() {
            if self.args[i] == flag && self.args.get(i + 1).is_some_and(|v| matches_any(v, plugin))
            {
                i += 2;
                continue;
            }
            out.push(self.args[i].clone());
            i += 1;
        }
        self.args = out;
        self
    }

    /// The same options on another interpreter.
    pub fn with_python(&self, python: &str) -> Self {
        let mut next = self.clone();
        let mut i = 0;
        while i + 1 < next.args.len() {
            if next.args[i] == "--python" {
                next.args[i + 1] = python.to_string();
            }
            i += 1;
        }
        next
    }

    pub fn with(mut self, flag: &str, value: Option<&str>) -> Self {
        self.args.push(flag.to_string());
        if let Some(value) = value {
            self.args.push(value.to_string());
        }
        self
    }

    /// The command line, quoted for a POSIX shell.
    pub fn command(&self) -> String {
        let mut words = vec![
            "tempest-env".to_string(),
            "create".into(),
            quote(&self.name),
            "--clear".into(),
        ];
        words.extend(self.args.iter().map(|a| quote(a)));
        words.join(" ")
    }

    /// `tempest-env plugins` over the environment's interpreter and system
    /// directories, all of the set shown: where a hidden or missing system
    /// plugin can be seen.
    pub fn show_system_set(&self) -> String {
        let mut words = vec!["tempest-env".to_string(), "plugins".into()];
        for (flag, value) in self.args.iter().zip(self.args.iter().skip(1)) {
            if flag == "--python" || flag == "--system-site" {
                words.push(flag.clone());
                words.push(quote(value));
            }
        }
        words.push("--all-plugin".into());
        if self.has("--user-site") {
            words.push("--user-site".into());
        }
        words.join(" ")
    }
}

fn pairs<'a>(args: &'a [String], flag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    args.iter()
        .zip(args.iter().skip(1))
        .filter(move |(f, _)| *f == flag)
        .map(|(_, v)| v.as_str())
}

fn matches_any(value: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| *n == value || name::normalize(n) == name::normalize(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(args: &[&str]) -> Rebuild {
        Rebuild {
            name: "e".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_change_keeps_every_other_option() {
        let r = rebuild(&[
            "--python",
            "/opt/py/bin/python3.11",
            "--all-plugin",
            "--exclude-plugin",
            "valet",
            "--exclude-plugin",
            "alpha_tests",
        ]);
        assert_eq!(
            r.clone()
                .without("--exclude-plugin", &["valet_tests", "valet"])
                .command(),
            "tempest-env create e --clear --python /opt/py/bin/python3.11 --all-plugin --exclude-plugin alpha_tests"
        );
        assert_eq!(
            r.show_system_set(),
            "tempest-env plugins --python /opt/py/bin/python3.11 --all-plugin"
        );
        assert_eq!(
            rebuild(&["--python", "/a b/python"])
                .with("--system-plugin", Some("x"))
                .command(),
            "tempest-env create e --clear --python '/a b/python' --system-plugin x"
        );
    }
}
