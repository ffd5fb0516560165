//! Entry points (`entry_points.txt` in `.dist-info` and `.egg-info`), read the
//! way `importlib.metadata` reads them. They are how tempest finds its
//! plugins (the `tempest.test_plugins` group) and how console scripts such as
//! `tempest` and `stestr` get their launchers.

use std::fmt::Write as _;

use crate::error::preview;

/// The group tempest loads its plugins from (through stevedore).
pub const TEMPEST_GROUP: &str = "tempest.test_plugins";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub group: String,
    pub name: String,
    pub module: String,
    pub attr: Option<String>,
    pub extras: Vec<String>,
}

impl EntryPoint {
    /// The value as written in `entry_points.txt`: `module:attr [extras]`.
    pub fn value(&self) -> String {
        let mut value = self.module.clone();
        if let Some(attr) = &self.attr {
            value.push(':');
            value.push_str(attr);
        }
        if !self.extras.is_empty() {
            let _ = write!(value, " [{}]", self.extras.join(","));
        }
        value
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryPointsError {
    #[error("line {line}: expected `name = value`, found {found:?}")]
    NotAnEntry { line: usize, found: String },
    #[error("line {line}: entry point has an empty name")]
    EmptyName { line: usize },
    #[error("line {line}: empty group name `[]`")]
    EmptyGroup { line: usize },
    #[error("line {line}: entry point {name:?}: {source}")]
    Value {
        line: usize,
        name: String,
        #[source]
        source: Box<EntryPointsError>,
    },
    #[error("invalid entry point value {value:?}: {reason}")]
    InvalidValue { value: String, reason: &'static str },
}

/// Parses `entry_points.txt`. Lines are stripped; blank lines and lines
/// starting with `#` or `;` are skipped; `[group]` starts a section; entries
/// before the first section are ignored, as `importlib.metadata` does.
pub fn parse(text: &str) -> Result<Vec<EntryPoint>, EntryPointsError> {
    let mut group: Option<String> = None;
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = inner.trim();
            if name.is_empty() {
                return Err(EntryPointsError::EmptyGroup { line: line_no });
            }
            group = Some(name.to_string());
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(EntryPointsError::NotAnEntry {
                line: line_no,
                found: preview(line),
            });
        };
        let Some(group) = &group else { continue };
        let name = name.trim();
        if name.is_empty() {
            return Err(EntryPointsError::EmptyName { line: line_no });
        }
        let (module, attr, extras) =
            parse_value(value).map_err(|source| EntryPointsError::Value {
                line: line_no,
                name: name.to_string(),
                source: Box::new(source),
            })?;
        out.push(EntryPoint {
            group: group.clone(),
            name: name.to_string(),
            module,
            attr,
            extras,
        });
    }
    Ok(out)
}

/// Splits `module(.sub)*(:attr(.attr)*)?( [extra, ...])?`, each dotted part a
/// Python identifier; whitespace around `:` and before `[` is allowed.
pub fn parse_value(value: &str) -> Result<(String, Option<String>, Vec<String>), EntryPointsError> {
    let invalid = |reason| EntryPointsError::InvalidValue {
        value: preview(value),
        reason,
    };
    let value = value.trim();
    let (object, extras) = match value.split_once('[') {
        Some((object, rest)) => {
            let inner = rest
                .strip_suffix(']')
                .ok_or_else(|| invalid("extras must end with `]`"))?;
            if inner.contains(['[', ']']) {
                return Err(invalid("extras contain a bracket"));
            }
            let extras: Vec<String> = inner
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect();
            if !extras.iter().all(|e| is_extra_name(e)) {
                return Err(invalid("an extra is not a valid name"));
            }
            (object.trim(), extras)
        }
        None => (value, Vec::new()),
    };
    let (module, attr) = match object.split_once(':') {
        Some((module, attr)) => (module.trim(), Some(attr.trim())),
        None => (object, None),
    };
    if module.is_empty() {
        return Err(invalid("the module is empty"));
    }
    if !is_dotted_identifier(module) {
        return Err(invalid("the module is not a dotted Python name"));
    }
    if let Some(attr) = attr
        && !is_dotted_identifier(attr)
    {
        return Err(invalid("the attribute is not a dotted Python name"));
    }
    Ok((module.to_string(), attr.map(str::to_string), extras))
}

/// Writes `entry_points.txt`: one `[group]` section per group, in order of
/// first appearance, separated by blank lines.
pub fn render(eps: &[EntryPoint]) -> String {
    let mut groups: Vec<&str> = Vec::new();
    for ep in eps {
        if !groups.contains(&ep.group.as_str()) {
            groups.push(&ep.group);
        }
    }
    let mut out = String::new();
    for (index, group) in groups.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "[{group}]");
        for ep in eps.iter().filter(|ep| ep.group == *group) {
            let _ = writeln!(out, "{} = {}", ep.name, ep.value());
        }
    }
    out
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn is_dotted_identifier(text: &str) -> bool {
    text.split('.').all(is_identifier)
}

