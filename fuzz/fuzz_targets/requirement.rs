//! PEP 508 requirement strings from the command line and METADATA, parsed by
//! `pep508_rs` behind tempest-env's guards (`requirement::parse` and
//! `check::parse_requirement`), which catch its panics on purpose. libFuzzer's
//! panic hook would abort on a caught panic too, so this target installs a
//! hook that only notes each new panic location; a panic that escapes the
//! guards still aborts the run, through `fuzz_target!`'s own `catch_unwind`.
#![no_main]

use std::collections::HashSet;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::{check, requirement};

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map_or_else(|| "unknown".to_string(), ToString::to_string);
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(location) {
                eprintln!("note: panic (caught by the guard unless the run aborts): {info}");
            }
        }));
    },
    |data: &[u8]| {
        let text = String::from_utf8_lossy(data);
        let _ = requirement::parse(&text);
        let _ = requirement::name(&text);
        let _ = check::parse_requirement(&text);
    }
);
