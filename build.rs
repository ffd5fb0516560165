//! Embed the fixtures the offline demo needs (the Tempest stand-in and the
//! valet plugin) into the binary, so `tempest-env run --def demo` works
//! anywhere, not only in a checkout.

#![allow(clippy::disallowed_methods)] // the build script has only std

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const BUNDLED: &[&str] = &["tempest-standin", "plugins/valet"];

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "__pycache__"
            || name.ends_with(".pyc")
            || name.ends_with(".egg-info")
            || name == "build"
            || name == "dist"
        {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fixtures = root.join("fixtures");
    let mut files = Vec::new();
    for dir in BUNDLED {
        println!("cargo:rerun-if-changed=fixtures/{dir}");
        collect(&fixtures.join(dir), &mut files);
    }
    let mut code = String::from(
        "/// Bundled fixture files: (path under fixtures/, contents).\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let rel = file
            .strip_prefix(&fixtures)
            .expect("under fixtures")
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    std::fs::write(out, code).expect("write bundled.rs");
}
