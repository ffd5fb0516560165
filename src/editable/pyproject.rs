//! `pyproject.toml` of a plugin source tree: the `[project]` table (PEP 621)
//! and the build backend. For an editable install we need the name, the
//! version when static, the requirements and the entry points, including
//! the console scripts, without running the build backend when we can.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::dist::entry_points::{self, EntryPoint, EntryPointsError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pyproject {
    pub name: Option<String>,
    pub version: Option<String>,
    /// Fields the build backend computes (`version`, `dependencies`, ...).
    pub dynamic: Vec<String>,
    pub requires_python: Option<String>,
    pub dependencies: Vec<String>,
    /// `[project.scripts]` as `console_scripts`, `[project.gui-scripts]` as
    /// `gui_scripts`, then `[project.entry-points.<group>]`; within a group
    /// sorted by name.
    pub entry_points: Vec<EntryPoint>,
    pub build_backend: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PyprojectError {
    #[error("pyproject.toml is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("pyproject.toml: [project] has no `name`")]
    MissingName,
    #[error(
        "pyproject.toml: [project.entry-points.{0}] is not allowed; use [project.scripts] or \
         [project.gui-scripts]"
    )]
    ReservedGroup(String),
    #[error("pyproject.toml: entry point {name:?} in group {group:?}: {source}")]
    EntryPoint {
        group: String,
        name: String,
        #[source]
        source: EntryPointsError,
    },
}

#[derive(Deserialize)]
struct RawPyproject {
    project: Option<RawProject>,
    #[serde(rename = "build-system")]
    build_system: Option<RawBuildSystem>,
}

#[derive(Deserialize)]
struct RawBuildSystem {
    #[serde(rename = "build-backend")]
    build_backend: Option<String>,
}

#[derive(Deserialize)]
struct RawProject {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    dynamic: Vec<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    #[serde(default, rename = "gui-scripts")]
    gui_scripts: BTreeMap<String, String>,
    #[serde(default, rename = "entry-points")]
    entry_points: BTreeMap<String, BTreeMap<String, String>>,
}

impl Pyproject {
    pub fn parse(text: &str) -> Result<Self, PyprojectError> {
        let raw: RawPyproject = toml::from_str(text)?;
        let build_backend = raw.build_system.and_then(|b| b.build_backend);
        let Some(project) = raw.project else {
            return Ok(Self {
                build_backend,
                ..Self::default()
            });
        };
        let name = project.name.ok_or(PyprojectError::MissingName)?;
        let mut entry_points = Vec::new();
        let fixed = [
            ("console_scripts", &project.scripts),
            ("gui_scripts", &project.gui_scripts),
        ];
        for (group, entries) in fixed {
            entry_points.extend(convert(group, entries)?);
        }
        for (group, entries) in &project.entry_points {
            if group == "console_scripts" || group == "gui_scripts" {
                return Err(PyprojectError::ReservedGroup(group.clone()));
            }
            entry_points.extend(convert(group, entries)?);
        }
        Ok(Self {
            name: Some(name),
            version: project.version,
            dynamic: project.dynamic,
            requires_python: project.requires_python,
            dependencies: project.dependencies,
            entry_points,
            build_backend,
        })
    }
}

