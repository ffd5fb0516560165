//! `setup.cfg` of plugin source trees, read without running `setup.py`:
//! `SetupCfg::parse` must not panic on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::editable::setup_cfg::SetupCfg;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = SetupCfg::parse(&text);
});
