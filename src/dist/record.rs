//! `RECORD`, the list of files a distribution installed with their hashes and
//! sizes (a CSV file, per the recording-installed-packages spec). Installing a
//! wheel checks every file against it and writes a new one; uninstalling and
//! hiding a plugin from a system set both rely on it to know what belongs to
//! whom.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// One row of `RECORD`: a path relative to the site-packages directory (it may
/// climb out with `..`), and the hash and size when recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    pub path: String,
    /// As written, e.g. `sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU`.
    pub hash: Option<String>,
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("RECORD line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("RECORD line {line}: expected 3 fields (path,hash,size), found {found}")]
    FieldCount { line: u64, found: usize },
    #[error("RECORD line {line}: empty path")]
    EmptyPath { line: u64 },
    #[error("RECORD line {line}: hash {hash:?} is not of the form `algorithm=value`")]
    InvalidHash { line: u64, hash: String },
    #[error("RECORD line {line}: size {size:?} is not a non-negative integer")]
    InvalidSize { line: u64, size: String },
}

/// Parses `RECORD`. Blank lines are skipped; every other row must have
/// exactly three fields, of which hash and size may be empty.
pub fn parse(text: &str) -> Result<Vec<RecordEntry>, RecordError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut entries = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|err| RecordError::Csv {
            line: err.position().map_or(0, |p| p.line()),
            message: err.to_string(),
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let (path, hash, size) = match (row.get(0), row.get(1), row.get(2), row.len()) {
            (Some(path), Some(hash), Some(size), 3) => (path, hash, size),
            _ => {
                return Err(RecordError::FieldCount {
                    line,
                    found: row.len(),
                });
            }
        };
        if path.is_empty() {
            return Err(RecordError::EmptyPath { line });
        }
        let hash = match hash {
            "" => None,
            hash if parse_hash(hash).is_some() => Some(hash.to_string()),
            hash => {
                return Err(RecordError::InvalidHash {
                    line,
                    hash: hash.to_string(),
                });
            }
        };
        let size = match size {
            "" => None,
            size => Some(
                size.parse::<u64>()
                    .ok()
                    .filter(|_| size.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| RecordError::InvalidSize {
                        line,
                        size: size.to_string(),
                    })?,
            ),
        };
        entries.push(RecordEntry {
            path: path.to_string(),
            hash,
            size,
        });
    }
    Ok(entries)
}

