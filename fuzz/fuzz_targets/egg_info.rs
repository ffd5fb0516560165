//! The `.egg-info` files of system packages: `installed-files.txt`,
//! `top_level.txt` and `requires.txt`. `requires` feeds `pep508_rs` (which
//! panics on some malformed names) behind its own checks, without
//! `catch_unwind`, so a panic here is a real crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::egg_info;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = egg_info::installed_files(&text);
    let _ = egg_info::top_level(&text);
    let _ = egg_info::requires(&text);
});
