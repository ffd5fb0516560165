//! PEP 508 requirement strings from outside (the command line, METADATA):
//! parsed with `pep508_rs`, behind a guard, because version 0.9 panics on
//! some malformed names instead of returning an error.

use std::str::FromStr;

/// The longest requirement string handed to `pep508_rs`. Real ones are a
/// few hundred bytes at most (a URL, a marker of a few clauses). Its marker
/// algebra grows more than linearly with the clauses, and it keeps every
/// marker it has seen in a global interner (found by fuzzing): 7 KB of
/// `(a or b) and ...` clauses cost 0.8 s and 400 MB, 190 KB cost 5 s and
/// 2.5 GB, so a hostile METADATA line could stall a scan.
pub const MAX_LEN: usize = 1024;

/// What must hold before any text reaches `pep508_rs`: 0.9 slices strings
/// at byte offsets and panics inside a multi-byte character (found by
/// fuzzing), requirement strings are ASCII in practice, and no longer than
/// [`MAX_LEN`].
pub fn precheck(text: &str) -> Result<(), String> {
    if text.len() > MAX_LEN {
        return Err(format!(
            "it is {} bytes long, more than the {MAX_LEN} a requirement may have",
            text.len()
        ));
    }
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

    #[test]
    fn long_markers_are_refused_before_the_parser() {
        let clauses = |n: usize| {
            (0..n)
                .map(|i| format!("(python_version == '3.{i}' or platform_machine != 'x{i}')"))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        // A long real-world shape still parses.
        let ok = format!("foo[bar,baz]>=1.0,<2,!=1.5.1 ; {}", clauses(8));
        assert!(ok.len() < MAX_LEN);
        assert!(parse(&ok).is_ok(), "{ok}");
        let hostile = format!("foo ; {}", clauses(120));
        // Refused by length, before the parser sees it.
        let err = parse(&hostile).unwrap_err();
        assert!(err.contains("bytes long"), "{err}");
        assert!(crate::dist::check::parse_requirement(&hostile).is_err());
    }
}