fn is_extra_name(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: [&str; 11] = [
        include_str!("../../fixtures/samples/dist-info/tempest-47.0.0.dist-info/entry_points.txt"),
        include_str!("../../fixtures/samples/dist-info/stestr-4.2.1.dist-info/entry_points.txt"),
        include_str!(
            "../../fixtures/samples/dist-info/barbican_tempest_plugin-4.6.0.dist-info/entry_points.txt"
        ),
        include_str!(
            "../../fixtures/samples/dist-info/stevedore-5.10.0.dist-info/entry_points.txt"
        ),
        include_str!(
            "../../fixtures/samples/dist-info/oslo_config-10.7.0.dist-info/entry_points.txt"
        ),
        include_str!("../../fixtures/samples/dist-info/pip-23.2.1.dist-info/entry_points.txt"),
        include_str!(
            "../../fixtures/samples/dist-info/setuptools-65.5.0.dist-info/entry_points.txt"
        ),
        include_str!(
            "../../fixtures/samples/egg-info/barbican_tempest_plugin-1.7.0.egg-info/entry_points.txt"
        ),
        include_str!("../../fixtures/samples/egg-info/stevedore-4.0.2.egg-info/entry_points.txt"),
        include_str!("../../fixtures/samples/egg-info/tempest-33.0.0.egg-info/entry_points.txt"),
        include_str!("../../fixtures/samples/egg-info/pbr-5.10.0.egg-info/entry_points.txt"),
    ];

    #[test]
    fn real_samples_parse_and_round_trip() {
        for text in SAMPLES {
            let eps = parse(text).unwrap();
            assert!(!eps.is_empty());
            assert_eq!(parse(&render(&eps)).unwrap(), eps);
        }
    }

    #[test]
    fn tempest_plugin_entry_point() {
        let eps = parse(SAMPLES[2]).unwrap();
        let plugin = eps.iter().find(|e| e.group == TEMPEST_GROUP).unwrap();
        assert_eq!(plugin.name, "barbican_tests");
        assert_eq!(plugin.module, "barbican_tempest_plugin.plugin");
        assert_eq!(plugin.attr.as_deref(), Some("BarbicanTempestPlugin"));
        assert_eq!(
            plugin.value(),
            "barbican_tempest_plugin.plugin:BarbicanTempestPlugin"
        );
        let tempest = parse(SAMPLES[0]).unwrap();
        let script = tempest
            .iter()
            .find(|e| e.group == "console_scripts" && e.name == "tempest")
            .unwrap();
        assert_eq!(script.value(), "tempest.cmd.main:main");
        assert!(tempest.iter().any(|e| e.name == "tempest.config"));
    }

    #[test]
    fn values() {
        assert_eq!(
            parse_value("a.b : c.d  [x, y-z]").unwrap(),
            (
                "a.b".into(),
                Some("c.d".into()),
                vec!["x".into(), "y-z".into()]
            )
        );
        assert_eq!(parse_value("mod").unwrap(), ("mod".into(), None, vec![]));
        assert_eq!(parse_value("mod []").unwrap(), ("mod".into(), None, vec![]));
        assert_eq!(parse_value("é_mod:Ünï").unwrap().0, "é_mod");
        for bad in [
            "",
            ":attr",
            "mod:",
            "mod:a..b",
            "1mod",
            "mod.",
            "a b",
            "mod [x",
            "mod [x]]",
            "mod [x y]",
            "mod:attr:more",
            "mod-x",
        ] {
            assert!(parse_value(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn comments_whitespace_and_sections() {
        let text = "ignored = before.any:section\n# comment\n; comment\n  [ g ]  \n\tn1=a:b\n n2 =  c  [e]\n\n[h]\nn3 = d\n";
        let eps = parse(text).unwrap();
        assert_eq!(eps.len(), 3);
        assert_eq!((eps[0].group.as_str(), eps[0].name.as_str()), ("g", "n1"));
        assert_eq!(eps[1].extras, vec!["e"]);
        assert_eq!(eps[2].group, "h");
        assert_eq!(render(&eps), "[g]\nn1 = a:b\nn2 = c [e]\n\n[h]\nn3 = d\n");
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("[g]\nok = a:b\nno equals sign\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: expected `name = value`, found \"no equals sign\""
        );
        let err = parse("[g]\nbad = a:b:c\n").unwrap_err();
        assert!(
            err.to_string().starts_with("line 2: entry point \"bad\":"),
            "{err}"
        );
        assert!(matches!(
            parse("[]\n"),
            Err(EntryPointsError::EmptyGroup { line: 1 })
        ));
        assert!(matches!(
            parse("[g]\n = x\n"),
            Err(EntryPointsError::EmptyName { line: 2 })
        ));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let long = format!("[g]\nn = {}\n", "é".repeat(100_000));
        assert!(parse(&long).is_ok());
        let long_bad = format!("[g]\n{}\n", "ß".repeat(100_000));
        assert!(parse(&long_bad).unwrap_err().to_string().len() < 400);
        for text in [
            "[",
            "]",
            "[g]\n=",
            "[g]\nn=[",
            "[g]\nn=]",
            "\u{0}",
            "[g]\nn = a:\u{300}",
        ] {
            let _ = parse(text);
        }
    }
}
