//! Definition TOML (`envs/*.toml`, `tempest-env.toml`), written by users:
//! `parse` and `parse_project` must return an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::definition;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = definition::parse(text);
    let _ = definition::parse_project(text);
});
