//! Subunit v2 streams from test runners, which may crash mid-packet or mix in
//! other output: `parse` must not panic, and `read_packet` must never claim
//! more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::runner::subunit;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, length)) = subunit::read_packet(data) {
        assert!(length > 0 && length <= data.len(), "packet length {length}");
    }
    let _ = subunit::parse(data);
});
