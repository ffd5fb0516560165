//! The `.egg-info` files beyond `PKG-INFO` (which `dist::metadata` reads):
//! `installed-files.txt`, `top_level.txt` and `requires.txt`. Debian installs
//! every Python package, tempest plugins included, as `.egg-info`, so finding
//! and hiding system-wide plugins means reading these.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EggInfoError {
    #[error("requires.txt line {line}: invalid requirement {requirement:?}: {reason}")]
    InvalidRequirement {
        line: usize,
        requirement: String,
        reason: String,
    },
}

/// `installed-files.txt`: one path per line, relative to the `.egg-info`
/// directory (so files beside it start with `../`). Blank lines are dropped.
pub fn installed_files(text: &str) -> Vec<String> {
    non_blank_lines(text)
}

/// `top_level.txt`: the importable top-level names, one per line.
pub fn top_level(text: &str) -> Vec<String> {
    non_blank_lines(text)
}

fn non_blank_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// `requires.txt` as PEP 508 requirement strings, converted the way
/// `importlib.metadata` (and so pip) does: lines before any section are
/// unconditional; `[extra]` adds `extra == "extra"`, `[:marker]` adds the
/// marker, `[extra:marker]` adds `(marker) and extra == "extra"`. Blank lines
/// and `#` comments are skipped. Every result is checked to be valid PEP 508.
pub fn requires(text: &str) -> Result<Vec<String>, EggInfoError> {
    let mut condition = String::new();
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            condition = section_condition(section.trim());
            continue;
        }
        // A URL requirement needs a space before the `;` of its marker.
        let space = if line.contains('@') { " " } else { "" };
        let requirement = format!("{line}{space}{condition}");
        if let Err(reason) = check_requirement(&requirement) {
            return Err(EggInfoError::InvalidRequirement {
                line: index + 1,
                requirement,
                reason,
            });
        }
        out.push(requirement);
    }
    Ok(out)
}

/// Whether `requirement` is valid PEP 508. The name and extras are checked
/// here first because `pep508_rs` 0.9 panics on a name or extra ending in
/// `-`, `_` or `.` followed by another character; URL requirements are only
/// checked up to their extras, since its URL handling can panic too.
fn check_requirement(requirement: &str) -> Result<(), String> {
    crate::dist::requirement::parse(requirement).map(drop)
}

/// `extra:marker` → `; (marker) and extra == "extra"`, or `""` when the
/// section adds no condition.
fn section_condition(section: &str) -> String {
    let (extra, marker) = section.split_once(':').unwrap_or((section, ""));
    let (extra, marker) = (extra.trim(), marker.trim());
    let marker = if !extra.is_empty() && !marker.is_empty() {
        format!("({marker})")
    } else {
        marker.to_string()
    };
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("extra == \"{extra}\"")
    };
    let conditions: Vec<&str> = [marker.as_str(), extra.as_str()]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if conditions.is_empty() {
        String::new()
    } else {
        format!("; {}", conditions.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY_SIX: &str = include_str!(
        "../../fixtures/samples/egg-info/six-1.17.0-py3.11.egg-info/installed-files.txt"
    );
    const OSLO_REQUIRES: &str =
        include_str!("../../fixtures/samples/egg-info/oslo.config-9.0.0.egg-info/requires.txt");
    const REQUESTS_REQUIRES: &str =
        include_str!("../../fixtures/samples/egg-info/requests-2.28.1.egg-info/requires.txt");
    const STEVEDORE_REQUIRES: &str =
        include_str!("../../fixtures/samples/egg-info/stevedore-4.0.2.egg-info/requires.txt");
    const TOP_LEVELS: [(&str, &str); 4] = [
        (
            include_str!("../../fixtures/samples/egg-info/stevedore-4.0.2.egg-info/top_level.txt"),
            "stevedore",
        ),
        (
            include_str!(
                "../../fixtures/samples/egg-info/oslo.config-9.0.0.egg-info/top_level.txt"
            ),
            "oslo_config",
        ),
        (
            include_str!("../../fixtures/samples/egg-info/six-1.16.0.egg-info/top_level.txt"),
            "six",
        ),
        (
            include_str!(
                "../../fixtures/samples/egg-info/barbican_tempest_plugin-1.7.0.egg-info/top_level.txt"
            ),
            "barbican_tempest_plugin",
        ),
    ];

    #[test]
    fn installed_files_from_a_legacy_pip_install() {
        let files = installed_files(LEGACY_SIX);
        assert_eq!(files[0], "../__pycache__/six.cpython-311.pyc");
        assert!(files.contains(&"../six.py".to_string()));
        assert!(files.contains(&"PKG-INFO".to_string()));
        assert_eq!(installed_files("a\n\n  \r\nb\r\n"), vec!["a", "b"]);
    }

    #[test]
    fn top_levels() {
        for (text, name) in TOP_LEVELS {
            assert_eq!(top_level(text), vec![name]);
        }
        assert!(top_level("").is_empty());
    }

    #[test]
    fn debian_requires() {
        // Debian empties requires.txt for most packages; what is left keeps
        // the setuptools sections.
        assert!(requires(STEVEDORE_REQUIRES).unwrap().is_empty());
        let oslo = requires(OSLO_REQUIRES).unwrap();
        assert_eq!(oslo[0], "rst2txt>=1.1.0; extra == \"rst_generator\"");
        assert!(oslo.contains(&"stestr>=2.1.0; extra == \"test\"".to_string()));
        assert!(oslo.iter().all(|r| r.contains("extra ==")));
        assert_eq!(
            requires(REQUESTS_REQUIRES).unwrap(),
            vec![
                "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
                "chardet<6,>=3.0.2; extra == \"use_chardet_on_py3\"",
            ]
        );
    }

    #[test]
    fn sections_become_markers() {
        let text = "six\n# comment\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n[test:sys_platform == \"win32\"]\ncolorama\n[url]\nfoo @ https://example.com/foo.whl\n";
        assert_eq!(
            requires(text).unwrap(),
            vec![
                "six",
                "importlib-metadata; python_version < \"3.8\"",
                "colorama; (sys_platform == \"win32\") and extra == \"test\"",
                "foo @ https://example.com/foo.whl ; extra == \"url\"",
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = requires("ok\n[x]\nnot a requirement!\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("requires.txt line 3: invalid requirement \"not a requirement!; extra == \\\"x\\\"\""),
            "{err}"
        );
        assert!(requires("[:not a marker]\nsix\n").is_err());
        // These made pep508_rs 0.9.2 panic.
        for text in ["Metadata- x\n", "a[b-,c]\n", "a_;x\n", "a.[x]\n"] {
            assert!(requires(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "[",
            "]",
            "[:]\nx",
            "[a:b:c]\nx",
            "é\n",
            "x[",
            "[\u{0}]\ny",
            "x ; ;",
        ] {
            let _ = requires(text);
        }
        assert_eq!(requires("[:]\nsix\n").unwrap(), vec!["six"]);
    }
}
