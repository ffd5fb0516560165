//! `RECORD` comes from wheels and from installed distributions. `parse` must
//! not panic, and `render` of what it read must parse back to the same entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::record;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = record::parse(text) {
        let rendered = record::render(&entries);
        assert_eq!(
            record::parse(&rendered).as_ref(),
            Ok(&entries),
            "rendered RECORD {rendered:?} does not parse back"
        );
    }
});
