//! The process environment of a run, as a user expects of a virtualenv:
//! `VIRTUAL_ENV` set, the environment's bin first on PATH, variables that
//! would leak the caller's state removed, the user site off unless asked,
//! and stevedore's entry-point cache kept inside the environment.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::env::Environment;

/// Kept by `--isolated-env` without being named: what a shell needs.
const ESSENTIAL: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "SHELL",
];

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub set: Vec<(String, String)>,
    pub pass: Vec<String>,
    pub isolated: bool,
    pub user_site: bool,
    pub config_file: Option<std::path::PathBuf>,
}

/// `*` and `?` glob matching, for `--pass-env` patterns.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The variables of the run, and the names that were removed.
pub fn build(
    env: &Environment,
    policy: &Policy,
    from: impl Iterator<Item = (OsString, OsString)>,
) -> (BTreeMap<OsString, OsString>, Vec<String>) {
    let mut vars: BTreeMap<OsString, OsString> = BTreeMap::new();
    let mut removed = Vec::new();
    for (key, value) in from {
        let name = key.to_string_lossy().into_owned();
        let passed = policy.pass.iter().any(|p| glob_match(p, &name));
        if crate::process::SCRUBBED.contains(&name.as_str()) && !passed {
            removed.push(name);
            continue;
        }
        if policy.isolated && !passed && !ESSENTIAL.contains(&name.as_str()) {
            continue;
        }
        vars.insert(key, value);
    }
    let mut path = vec![env.bin()];
    if let Some(old) = vars.get(&OsString::from("PATH")) {
        path.extend(std::env::split_paths(old));
    }
    if let Ok(joined) = std::env::join_paths(path) {
        vars.insert("PATH".into(), joined);
    }
    vars.insert("VIRTUAL_ENV".into(), env.root.clone().into_os_string());
    if !policy.user_site {
        vars.insert("PYTHONNOUSERSITE".into(), "1".into());
    }
    // stevedore caches entry points under $XDG_CACHE_HOME/python-entrypoints.
    vars.insert(
        "XDG_CACHE_HOME".into(),
        env.root.join(".cache").into_os_string(),
    );
    if let Some(conf) = &policy.config_file {
        if let Some(dir) = conf.parent() {
            vars.insert("TEMPEST_CONFIG_DIR".into(), dir.as_os_str().to_owned());
        }
        if let Some(name) = conf.file_name() {
            vars.insert("TEMPEST_CONFIG".into(), name.to_owned());
        }
    }
    for (key, value) in &policy.set {
        vars.insert(key.into(), value.into());
    }
    removed.sort();
    (vars, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("OS_*", "OS_CLOUD"));
        assert!(glob_match("*", ""));
        assert!(glob_match("A?C", "ABC"));
        assert!(!glob_match("OS_*", "XOS_CLOUD"));
        assert!(glob_match("*_PROXY", "HTTPS_PROXY"));
        assert!(!glob_match("A?C", "AC"));
    }
}