/// Writes `RECORD` as Python's `csv` module does (minimal quoting), with `\n`
/// line ends.
pub fn render(entries: &[RecordEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        push_field(&mut out, &entry.path);
        out.push(',');
        push_field(&mut out, entry.hash.as_deref().unwrap_or(""));
        out.push(',');
        if let Some(size) = entry.size {
            out.push_str(&size.to_string());
        }
        out.push('\n');
    }
    out
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// `sha256=` and the urlsafe base64 digest without padding, as RECORD wants.
pub fn digest(bytes: &[u8]) -> String {
    let mut digester = Digester::new();
    digester.update(bytes);
    digester.finish()
}

/// A streaming [`digest`], for files too large to hold in memory.
#[derive(Debug, Clone, Default)]
pub struct Digester {
    hasher: Sha256,
}

impl Digester {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    pub fn finish(self) -> String {
        format!("sha256={}", URL_SAFE_NO_PAD.encode(self.hasher.finalize()))
    }
}

/// Splits `algorithm=value`; `None` when either side is empty.
pub fn parse_hash(hash: &str) -> Option<(&str, &str)> {
    let (algorithm, value) = hash.split_once('=')?;
    (!algorithm.is_empty() && !value.is_empty()).then_some((algorithm, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPEST: &str =
        include_str!("../../fixtures/samples/dist-info/tempest-47.0.0.dist-info/RECORD");
    const SETUPTOOLS: &str =
        include_str!("../../fixtures/samples/dist-info/setuptools-65.5.0.dist-info/RECORD");
    const SIX: &str = include_str!("../../fixtures/samples/dist-info/six-1.17.0.dist-info/RECORD");
    const OTHERS: [&str; 4] = [
        include_str!("../../fixtures/samples/dist-info/stestr-4.2.1.dist-info/RECORD"),
        include_str!("../../fixtures/samples/dist-info/oslo_config-10.7.0.dist-info/RECORD"),
        include_str!("../../fixtures/samples/dist-info/stevedore-5.10.0.dist-info/RECORD"),
        include_str!(
            "../../fixtures/samples/dist-info/barbican_tempest_plugin-4.6.0.dist-info/RECORD"
        ),
    ];
    const TEMPEST_WHEEL_FILE: &str =
        include_str!("../../fixtures/samples/dist-info/tempest-47.0.0.dist-info/WHEEL");
    const SIX_METADATA: &str =
        include_str!("../../fixtures/samples/dist-info/six-1.17.0.dist-info/METADATA");

    #[test]
    fn wheel_records_parse_and_round_trip() {
        for text in [TEMPEST, SIX].into_iter().chain(OTHERS) {
            let entries = parse(text).unwrap();
            let last = entries.last().unwrap();
            assert!(last.path.ends_with(".dist-info/RECORD"));
            assert_eq!((&last.hash, last.size), (&None, None));
            assert!(
                entries[..entries.len() - 1]
                    .iter()
                    .all(|e| e.hash.is_some())
            );
            assert_eq!(render(&entries), text);
        }
    }

    #[test]
    fn installed_record_has_unhashed_bytecode() {
        let entries = parse(SETUPTOOLS).unwrap();
        let pyc = entries.iter().find(|e| e.path.ends_with(".pyc")).unwrap();
        assert_eq!((&pyc.hash, pyc.size), (&None, None));
        assert!(entries.iter().any(|e| e.path == "distutils-precedence.pth"));
    }

    #[test]
    fn digests_match_the_real_records() {
        let tempest = parse(TEMPEST).unwrap();
        let wheel = tempest
            .iter()
            .find(|e| e.path == "tempest-47.0.0.dist-info/WHEEL")
            .unwrap();
        assert_eq!(
            wheel.hash.as_deref(),
            Some(digest(TEMPEST_WHEEL_FILE.as_bytes()).as_str())
        );
        assert_eq!(wheel.size, Some(TEMPEST_WHEEL_FILE.len() as u64));
        let six = parse(SIX).unwrap();
        let metadata = six.iter().find(|e| e.path.ends_with("METADATA")).unwrap();
        let mut streaming = Digester::new();
        for chunk in SIX_METADATA.as_bytes().chunks(7) {
            streaming.update(chunk);
        }
        assert_eq!(metadata.hash.as_deref(), Some(streaming.finish().as_str()));
        // The well-known digest of the empty file (tempest/__init__.py).
        assert_eq!(
            digest(b""),
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn quoted_fields_round_trip() {
        let text =
            "\"a,b.py\",sha256=x,1\n\"say \"\"hi\"\".py\",,\n\"new\nline.py\",,0\nplain.py,,\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries[0].path, "a,b.py");
        assert_eq!(entries[1].path, "say \"hi\".py");
        assert_eq!(entries[2].path, "new\nline.py");
        assert_eq!(entries[2].size, Some(0));
        assert_eq!(render(&entries), text);
        assert_eq!(parse("a.py,,\r\n\r\nb.py,,\r\n").unwrap().len(), 2);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "a.py,,\nb.py,sha256=x\n",
                "RECORD line 2: expected 3 fields (path,hash,size), found 2",
            ),
            (
                "a.py,,,\n",
                "RECORD line 1: expected 3 fields (path,hash,size), found 4",
            ),
            (",,\n", "RECORD line 1: empty path"),
            (
                "a.py,nohash,\n",
                "RECORD line 1: hash \"nohash\" is not of the form `algorithm=value`",
            ),
            (
                "a.py,sha256=,\n",
                "RECORD line 1: hash \"sha256=\" is not of the form `algorithm=value`",
            ),
            (
                "a.py,,-1\n",
                "RECORD line 1: size \"-1\" is not a non-negative integer",
            ),
            (
                "a.py,,+1\n",
                "RECORD line 1: size \"+1\" is not a non-negative integer",
            ),
            (
                "a.py,,99999999999999999999999\n",
                "RECORD line 1: size \"99999999999999999999999\" is not a non-negative integer",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "\"",
            "\"unterminated,,\n",
            "é,,\n\u{0},,",
            "\"\"\"",
            ",",
            "\n\n\n",
            "ü\"ß\",,",
        ] {
            let _ = parse(text);
        }
        assert!(parse("").unwrap().is_empty());
        assert_eq!(parse_hash("sha256=abc"), Some(("sha256", "abc")));
        assert_eq!(parse_hash("=abc"), None);
        assert_eq!(parse_hash("sha256"), None);
    }
}
