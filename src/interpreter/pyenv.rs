//! Resolve pyenv shims natively, the way `pyenv exec` would, without running
//! the shim (which costs a bash and several subprocesses per call).

use std::path::{Path, PathBuf};

/// If `path` is a pyenv shim, the pyenv root it belongs to.
pub(super) fn shim_root(path: &Path, head: &[u8]) -> Option<PathBuf> {
    if !head.starts_with(b"#!") {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    // A shim hands its own name to `pyenv exec`; a script that merely names
    // a pyenv-installed python is an ordinary wrapper.
    if !(text.contains("libexec/pyenv") || text.contains("pyenv exec")) {
        return None;
    }
    // Shims export their root: `export PYENV_ROOT="/root/.pyenv"`.
    let from_script = text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("export PYENV_ROOT=")?;
        Some(PathBuf::from(rest.trim_matches('"').trim_matches('\'')))
    });
    from_script
        .or_else(|| std::env::var_os("PYENV_ROOT").map(PathBuf::from))
        .or_else(|| Some(path.parent()?.parent()?.to_path_buf()))
}

/// The versions pyenv would pick for the current directory, in order:
/// `PYENV_VERSION`, the nearest `.python-version`, then the global file.
pub(super) fn selected_versions(root: &Path, cwd: &Path) -> Vec<String> {
    if let Ok(env) = std::env::var("PYENV_VERSION") {
        return split_versions(&env);
    }
    for dir in cwd.ancestors() {
        if let Some(text) = small_file(&dir.join(".python-version")) {
            return split_versions(&text);
        }
    }
    match small_file(&root.join("version")) {
        Some(text) => split_versions(&text),
        None => vec!["system".into()],
    }
}

/// The text of a version file: only a regular file is read (a FIFO would
/// block), and only its first kilobytes.
fn small_file(path: &Path) -> Option<String> {
    use std::io::Read;
    if !fs_err::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(64 << 10)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn split_versions(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(|c: char| c == ':' || c.is_whitespace()))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Resolve `command` (e.g. `python3.11`) through the shim's selection.
/// `system` means the first match on PATH outside the shims directory.
pub(super) fn resolve(root: &Path, command: &str, cwd: &Path) -> Option<PathBuf> {
    let shims = root.join("shims");
    for version in selected_versions(root, cwd) {
        if version == "system" {
            let found = super::discover::path_dirs()
                .into_iter()
                .filter(|dir| dir != &shims && !dir.starts_with(root))
                .map(|dir| dir.join(command))
                .find(|candidate| super::discover::is_executable(candidate));
            if found.is_some() {
                return found;
            }
            continue;
        }
        let candidate = root
            .join("versions")
            .join(&version)
            .join("bin")
            .join(command);
        if super::discover::is_executable(&candidate) {
            return Some(candidate);
        }
    }
    None
}

/// Every interpreter pyenv has installed whose version directory starts with
/// `prefix` (e.g. `3.12`), newest first.
pub(super) fn installed(root: &Path, names: &[String], prefix: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(root.join("versions")) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            if let Some(prefix) = prefix
                && name != prefix
                && !name.starts_with(&format!("{prefix}."))
            {
                return None;
            }
            let key = name.split('.').map(|p| p.parse().unwrap_or(0)).collect();
            Some((key, path))
        })
        .collect();
    versions.sort();
    versions.reverse();
    versions
        .into_iter()
        .filter_map(|(_, dir)| {
            names
                .iter()
                .map(|name| dir.join("bin").join(name))
                .find(|candidate| super::discover::is_executable(candidate))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_version_files() {
        assert_eq!(
            split_versions("3.11.7\n3.12.1 # comment\n"),
            vec!["3.11.7", "3.12.1"]
        );
        assert_eq!(split_versions("3.10:system"), vec!["3.10", "system"]);
    }

    #[test]
    fn recognises_shim_scripts() {
        let shim = b"#!/usr/bin/env bash\nset -e\nexport PYENV_ROOT=\"/opt/pyenv\"\nexec \"/opt/pyenv/libexec/pyenv\" exec \"$program\" \"$@\"\n";
        assert_eq!(
            shim_root(Path::new("/opt/pyenv/shims/python3"), shim),
            Some(PathBuf::from("/opt/pyenv"))
        );
        assert_eq!(shim_root(Path::new("/usr/bin/python3"), b"\x7fELF"), None);
        assert_eq!(
            shim_root(Path::new("/usr/bin/x"), b"#!/bin/sh\nexec python3 \"$@\""),
            None
        );
    }
}
