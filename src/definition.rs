//! Definitions: named recipes for an environment and its runner, in TOML.
//! The built-ins in `envs/` are compiled in; a project's `tempest-env.toml`
//! (in the working directory or an ancestor) adds its own as `[env.NAME]`
//! tables with the same keys. Unknown keys are refused with the file, line
//! and key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::UserError;

pub const PROJECT_FILE: &str = "tempest-env.toml";

const BUILT_IN: &[(&str, &str)] = &[
    ("all-plugin", include_str!("../envs/all-plugin.toml")),
    ("demo", include_str!("../envs/demo.toml")),
    ("isolated", include_str!("../envs/isolated.toml")),
];

/// One definition. Paths are relative to the file that defines them; a path
/// starting with `@fixtures/` names tempest-env's bundled fixtures.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Definition {
    #[serde(default)]
    pub description: Option<String>,
    /// A semver requirement on tempest-env's own version.
    #[serde(default)]
    pub requires: Option<String>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub base: Vec<String>,
    #[serde(default)]
    pub constraints: Option<String>,
    #[serde(default)]
    pub plugins: Vec<String>,
    #[serde(default)]
    pub all_plugin: bool,
    #[serde(default)]
    pub system_site: Vec<String>,
    #[serde(default)]
    pub system_plugins: Vec<String>,
    #[serde(default)]
    pub exclude_plugins: Vec<String>,
    #[serde(default)]
    pub user_site: bool,
    #[serde(default)]
    pub runner: Option<String>,
    #[serde(default)]
    pub set_env: BTreeMap<String, String>,
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default)]
    pub isolated_env: bool,
    /// `pth`, `symlink`, `hardlink` or `copy`, as `--link-mode`.
    #[serde(default)]
    pub link_mode: Option<String>,
    #[serde(default)]
    pub seed: bool,
    #[serde(default)]
    pub compile_bytecode: bool,
    #[serde(default)]
    pub find_links: Vec<String>,
    #[serde(default)]
    pub index_url: Option<String>,
    #[serde(default)]
    pub offline: bool,
    /// `auto`, `uv` or `pip`, as `--installer`.
    #[serde(default)]
    pub installer: Option<String>,
    #[serde(default)]
    pub strict: bool,
    #[serde(default)]
    pub no_deps: bool,
}

/// A definition and where it came from.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub definition: Definition,
    /// `built-in` or the project file's path.
    pub source: String,
    /// What relative paths are relative to (`None` for built-ins).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    #[serde(default)]
    env: BTreeMap<String, Definition>,
}

/// Parse one definition's TOML. Pure, for tests and fuzzing.
pub fn parse(text: &str) -> Result<Definition, String> {
    toml::from_str(text).map_err(|e| one_line(&e))
}

/// Parse a project file's TOML. Pure.
pub fn parse_project(text: &str) -> Result<BTreeMap<String, Definition>, String> {
    toml::from_str::<ProjectFile>(text)
        .map(|p| p.env)
        .map_err(|e| one_line(&e))
}

/// `line N, column M: message` from a toml error.
fn one_line(err: &toml::de::Error) -> String {
    let message = err.message().replace('\n', " ");
    match err.span() {
        Some(span) => format!("at byte {}: {message}", span.start),
        None => message,
    }
}

fn line_of(text: &str, message: &str) -> String {
    // Turn `at byte N` into `line L, column C`.
    if let Some(rest) = message.strip_prefix("at byte ")
        && let Some((offset, tail)) = rest.split_once(':')
        && let Ok(offset) = offset.parse::<usize>()
    {
        let before = text.get(..offset.min(text.len())).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return format!("line {line}, column {column}:{tail}");
    }
    message.to_string()
}

/// The project file governing `cwd`, if any.
pub fn project_file(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|p| p.exists())
}

