//! `tempest-env.json`, possibly written by another version or damaged:
//! `Manifest::parse` must not panic, and what `to_json` writes of a manifest
//! it read must parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::env::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::parse(text) {
        let _ = manifest.plugin_count();
        let json = manifest.to_json();
        let again = Manifest::parse(&json)
            .unwrap_or_else(|err| panic!("written manifest {json:?} does not parse: {err}"));
        assert_eq!(
            again, manifest,
            "written manifest {json:?} parses differently"
        );
    }
});
