//! The effective import path Python builds from site directories, the way
//! `site.addsitedir` builds it, without running Python: `.pth` files are
//! read, the `import site; site.addsitedir('...')` lines tempest-env itself
//! writes are followed, and any other `import` line is recorded as skipped.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Serialize;

use crate::dist::pth::{self, PthLine};

/// Where a path entry came from, for the caller's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Origin {
    Env,
    Base,
    Store,
    Editable,
    System,
    User,
    Other,
}

/// A directory Python processes with `site.addsitedir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteDir {
    pub dir: PathBuf,
    pub origin: Origin,
}

/// One `sys.path` entry, as Python would build it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathEntry {
    pub dir: PathBuf,
    pub origin: Origin,
    /// The `.pth` file that added it, if any.
    pub via_pth: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EffectivePath {
    pub entries: Vec<PathEntry>,
    /// `import` lines that were not followed: (`.pth` file, line).
    pub skipped_imports: Vec<(PathBuf, String)>,
    /// Lines pointing nowhere: (`.pth` file, line). A path line to a missing
    /// directory is dropped, as `site.py` drops it; an `addsitedir` of a
    /// missing directory is listed here and still added, as Python adds it.
    pub missing: Vec<(PathBuf, String)>,
}

/// `sys.path` from `sites`, in order: each directory, then what its `.pth`
/// files add (see [`effective_path_with`]), hidden `.pth` files skipped.
pub fn effective_path(sites: &[SiteDir]) -> Result<EffectivePath> {
    effective_path_with(sites, &PathOptions::default())
}

/// How to expand site dirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathOptions<'a> {
    /// The origin of directories that `.pth` lines reach (an environment's
    /// layers).
    pub known: &'a [SiteDir],
    /// Skip `.pth` files whose names start with `.`, as `site.py` does since
    /// the security fix of gh-113659 (see [`skips_hidden_pth`]).
    pub skip_hidden_pth: bool,
}

impl Default for PathOptions<'_> {
    fn default() -> Self {
        Self {
            known: &[],
            skip_hidden_pth: true,
        }
    }
}

/// Whether CPython `major.minor.micro` skips hidden `.pth` files: 3.13 and
/// the releases the fix was backported to (3.12.2, 3.11.8, 3.10.14, 3.9.19,
/// 3.8.19).
pub fn skips_hidden_pth(major: u32, minor: u32, micro: u32) -> bool {
    let first_fixed = match (major, minor) {
        (3, 8) | (3, 9) => 19,
        (3, 10) => 14,
        (3, 11) => 8,
        (3, 12) => 2,
        (3, ..=7) | (..=2, _) => return false,
        _ => 0,
    };
    micro >= first_fixed
}

/// Expands site dirs into `sys.path` order the way `site.addsitedir` does:
/// the dir itself (when it is a directory), then for each `*.pth` file in it
/// in sorted order (names starting with `.` skipped when
/// `options.skip_hidden_pth`): each path line (relative to the dir, kept only if it exists and
/// is not yet known) and, recursively, each `import site;
/// site.addsitedir('<literal>')` line. `options.known` gives the origin of
/// directories that `.pth` lines reach; other `addsitedir` targets are [`Origin::Other`] and other path lines
/// [`Origin::Editable`], since editable installs are what write them.
///
/// As in `site.py`, each `addsitedir` called from a `.pth` line starts its
/// own set of known paths from the existing `sys.path` entries, so a path
/// line after it can add a directory it added a second time; Python then
/// has that entry twice, and so does the result. Where Python would recurse
/// until `RecursionError` (a layer that adds itself back), the expansion
/// stops.
pub fn effective_path_with(sites: &[SiteDir], options: &PathOptions) -> Result<EffectivePath> {
    let origins = options
        .known
        .iter()
        .map(|site| (absolute(&site.dir), site.origin))
        .collect();
    let mut walker = PathWalker {
        origins,
        out: EffectivePath::default(),
        expanding: Vec::new(),
        skip_hidden_pth: options.skip_hidden_pth,
    };
    // `site.main` shares one set of known paths across the site dirs.
    let mut known_paths = HashSet::new();
    for site in sites {
        let dir = absolute(&site.dir);
        // `site.addsitepackages` only adds site dirs that are directories.
        if dir.is_dir() {
            walker.add_site_dir(dir, site.origin, None, &mut known_paths)?;
        }
    }
    Ok(walker.out)
}

struct PathWalker {
    origins: Vec<(PathBuf, Origin)>,
    out: EffectivePath,
    /// The directories being expanded, innermost last: a cycle ends here.
    expanding: Vec<PathBuf>,
    skip_hidden_pth: bool,
}

impl PathWalker {
    fn origin_of(&self, dir: &Path, default: Origin) -> Origin {
        self.origins
            .iter()
            .find(|(known, _)| known == dir)
            .map_or(default, |(_, origin)| *origin)
    }

