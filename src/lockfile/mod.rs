//! Locks: an environment (or a run) written down exactly, so another machine
//! can rebuild it and say where it differs. A lock is TOML, readable, and
//! stable: locking the same environment twice gives the same bytes (nothing
//! in it depends on when or where it was written, beyond what it records).
//!
//! This module is the format: the types, [`Lock::parse`] and
//! [`Lock::render`], pure functions over text. [`record`] makes a lock from
//! an environment, [`rebuild`] turns one back into a composition and
//! compares what was built with it.

pub mod rebuild;
pub mod record;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The lock format's version (semver): a newer minor adds fields this
/// version ignores; another major is refused.
pub const FORMAT_VERSION: semver::Version = semver::Version::new(1, 0, 0);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Lock {
    pub format: semver::Version,
    pub tempest_env: String,
    /// The locked environment's name.
    pub environment: String,
    pub interpreter: LockedInterpreter,
    pub composition: LockedComposition,
    /// Every distribution Python sees, in the order it sees them (the first
    /// of a name wins).
    #[serde(default, rename = "distribution")]
    pub distributions: Vec<LockedDistribution>,
    /// A locked run: what was run and what it gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<LockedRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedInterpreter {
    pub implementation: String,
    pub version: String,
    /// `sysconfig.get_platform()`, e.g. `linux-x86_64`.
    pub platform: String,
    /// The most specific wheel tag the interpreter accepts, and the libc.
    pub tag: String,
    pub libc: String,
}

/// How the environment was composed, as far as it is not implied by the
/// distributions themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedComposition {
    /// The base requirements as they were asked for (the exact versions
    /// are in the distributions).
    #[serde(default)]
    pub base: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_url: Option<String>,
    /// The system set was a layer (`--all-plugin` or `--system-site`).
    #[serde(default)]
    pub system_set: bool,
    /// The directories of the system set, in order.
    #[serde(default)]
    pub system_dirs: Vec<String>,
    #[serde(default)]
    pub user_site: bool,
    #[serde(default)]
    pub seed: bool,
}

/// Where a distribution comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Installed into the environment's own site-packages by something other
    /// than tempest-env (pip from `--seed`, a user's `pip install`).
    Env,
    /// The shared base layer.
    Base,
    /// A plugin layer the installer resolved on top of the base.
    PluginLayer,
    /// A wheel installed natively through the store.
    Wheel,
    /// A source tree installed in editable mode.
    Editable,
    /// The system set.
    System,
    /// The user site-packages.
    User,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::Base => "base",
            Self::PluginLayer => "plugin-layer",
            Self::Wheel => "wheel",
            Self::Editable => "editable",
            Self::System => "system",
            Self::User => "user",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedDistribution {
    pub name: String,
    pub version: String,
    pub source: Source,
    /// The wheel's sha256, where there was a wheel file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The wheel's file name, the source tree, or the system directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// How an installed wheel was made visible (`pth`, `copy`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_mode: Option<String>,
}

/// What a locked run ran and what it gave: enough to run the same command
/// in the rebuilt environment and compare the per-test results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedRun {
    /// The recorded run's id.
    pub id: String,
    /// The runner as given: a preset name or a custom template.
    pub runner: String,
    /// The command line it became, for reading (the runner is what is run).
    #[serde(default)]
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Arguments after `--`, passed to the runner.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub set_env: BTreeMap<String, String>,
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default)]
    pub isolated_env: bool,
    #[serde(default)]
    pub user_site: bool,
    /// The tempest.conf the run used (`--config-file`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    pub exit_code: u8,
    /// How many tests ended with each status.
    #[serde(default)]
    pub counts: BTreeMap<String, usize>,
    /// Per-test status (`success`, `fail`, `skip`, ...), by test id.
    #[serde(default)]
    pub results: BTreeMap<String, String>,
}

