//! The man pages, completions and help.

use crate::common::{TestContext, stdout};

#[test]
fn man_pages_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = tempest_env::man::pages().unwrap();
    let mut stale = Vec::new();
    for (file, bytes) in &pages {
        if std::fs::read(root.join(file)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(file.clone());
        }
    }
    let committed = std::fs::read_dir(&root).map(|d| d.count()).unwrap_or(0);
    assert!(
        stale.is_empty() && committed == pages.len(),
        "man pages are stale ({stale:?}); run `cargo run -- generate-man --dir man`"
    );
    assert!(pages.iter().any(|(f, _)| f == "tempest-env-create.1"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    let ctx = TestContext::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = ctx.cmd().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = stdout(&out);
        assert!(
            text.contains("tempest-env") && text.contains("create"),
            "{shell}"
        );
    }
    let out = ctx.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    let ctx = TestContext::new();
    let out = ctx.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ctx.cmd().args(["exec", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ctx.cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}