    fn push(&mut self, dir: PathBuf, origin: Origin, via_pth: Option<&Path>) {
        self.out.entries.push(PathEntry {
            dir,
            origin,
            via_pth: via_pth.map(Path::to_path_buf),
        });
    }

    /// `site._init_pathinfo()`: the existing entries of the path so far.
    fn existing_entries(&self) -> HashSet<PathBuf> {
        self.out
            .entries
            .iter()
            .filter(|entry| entry.dir.exists())
            .map(|entry| entry.dir.clone())
            .collect()
    }

    /// `site.addsitedir(dir, known_paths)`.
    fn add_site_dir(
        &mut self,
        dir: PathBuf,
        origin: Origin,
        via_pth: Option<&Path>,
        known_paths: &mut HashSet<PathBuf>,
    ) -> Result<()> {
        if known_paths.insert(dir.clone()) {
            self.push(dir.clone(), origin, via_pth);
        }
        if self.expanding.contains(&dir) {
            return Ok(());
        }
        let mut names = match fs_err::read_dir(&dir) {
            Ok(read) => pth_names(read, self.skip_hidden_pth)
                .with_context(|| format!("failed to list {}", dir.display()))?,
            Err(err) if is_absent(&err) => return Ok(()),
            Err(err) => {
                return Err(anyhow!(err).context(format!("failed to list {}", dir.display())));
            }
        };
        names.sort();
        self.expanding.push(dir.clone());
        let result = names
            .into_iter()
            .try_for_each(|file_name| self.add_pth(&dir, &dir.join(file_name), known_paths));
        self.expanding.pop();
        result
    }

    /// `site.addpackage(site, file, known_paths)`.
    fn add_pth(
        &mut self,
        site: &Path,
        file: &Path,
        known_paths: &mut HashSet<PathBuf>,
    ) -> Result<()> {
        let bytes =
            fs_err::read(file).with_context(|| format!("failed to read {}", file.display()))?;
        for line in pth::parse(&String::from_utf8_lossy(&bytes)) {
            match line {
                PthLine::Path(line) => {
                    let dir = normalize(&site.join(&line));
                    if known_paths.contains(&dir) {
                        continue;
                    }
                    if !dir.exists() {
                        self.out.missing.push((file.to_path_buf(), line));
                        continue;
                    }
                    let origin = self.origin_of(&dir, Origin::Editable);
                    known_paths.insert(dir.clone());
                    self.push(dir, origin, Some(file));
                }
                PthLine::Import(line) => match addsitedir_target(&line) {
                    Some(target) => {
                        let dir = absolute(Path::new(&target));
                        if !dir.exists() {
                            self.out.missing.push((file.to_path_buf(), line));
                        }
                        let origin = self.origin_of(&dir, Origin::Other);
                        let mut fresh = self.existing_entries();
                        self.add_site_dir(dir, origin, Some(file), &mut fresh)?;
                    }
                    None => self.out.skipped_imports.push((file.to_path_buf(), line)),
                },
            }
        }
        Ok(())
    }
}

/// The `*.pth` names `site.addsitedir` reads from a directory listing.
fn pth_names(read: fs_err::ReadDir, skip_hidden: bool) -> std::io::Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for entry in read {
        let file_name = entry?.file_name();
        let text = file_name.to_string_lossy();
        if text.ends_with(".pth") && !(skip_hidden && text.starts_with('.')) {
            names.push(file_name);
        }
    }
    Ok(names)
}

