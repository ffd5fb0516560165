//! Which tools see what an environment holds. Python itself, importlib
//! metadata and pip (run by the environment's python) see every layer; uv
//! reads the environment's own site-packages only, which holds the base too
//! with `--link-mode symlink`. And in an environment
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
    layered_with(ctx, "layered", &[])
}

/// The same, with `--link-mode symlink`: the wheel and the base layer are
/// linked into site-packages.
fn linked(ctx: &TestContext) -> std::path::PathBuf {
    layered_with(ctx, "linked", &["--link-mode", "symlink"])
}

fn layered_with(ctx: &TestContext, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let links = wheelhouse(ctx);
    let out = ctx
        .cmd()
        .args([
            "create",
            name,
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
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    ctx.env_dir(name)
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

/// The names `uv pip list` gives for the environment at `env`.
fn uv_list(env: &std::path::Path) -> Vec<String> {
    let out = Command::new("uv")
        .args(["pip", "list", "--python"])
        .arg(env.join("bin/python"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    names(&stdout(&out))
}

#[test]
#[ignore = "needs uv on PATH (.ci/run installs it); run with --ignored"]
fn uv_sees_only_the_environments_own_site_packages() {
    require_tool("uv");
    let ctx = TestContext::new();
    let env = layered(&ctx);
    // pip was copied in; tempest (base layer) and valet (store, pth) are
    // layers, which uv does not read.
    assert_eq!(uv_list(&env), ["pip"]);
}

/// What Python sees of an environment: every distribution with its version
/// and the directory of each module it imports.
fn python_view(env: &std::path::Path) -> String {
    let out = Command::new(env.join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m, tempest, valet as v, os\n\
             print(sorted((d.metadata['Name'].lower(), d.version) for d in m.distributions()))\n\
             print(os.path.realpath(tempest.__file__), os.path.realpath(v.__file__))",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// `--link-mode symlink` links the base layer into site-packages too:
/// Python sees exactly what it sees through the `.pth` file, from the same
/// files, and tempest-env's own scan agrees.
#[test]
fn a_linked_base_shows_python_the_same_environment() {
    let ctx = TestContext::new();
    let (layered, linked) = (layered(&ctx), linked(&ctx));
    assert_eq!(python_view(&layered), python_view(&linked));
    let site = linked.join(format!(
        "lib/python{}/site-packages",
        crate::common::python_version()
    ));
    let tempest = std::fs::read_link(site.join("tempest/__init__.py")).expect("tempest is linked");
    assert!(
        tempest.starts_with(ctx.home.path().join("cache/bases")),
        "{}",
        tempest.display()
    );
    let pth = std::fs::read_to_string(site.join("_tempest_env.pth")).unwrap_or_default();
    assert!(
        !pth.contains("bases"),
        "the base is not on the path twice: {pth}"
    );
    let plugins = |env: &str| {
        let out = ctx
            .cmd()
            .args(["plugins", env, "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        value["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].clone(), p["dist"].clone(), p["version"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(plugins("layered"), plugins("linked"));
    let shadowed = ctx.cmd().args(["plugins", "linked"]).output().unwrap();
    assert!(
        !stdout(&shadowed).contains("visible twice"),
        "{}",
        stdout(&shadowed)
    );
}

#[test]
#[ignore = "needs uv on PATH (.ci/run installs it); run with --ignored"]
fn uv_sees_a_base_linked_with_link_mode_symlink() {
    require_tool("uv");
    let ctx = TestContext::new();
    let env = linked(&ctx);
    assert_eq!(uv_list(&env), ["pip", "tempest", "valet"]);
    // And uv does not install again what the base holds.
    let again = Command::new("uv")
        .args(["pip", "install", "--offline", "--python"])
        .arg(env.join("bin/python"))
        .arg("tempest")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("Checked 1 package") && !stderr(&again).contains("Installed"),
        "uv finds the requirement satisfied: {}",
        stderr(&again)
    );
}
