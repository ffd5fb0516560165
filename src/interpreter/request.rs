//! What `--python` asked for.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonRequest {
    /// No `--python`: the first `python3` on PATH.
    Default,
    /// `3`, `3.11` or `3.11.7`.
    Version(Vec<u32>),
    /// An executable name looked up on PATH, e.g. `python3.12`.
    Name(String),
    /// A file path (anything with a `/`).
    Path(PathBuf),
}

impl PythonRequest {
    pub fn parse(raw: Option<&str>) -> Self {
        let Some(raw) = raw else {
            return Self::Default;
        };
        if raw.contains('/') {
            return Self::Path(PathBuf::from(raw));
        }
        let parts: Option<Vec<u32>> = raw.split('.').map(|p| p.parse().ok()).collect();
        match parts {
            Some(parts) if (1..=3).contains(&parts.len()) => Self::Version(parts),
            _ => Self::Name(raw.to_string()),
        }
    }

    /// Executable names to try on PATH, most specific first.
    pub fn executable_names(&self) -> Vec<String> {
        match self {
            Self::Default => vec!["python3".into()],
            Self::Name(name) => vec![name.clone()],
            Self::Path(_) => vec![],
            Self::Version(parts) => {
                let mut names = Vec::new();
                if parts.len() >= 2 {
                    names.push(format!("python{}.{}", parts[0], parts[1]));
                }
                names.push(format!("python{}", parts[0]));
                names.push("python".into());
                names
            }
        }
    }

    /// Whether an interpreter of `version` satisfies this request.
    pub fn matches_version(&self, version: (u32, u32, u32)) -> bool {
        match self {
            Self::Version(parts) => {
                let have = [version.0, version.1, version.2];
                parts.iter().zip(have).all(|(want, have)| *want == have)
            }
            _ => true,
        }
    }
}

impl fmt::Display for PythonRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("python3"),
            Self::Version(parts) => {
                let parts: Vec<String> = parts.iter().map(u32::to_string).collect();
                f.write_str(&parts.join("."))
            }
            Self::Name(name) => f.write_str(name),
            Self::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(PythonRequest::parse(None), PythonRequest::Default);
        assert_eq!(
            PythonRequest::parse(Some("3.11")),
            PythonRequest::Version(vec![3, 11])
        );
        assert_eq!(
            PythonRequest::parse(Some("3")),
            PythonRequest::Version(vec![3])
        );
        assert_eq!(
            PythonRequest::parse(Some("python3.12")),
            PythonRequest::Name("python3.12".into())
        );
        assert_eq!(
            PythonRequest::parse(Some("./py")),
            PythonRequest::Path("./py".into())
        );
        assert_eq!(
            PythonRequest::parse(Some("3.11.7.1")),
            PythonRequest::Name("3.11.7.1".into())
        );
    }

    #[test]
    fn version_requests_match_prefixes() {
        let req = PythonRequest::parse(Some("3.11"));
        assert!(req.matches_version((3, 11, 7)));
        assert!(!req.matches_version((3, 12, 1)));
        let exact = PythonRequest::parse(Some("3.11.6"));
        assert!(!exact.matches_version((3, 11, 7)));
        assert_eq!(
            req.executable_names(),
            vec!["python3.11", "python3", "python"]
        );
    }
}
