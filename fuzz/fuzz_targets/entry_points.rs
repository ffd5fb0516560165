//! `entry_points.txt` decides which plugins tempest loads. `parse` must not
//! panic, and `render` of what it read must parse back to the same entry
//! points. `render` writes one section per group, in order of first
//! appearance, so interleaved groups come back grouped: that order is the
//! expectation, not the input order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::entry_points::{self, EntryPoint};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = entry_points::parse(&text) {
        let rendered = entry_points::render(&parsed);
        assert_eq!(
            entry_points::parse(&rendered).as_ref(),
            Ok(&grouped(&parsed)),
            "rendered entry points {rendered:?} do not parse back"
        );
    }
});

/// The entry points in the order `render` writes them.
fn grouped(eps: &[EntryPoint]) -> Vec<EntryPoint> {
    let mut groups: Vec<&str> = Vec::new();
    for ep in eps {
        if !groups.contains(&ep.group.as_str()) {
            groups.push(&ep.group);
        }
    }
    groups
        .iter()
        .flat_map(|group| eps.iter().filter(move |ep| ep.group == *group))
        .cloned()
        .collect()
}
