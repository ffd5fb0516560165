//! Wheel file names (`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`,
//! PEP 427 and the binary distribution format spec). The file name is the only
//! thing we know about a wheel before opening it, and it is what decides
//! whether the wheel fits an interpreter at all, so it is parsed strictly.

use std::fmt;
use std::str::FromStr;

use crate::dist::name;

/// A parsed wheel file name. Tag sets keep the order written; a compressed
/// set such as `py2.py3` becomes two entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    pub name: String,
    pub version: String,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WheelFilenameError {
    #[error("{0:?} is not a wheel file name: it must end in `.whl`")]
    NotAWheel(String),
    #[error(
        "{file:?} has {count} dash-separated parts; a wheel file name has 5 or 6 \
         (name-version[-build]-python-abi-platform.whl)"
    )]
    PartCount { file: String, count: usize },
    #[error("{file:?} has an invalid distribution name {name:?}")]
    InvalidName { file: String, name: String },
    #[error("{file:?} has an invalid version {version:?}: {reason}")]
    InvalidVersion {
        file: String,
        version: String,
        reason: String,
    },
    #[error("{file:?} has a build tag {build:?} that does not start with a digit")]
    InvalidBuildTag { file: String, build: String },
    #[error("{file:?} has an empty {what} tag")]
    EmptyTag { file: String, what: &'static str },
}

impl WheelFilename {
    pub fn parse(file_name: &str) -> Result<Self, WheelFilenameError> {
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or_else(|| WheelFilenameError::NotAWheel(file_name.to_string()))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, python, abi, platform) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
            _ => {
                return Err(WheelFilenameError::PartCount {
                    file: file_name.to_string(),
                    count: parts.len(),
                });
            }
        };
        if !name::is_valid(name) {
            return Err(WheelFilenameError::InvalidName {
                file: file_name.to_string(),
                name: name.to_string(),
            });
        }
        if let Err(err) = pep440_rs::Version::from_str(version) {
            return Err(WheelFilenameError::InvalidVersion {
                file: file_name.to_string(),
                version: version.to_string(),
                reason: err.to_string(),
            });
        }
        if let Some(build) = build
            && !build.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(WheelFilenameError::InvalidBuildTag {
                file: file_name.to_string(),
                build: build.to_string(),
            });
        }
        let split = |set: &str, what: &'static str| -> Result<Vec<String>, WheelFilenameError> {
            set.split('.')
                .map(|tag| {
                    if tag.is_empty() {
                        Err(WheelFilenameError::EmptyTag {
                            file: file_name.to_string(),
                            what,
                        })
                    } else {
                        Ok(tag.to_string())
                    }
                })
                .collect()
        };
        Ok(Self {
            name: name.to_string(),
            version: version.to_string(),
            build: build.map(str::to_string),
            python_tags: split(python, "python")?,
            abi_tags: split(abi, "abi")?,
            platform_tags: split(platform, "platform")?,
        })
    }

    /// Every `(python, abi, platform)` triple the compressed tag sets stand for.
    pub fn tags(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for python in &self.python_tags {
            for abi in &self.abi_tags {
                for platform in &self.platform_tags {
                    out.push((python.clone(), abi.clone(), platform.clone()));
                }
            }
        }
        out
    }

    /// The tag part of the file name as written, e.g. `py2.py3-none-any`.
    pub fn tag_string(&self) -> String {
        format!(
            "{}-{}-{}",
            self.python_tags.join("."),
            self.abi_tags.join("."),
            self.platform_tags.join(".")
        )
    }
}

impl FromStr for WheelFilename {
    type Err = WheelFilenameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for WheelFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.version)?;
        if let Some(build) = &self.build {
            write!(f, "-{build}")?;
        }
        write!(f, "-{}.whl", self.tag_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../fixtures/samples/dist-info/wheel-filenames.txt");

    #[test]
    fn every_real_file_name_parses_and_round_trips() {
        let mut count = 0;
        for line in REAL.lines().filter(|l| !l.is_empty()) {
            let wheel = WheelFilename::parse(line).unwrap();
            assert_eq!(wheel.to_string(), line);
            assert!(!wheel.tags().is_empty());
            count += 1;
        }
        assert!(count >= 10);
    }

    #[test]
    fn pure_python_wheel() {
        let wheel = WheelFilename::parse("tempest-47.0.0-py3-none-any.whl").unwrap();
        assert_eq!(wheel.name, "tempest");
        assert_eq!(wheel.version, "47.0.0");
        assert_eq!(wheel.build, None);
        assert_eq!(wheel.tag_string(), "py3-none-any");
        assert_eq!(
            wheel.tags(),
            vec![("py3".into(), "none".into(), "any".into())]
        );
    }

    #[test]
    fn compressed_tag_sets_expand() {
        let wheel = WheelFilename::parse(
            "pyyaml-6.0.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
        )
        .unwrap();
        assert_eq!(wheel.platform_tags.len(), 3);
        assert_eq!(wheel.tags().len(), 3);
        let six = WheelFilename::parse("six-1.17.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(six.python_tags, vec!["py2", "py3"]);
        assert_eq!(six.tag_string(), "py2.py3-none-any");
    }

    #[test]
    fn build_tag() {
        let wheel = WheelFilename::parse("demo-1.0-1local-py3-none-any.whl").unwrap();
        assert_eq!(wheel.build.as_deref(), Some("1local"));
        assert_eq!(wheel.to_string(), "demo-1.0-1local-py3-none-any.whl");
        assert!(matches!(
            WheelFilename::parse("demo-1.0-local-py3-none-any.whl"),
            Err(WheelFilenameError::InvalidBuildTag { .. })
        ));
    }

    #[test]
    fn refusals() {
        let cases = [
            "tempest-47.0.0-py3-none-any.zip",
            "tempest-47.0.0-py3-none-any",
            "tempest-47.0.0-py3-none.whl",
            "a-b-1.0-1-py3-none-any.whl",
            "tempest-47.0.0-py3--any.whl",
            "tempest-47.0.0-py3-none-.whl",
            "tempest-47.0.0-py3..py2-none-any.whl",
            "-1.0-py3-none-any.whl",
            "tempest-not a version-py3-none-any.whl",
            "tempest--py3-none-any.whl",
            ".whl",
            "",
            "ü-1.0-py3-none-any.whl",
            "tempest-1.0-é-py3-none-any.whl",
        ];
        for case in cases {
            assert!(WheelFilename::parse(case).is_err(), "{case:?} accepted");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let err = WheelFilename::parse("x-1-py3-none.whl").unwrap_err();
        assert!(err.to_string().contains("4 dash-separated parts"), "{err}");
    }
}
