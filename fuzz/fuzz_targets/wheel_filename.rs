//! Wheel file names come from indexes, directories and the command line, so
//! `WheelFilename::parse` must refuse garbage without panicking, and a name it
//! accepts must print back to one that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::wheel::filename::WheelFilename;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = WheelFilename::parse(text) {
        let _ = parsed.tags();
        let printed = parsed.to_string();
        assert_eq!(
            WheelFilename::parse(&printed).as_ref(),
            Ok(&parsed),
            "{printed:?} does not parse back"
        );
    }
});