pub(crate) fn is_absent(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// The directory of a line `import site; site.addsitedir(<literal>)` (the form
/// `env::layers` writes, whitespace around the tokens allowed, a final `;`
/// too), or `None` for any other line.
pub fn addsitedir_target(line: &str) -> Option<String> {
    let rest = line.strip_prefix("import")?;
    let rest = rest.strip_prefix([' ', '\t'])?.trim_start();
    let rest = rest.strip_prefix("site")?.trim_start();
    let rest = rest.strip_prefix(';')?.trim_start();
    let rest = rest.strip_prefix("site")?.trim_start();
    let rest = rest.strip_prefix('.')?.trim_start();
    let rest = rest.strip_prefix("addsitedir")?.trim_start();
    let rest = rest.strip_prefix('(')?.trim_start();
    let (target, rest) = python_string(rest)?;
    let rest = rest.trim_start().strip_prefix(')')?.trim();
    let rest = rest.strip_prefix(';').unwrap_or(rest).trim();
    rest.is_empty().then_some(target)
}

/// Reads a Python (non-raw, single-line) string literal at the start of
/// `text`: the value and the text after the closing quote.
pub fn python_string(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = &text[1..];
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            c if c == quote => return Some((out, &body[index + 1..])),
            '\n' | '\r' => return None,
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    '\n' => {}
                    '\\' | '\'' | '"' => out.push(escaped),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '0'..='7' => {
                        let mut value = escaped.to_digit(8)?;
                        for _ in 0..2 {
                            match chars.peek().and_then(|(_, c)| c.to_digit(8)) {
                                Some(digit) => {
                                    value = value * 8 + digit;
                                    chars.next();
                                }
                                None => break,
                            }
                        }
                        out.push(char::from_u32(value)?);
                    }
                    'x' | 'u' | 'U' => {
                        let width = match escaped {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut value = 0u32;
                        for _ in 0..width {
                            let (_, digit) = chars.next()?;
                            value = value * 16 + digit.to_digit(16)?;
                        }
                        out.push(char::from_u32(value)?);
                    }
                    // Python keeps unknown escapes as written.
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// `os.path.abspath`: relative paths are taken from the current directory,
/// then `.` and `..` are resolved lexically (symlinks are not followed).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        normalize(path)
    } else {
        normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

/// `os.path.normpath` without the `.` for an empty result: `a/./b/../c` is
/// `a/c`; a leading `..` of a relative path is kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            _ => parts.push(component),
        }
    }
    parts.iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/samples");

    pub(crate) fn copy_tree(src: &Path, dest: &Path) {
        let options = fs_extra::dir::CopyOptions::new()
            .content_only(true)
            .copy_inside(true);
        fs_extra::dir::copy(src, dest, &options).unwrap();
    }

    /// Copies sample `kind/name` into `site`.
    pub(crate) fn sample(site: &Path, kind: &str, name: &str) {
        copy_tree(&Path::new(SAMPLES).join(kind).join(name), &site.join(name));
    }

    pub(crate) fn write(path: &Path, text: &str) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    pub(crate) fn site(dir: &Path, origin: Origin) -> SiteDir {
        SiteDir {
            dir: dir.to_path_buf(),
            origin,
        }
    }

    pub(crate) fn dirs(path: &EffectivePath) -> Vec<PathBuf> {
        path.entries.iter().map(|e| e.dir.clone()).collect()
    }

    pub(crate) fn addsitedir_line(dir: &Path) -> String {
        format!(
            "import site; site.addsitedir({})\n",
            crate::env::layers::py_literal(&dir.to_string_lossy())
        )
    }

    #[test]
    fn pth_files_expand_like_site_py() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let env = root.join("env");
        let layer = root.join("it's a \\ layer\nwith 'odd' name");
        let nested = root.join("nested");
        for dir in [&env, &layer, &nested, &env.join("sub"), &env.join("hidden")] {
            fs_err::create_dir_all(dir).unwrap();
        }
        fs_err::create_dir_all(layer.join("lsub")).unwrap();
        let generated = format!(
            "# comment\n{}sub\nnowhere\nimport sys; sys.flags\n{}",
            addsitedir_line(&layer),
            addsitedir_line(&root.join("gone"))
        );
        write(&env.join("_tempest_env.pth"), &generated);
        write(&env.join("b.pth"), "sub\n./sub/../sub\n../nested\n");
        write(&env.join(".hidden.pth"), "hidden\n");
        write(&env.join("not-a-pth.txt"), "hidden\n");
        write(
            &layer.join("z.pth"),
            &format!("{}lsub\n", addsitedir_line(&nested)),
        );
        // A cycle back to the layer ends.
        write(&nested.join("back.pth"), &addsitedir_line(&layer));
        let layers = [site(&layer, Origin::Store)];
        let sites = [
            site(&env, Origin::Env),
            site(&root.join("absent"), Origin::User),
        ];
        let options = PathOptions {
            known: &layers,
            skip_hidden_pth: true,
        };
        let path = effective_path_with(&sites, &options).unwrap();
        assert_eq!(
            dirs(&path),
            vec![
                env.clone(),
                layer.clone(),
                nested.clone(),
                layer.join("lsub"),
                env.join("sub"),
                root.join("gone"),
                // Added by the layer's own addsitedir, unknown to this one.
                nested.clone(),
            ]
        );
        let origins: Vec<Origin> = path.entries.iter().map(|e| e.origin).collect();
        use Origin::*;
        assert_eq!(
            origins,
            [Env, Store, Other, Editable, Editable, Other, Editable]
        );
        let generated_pth = env.join("_tempest_env.pth");
        assert_eq!(path.entries[0].via_pth, None);
        assert_eq!(path.entries[1].via_pth.as_ref(), Some(&generated_pth));
        assert_eq!(path.entries[2].via_pth, Some(layer.join("z.pth")));
        assert_eq!(
            path.skipped_imports,
            [(generated_pth.clone(), "import sys; sys.flags".to_string())]
        );
        assert_eq!(path.missing.len(), 2);
        assert_eq!(path.missing[0], (generated_pth.clone(), "nowhere".into()));
        assert!(path.missing[1].1.contains("gone"));
        // Interpreters before the fix read hidden .pth files too.
        let old = PathOptions {
            skip_hidden_pth: false,
            ..options
        };
        let path = effective_path_with(&sites, &old).unwrap();
        assert_eq!(path.entries[1].dir, env.join("hidden"));
        assert_eq!(path.entries[1].via_pth, Some(env.join(".hidden.pth")));
    }

    #[test]
    fn hidden_pth_files_by_version() {
        for (version, skips) in [
            ((3, 11, 7), false),
            ((3, 11, 8), true),
            ((3, 12, 1), false),
            ((3, 12, 2), true),
            ((3, 13, 0), true),
            ((3, 14, 0), true),
            ((3, 8, 18), false),
            ((3, 8, 19), true),
            ((3, 10, 14), true),
            ((3, 7, 17), false),
            ((2, 7, 18), false),
            ((4, 0, 0), true),
        ] {
            assert_eq!(
                skips_hidden_pth(version.0, version.1, version.2),
                skips,
                "{version:?}"
            );
        }
    }

    #[test]
    fn real_pth_samples() {
        let tmp = tempfile::tempdir().unwrap();
        let site_dir = tmp.path().join("site");
        let src = tmp.path().join("proj/src");
        fs_err::create_dir_all(&src).unwrap();
        for name in [
            "__editable__.demo_flat-0.2.0.pth",
            "__editable__.demo_plugin-0.1.0.pth",
            "distutils-precedence.pth",
            "easy-install.pth",
        ] {
            // Pointed into this test's directory: one tree exists, one not.
            let text = fs_err::read_to_string(Path::new(SAMPLES).join("pth").join(name)).unwrap();
            let text = text
                .replace("/tmp/proj/src", &src.to_string_lossy())
                .replace("/tmp/proj3", &tmp.path().join("proj3").to_string_lossy());
            write(&site_dir.join(name), &text);
        }
        let path = effective_path(&[site(&site_dir, Origin::System)]).unwrap();
        assert_eq!(dirs(&path), [site_dir.clone(), src.clone()]);
        assert_eq!(path.entries[1].origin, Origin::Editable);
        assert_eq!(
            path.entries[1].via_pth,
            Some(site_dir.join("__editable__.demo_plugin-0.1.0.pth"))
        );
        let skipped: Vec<&Path> = path
            .skipped_imports
            .iter()
            .map(|(file, _)| file.strip_prefix(&site_dir).unwrap())
            .collect();
        assert_eq!(
            skipped,
            [
                Path::new("__editable__.demo_flat-0.2.0.pth"),
                Path::new("distutils-precedence.pth")
            ]
        );
        assert_eq!(path.missing.len(), 1);
        assert_eq!(path.missing[0].0, site_dir.join("easy-install.pth"));
    }

    #[test]
    fn python_literals() {
        for text in [
            "/plain/dir",
            "/it's",
            "back\\slash",
            "new\nline",
            "\u{1}ctl",
            "ünï €",
            "\r\t",
        ] {
            let literal = crate::env::layers::py_literal(text);
            assert_eq!(python_string(&literal), Some((text.to_string(), "")));
        }
        let decoded = |s: &str| python_string(s).map(|(v, _)| v);
        assert_eq!(decoded(r#""a'b\"c" rest"#).as_deref(), Some("a'b\"c"));
        assert_eq!(
            decoded(r"'\x41\101\u00e9\U0001F600\q'").as_deref(),
            Some("AAé😀\\q")
        );
        assert_eq!(python_string("'x') tail"), Some(("x".into(), ") tail")));
        for bad in [
            "'open",
            "x'",
            "'\\x4'",
            "'\\U110000000'",
            "'a\nb'",
            "",
            "'\\",
        ] {
            assert_eq!(python_string(bad), None, "{bad:?}");
        }
        assert_eq!(
            addsitedir_target("import site; site.addsitedir('/a')").as_deref(),
            Some("/a")
        );
        assert_eq!(
            addsitedir_target("import\tsite ;site.addsitedir( \"/b\" ) ;  ").as_deref(),
            Some("/b")
        );
        for other in [
            "import site; site.addsitedir('/a'); import os",
            "import site; site.addsitedir(x)",
            "import sitex; site.addsitedir('/a')",
            "import os; site.addsitedir('/a')",
        ] {
            assert_eq!(addsitedir_target(other), None, "{other}");
        }
    }

    #[test]
    fn normalizing_paths() {
        assert_eq!(normalize(Path::new("/a/./b/../c/")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
        assert_eq!(
            normalize(Path::new("d.egg-info/../six.py")),
            Path::new("six.py")
        );
        assert_eq!(
            normalize(Path::new("../../bin/x")),
            Path::new("../../bin/x")
        );
    }
}
