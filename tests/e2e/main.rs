//! End to end with real packages from PyPI: real tempest, real plugins, a
//! real installer. Needs the network, so every test is `#[ignore]`d in the
//! default run; `.ci/run` runs them with `cargo test --test e2e -- --ignored`.

// Tests read and write fixtures with std::fs directly and may print what
// they measured; the library's rules for both are about its own code.
#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]
#![allow(unreachable_pub)]

#[path = "../it/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "../it/served.rs"]
mod served;

use std::process::Command;

use common::{TestContext, manifest, stderr, stdout};

pub const TEMPEST: &str = "tempest==47.0.0";

#[test]
#[ignore = "needs PyPI"]
fn real_tempest_base_with_a_real_plugin() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args([
            "create",
            "e2e",
            "-v",
            "--base",
            TEMPEST,
            "--plugin",
            "barbican-tempest-plugin",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = ctx.env_dir("e2e");
    let listed = Command::new(env.join("bin/tempest"))
        .arg("list-plugins")
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains("barbican_tests"),
        "{}",
        stdout(&listed)
    );

    // A second environment with the same base reuses it: no installer run.
    let again = ctx
        .cmd()
        .args(["create", "e2e-2", "-v", "--base", TEMPEST])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("reusing base"),
        "{}",
        stderr(&again)
    );
    assert!(
        !stderr(&again).contains("Building base"),
        "{}",
        stderr(&again)
    );
    let hash = |name: &str| {
        manifest(&ctx.env_dir(name))["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == "base")
            .map(|l| l["hash"].clone())
            .unwrap()
    };
    assert_eq!(hash("e2e"), hash("e2e-2"));
    let listed = Command::new(ctx.env_dir("e2e-2").join("bin/tempest"))
        .arg("list-plugins")
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        !stdout(&listed).contains("barbican_tests"),
        "the plugin stays in its own environment"
    );
}
mod artifacts;
mod devstack;
mod fork;
mod isolation;
mod plugins;
mod pollution;
mod replay;
mod run;
