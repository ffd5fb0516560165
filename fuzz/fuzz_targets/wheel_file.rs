//! `WHEEL` is read from inside downloaded wheels: `WheelFile::parse` must
//! return an error, never panic, on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::wheel::wheel_file::WheelFile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = WheelFile::parse(&text);
});
