//! The `WHEEL` file inside a wheel's `.dist-info`: the wheel format version
//! (an installer must refuse a major version it does not know), whether the
//! root goes to purelib or platlib, and the tags the builder declared.

use crate::dist::metadata::{self, MetadataError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFile {
    pub version: (u32, u32),
    pub root_is_purelib: bool,
    pub tags: Vec<String>,
    pub generator: Option<String>,
    pub build: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WheelFileError {
    #[error("WHEEL is not in `Key: value` form")]
    Format(#[from] MetadataError),
    #[error("WHEEL has no `Wheel-Version`")]
    MissingVersion,
    #[error("WHEEL has `Wheel-Version: {0}`; expected `major.minor`, e.g. `1.0`")]
    InvalidVersion(String),
    #[error("WHEEL has no `Root-Is-Purelib`")]
    MissingRootIsPurelib,
    #[error("WHEEL has `Root-Is-Purelib: {0}`; expected `true` or `false`")]
    InvalidRootIsPurelib(String),
}

impl WheelFile {
    pub fn parse(text: &str) -> Result<Self, WheelFileError> {
        let mut version = None;
        let mut root_is_purelib = None;
        let mut tags = Vec::new();
        let mut generator = None;
        let mut build = None;
        for (key, value) in metadata::headers(text)? {
            let is = |field: &str| key.eq_ignore_ascii_case(field);
            if is("Wheel-Version") {
                version.get_or_insert(value);
            } else if is("Root-Is-Purelib") {
                root_is_purelib.get_or_insert(value);
            } else if is("Tag") {
                tags.push(value);
            } else if is("Generator") {
                generator.get_or_insert(value);
            } else if is("Build") {
                build.get_or_insert(value);
            }
        }
        let version = version.ok_or(WheelFileError::MissingVersion)?;
        let version = parse_version(&version).ok_or(WheelFileError::InvalidVersion(version))?;
        let purelib = root_is_purelib.ok_or(WheelFileError::MissingRootIsPurelib)?;
        let root_is_purelib = if purelib.eq_ignore_ascii_case("true") {
            true
        } else if purelib.eq_ignore_ascii_case("false") {
            false
        } else {
            return Err(WheelFileError::InvalidRootIsPurelib(purelib));
        };
        Ok(Self {
            version,
            root_is_purelib,
            tags,
            generator,
            build,
        })
    }
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPEST: &str =
        include_str!("../../fixtures/samples/dist-info/tempest-47.0.0.dist-info/WHEEL");
    const STESTR: &str =
        include_str!("../../fixtures/samples/dist-info/stestr-4.2.1.dist-info/WHEEL");
    const SIX: &str = include_str!("../../fixtures/samples/dist-info/six-1.17.0.dist-info/WHEEL");
    const PIP: &str = include_str!("../../fixtures/samples/dist-info/pip-23.2.1.dist-info/WHEEL");
    const OTHERS: [&str; 4] = [
        include_str!("../../fixtures/samples/dist-info/setuptools-65.5.0.dist-info/WHEEL"),
        include_str!("../../fixtures/samples/dist-info/oslo_config-10.7.0.dist-info/WHEEL"),
        include_str!("../../fixtures/samples/dist-info/stevedore-5.10.0.dist-info/WHEEL"),
        include_str!(
            "../../fixtures/samples/dist-info/barbican_tempest_plugin-4.6.0.dist-info/WHEEL"
        ),
    ];

    #[test]
    fn real_wheel_files() {
        let tempest = WheelFile::parse(TEMPEST).unwrap();
        assert_eq!(
            tempest,
            WheelFile {
                version: (1, 0),
                root_is_purelib: true,
                tags: vec!["py3-none-any".into()],
                generator: Some("setuptools (84.0.0)".into()),
                build: None,
            }
        );
        let six = WheelFile::parse(SIX).unwrap();
        assert_eq!(six.tags, vec!["py2-none-any", "py3-none-any"]);
        let stestr = WheelFile::parse(STESTR).unwrap();
        assert!(stestr.generator.unwrap().starts_with("flit"));
        assert!(WheelFile::parse(PIP).unwrap().root_is_purelib);
        for text in OTHERS {
            let wheel = WheelFile::parse(text).unwrap();
            assert_eq!(wheel.version.0, 1);
            assert!(!wheel.tags.is_empty());
        }
    }

    #[test]
    fn edge_cases() {
        let ok =
            WheelFile::parse("Wheel-Version: 2.13\nRoot-Is-Purelib: FALSE\nBuild: 1\n").unwrap();
        assert_eq!(ok.version, (2, 13));
        assert!(!ok.root_is_purelib);
        assert_eq!(ok.build.as_deref(), Some("1"));
        assert!(ok.tags.is_empty());

        let cases = [
            ("Root-Is-Purelib: true\n", WheelFileError::MissingVersion),
            (
                "Wheel-Version: 1\nRoot-Is-Purelib: true\n",
                WheelFileError::InvalidVersion("1".into()),
            ),
            (
                "Wheel-Version: 1.0.1\nRoot-Is-Purelib: true\n",
                WheelFileError::InvalidVersion("1.0.1".into()),
            ),
            (
                "Wheel-Version: +1.0\nRoot-Is-Purelib: true\n",
                WheelFileError::InvalidVersion("+1.0".into()),
            ),
            (
                "Wheel-Version: 99999999999.0\nRoot-Is-Purelib: true\n",
                WheelFileError::InvalidVersion("99999999999.0".into()),
            ),
            ("Wheel-Version: 1.0\n", WheelFileError::MissingRootIsPurelib),
            (
                "Wheel-Version: 1.0\nRoot-Is-Purelib: yes\n",
                WheelFileError::InvalidRootIsPurelib("yes".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(WheelFile::parse(text), Err(expected), "{text:?}");
        }
        assert!(matches!(
            WheelFile::parse("garbage"),
            Err(WheelFileError::Format(_))
        ));
    }
}
