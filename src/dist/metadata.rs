//! Core metadata (`METADATA` in a `.dist-info`, `PKG-INFO` in an `.egg-info`)
//! and the email-header format it shares with the wheel's `WHEEL` file. We
//! read the few fields that decide what a distribution is and needs: name,
//! version, summary, requirements, extras, supported Pythons.

use std::fmt::Write as _;

use crate::dist::name;
use crate::error::preview;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("line {line}: continuation line before any header")]
    LeadingContinuation { line: usize },
    #[error("line {line}: expected `Key: value`, found {found:?}")]
    NotAHeader { line: usize, found: String },
    #[error("line {line}: invalid header name {key:?}")]
    InvalidKey { line: usize, key: String },
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    #[error("invalid distribution name {0:?}")]
    InvalidName(String),
}

/// The header fields of an email-style file, in order, with folded
/// continuation lines joined by `\n`. Parsing stops at the first empty
/// line: what follows is the description body.
pub fn headers(text: &str) -> Result<Vec<(String, String)>, MetadataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<(String, String)> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = out.last_mut() else {
                return Err(MetadataError::LeadingContinuation { line: line_no });
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(MetadataError::NotAHeader {
                line: line_no,
                found: preview(line),
            });
        };
        // RFC 5322 field names: printable ASCII except the colon.
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MetadataError::InvalidKey {
                line: line_no,
                key: preview(key),
            });
        }
        out.push((key.to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// The fields of core metadata that tempest-env uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Empty when the file has no `Metadata-Version` (very old `PKG-INFO`).
    pub metadata_version: String,
    pub name: String,
    pub version: String,
    pub summary: Option<String>,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub provides_extra: Vec<String>,
}

impl Metadata {
    /// Reads `METADATA` or `PKG-INFO`. Field names are case-insensitive; for
    /// single-valued fields the first occurrence wins.
    pub fn parse(text: &str) -> Result<Self, MetadataError> {
        let mut metadata = Self::default();
        let mut name = None;
        let mut version = None;
        for (key, value) in headers(text)? {
            let is = |field: &str| key.eq_ignore_ascii_case(field);
            if is("Metadata-Version") && metadata.metadata_version.is_empty() {
                metadata.metadata_version = value;
            } else if is("Name") {
                name.get_or_insert(value);
            } else if is("Version") {
                version.get_or_insert(value);
            } else if is("Summary") {
                metadata.summary.get_or_insert(value);
            } else if is("Requires-Dist") {
                metadata.requires_dist.push(value);
            } else if is("Requires-Python") {
                metadata.requires_python.get_or_insert(value);
            } else if is("Provides-Extra") {
                metadata.provides_extra.push(value);
            }
        }
        let name = name
            .filter(|n| !n.is_empty())
            .ok_or(MetadataError::Missing("Name"))?;
        if !name::is_valid(&name) {
            return Err(MetadataError::InvalidName(name));
        }
        metadata.name = name;
        metadata.version = version
            .filter(|v| !v.is_empty())
            .ok_or(MetadataError::Missing("Version"))?;
        Ok(metadata)
    }

    /// Metadata-Version 2.1 text with the fields this struct holds, which
    /// [`Metadata::parse`] reads back unchanged.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut field = |key: &str, value: &str| {
            // Fold embedded newlines so a value cannot end the header block.
            let folded = value.replace('\n', "\n        ");
            let _ = writeln!(out, "{key}: {folded}");
        };
        field("Metadata-Version", "2.1");
        field("Name", &self.name);
        field("Version", &self.version);
        if let Some(summary) = &self.summary {
            field("Summary", summary);
        }
        if let Some(requires_python) = &self.requires_python {
            field("Requires-Python", requires_python);
        }
        for requirement in &self.requires_dist {
            field("Requires-Dist", requirement);
        }
        for extra in &self.provides_extra {
            field("Provides-Extra", extra);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPEST: &str =
        include_str!("../../fixtures/samples/dist-info/tempest-47.0.0.dist-info/METADATA");
    const STESTR: &str =
        include_str!("../../fixtures/samples/dist-info/stestr-4.2.1.dist-info/METADATA");
    const PIP: &str =
        include_str!("../../fixtures/samples/dist-info/pip-23.2.1.dist-info/METADATA");
    const SETUPTOOLS: &str =
        include_str!("../../fixtures/samples/dist-info/setuptools-65.5.0.dist-info/METADATA");
    const SIX: &str =
        include_str!("../../fixtures/samples/dist-info/six-1.17.0.dist-info/METADATA");
    const OSLO_CONFIG: &str =
        include_str!("../../fixtures/samples/dist-info/oslo_config-10.7.0.dist-info/METADATA");
    const BARBICAN: &str = include_str!(
        "../../fixtures/samples/dist-info/barbican_tempest_plugin-4.6.0.dist-info/METADATA"
    );
    const STEVEDORE: &str =
        include_str!("../../fixtures/samples/dist-info/stevedore-5.10.0.dist-info/METADATA");
    const DEB_TEMPEST: &str =
        include_str!("../../fixtures/samples/egg-info/tempest-33.0.0.egg-info/PKG-INFO");
    const DEB_OSLO: &str =
        include_str!("../../fixtures/samples/egg-info/oslo.config-9.0.0.egg-info/PKG-INFO");
    const DEB_STEVEDORE: &str =
        include_str!("../../fixtures/samples/egg-info/stevedore-4.0.2.egg-info/PKG-INFO");
    const DEB_PBR: &str =
        include_str!("../../fixtures/samples/egg-info/pbr-5.10.0.egg-info/PKG-INFO");
    const DEB_SIX: &str =
        include_str!("../../fixtures/samples/egg-info/six-1.16.0.egg-info/PKG-INFO");
    const DEB_REQUESTS: &str =
        include_str!("../../fixtures/samples/egg-info/requests-2.28.1.egg-info/PKG-INFO");
    const DEB_BARBICAN: &str = include_str!(
        "../../fixtures/samples/egg-info/barbican_tempest_plugin-1.7.0.egg-info/PKG-INFO"
    );
    const LEGACY_SIX: &str =
        include_str!("../../fixtures/samples/egg-info/six-1.17.0-py3.11.egg-info/PKG-INFO");

    #[test]
    fn tempest_wheel_metadata() {
        let m = Metadata::parse(TEMPEST).unwrap();
        assert_eq!(m.name, "tempest");
        assert_eq!(m.version, "47.0.0");
        assert_eq!(m.summary.as_deref(), Some("OpenStack Integration Testing"));
        assert!(m.requires_python.is_some());
        assert!(m.requires_dist.iter().any(|r| r.starts_with("stestr")));
        assert!(m.requires_dist.iter().any(|r| r.starts_with("oslo.config")));
    }

    #[test]
    fn every_real_sample_parses() {
        let samples = [
            (TEMPEST, "tempest", "47.0.0"),
            (STESTR, "stestr", "4.2.1"),
            (PIP, "pip", "23.2.1"),
            (SETUPTOOLS, "setuptools", "65.5.0"),
            (SIX, "six", "1.17.0"),
            (OSLO_CONFIG, "oslo.config", "10.7.0"),
            (BARBICAN, "barbican_tempest_plugin", "4.6.0"),
            (STEVEDORE, "stevedore", "5.10.0"),
            (DEB_TEMPEST, "tempest", "33.0.0"),
            (DEB_OSLO, "oslo.config", "9.0.0"),
            (DEB_STEVEDORE, "stevedore", "4.0.2"),
            (DEB_PBR, "pbr", "5.10.0"),
            (DEB_SIX, "six", "1.16.0"),
            (DEB_REQUESTS, "requests", "2.28.1"),
            (DEB_BARBICAN, "barbican-tempest-plugin", "1.7.0"),
            (LEGACY_SIX, "six", "1.17.0"),
        ];
        for (text, name, version) in samples {
            let m = Metadata::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(name::normalize(&m.name), name::normalize(name));
            assert_eq!(m.version, version);
            assert!(!m.metadata_version.is_empty());
            let again = Metadata::parse(&m.render()).unwrap();
            assert_eq!(again.metadata_version, "2.1");
            assert_eq!(
                Metadata {
                    metadata_version: m.metadata_version.clone(),
                    ..again
                },
                m
            );
        }
    }

    #[test]
    fn extras_and_markers_are_kept_verbatim() {
        let m = Metadata::parse(SETUPTOOLS).unwrap();
        assert!(m.provides_extra.contains(&"testing".to_string()));
        assert!(
            m.requires_dist
                .contains(&"sphinx (>=3.5) ; extra == 'docs'".to_string())
        );
    }

    #[test]
    fn headers_fold_and_stop_at_body() {
        let text = "Metadata-Version: 2.1\r\nName: demo\nLicense: line one\n        line two\n\t\nVersion: 1.0\n\nBody: not a header\n";
        let h = headers(text).unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[2].1, "line one\nline two\n");
        assert_eq!(h[3], ("Version".into(), "1.0".into()));
        assert!(headers("").unwrap().is_empty());
        assert_eq!(headers("\u{feff}Name: x").unwrap()[0].0, "Name");
        assert_eq!(headers("Name:").unwrap()[0].1, "");
    }

    #[test]
    fn errors_name_the_line() {
        let err = headers("Name: x\nnot a header\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: expected `Key: value`, found \"not a header\""
        );
        assert!(matches!(
            headers(" leading"),
            Err(MetadataError::LeadingContinuation { line: 1 })
        ));
        assert!(matches!(
            headers("Bad Key: x"),
            Err(MetadataError::InvalidKey { .. })
        ));
        assert!(matches!(
            headers("é: x"),
            Err(MetadataError::InvalidKey { .. })
        ));
        assert_eq!(
            Metadata::parse("Version: 1\n"),
            Err(MetadataError::Missing("Name"))
        );
        assert_eq!(
            Metadata::parse("Name: x\nVersion:\n"),
            Err(MetadataError::Missing("Version"))
        );
        assert!(matches!(
            Metadata::parse("Name: -x\nVersion: 1\n"),
            Err(MetadataError::InvalidName(_))
        ));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let long = "é".repeat(10_000);
        let err = headers(&long).unwrap_err().to_string();
        assert!(err.len() < 300);
        for text in [
            "\n\n",
            ":",
            "\r",
            "a:\u{0}",
            "Name: ü\nVersion: ☃",
            "\u{feff}",
        ] {
            let _ = Metadata::parse(text);
        }
    }

    #[test]
    fn render_folds_newlines() {
        let m = Metadata {
            metadata_version: "2.1".into(),
            name: "demo".into(),
            version: "1".into(),
            summary: Some("two\nlines".into()),
            ..Metadata::default()
        };
        assert_eq!(Metadata::parse(&m.render()).unwrap(), m);
    }
}
