//! `setup.cfg` of a plugin source tree, the way pbr-based OpenStack plugins
//! declare their name, packages and entry points. Installing such a tree in
//! editable mode natively needs exactly those, without running `setup.py`.
//! The file is read with Python `configparser` rules (strict, no inline
//! comments, multi-line values continued by indented lines).

use crate::dist::entry_points::{self, EntryPoint, EntryPointsError};
use crate::error::preview;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetupCfg {
    pub name: Option<String>,
    pub version: Option<String>,
    pub summary: Option<String>,
    pub requires_python: Option<String>,
    pub entry_points: Vec<EntryPoint>,
    /// As listed; a setuptools directive such as `find:` is kept verbatim.
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupCfgError {
    #[error("setup.cfg line {line}: key before any `[section]` header")]
    NoSection { line: usize },
    #[error("setup.cfg line {line}: malformed section header {found:?}")]
    BadSection { line: usize, found: String },
    #[error("setup.cfg line {line}: expected `key = value` or `key: value`, found {found:?}")]
    NotAnOption { line: usize, found: String },
    #[error("setup.cfg line {line}: section [{section}] appears twice")]
    DuplicateSection { line: usize, section: String },
    #[error("setup.cfg line {line}: key {key:?} appears twice in [{section}]")]
    DuplicateKey {
        line: usize,
        section: String,
        key: String,
    },
    #[error("setup.cfg line {line}: entry point in group {group:?}: {source}")]
    EntryPoint {
        line: usize,
        group: String,
        #[source]
        source: EntryPointsError,
    },
}

/// One option: its key as written and its value lines with line numbers.
struct ConfigOption {
    key: String,
    lines: Vec<(usize, String)>,
}

struct ConfigSection {
    name: String,
    options: Vec<ConfigOption>,
}

impl SetupCfg {
    pub fn parse(text: &str) -> Result<Self, SetupCfgError> {
        let sections = read(text)?;
        let get = |section: &str, keys: &[&str]| -> Option<String> {
            let section = sections.iter().find(|s| s.name == section)?;
            keys.iter().find_map(|key| {
                let option = section
                    .options
                    .iter()
                    .find(|o| normalize_key(&o.key) == normalize_key(key))?;
                Some(joined(option))
            })
        };
        let mut cfg = Self {
            name: get("metadata", &["name"]),
            version: get("metadata", &["version"]),
            summary: get(
                "metadata",
                &["summary", "description", "description-summary"],
            ),
            requires_python: get("metadata", &["python-requires"])
                .or_else(|| get("options", &["python-requires"])),
            ..Self::default()
        };
        for (section, key) in [("files", "packages"), ("options", "packages")] {
            if let Some(packages) = get(section, &[key]) {
                cfg.packages.extend(
                    packages
                        .split(['\n', ','])
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                );
            }
        }
        for section in sections
            .iter()
            .filter(|s| s.name == "entry_points" || s.name == "options.entry_points")
        {
            for group in &section.options {
                cfg.entry_points.extend(group_entry_points(group)?);
            }
        }
        Ok(cfg)
    }
}

/// `name = module:attr` lines of one `[entry_points]` key (the group).
fn group_entry_points(group: &ConfigOption) -> Result<Vec<EntryPoint>, SetupCfgError> {
    let mut out = Vec::new();
    for (line, text) in &group.lines {
        let error = |source| SetupCfgError::EntryPoint {
            line: *line,
            group: group.key.clone(),
            source,
        };
        let Some((name, value)) = text.split_once('=') else {
            return Err(error(EntryPointsError::NotAnEntry {
                line: *line,
                found: preview(text),
            }));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(error(EntryPointsError::EmptyName { line: *line }));
        }
        let (module, attr, extras) = entry_points::parse_value(value).map_err(error)?;
        out.push(EntryPoint {
            group: group.key.clone(),
            name: name.to_string(),
            module,
            attr,
            extras,
        });
    }
    Ok(out)
}

/// The value as configparser returns it, minus leading empty lines.
fn joined(option: &ConfigOption) -> String {
    let lines: Vec<&str> = option.lines.iter().map(|(_, l)| l.as_str()).collect();
    lines.join("\n")
}

/// setuptools and pbr accept `python_requires` and `python-requires` alike.
fn normalize_key(key: &str) -> String {
    key.to_ascii_lowercase().replace('-', "_")
}

/// configparser's reading: sections, options, continuation lines.
fn read(text: &str) -> Result<Vec<ConfigSection>, SetupCfgError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<ConfigSection> = Vec::new();
    // Whether the last option can still take continuation lines.
    let mut in_value = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let stripped = raw.trim();
        if stripped.starts_with(['#', ';']) {
            continue;
        }
        if stripped.is_empty() {
            // Blank lines inside a value are allowed; they add nothing.
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented
            && in_value
            && let Some(option) = sections.last_mut().and_then(|s| s.options.last_mut())
        {
            option.lines.push((line_no, stripped.to_string()));
            continue;
        }
        if stripped.starts_with('[') {
            let name = stripped
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .filter(|s| !s.is_empty())
                .ok_or_else(|| SetupCfgError::BadSection {
                    line: line_no,
                    found: preview(stripped),
                })?;
            if sections.iter().any(|s| s.name == name) {
                return Err(SetupCfgError::DuplicateSection {
                    line: line_no,
                    section: name.to_string(),
                });
            }
            sections.push(ConfigSection {
                name: name.to_string(),
                options: Vec::new(),
            });
            in_value = false;
            continue;
        }
        let Some(section) = sections.last_mut() else {
            return Err(SetupCfgError::NoSection { line: line_no });
        };
        let split_at = stripped.find(['=', ':']).filter(|&at| at > 0);
        let Some((key, value)) = split_at.map(|at| stripped.split_at(at)) else {
            return Err(SetupCfgError::NotAnOption {
                line: line_no,
                found: preview(stripped),
            });
        };
        let key = key.trim();
        // `split_at` keeps the delimiter, one ASCII byte, at the start.
        let value = value.get(1..).unwrap_or_default().trim();
        if section
            .options
            .iter()
            .any(|o| o.key.eq_ignore_ascii_case(key))
        {
            return Err(SetupCfgError::DuplicateKey {
                line: line_no,
                section: section.name.clone(),
                key: key.to_string(),
            });
        }
        let lines = if value.is_empty() {
            Vec::new()
        } else {
            vec![(line_no, value.to_string())]
        };
        section.options.push(ConfigOption {
            key: key.to_string(),
            lines,
        });
        in_value = true;
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::entry_points::TEMPEST_GROUP;

    const BARBICAN: &str =
        include_str!("../../fixtures/samples/setup-cfg/barbican_tempest_plugin-4.6.0.setup.cfg");
    const DESIGNATE: &str =
        include_str!("../../fixtures/samples/setup-cfg/designate_tempest_plugin-0.30.0.setup.cfg");
    const TEMPEST: &str = include_str!("../../fixtures/samples/setup-cfg/tempest-33.0.0.setup.cfg");
    const SIX: &str = include_str!("../../fixtures/samples/setup-cfg/six-1.17.0.setup.cfg");

    #[test]
    fn pbr_plugin() {
        let cfg = SetupCfg::parse(BARBICAN).unwrap();
        assert_eq!(cfg.name.as_deref(), Some("barbican_tempest_plugin"));
        assert_eq!(cfg.version, None);
        assert_eq!(
            cfg.summary.as_deref(),
            Some("OpenStack barbican tempest tests.")
        );
        assert_eq!(cfg.requires_python.as_deref(), Some(">=3.11"));
        assert_eq!(cfg.packages, vec!["barbican_tempest_plugin"]);
        assert_eq!(cfg.entry_points.len(), 1);
        let ep = &cfg.entry_points[0];
        assert_eq!(ep.group, TEMPEST_GROUP);
        assert_eq!(ep.name, "barbican_tests");
        assert_eq!(
            ep.value(),
            "barbican_tempest_plugin.plugin:BarbicanTempestPlugin"
        );
    }

    #[test]
    fn tempest_with_many_groups() {
        let cfg = SetupCfg::parse(TEMPEST).unwrap();
        assert_eq!(cfg.name.as_deref(), Some("tempest"));
        assert_eq!(cfg.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(cfg.packages, vec!["tempest"]);
        let scripts: Vec<&str> = cfg
            .entry_points
            .iter()
            .filter(|e| e.group == "console_scripts")
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            scripts,
            vec![
                "tempest",
                "skip-tracker",
                "check-uuid",
                "subunit-describe-calls"
            ]
        );
        assert_eq!(cfg.entry_points.len(), 4 + 12 + 1);
        assert!(cfg.entry_points.iter().any(|e| e.name == "tempest.config"));
    }

    #[test]
    fn metadata_moved_to_pyproject() {
        let cfg = SetupCfg::parse(DESIGNATE).unwrap();
        assert_eq!(cfg.name.as_deref(), Some("designate-tempest-plugin"));
        assert!(cfg.entry_points.is_empty() && cfg.packages.is_empty());
        let six = SetupCfg::parse(SIX).unwrap();
        assert_eq!(six, SetupCfg::default());
    }

    #[test]
    fn setuptools_spellings() {
        let text = "[metadata]\nName: demo\ndescription = Short.\nversion=1.0\n\n[options]\npython_requires = >=3.9\npackages = a, b\n    c\n\n[options.entry_points]\nconsole_scripts =\n    demo = demo.cli:main [color]\n\n    # a comment inside the value\n    other = demo.other\n";
        let cfg = SetupCfg::parse(text).unwrap();
        assert_eq!(cfg.name.as_deref(), Some("demo"));
        assert_eq!(cfg.summary.as_deref(), Some("Short."));
        assert_eq!(cfg.version.as_deref(), Some("1.0"));
        assert_eq!(cfg.requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(cfg.packages, vec!["a", "b", "c"]);
        assert_eq!(cfg.entry_points.len(), 2);
        assert_eq!(cfg.entry_points[0].extras, vec!["color"]);
        assert_eq!(cfg.entry_points[1].attr, None);
    }

    #[test]
    fn errors_name_the_line() {
        let cases: [(&str, &str); 6] = [
            (
                "name = x\n",
                "setup.cfg line 1: key before any `[section]` header",
            ),
            (
                "[a]\nk = 1\n[a]\n",
                "setup.cfg line 3: section [a] appears twice",
            ),
            (
                "[a]\nk = 1\nK = 2\n",
                "setup.cfg line 3: key \"K\" appears twice in [a]",
            ),
            (
                "[a]\njust words\n",
                "setup.cfg line 2: expected `key = value` or `key: value`, found \"just words\"",
            ),
            ("[a\n", "setup.cfg line 1: malformed section header \"[a\""),
            ("[]\n", "setup.cfg line 1: malformed section header \"[]\""),
        ];
        for (text, message) in cases {
            assert_eq!(SetupCfg::parse(text).unwrap_err().to_string(), message);
        }
        let err = SetupCfg::parse("[entry_points]\ng =\n    ok = a:b\n    bad\n").unwrap_err();
        assert!(
            matches!(err, SetupCfgError::EntryPoint { line: 4, .. }),
            "{err}"
        );
        assert!(SetupCfg::parse("[entry_points]\ng = x = 1bad:c\n").is_err());
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let huge = format!("[metadata]\nname = {}\n", "é".repeat(200_000));
        assert_eq!(SetupCfg::parse(&huge).unwrap().name.unwrap().len(), 400_000);
        let huge_bad = format!("[metadata]\n{}\n", "☃".repeat(200_000));
        assert!(SetupCfg::parse(&huge_bad).unwrap_err().to_string().len() < 400);
        for text in [
            "",
            "\u{feff}",
            "[",
            "]",
            "=",
            ":",
            "[a]\n=",
            "[a]\n:x",
            "  indented = 1",
            "[a]\n  k = v\n\tcont",
            "[metadata]\nname\u{2028}= x",
            "[a]\nk=\u{0}",
            "\u{feff}[metadata]\nname=ünï\n",
        ] {
            let _ = SetupCfg::parse(text);
        }
    }
}
