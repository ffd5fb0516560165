//! Which tools see what an environment holds. Python itself, importlib
//! metadata and pip (run by the environment's python) see every layer; uv
//! reads the environment's own site-packages only. And in an environment
//! without pip, `pip` after activation never reaches another interpreter.

use std::process::Command;

use crate::common::{TestContext, fixture_wheel, require_tool, stderr, stdout, wheelhouse};

fn ensurepip_wheel() -> std::path::PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import ensurepip, glob, os; print(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl'))[0])",
        ])
        .output()
        .unwrap();
    std::path::PathBuf::from(stdout(&out).trim())
}

#[test]
fn pip_after_activation_says_what_to_do_instead_of_reaching_another_interpreter() {
    let ctx = TestContext::new();
    let env = ctx.create("nopip");
    for name in ["pip", "pip3"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}/bin/activate && {name} --version",
                env.display()
            ))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("has no pip of its own"), "{err}");
        assert!(
            err.contains("tempest-env install 'nopip' ARTIFACT"),
            "{err}"
        );
    }
    // The command the hint gives works.
    let valet = fixture_wheel("valet");
    ctx.cmd()
        .args(["install", "nopip"])
        .arg(&valet)
        .assert()
        .success();
    // A real pip replaces the guard, and removing it brings the guard back.
    ctx.cmd()
        .args(["install", "nopip", "--link-mode", "copy"])
        .arg(ensurepip_wheel())
        .assert()
        .success();
    let out = Command::new(env.join("bin/pip"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(&*env.to_string_lossy()),
        "{}",
        stderr(&out)
    );
    ctx.cmd()
        .args(["uninstall", "nopip", "pip"])
        .assert()
        .success();
    let out = Command::new(env.join("bin/pip")).output().unwrap();
    assert!(
        stderr(&out).contains("has no pip of its own"),
        "{}",
        stderr(&out)
    );
}

/// An environment with a base layer (the stand-in tempest), a wheel in the
/// store (valet, pth) and pip from `--seed`.
fn layered(ctx: &TestContext) -> std::path::PathBuf {
    let links = wheelhouse(ctx);
    let out = ctx
        .cmd()
        .args([
            "create",
            "layered",
            "--seed",
            "--base",
            "tempest",
            "--installer",
            "pip",
        ])
        .args(["--offline", "--find-links"])
        .arg(&links)
        .arg("--plugin")
        .arg(fixture_wheel("valet"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    ctx.env_dir("layered")
}

fn names(listing: &str) -> Vec<String> {
    let mut names: Vec<String> = listing
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_lowercase)
        .collect();
    names.sort();
    names
}

#[test]
fn pip_sees_every_layer() {
    let ctx = TestContext::new();
    let env = layered(&ctx);
    let out = Command::new(env.join("bin/pip"))
        .args(["list", "--disable-pip-version-check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(&stdout(&out)), ["pip", "tempest", "valet"]);
}

#[test]
#[ignore = "needs uv on PATH (.ci/run installs it); run with --ignored"]
fn uv_sees_only_the_environments_own_site_packages() {
    require_tool("uv");
    let ctx = TestContext::new();
    let env = layered(&ctx);
    let out = Command::new("uv")
        .args(["pip", "list", "--python"])
        .arg(env.join("bin/python"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // pip was copied in; tempest (base layer) and valet (store, pth) are
    // layers, which uv does not read.
    assert_eq!(names(&stdout(&out)), ["pip"]);
}
