//! `pip check`, natively: every visible distribution's requirements against
//! the versions visible beside it, with the same verdicts as pip (23.2):
//! markers are evaluated for the interpreter with no extra, a name not
//! installed is missing, a version outside the specifier (pre-releases
//! allowed) is a conflict. A distribution with a requirement that does not
//! parse is left out of the check altogether, as pip leaves it out ("Error
//! parsing requirements for ..."), so what requires it reads as missing;
//! such requirements are listed apart.
//!
//! Requirement strings come from other people's metadata, and `pep508_rs`
//! 0.9 panics on some malformed names and extras, so every string is
//! checked by hand first and then parsed behind `catch_unwind`.

use std::collections::{BTreeMap, HashMap};

use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl};
use serde::Serialize;

use super::name;
use super::scan::{Distribution, ScanResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Unmet {
    Missing,
    Conflict { installed: String },
}

/// One unmet requirement. Names are normalized (PEP 503), as pip prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub dist: String,
    pub version: String,
    /// As written in the metadata.
    pub requirement: String,
    pub requirement_name: String,
    pub unmet: Unmet,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            dist,
            version,
            requirement,
            requirement_name,
            unmet,
        } = self;
        match unmet {
            Unmet::Missing => write!(
                f,
                "{dist} {version} requires {requirement_name}, which is not installed."
            ),
            Unmet::Conflict { installed } => write!(
                f,
                "{dist} {version} has requirement {requirement}, but you have {requirement_name} {installed}."
            ),
        }
    }
}

/// A distribution left out of the check because a requirement of it does
/// not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unparsable {
    pub dist: String,
    pub version: String,
    /// The offending requirement (or `requires.txt` when that file as a
    /// whole could not be read).
    pub requirement: String,
    pub reason: String,
}

impl std::fmt::Display for Unparsable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} has an invalid requirement {:?} ({}); its requirements are not checked",
            self.dist, self.version, self.requirement, self.reason
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    pub unparsable: Vec<Unparsable>,
}

/// The unmet requirements of the visible distributions, as `pip check`
/// reports them, for the interpreter whose marker environment is `markers`
/// (`InterpreterInfo::markers`).
pub fn check(scan: &ScanResult, markers: &BTreeMap<String, String>) -> Vec<Problem> {
    check_report(scan, markers).problems
}

/// [`check`], and the distributions it had to leave out.
pub fn check_report(scan: &ScanResult, markers: &BTreeMap<String, String>) -> CheckReport {
    let environment = marker_environment(markers);
    let mut report = CheckReport::default();
    // pip's package set: the visible distributions whose requirements parse.
    let mut checked: Vec<(&Distribution, Vec<(&str, Requirement)>)> = Vec::new();
    for dist in scan.visible() {
        match parse_all(dist) {
            Ok(requirements) => checked.push((dist, requirements)),
            Err((requirement, reason)) => report.unparsable.push(Unparsable {
                dist: dist.normalized_name(),
                version: dist.version.clone(),
                requirement,
                reason,
            }),
        }
    }
    let installed: HashMap<String, &Distribution> = checked
        .iter()
        .map(|(dist, _)| (dist.normalized_name(), *dist))
        .collect();
    for (dist, requirements) in &checked {
        for (text, requirement) in requirements {
            let applies = match &environment {
                Some(environment) => requirement.marker.evaluate(environment, &[]),
                None => requirement.marker.evaluate_optional_environment(None, &[]),
            };
            if !applies {
                continue;
            }
            let requirement_name = name::normalize(requirement.name.as_ref());
            let unmet = match installed.get(&requirement_name) {
                None => Unmet::Missing,
                Some(other) if satisfies(requirement, &other.version) => continue,
                Some(other) => Unmet::Conflict {
                    installed: other.version.clone(),
                },
            };
            report.problems.push(Problem {
                dist: dist.normalized_name(),
                version: dist.version.clone(),
                requirement: text.to_string(),
                requirement_name,
                unmet,
            });
        }
    }
    report
}

/// Every requirement of `dist`, or the first that does not parse and why.
fn parse_all(dist: &Distribution) -> Result<Vec<(&str, Requirement)>, (String, String)> {
    if let Some(err) = &dist.requires_error {
        return Err(("requires.txt".into(), err.clone()));
    }
    dist.requires
        .iter()
        .map(|text| match parse_requirement(text) {
            Ok(requirement) => Ok((text.as_str(), requirement)),
            Err(reason) => Err((text.clone(), reason)),
        })
        .collect()
}

