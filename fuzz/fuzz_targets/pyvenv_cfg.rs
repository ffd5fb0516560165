//! `pyvenv.cfg` of environments tempest-env did not make: `parse` must not
//! panic, and `render` of what it read either refuses a value (a control
//! character) or parses back to the same pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::env::pyvenv_cfg;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs = pyvenv_cfg::parse(&text);
    for (key, _) in &pairs {
        let _ = pyvenv_cfg::get(&pairs, key);
    }
    let borrowed: Vec<(&str, String)> = pairs
        .iter()
        .map(|(key, value)| (key.as_str(), value.clone()))
        .collect();
    let Ok(rendered) = pyvenv_cfg::render(&borrowed) else {
        return;
    };
    assert_eq!(
        pyvenv_cfg::parse(&rendered),
        pairs,
        "rendered pyvenv.cfg {rendered:?} does not parse back"
    );
});
