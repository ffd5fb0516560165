//! `METADATA` and `PKG-INFO` come from every installed distribution, system
//! ones included. `headers` and `Metadata::parse` must not panic, and what
//! `Metadata::render` writes must parse back to the same fields (its
//! documented promise; the metadata version is always written as 2.1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::metadata::{self, Metadata};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = metadata::headers(&text);
    if let Ok(parsed) = Metadata::parse(&text) {
        let rendered = parsed.render();
        let expected = Metadata {
            metadata_version: "2.1".to_string(),
            ..parsed
        };
        assert_eq!(
            Metadata::parse(&rendered).as_ref(),
            Ok(&expected),
            "rendered metadata {rendered:?} does not parse back"
        );
    }
});