/// Whether `version` is in the requirement's specifiers, pre-releases
/// included. A version that is not PEP 440 satisfies only an empty
/// specifier, as with pip's vendored `packaging` (its legacy versions never
/// match a PEP 440 specifier).
fn satisfies(requirement: &Requirement, version: &str) -> bool {
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else {
        return true;
    };
    if specifiers.is_empty() {
        return true;
    }
    Version::from_str(version).is_ok_and(|version| specifiers.contains(&version))
}

/// The marker environment from the interpreter's marker map; `None` when it
/// lacks a key or a version does not parse, and then only `extra` markers
/// are evaluated (the others count as true).
fn marker_environment(markers: &BTreeMap<String, String>) -> Option<MarkerEnvironment> {
    let get = |key: &str| markers.get(key).map(String::as_str);
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: get("implementation_name")?,
        implementation_version: get("implementation_version")?,
        os_name: get("os_name")?,
        platform_machine: get("platform_machine")?,
        platform_python_implementation: get("platform_python_implementation")?,
        platform_release: get("platform_release")?,
        platform_system: get("platform_system")?,
        platform_version: get("platform_version")?,
        python_full_version: get("python_full_version")?,
        python_version: get("python_version")?,
        sys_platform: get("sys_platform")?,
    })
    .ok()
}

