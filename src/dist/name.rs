//! Distribution names in their three spellings: as written (`oslo.config`),
//! normalized for comparison (PEP 503: `oslo-config`), and escaped for file
//! names inside wheels and `.dist-info` directories (PEP 427/491:
//! `oslo_config`). Every lookup of "is this plugin installed" compares
//! normalized names, so the rules live here, once.

/// PEP 503 normalization: lowercase (as Python's `str.lower`), every run of `-`, `_` and `.` becomes a
/// single `-`.
pub fn normalize(name: &str) -> String {
    collapse_separators(name, '-').to_lowercase()
}

/// The normalized project a `.dist-info` or `.egg-info` directory (or file)
/// name records: what comes before its first `-`. `None` for other names.
pub fn metadata_project(file_name: &str) -> Option<String> {
    let lower = file_name.to_ascii_lowercase();
    if !(lower.ends_with(".dist-info") || lower.ends_with(".egg-info")) {
        return None;
    }
    let project = lower.split('-').next().unwrap_or(&lower);
    Some(normalize(project))
}

/// The form used in wheel and `.dist-info` file names: every run of `-`, `_`
/// and `.` becomes a single `_`. Case is kept, as the wheel spec allows and
/// as pip and setuptools write it.
pub fn escape(name: &str) -> String {
    collapse_separators(name, '_')
}

/// Whether `name` is a valid distribution name per the core metadata spec:
/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive.
pub fn is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn collapse_separators(name: &str, replacement: char) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push(replacement);
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEEL_FILENAMES: &str =
        include_str!("../../fixtures/samples/dist-info/wheel-filenames.txt");

    #[test]
    fn normalize_follows_pep_503() {
        assert_eq!(normalize("oslo.config"), "oslo-config");
        assert_eq!(
            normalize("barbican_tempest_plugin"),
            "barbican-tempest-plugin"
        );
        assert_eq!(normalize("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize("FRIENDLY-BARD"), "friendly-bard");
        assert_eq!(normalize("friendly.bard"), "friendly-bard");
        assert_eq!(normalize("friendly_bard"), "friendly-bard");
        assert_eq!(normalize("friendly--bard"), "friendly-bard");
        assert_eq!(normalize("FrIeNdLy-._.-bArD"), "friendly-bard");
    }

    #[test]
    fn escape_gives_file_name_form() {
        assert_eq!(escape("oslo.config"), "oslo_config");
        assert_eq!(escape("barbican-tempest-plugin"), "barbican_tempest_plugin");
        assert_eq!(escape("a-._b"), "a_b");
        assert_eq!(escape("PyYAML"), "PyYAML");
    }

    #[test]
    fn real_wheel_names_are_escaped_and_valid() {
        for line in WHEEL_FILENAMES.lines() {
            let dist = line.split('-').next().unwrap_or_default();
            assert!(is_valid(dist), "{dist}");
            assert_eq!(escape(dist), dist, "{line}");
        }
    }

    #[test]
    fn validity() {
        for ok in ["a", "A1", "oslo.config", "tempest", "x_y-z.w", "9"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", ".", "a b", "é", "a/b", "_a", "a."] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_does_not_panic() {
        assert_eq!(normalize("Ünï.-cödé"), "ünï-cödé");
        assert_eq!(escape("ü..ß"), "ü_ß");
    }
}
