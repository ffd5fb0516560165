//! PEP 508 requirement strings from outside (the command line, METADATA):
//! parsed with `pep508_rs`, behind a guard, because version 0.9 panics on
//! some malformed names instead of returning an error.

use std::str::FromStr;

use pep508_rs::{Requirement, VerbatimUrl};

use super::name;

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

/// A parsed requirement, or why it is not one: the one way into
/// `pep508_rs` for text from outside. The name and extras are checked
/// first (`pep508_rs` 0.9 panics on a name or extra ending in `-`, `_` or
/// `.` followed by another character: `a[b-]`); a URL is cut out, since
/// only the name and marker matter here and URL parsing can panic too; and
/// the parse itself runs behind [`crate::crash::quietly`], so a panic we
/// did not foresee is a refusal, without a word on stderr.
pub fn parse(text: &str) -> Result<Requirement<VerbatimUrl>, String> {
    precheck(text)?;
    let trimmed = text.trim();
    let name_len = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(trimmed.len());
    let (dist_name, rest) = trimmed.split_at(name_len);
    if !name::is_valid(dist_name) {
        return Err(format!("{dist_name:?} is not a valid distribution name"));
    }
    let after_name = rest.trim_start();
    let (extras, after_extras) = match after_name.strip_prefix('[') {
        Some(inner) => {
            let (extras, after) = inner
                .split_once(']')
                .ok_or_else(|| "the extras are not closed with `]`".to_string())?;
            (Some(extras), after.trim_start())
        }
        None => (None, after_name),
    };
    if let Some(bad) = extras
        .into_iter()
        .flat_map(|extras| extras.split(','))
        .map(str::trim)
        .find(|extra| !extra.is_empty() && !name::is_valid(extra))
    {
        return Err(format!("{bad:?} is not a valid extra name"));
    }
    let without_url;
    let text = match after_extras.strip_prefix('@') {
        Some(url) => {
            let head = &trimmed[..trimmed.len() - after_extras.len()];
            without_url = match url_marker(url) {
                Some(marker) => format!("{} ; {marker}", head.trim_end()),
                None => head.trim_end().to_string(),
            };
            without_url.as_str()
        }
        None => trimmed,
    };
    match crate::crash::quietly(|| Requirement::<VerbatimUrl>::from_str(text)) {
        Some(Ok(requirement)) => Ok(requirement),
        Some(Err(err)) => Err(err.message.to_string()),
        None => Err("it is not a valid PEP 508 requirement".into()),
    }
}

/// The marker after a requirement's URL: PEP 508 separates it with
/// whitespace and `;`.
fn url_marker(url: &str) -> Option<&str> {
    url.match_indices(';')
        .find(|(at, _)| url[..*at].ends_with([' ', '\t']))
        .map(|(at, _)| url[at + 1..].trim())
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
            "a[b-]",
            "a-",
            "a[b",
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