/// Parses a PEP 508 string from outside, through the one guarded parser
/// ([`crate::dist::requirement::parse`]).
pub fn parse_requirement(text: &str) -> Result<Requirement, String> {
    crate::dist::requirement::parse(text)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::dist::scan::{MetadataKind, Origin};

    fn dist(name: &str, version: &str, requires: &[&str]) -> Distribution {
        Distribution {
            name: name.into(),
            version: version.into(),
            kind: MetadataKind::DistInfo,
            metadata_path: PathBuf::from(format!("/site/{name}-{version}.dist-info")),
            site_dir: PathBuf::from("/site"),
            origin: Origin::Env,
            requires: requires.iter().map(|r| r.to_string()).collect(),
            requires_error: None,
            entry_points: Vec::new(),
            files: Vec::new(),
            top_level: Vec::new(),
            editable_location: None,
        }
    }

    fn scan(dists: Vec<Distribution>) -> ScanResult {
        ScanResult {
            dists,
            problems: Vec::new(),
        }
    }

    /// CPython 3.11 on Linux, as `query.py` reports it.
    fn linux_311() -> BTreeMap<String, String> {
        [
            ("implementation_name", "cpython"),
            ("implementation_version", "3.11.7"),
            ("os_name", "posix"),
            ("platform_machine", "x86_64"),
            ("platform_python_implementation", "CPython"),
            ("platform_release", "6.1.0"),
            ("platform_system", "Linux"),
            ("platform_version", "#1 SMP"),
            ("python_full_version", "3.11.7"),
            ("python_version", "3.11"),
            ("sys_platform", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn verdicts(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn missing_conflicting_and_skipped() {
        let result = scan(vec![
            dist(
                "needsbad",
                "2.0rc1",
                &[
                    "nothere>=1",
                    "Alpha_Tempest.Plugin>=9",
                    "x ; python_version < \"3\"",
                    "y ; python_version >= \"3\"",
                    "z ; extra == \"test\"",
                    "w ; sys_platform == \"win32\" or extra == \"docs\"",
                    "valet",
                    "oslo.config (>=5.2.0)",
                ],
            ),
            dist(
                "alpha-tempest-plugin",
                "1.2.0",
                &["needsbad>=1", "needsbad>=2"],
            ),
            dist("valet", "0.0.0", &[]),
            dist("oslo.config", "9.0.0", &["valet==0.0.0", "VALET<1"]),
        ]);
        assert_eq!(
            verdicts(&check(&result, &linux_311())),
            [
                "needsbad 2.0rc1 requires nothere, which is not installed.",
                "needsbad 2.0rc1 has requirement Alpha_Tempest.Plugin>=9, but you have alpha-tempest-plugin 1.2.0.",
                "needsbad 2.0rc1 requires y, which is not installed.",
                // A pre-release satisfies >=1 (pip allows them) but not >=2.
                "alpha-tempest-plugin 1.2.0 has requirement needsbad>=2, but you have needsbad 2.0rc1.",
            ]
        );
        let problems = check(&result, &linux_311());
        assert_eq!(problems[0].requirement_name, "nothere");
        assert_eq!(problems[0].unmet, Unmet::Missing);
        assert_eq!(problems[1].requirement_name, "alpha-tempest-plugin");
        assert_eq!(
            problems[1].unmet,
            Unmet::Conflict {
                installed: "1.2.0".into()
            }
        );
    }

    #[test]
    fn names_are_normalized_like_pip_prints_them() {
        let result = scan(vec![dist("Oslo.Config", "9.0.0", &["Ne_Ver>=1"])]);
        assert_eq!(
            verdicts(&check(&result, &linux_311())),
            ["oslo-config 9.0.0 requires ne-ver, which is not installed."]
        );
    }

    #[test]
    fn local_versions_and_odd_versions() {
        let result = scan(vec![
            dist("tempest", "47.0.0+standin", &[]),
            dist("legacy", "1.0-custom", &[]),
            dist(
                "plugin",
                "1",
                &[
                    "tempest>=27.0.0",
                    "tempest==47.0.0",
                    "tempest!=47.0.0",
                    "legacy",
                    "legacy>=0",
                ],
            ),
        ]);
        assert_eq!(
            verdicts(&check(&result, &linux_311())),
            [
                "plugin 1 has requirement tempest!=47.0.0, but you have tempest 47.0.0+standin.",
                "plugin 1 has requirement legacy>=0, but you have legacy 1.0-custom.",
            ]
        );
    }

    #[test]
    fn only_visible_distributions_count() {
        let mut hidden = dist("six", "1.16.0", &["nothere"]);
        hidden.site_dir = PathBuf::from("/system");
        let result = scan(vec![
            dist("six", "1.17.0", &[]),
            hidden,
            dist("uses-six", "1", &["six>=1.17"]),
        ]);
        assert!(check(&result, &linux_311()).is_empty());
    }

    #[test]
    fn unparsable_requirements_leave_the_distribution_out() {
        let mut from_egg = dist("eggy", "1", &[]);
        from_egg.requires_error = Some("requires.txt line 2: invalid requirement".into());
        let result = scan(vec![
            dist(
                "badreq",
                "1.0",
                &["nothere>=1", "this is not valid!", "six>=99"],
            ),
            dist("needsbad", "2.0", &["badreq>=0.5", "eggy"]),
            from_egg,
        ]);
        let report = check_report(&result, &linux_311());
        assert_eq!(
            verdicts(&report.problems),
            [
                "needsbad 2.0 requires badreq, which is not installed.",
                "needsbad 2.0 requires eggy, which is not installed.",
            ]
        );
        let left_out: Vec<(&str, &str)> = report
            .unparsable
            .iter()
            .map(|u| (u.dist.as_str(), u.requirement.as_str()))
            .collect();
        assert_eq!(
            left_out,
            [("badreq", "this is not valid!"), ("eggy", "requires.txt")]
        );
        assert!(
            report.unparsable[0]
                .to_string()
                .starts_with("badreq 1.0 has an invalid requirement")
        );
    }

    #[test]
    fn hostile_requirements_do_not_panic() {
        // The first four made pep508_rs 0.9.2 panic.
        for text in [
            "Metadata- x",
            "a[b-,c]",
            "a_;x",
            "a.[x]",
            "a ; extra == \"b-_c\"",
            "a ; extra == 'x-' and python_version > '3'",
            "a[",
            "a @",
            "a @ ; ;",
            "a @ http://[::1",
            "",
            "é",
            "a (>=",
            "a ; python_version > ",
            "\u{0}",
        ] {
            let _ = parse_requirement(text);
        }
        for bad in ["Metadata- x", "a[b-,c]", "a_;x", "a.[x]", "a[", "", "é"] {
            assert!(parse_requirement(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn url_requirements_keep_name_and_marker() {
        let ok = |text: &str| parse_requirement(text).unwrap();
        let r = ok("pkg[x] @ https://example.com/pkg.whl ; python_version < '3'");
        assert_eq!(r.name.as_ref(), "pkg");
        assert!(
            !r.marker
                .evaluate(&marker_environment(&linux_311()).unwrap(), &[])
        );
        let r = ok("pkg@file:///src/a;b");
        assert!(r.marker.is_true());
        let result = scan(vec![dist(
            "p",
            "1",
            &[
                "pkg @ https://example.com/pkg.whl ; python_version < '3'",
                "other @ file:///x",
            ],
        )]);
        assert_eq!(
            verdicts(&check(&result, &linux_311())),
            ["p 1 requires other, which is not installed."]
        );
    }

    #[test]
    fn without_a_marker_environment_only_extras_decide() {
        let result = scan(vec![dist(
            "p",
            "1",
            &["x ; python_version < \"3\"", "y ; extra == \"docs\""],
        )]);
        let problems = check(&result, &BTreeMap::new());
        assert_eq!(
            verdicts(&problems),
            ["p 1 requires x, which is not installed."]
        );
    }
}
