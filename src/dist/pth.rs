//! `.pth` files and `.egg-link` files, read with the rules of Python's
//! `site.py`. Editable installs of plugins live in them (`__editable__*.pth`,
//! `easy-install.pth`, `*.egg-link`), and tempest-env's own layers are joined
//! to an environment through one, so both reading and explaining them matter.

/// One meaningful line of a `.pth` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PthLine {
    /// A directory to add to `sys.path`, relative to the site directory
    /// unless absolute; trailing whitespace removed.
    Path(String),
    /// A line `site.py` executes (it starts with `import ` or `import\t`).
    Import(String),
}

/// The lines of a `.pth` file as `site.addpackage` sees them: blank lines
/// and lines starting with `#` are skipped, any newline convention is
/// accepted, and a leading byte-order mark is ignored.
pub fn parse(text: &str) -> Vec<PthLine> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split(['\n', '\r'])
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            if line.starts_with("import ") || line.starts_with("import\t") {
                PthLine::Import(line.to_string())
            } else {
                PthLine::Path(line.trim_end().to_string())
            }
        })
        .collect()
}

/// The project directory an `.egg-link` points to: its first non-empty line
/// (the second line is the path back to the site directory, usually `.`).
pub fn egg_link(text: &str) -> Option<String> {
    text.split(['\n', '\r'])
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDITABLE_PATH: &str =
        include_str!("../../fixtures/samples/pth/__editable__.demo_plugin-0.1.0.pth");
    const EDITABLE_FINDER: &str =
        include_str!("../../fixtures/samples/pth/__editable__.demo_flat-0.2.0.pth");
    const DISTUTILS: &str = include_str!("../../fixtures/samples/pth/distutils-precedence.pth");
    const EASY_INSTALL: &str = include_str!("../../fixtures/samples/pth/easy-install.pth");
    const EGG_LINK: &str = include_str!("../../fixtures/samples/pth/legacy-demo.egg-link");

    #[test]
    fn real_pth_files() {
        assert_eq!(
            parse(EDITABLE_PATH),
            vec![PthLine::Path("/tmp/proj/src".into())]
        );
        assert_eq!(
            parse(EDITABLE_FINDER),
            vec![PthLine::Import(
                "import __editable___demo_flat_0_2_0_finder; __editable___demo_flat_0_2_0_finder.install()".into()
            )]
        );
        let distutils = parse(DISTUTILS);
        assert_eq!(distutils.len(), 1);
        assert!(matches!(&distutils[0], PthLine::Import(l) if l.starts_with("import os;")));
        assert_eq!(
            parse(EASY_INSTALL),
            vec![PthLine::Path("/tmp/proj3".into())]
        );
    }

    #[test]
    fn real_egg_link() {
        assert_eq!(egg_link(EGG_LINK).as_deref(), Some("/tmp/proj3"));
    }

    #[test]
    fn site_py_rules() {
        let text = "\u{feff}# comment\n  # not a comment: a path\n\n   \nrel/dir  \r\nimport\tsys\nimportant\n/abs\rlast";
        assert_eq!(
            parse(text),
            vec![
                PthLine::Path("  # not a comment: a path".into()),
                PthLine::Path("rel/dir".into()),
                PthLine::Import("import\tsys".into()),
                PthLine::Path("important".into()),
                PthLine::Path("/abs".into()),
                PthLine::Path("last".into()),
            ]
        );
        assert!(parse("").is_empty());
        assert_eq!(egg_link("\n\n  /src/x  \n.\n").as_deref(), Some("/src/x"));
        assert_eq!(egg_link(" \n"), None);
    }

    #[test]
    fn odd_unicode_does_not_panic() {
        let _ = parse("é\u{0}\u{2028}ß\n\u{feff}");
        let _ = egg_link("\u{feff}\u{2028}");
    }
}
