//! PEP 508 requirement strings from outside (the command line, METADATA):
//! parsed with `pep508_rs`, behind a guard, because version 0.9 panics on
//! some malformed names instead of returning an error.

use std::str::FromStr;

/// What must hold before any text reaches `pep508_rs`: 0.9 slices strings
/// at byte offsets and panics inside a multi-byte character (found by
/// fuzzing), and requirement strings are ASCII in practice.
pub fn precheck(text: &str) -> Result<(), String> {
    match text.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(format!("it contains the non-ASCII character {c:?}")),
        None => Ok(()),
    }
}

/// A parsed requirement, or why it is not one.
pub fn parse(text: &str) -> Result<pep508_rs::Requirement, String> {
    precheck(text)?;
    let owned = text.to_string();
    match std::panic::catch_unwind(move || pep508_rs::Requirement::from_str(&owned)) {
        Ok(Ok(requirement)) => Ok(requirement),
        Ok(Err(err)) => Err(err.message.to_string()),
        Err(_) => Err("it is not a valid PEP 508 requirement".into()),
    }
}

/// The distribution name a requirement names, if it is one.
pub fn name(text: &str) -> Option<String> {
    parse(text).ok().map(|r| r.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requirements_and_refuses_junk() {
        assert_eq!(
            name("neutron-tempest-plugin==3.3.0").as_deref(),
            Some("neutron-tempest-plugin")
        );
        assert_eq!(
            name("tempest>=40 ; python_version >= '3.8'").as_deref(),
            Some("tempest")
        );
        for junk in [
            "not a requirement!",
            "",
            "==1.0",
            "a-_b x",
            "r; extra == \"\"\u{fffd}\"",
        ] {
            assert!(parse(junk).is_err(), "{junk:?}");
        }
    }
}
