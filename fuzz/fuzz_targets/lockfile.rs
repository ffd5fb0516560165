//! A lock file from another machine, possibly damaged or hostile:
//! `Lock::parse` must not panic, and what `render` writes of a lock it read
//! must parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::lockfile::Lock;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(lock) = Lock::parse(text) {
        let rendered = lock.render();
        let again = Lock::parse(&rendered)
            .unwrap_or_else(|err| panic!("rendered lock {rendered:?} does not parse: {err}"));
        assert_eq!(again, lock, "rendered lock {rendered:?} parses differently");
    }
});
