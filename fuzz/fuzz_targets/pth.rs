//! `.pth` and `.egg-link` files in any site directory on the path: `parse`,
//! `egg_link`, and the Python-literal reader behind `addsitedir_target` must
//! not panic on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::dist::{pth, site_path};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pth::egg_link(&text);
    let _ = site_path::python_string(&text);
    for line in pth::parse(&text) {
        let line = match line {
            pth::PthLine::Import(line) | pth::PthLine::Path(line) => line,
        };
        let _ = site_path::addsitedir_target(&line);
        if let Some(at) = line.find(['\'', '"'])
            && let Some((_, rest)) = site_path::python_string(&line[at..])
        {
            assert!(line.ends_with(rest), "the rest is not a suffix of the line");
        }
    }
});