fn convert(
    group: &str,
    entries: &BTreeMap<String, String>,
) -> Result<Vec<EntryPoint>, PyprojectError> {
    entries
        .iter()
        .map(|(name, value)| {
            let (module, attr, extras) =
                entry_points::parse_value(value).map_err(|source| PyprojectError::EntryPoint {
                    group: group.to_string(),
                    name: name.clone(),
                    source,
                })?;
            Ok(EntryPoint {
                group: group.to_string(),
                name: name.clone(),
                module,
                attr,
                extras,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::entry_points::TEMPEST_GROUP;

    const STESTR: &str =
        include_str!("../../fixtures/samples/pyproject/stestr-4.2.1.pyproject.toml");
    const DESIGNATE: &str = include_str!(
        "../../fixtures/samples/pyproject/designate_tempest_plugin-0.30.0.pyproject.toml"
    );
    const TEMPEST: &str =
        include_str!("../../fixtures/samples/pyproject/tempest-47.0.0.pyproject.toml");

    #[test]
    fn stestr_flit_project() {
        let p = Pyproject::parse(STESTR).unwrap();
        assert_eq!(p.name.as_deref(), Some("stestr"));
        assert_eq!(p.version, None);
        assert_eq!(p.dynamic, vec!["version"]);
        assert_eq!(p.requires_python.as_deref(), Some(">=3.8"));
        assert!(p.dependencies.contains(&"cliff>=2.8.0".to_string()));
        assert_eq!(p.build_backend.as_deref(), Some("flit_core.buildapi"));
        assert_eq!(p.entry_points[0].group, "console_scripts");
        assert_eq!(p.entry_points[0].value(), "stestr.cli:main");
        assert!(
            p.entry_points
                .iter()
                .any(|e| e.group == "stestr.cm" && e.name == "run")
        );
    }

    #[test]
    fn pbr_plugin_project() {
        let p = Pyproject::parse(DESIGNATE).unwrap();
        assert_eq!(p.name.as_deref(), Some("designate-tempest-plugin"));
        assert_eq!(p.dynamic, vec!["version", "dependencies"]);
        assert!(p.dependencies.is_empty());
        assert_eq!(p.build_backend.as_deref(), Some("pbr.build"));
        assert_eq!(p.entry_points.len(), 1);
        assert_eq!(p.entry_points[0].group, TEMPEST_GROUP);
        assert_eq!(
            p.entry_points[0].value(),
            "designate_tempest_plugin.plugin:DesignateTempestPlugin"
        );
    }

    #[test]
    fn tempest_project() {
        let p = Pyproject::parse(TEMPEST).unwrap();
        assert_eq!(p.name.as_deref(), Some("tempest"));
        let count = |group: &str| p.entry_points.iter().filter(|e| e.group == group).count();
        assert_eq!(count("console_scripts"), 4);
        assert_eq!(count("tempest.cm"), 12);
        assert_eq!(count("oslo.config.opts"), 1);
    }

    #[test]
    fn minimal_and_missing_tables() {
        assert_eq!(Pyproject::parse("").unwrap(), Pyproject::default());
        let p = Pyproject::parse("[build-system]\nrequires = [\"setuptools\"]\n").unwrap();
        assert_eq!(p.build_backend, None);
        let p = Pyproject::parse(
            "[project]\nname = \"x\"\nversion = \"1\"\n[project.gui-scripts]\ng = \"x.gui:run\"\n",
        )
        .unwrap();
        assert_eq!(p.version.as_deref(), Some("1"));
        assert_eq!(p.entry_points[0].group, "gui_scripts");
    }

    #[test]
    fn errors() {
        assert_eq!(
            Pyproject::parse("[project]\nversion = \"1\"\n"),
            Err(PyprojectError::MissingName)
        );
        assert_eq!(
            Pyproject::parse(
                "[project]\nname = \"x\"\n[project.entry-points.console_scripts]\na = \"b:c\"\n"
            ),
            Err(PyprojectError::ReservedGroup("console_scripts".into()))
        );
        let err = Pyproject::parse("[project]\nname = \"x\"\n[project.scripts]\na = \"b:1c\"\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("pyproject.toml: entry point \"a\" in group \"console_scripts\":"),
            "{err}"
        );
        let err = Pyproject::parse("[project]\nname = 3\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(Pyproject::parse("[project\n").is_err());
        assert!(Pyproject::parse("[project]\ndependencies = \"x\"\n").is_err());
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let _ = Pyproject::parse(&deep);
        let deep_tables = format!("a = {}", "{ b = ".repeat(50_000));
        let _ = Pyproject::parse(&deep_tables);
        for text in ["\u{feff}", "[", "=", "[project]\nname = \"\u{0}\"", "é = 1"] {
            let _ = Pyproject::parse(text);
        }
    }
}
