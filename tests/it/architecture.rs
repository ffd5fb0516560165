//! The module graph flows one way: from the parsers of outside formats at
//! the bottom to the commands and the command line at the top. This test
//! reads `use crate::...` references from the sources (comments and test
//! modules left out) and fails on a reference that goes up the order below,
//! other than those listed in `KNOWN_BACK_EDGES` (none now); and it fails
//! when one of those is gone, so the list only shrinks. It also keeps clap
//! inside the command line (`cli/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules, bottom first. A module may name modules on its own
/// floor or below.
const FLOORS: &[&[&str]] = &[
    &["digest", "failpoint", "atomic", "shell"],
    &[
        "error", "printer", "home", "lock", "input", "crash", "lease", "seal", "process",
    ],
    &["dist", "bundled"],
    &["wheel", "editable", "definition"],
    &["interpreter"],
    &["store", "shared"],
    &["layers"],
    &["env"],
    &["lockfile"],
    &["runner"],
    &["plugins", "doctor", "isolation", "gc"],
    &["commands"],
    &["cli"],
    &["lib", "main"],
];

/// References that still go up, `(from, to)`: each is a move still to make.
/// Empty: keep it so.
const KNOWN_BACK_EDGES: &[(&str, &str)] = &[];

fn floor_of(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|floor| floor.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no floor in FLOORS: add it"))
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without comments and without its `#[cfg(test)]`
/// module (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let from = module_of(&src, &path);
            let code = code_of(&std::fs::read_to_string(&path).unwrap());
            let targets = out.entry(from.clone()).or_default();
            for (at, _) in code.match_indices("crate::") {
                let to: String = code[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !to.is_empty() && to != from && to.chars().next().unwrap().is_lowercase() {
                    targets.insert(to);
                }
            }
        }
    }
    out
}

#[test]
fn modules_only_name_modules_on_their_floor_or_below() {
    let graph = edges();
    let mut back: BTreeSet<(String, String)> = BTreeSet::new();
    for (from, targets) in &graph {
        for to in targets {
            if floor_of(to) > floor_of(from) {
                back.insert((from.clone(), to.clone()));
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN_BACK_EDGES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = back.difference(&known).collect();
    assert!(
        new.is_empty(),
        "references that go up the module order: {new:?}"
    );
    let gone: Vec<_> = known.difference(&back).collect();
    assert!(
        gone.is_empty(),
        "these back-edges are gone: remove them from KNOWN_BACK_EDGES: {gone:?}"
    );
}

#[test]
fn only_commands_and_the_top_name_commands() {
    for (from, targets) in edges() {
        if targets.contains("commands") {
            assert!(
                floor_of(&from) >= floor_of("commands")
                    || KNOWN_BACK_EDGES.contains(&(from.as_str(), "commands")),
                "`{from}` names `commands`"
            );
        }
    }
}

/// The command line's parser stays in `cli/` (and `lib.rs`, which runs
/// it): commands and the library take plain settings.
#[test]
fn only_the_command_line_names_clap() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    let mut naming = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let module = module_of(&src, &path);
            if ["cli", "lib", "main"].contains(&module.as_str()) {
                continue;
            }
            let code = code_of(&std::fs::read_to_string(&path).unwrap());
            if code.contains("clap") {
                naming.push(path.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    assert!(
        naming.is_empty(),
        "files outside cli/ that name clap: {naming:?}"
    );
}
