//! The module graph flows one way: from the parsers of outside formats at
//! the bottom to the commands and the command line at the top. This test
//! reads `use crate::...` references from the sources (comments and test
//! modules left out) and fails on a reference that goes up the order below,
//! other than those listed in `KNOWN_BACK_EDGES` (none now); and it fails
//! when one of those is gone, so the list only shrinks. It also keeps clap
//! inside the command line (`cli/`), and measures every function in `src/`:
//! one over a hundred lines whose doc comment does not say why (`Long:`)
//! fails it, with the same kind of shrinking list of those still to be
//! split.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// `src/` and every Rust source file under it.
fn sources() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = crate::common::files_under(&src)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    (src, files)
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let (src, files) = sources();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files {
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
    let (src, files) = sources();
    let mut naming = Vec::new();
    for path in files {
        let module = module_of(&src, &path);
        if ["cli", "lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        if code.contains("clap") {
            naming.push(path.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    assert!(
        naming.is_empty(),
        "files outside cli/ that name clap: {naming:?}"
    );
}

/// Functions longer than this many lines (signature to closing brace) say
/// why in their doc comment, on a line containing `Long:`.
const LONGEST_FUNCTION: usize = 100;

/// Long functions still to be split, `(path under src/ ending, name)`: the
/// list only shrinks (the test fails on one that is no longer long).
const KNOWN_LONG_FUNCTIONS: &[(&str, &str)] = &[
    // Still to split.
];

/// Every `fn` in `text` with its first line (1-based) and its length in
/// lines, from its signature to its closing brace. Braces in comments,
/// strings, raw strings and character literals are not counted; a `fn`
/// without a body (a trait method's declaration) is skipped.
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let bytes = text.as_bytes();
    let line_at = |at: usize| bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    // The depth of each `{`, and the functions waiting for their body's `{`.
    let mut out = Vec::new();
    let mut open: Vec<Option<(String, usize)>> = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes + usize::from(rest.starts_with("br"));
            i += body
                + rest[body..]
                    .find(&close)
                    .map_or(rest.len() - body, |e| e + close.len());
        } else if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '{') or a lifetime ('a).
            if let Some(escaped) = rest.strip_prefix("'\\") {
                i += 2 + escaped.find('\'').map_or(0, |e| e + 1);
            } else if let Some(ch) = rest[1..].chars().next()
                && rest[1 + ch.len_utf8()..].starts_with('\'')
            {
                i += 2 + ch.len_utf8();
            } else {
                i += 1;
            }
        } else if rest.starts_with("fn ")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            let name: String = rest[3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            pending = Some((name, line_at(i)));
            i += 3;
        } else if c == b';' && pending.is_some() && open.last().is_none_or(|f| f.is_none()) {
            pending = None;
            i += 1;
        } else if c == b'{' {
            open.push(pending.take());
            i += 1;
        } else if c == b'}' {
            if let Some(Some((name, first))) = open.pop() {
                out.push((name, first, line_at(i) - first + 1));
            }
            i += 1;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The number of `#`s of a raw string literal starting `text`.
fn raw_string_start(text: &str) -> Option<usize> {
    let after = text.strip_prefix("br").or_else(|| text.strip_prefix('r'))?;
    let hashes = after.len() - after.trim_start_matches('#').len();
    after[hashes..].starts_with('"').then_some(hashes)
}

/// The doc comment and attributes right above line `first` (1-based).
fn doc_above(lines: &[&str], first: usize) -> String {
    let mut doc = Vec::new();
    for line in lines[..first - 1].iter().rev() {
        let line = line.trim();
        if line.starts_with("///") || line.starts_with("#[") || line.starts_with("//") {
            doc.push(line);
        } else {
            break;
        }
    }
    doc.join("\n")
}

#[test]
fn long_functions_say_why() {
    let (src, files) = sources();
    let mut long = Vec::new();
    let mut known_seen = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (name, first, length) in function_lengths(&text) {
            if length <= LONGEST_FUNCTION || doc_above(&lines, first).contains("Long:") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().display().to_string();
            match KNOWN_LONG_FUNCTIONS
                .iter()
                .find(|(file, known)| rel.ends_with(file) && *known == name)
            {
                Some(known) => {
                    known_seen.insert(*known);
                }
                None => long.push(format!("src/{rel}:{first} `{name}` ({length} lines)")),
            }
        }
    }
    long.sort();
    assert!(
        long.is_empty(),
        "functions over {LONGEST_FUNCTION} lines without a `Long:` reason in their doc comment \
         (split them along their seams, or say why not):\n{}",
        long.join("\n")
    );
    let gone: Vec<_> = KNOWN_LONG_FUNCTIONS
        .iter()
        .filter(|known| !known_seen.contains(known))
        .collect();
    assert!(
        gone.is_empty(),
        "these functions are no longer long: remove them from KNOWN_LONG_FUNCTIONS: {gone:?}"
    );
}

#[test]
fn function_lengths_skip_braces_in_literals_and_bodiless_functions() {
    let text = "trait T {\n    fn declared(&self);\n}\nfn a() {\n    let s = \"}}\";\n    let c = '{';\n    let r = r#\"{\"#;\n    // }\n    let l: &'static str = s;\n}\n/// fn not_code() {\nfn b<'a>(x: &'a str) -> &'a str {\n    x\n}\n";
    assert_eq!(
        function_lengths(text),
        vec![("a".to_string(), 4, 7), ("b".to_string(), 12, 3)]
    );
}