/// Every definition: built-ins, then the project's (which may override).
pub fn all(cwd: &Path) -> Result<Vec<Named>> {
    let mut out: BTreeMap<String, Named> = BTreeMap::new();
    for (name, text) in BUILT_IN {
        let definition = parse(text)
            .map_err(|e| anyhow::anyhow!("built-in definition {name} is broken: {e}"))?;
        out.insert(
            name.to_string(),
            Named {
                name: name.to_string(),
                definition,
                source: "built-in".into(),
                dir: None,
            },
        );
    }
    if let Some(file) = project_file(cwd) {
        let text = crate::input::read_text(&file, "the definition file")?;
        let defs = parse_project(&text).map_err(|e| {
            UserError::new(format!("{}: {}", file.display(), line_of(&text, &e)))
                .hint("see `tempest-env defs` and the README for the keys a definition takes")
        })?;
        for (name, definition) in defs {
            crate::home::env_name::validate(&name).map_err(|e| {
                UserError::new(format!(
                    "{}: definition `{name}`: {}",
                    file.display(),
                    e.message
                ))
            })?;
            check_set_env(&definition).map_err(|why| {
                UserError::new(format!("{}: definition `{name}`: {why}", file.display()))
                    .hint("a variable's name is non-empty without `=` or NUL, and its value has no NUL byte")
            })?;
            out.insert(
                name.clone(),
                Named {
                    name,
                    definition,
                    source: file.display().to_string(),
                    dir: file.parent().map(Path::to_path_buf),
                },
            );
        }
    }
    Ok(out.into_values().collect())
}

/// A process environment cannot hold a NUL byte, nor a name with `=`.
fn check_set_env(definition: &Definition) -> Result<(), String> {
    for (key, value) in &definition.set_env {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(format!(
                "set-env has the variable name `{}`",
                key.escape_debug()
            ));
        }
        if value.contains('\0') {
            return Err(format!("set-env `{key}` has a NUL byte in its value"));
        }
    }
    Ok(())
}

/// The definition called `name`.
pub fn find(name: &str, cwd: &Path) -> Result<Named> {
    let all = all(cwd)?;
    let names: Vec<String> = all.iter().map(|n| n.name.clone()).collect();
    let found = all.into_iter().find(|n| n.name == name).ok_or_else(|| {
        UserError::new(format!("no definition named `{name}`"))
            .hint(format!("the definitions are: {}", names.join(", ")))
    })?;
    if let Some(requirement) = &found.definition.requires {
        let req = semver::VersionReq::parse(requirement).map_err(|e| {
            UserError::new(format!("definition `{name}` ({}): `requires = \"{requirement}\"` is not a semver requirement: {e}", found.source))
        })?;
        let ours = semver::Version::parse(env!("CARGO_PKG_VERSION"))?;
        if !req.matches(&ours) {
            return Err(UserError::new(format!(
                "definition `{name}` ({}) requires tempest-env {requirement}; this is {ours}",
                found.source
            ))
            .into());
        }
    }
    Ok(found)
}

impl Named {
    /// Resolve a path of the definition: relative to its file, or one of the
    /// bundled fixtures (`@fixtures/...`), extracted into the cache.
    pub fn resolve_path(&self, raw: &str, home: &crate::home::Home) -> Result<String> {
        if let Some(rest) = raw.strip_prefix("@fixtures/") {
            let root = crate::bundled::extract(home)?;
            return Ok(root.join(rest).display().to_string());
        }
        let path = Path::new(raw);
        let looks_like_path = raw.contains('/') || raw.ends_with(".whl") || raw.starts_with('.');
        match (&self.dir, looks_like_path && path.is_relative()) {
            (Some(dir), true) => Ok(dir.join(path).display().to_string()),
            _ => Ok(raw.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse() {
        for (name, text) in BUILT_IN {
            assert!(parse(text).is_ok(), "{name}");
        }
        assert!(parse(BUILT_IN[0].1).unwrap().all_plugin);
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let text = "[env.x]\nrunner = \"tempest\"\nsurprise = 1\n";
        let err = parse_project(text).unwrap_err();
        let located = line_of(text, &err);
        assert!(located.starts_with("line 3"), "{located}");
        assert!(located.contains("surprise"), "{located}");
    }

    #[test]
    fn bad_toml_is_an_error_not_a_panic() {
        for text in ["[env.x", "env = 3", "[env.x]\nbase = \"notalist\"", "\u{0}"] {
            assert!(parse_project(text).is_err(), "{text:?}");
        }
    }
}
