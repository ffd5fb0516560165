//! `pyproject.toml` of plugin source trees: `Pyproject::parse` must not panic
//! on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::editable::pyproject::Pyproject;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Pyproject::parse(text);
});
