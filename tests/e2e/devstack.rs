//! devstack's flow, reproduced: tempest in a venv, plugins installed into it
//! under upper-constraints (`tox -evenv-tempest -- pip install -c
//! upper-constraints.txt PLUGIN`), then `tempest run`. The README gives the
//! tempest-env equivalent; this test runs both and compares what they list
//! and which versions the constraints chose.

use std::path::Path;
use std::process::Command;

use super::TEMPEST;
use crate::common::{TestContext, require_tool, stderr, stdout};

const PLUGIN: &str = "barbican-tempest-plugin";
/// An older PyYAML than the resolver would pick, so the constraint shows.
const PINNED: &str = "PyYAML===6.0.1";

/// An upper-constraints file in OpenStack's format (`===` pins, no tempest
/// or plugin lines) for tempest and the plugin, with PyYAML held back.
fn upper_constraints(dir: &Path) -> std::path::PathBuf {
    let requirements = dir.join("requirements.in");
    std::fs::write(&requirements, format!("{TEMPEST}\n{PLUGIN}\n")).unwrap();
    let out = Command::new("uv")
        .args(["pip", "compile", "-q", "--no-header", "--no-annotate"])
        .arg(&requirements)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut lines: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.starts_with("tempest") && !l.starts_with("barbican") && !l.is_empty())
        .filter(|l| !l.to_lowercase().starts_with("pyyaml"))
        .map(|l| l.replacen("==", "===", 1))
        .collect();
    lines.push(PINNED.to_string());
    let file = dir.join("upper-constraints.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file
}

fn yaml_version(python: &Path) -> String {
    let out = Command::new(python)
        .args(["-c", "import yaml; print(yaml.__version__)"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

fn sorted_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("barbican_tempest_plugin."))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

#[test]
#[ignore = "needs PyPI"]
fn the_devstack_flow_and_its_equivalent_list_the_same_tests_under_the_same_constraints() {
    require_tool("uv");
    let ctx = TestContext::new();
    let uc = upper_constraints(ctx.work.path());

    // devstack: a venv with tempest, the plugin installed into it under the
    // constraints, a workspace from `tempest init`, `tempest run`.
    let venv = ctx.work.path().join("venv-tempest");
    let home = ctx.work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        out
    };
    ok(Command::new("uv")
        .args(["venv", "-q"])
        .arg(&venv)
        .output()
        .unwrap());
    let python = venv.join("bin/python");
    for requirement in [TEMPEST, PLUGIN] {
        ok(Command::new("uv")
            .args(["pip", "install", "-q", "--python"])
            .arg(&python)
            .arg("-c")
            .arg(&uc)
            .arg(requirement)
            .output()
            .unwrap());
    }
    let ws = ctx.work.path().join("ws");
    ok(Command::new(venv.join("bin/tempest"))
        .arg("init")
        .arg(&ws)
        .env("HOME", &home)
        .output()
        .unwrap());
    let theirs = ok(Command::new(venv.join("bin/tempest"))
        .args(["run", "--list-tests", "--regex", "barbican"])
        .current_dir(&ws)
        .env("HOME", &home)
        .output()
        .unwrap());

    // tempest-env: the two commands the README gives.
    ok(ctx
        .cmd()
        .args(["create", "venv-tempest", "--base", TEMPEST, "--constraints"])
        .arg(&uc)
        .args(["--plugin", PLUGIN])
        .output()
        .unwrap());
    let ours = ok(ctx
        .cmd()
        .args(["run", "--env", "venv-tempest", "--list", "barbican"])
        .output()
        .unwrap());

    let (ours, theirs) = (sorted_ids(&stdout(&ours)), sorted_ids(&stdout(&theirs)));
    assert!(!theirs.is_empty(), "tempest listed no barbican tests");
    assert_eq!(ours, theirs);
    assert_eq!(yaml_version(&python), "6.0.1");
    assert_eq!(
        yaml_version(&ctx.env_dir("venv-tempest").join("bin/python")),
        "6.0.1"
    );
}
