//! Environment names: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, so a name is always
//! one safe path component.

use crate::error::UserError;

pub const MAX_LEN: usize = 64;

/// Check `name`, or say what is wrong with it.
pub fn validate(name: &str) -> Result<(), UserError> {
    let bad = |why: &str| {
        UserError::new(format!("invalid environment name `{name}`: {why}")).hint(
            "a name is 1 to 64 characters of letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        )
    };
    let Some(first) = name.chars().next() else {
        return Err(bad("it is empty"));
    };
    if name.len() > MAX_LEN {
        return Err(bad(&format!("it is longer than {MAX_LEN} characters")));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(bad("it must start with a letter or digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!("it contains `{c}`")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for name in ["a", "valet", "all-plugin", "py3.11_x", "0", &"x".repeat(64)] {
            assert!(validate(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_paths_and_oddities() {
        for name in [
            "",
            "../x",
            "/abs",
            ".hidden",
            "-flag",
            "a/b",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(validate(name).is_err(), "{name}");
        }
    }
}