/// How a source tree among tempest-env's own bundled fixtures is named in a
/// lock: relative to the fixtures, which every copy of tempest-env carries,
/// so a lock of the offline demo rebuilds on any machine.
pub const BUNDLED_PREFIX: &str = "@fixtures/";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LockError {
    #[error("it is not a valid lock: {0}")]
    Invalid(String),
    #[error("it has no valid `format` version")]
    NoVersion,
    #[error("it is lock format {found}; this tempest-env reads format {}.x", FORMAT_VERSION.major)]
    OtherMajor { found: semver::Version },
}

impl Lock {
    /// Parse a lock's text. Pure, for tests and fuzzing.
    pub fn parse(text: &str) -> Result<Self, LockError> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| LockError::Invalid(one_line(&e.to_string())))?;
        let found = value
            .get("format")
            .and_then(|v| v.as_str())
            .and_then(|v| semver::Version::parse(v).ok())
            .ok_or(LockError::NoVersion)?;
        if found.major != FORMAT_VERSION.major {
            return Err(LockError::OtherMajor { found });
        }
        Self::deserialize(value).map_err(|e| LockError::Invalid(one_line(&e.to_string())))
    }

    /// The lock as TOML, with a comment saying how to use it.
    pub fn render(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# A tempest-env lock. Rebuild with `tempest-env create NAME --from FILE`{}.\n{body}",
            if self.run.is_some() {
                ", re-run with `tempest-env run --from FILE`"
            } else {
                ""
            }
        )
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        Lock {
            format: FORMAT_VERSION,
            tempest_env: "0.1.0".into(),
            environment: "nt".into(),
            interpreter: LockedInterpreter {
                implementation: "cpython".into(),
                version: "3.11.7".into(),
                platform: "linux-x86_64".into(),
                tag: "cp311-cp311-manylinux_2_36_x86_64".into(),
                libc: "glibc 2.36".into(),
            },
            composition: LockedComposition {
                base: vec!["tempest==47.0.0".into()],
                installer: Some("uv".into()),
                ..Default::default()
            },
            distributions: vec![
                LockedDistribution {
                    name: "valet".into(),
                    version: "1.0".into(),
                    source: Source::Wheel,
                    sha256: Some("ab".repeat(32)),
                    origin: Some("valet-1.0-py3-none-any.whl".into()),
                    link_mode: Some("pth".into()),
                },
                LockedDistribution {
                    name: "tempest".into(),
                    version: "47.0.0".into(),
                    source: Source::Base,
                    sha256: None,
                    origin: None,
                    link_mode: None,
                },
            ],
            run: None,
        }
    }

    #[test]
    fn a_rendered_lock_parses_back_to_itself_and_renders_the_same() {
        let lock = sample();
        let text = lock.render();
        let parsed = Lock::parse(&text).unwrap();
        assert_eq!(parsed, lock);
        assert_eq!(parsed.render(), text);
        assert!(text.contains("[[distribution]]"), "{text}");
    }

    #[test]
    fn another_major_and_corrupt_text_are_refused() {
        let text = sample()
            .render()
            .replace("format = \"1.0.0\"", "format = \"2.0.0\"");
        assert!(matches!(
            Lock::parse(&text),
            Err(LockError::OtherMajor { .. })
        ));
        let text = sample()
            .render()
            .replace("format = \"1.0.0\"", "format = \"one\"");
        assert_eq!(Lock::parse(&text), Err(LockError::NoVersion));
        assert!(matches!(Lock::parse("[[["), Err(LockError::Invalid(_))));
        assert!(matches!(
            Lock::parse("format = \"1.0.0\"\n"),
            Err(LockError::Invalid(_))
        ));
        // A newer minor's unknown fields are ignored.
        let text = sample().render() + "\n[extra]\nx = 1\n";
        assert!(Lock::parse(&text).is_ok());
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "format = \"1.0.0\"\n[[distribution]]\nname = 1\n",
            &"[a]\n".repeat(10_000),
            "format = \"1.0.0\"\nrun = { results = { \"\u{0}\" = \"x\" } }\n",
        ] {
            let _ = Lock::parse(text);
        }
    }
}
