//! The activation scripts of an environment, with its path and prompt quoted
//! for each shell.

use std::path::Path;

use crate::shell::sh_quote;

const BASH: &str = include_str!("activate.sh");
const FISH: &str = include_str!("activate.fish");

/// Quote for fish: `'…'` with `\` and `'` escaped.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `(file name, contents)` of each activation script.
pub fn scripts(env_dir: &Path, prompt: &str) -> [(&'static str, String); 2] {
    let dir = env_dir.to_string_lossy();
    let fill = |template: &str, quote: fn(&str) -> String| {
        template
            .replace("@ENV_DIR@", &quote(&dir))
            .replace("@PROMPT@", &quote(prompt))
    };
    [
        ("activate", fill(BASH, sh_quote)),
        ("activate.fish", fill(FISH, fish_quote)),
    ]
}

/// What `pip` says in an environment without a pip of its own: after
/// `source bin/activate`, the next `pip` on PATH would be another
/// interpreter's, and would install there.
const PIP_GUARD: &str = r#"#!/bin/sh
@MARK@
echo "pip: environment @NAME@ has no pip of its own; a pip found further down PATH would install into another interpreter" >&2
echo "hint: tempest-env install @NAME@ ARTIFACT... (wheels, sdists, trees, requirements), or recreate it with --seed for a real pip" >&2
exit 1
"#;

const PIP_GUARD_MARK: &str = "# Written by tempest-env: this environment has no pip of its own.";

/// The guard's paths: `bin/pip`, `bin/pip3`, `bin/pip3.X`.
fn pip_guard_paths(env: &super::Environment) -> [std::path::PathBuf; 3] {
    let bin = env.root.join(&env.manifest.interpreter.scheme.scripts);
    let version = &env.manifest.interpreter.version;
    let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    ["pip".to_string(), "pip3".to_string(), format!("pip{minor}")].map(|n| bin.join(n))
}

/// Remove the guards (only files that are the guard), so an install can
/// bring a real pip; [`write_pip_guard`] puts them back if none came.
pub fn remove_pip_guard(env: &super::Environment) -> anyhow::Result<()> {
    for path in pip_guard_paths(env) {
        let is_guard = fs_err::read_to_string(&path)
            .is_ok_and(|text| text.lines().nth(1) == Some(PIP_GUARD_MARK));
        if is_guard {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Put `pip`, `pip3` and `pip3.X` guards into the environment's `bin`,
/// unless something (`--seed`, a layer) already provides pip there.
pub fn write_pip_guard(env: &super::Environment) -> anyhow::Result<()> {
    let paths = pip_guard_paths(env);
    if paths.iter().any(|p| p.exists() || p.is_symlink()) {
        return Ok(());
    }
    let text = PIP_GUARD
        .replace("@MARK@", PIP_GUARD_MARK)
        .replace("@NAME@", &sh_quote(&env.name));
    let first = &paths[0];
    {
        use anyhow::Context;
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(first)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("failed to write {}", first.display()))?;
    }
    for path in &paths[1..] {
        fs_err::hard_link(first, path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_awkward_paths() {
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(fish_quote(r"a\b'c"), r"'a\\b\'c'");
        let [(_, bash), (_, fish)] = scripts(Path::new("/x y/e"), "e");
        assert!(bash.contains("VIRTUAL_ENV='/x y/e'"));
        assert!(fish.contains("set -gx VIRTUAL_ENV '/x y/e'"));
    }
}
