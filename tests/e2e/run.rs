//! `run` with real tempest: the same test ids as tempest in a plain venv
//! holding the same packages, a fixture plugin's test passing, and
//! `--all-plugin` over an interpreter whose system set holds them.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::TEMPEST;
use crate::common::{
    TestContext, fixture_wheel, fixtures, require_tool, stderr, stdout, system_python,
};

const LIST_GROUPS: &str =
    "valet.tests.tempest.tests.api.test_groups.ValetGroupsTest.test_list_groups";

/// Test ids in runner output (lines that look like dotted ids).
fn ids(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .filter(|l| {
            l.contains('.')
                && !l.contains('/')
                && l.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        })
        .map(|l| l.split('[').next().unwrap_or(l).to_string())
        .collect()
}

fn uv(args: &[&str], home: &Path) -> std::process::Output {
    Command::new("uv")
        .args(args)
        .env("HOME", home)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs PyPI"]
fn run_matches_tempest_in_a_plain_venv() {
    require_tool("uv");
    let ctx = TestContext::new();
    let valet = fixture_wheel("valet");
    let inline = |extra: &[&str]| {
        let mut cmd = ctx.cmd();
        cmd.args([
            "run",
            "--base",
            TEMPEST,
            "--plugin",
            "barbican-tempest-plugin",
            "--plugin",
        ])
        .arg(&valet)
        .args(extra);
        cmd.output().unwrap()
    };
    let ours = inline(&["--list", "barbican"]);
    assert!(ours.status.success(), "{}{}", stdout(&ours), stderr(&ours));
    let ours = ids(&stdout(&ours));
    assert!(
        ours.iter()
            .any(|i| i.starts_with("barbican_tempest_plugin.")),
        "{ours:?}"
    );

    // The reference: a plain venv with the same packages and a workspace
    // made by `tempest init` (under a throwaway HOME).
    let home = ctx.work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let venv = ctx.work.path().join("plain");
    assert!(
        uv(&["venv", "-q", venv.to_str().unwrap()], &home)
            .status
            .success()
    );
    let python = venv.join("bin/python");
    let out = uv(
        &[
            "pip",
            "install",
            "-q",
            "--python",
            python.to_str().unwrap(),
            TEMPEST,
            "barbican-tempest-plugin",
            valet.to_str().unwrap(),
        ],
        &home,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ws = ctx.work.path().join("ws");
    let init = Command::new(venv.join("bin/tempest"))
        .arg("init")
        .arg(&ws)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    let theirs = Command::new(venv.join("bin/tempest"))
        .args(["run", "--list-tests", "--regex", "barbican"])
        .current_dir(&ws)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}{}",
        stdout(&theirs),
        stderr(&theirs)
    );
    assert_eq!(ours, ids(&stdout(&theirs)));

    // A fixture plugin's test passes under real tempest.
    let run = inline(&[LIST_GROUPS]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run)
            .lines()
            .last()
            .unwrap()
            .contains("1 passed, 0 failed"),
        "{}",
        stdout(&run)
    );
}

/// An interpreter made for the test whose system set holds `packages` from
/// PyPI and the valet fixture plugin.
fn system_set(packages: &[&str]) -> (TestContext, std::path::PathBuf) {
    require_tool("uv");
    let ctx = TestContext::new();
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    let out = Command::new("uv")
        .args(["pip", "install", "-q", "--python"])
        .arg(&python)
        .arg("--target")
        .arg(&site)
        .args(packages)
        .arg(fixture_wheel("valet"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    (ctx, python)
}

#[test]
#[ignore = "needs PyPI"]
fn all_plugin_runs_the_system_wide_set() {
    let (ctx, python) = system_set(&[TEMPEST, "barbican-tempest-plugin"]);
    let run = ctx
        .cmd()
        .args(["run", "--all-plugin", "--python"])
        .arg(&python)
        .arg(LIST_GROUPS)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let list = ctx
        .cmd()
        .args(["run", "--all-plugin", "--list", "--python"])
        .arg(&python)
        .arg("barbican")
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(
        ids(&stdout(&list))
            .iter()
            .any(|i| i.starts_with("barbican_tempest_plugin."))
    );
    // The stestr preset runs in the same kind of environment.
    let stestr = ctx
        .cmd()
        .args(["run", "--all-plugin", "--runner", "stestr", "--python"])
        .arg(&python)
        .arg(LIST_GROUPS)
        .output()
        .unwrap();
    assert_eq!(
        stestr.status.code(),
        Some(0),
        "{}{}",
        stdout(&stestr),
        stderr(&stestr)
    );
    let _ = fixtures();
}

#[test]
#[ignore = "needs PyPI"]
fn the_legacy_runner_presets_work() {
    let (ctx, python) = system_set(&[TEMPEST, "testrepository", "python-subunit", "os-testr"]);
    // testr (testrepository), as `./run_tempest.sh -N -- valet` ran it.
    let testr = ctx
        .cmd()
        .args(["run", "--all-plugin", "--runner", "testr", "--python"])
        .arg(&python)
        .arg(LIST_GROUPS)
        .output()
        .unwrap();
    assert_eq!(
        testr.status.code(),
        Some(0),
        "{}{}",
        stdout(&testr),
        stderr(&testr)
    );
    assert!(
        stdout(&testr)
            .lines()
            .last()
            .unwrap()
            .contains("1 passed, 0 failed"),
        "{}",
        stdout(&testr)
    );
    let listed = ctx
        .cmd()
        .args([
            "run",
            "--all-plugin",
            "--runner",
            "testr",
            "--list",
            "--python",
        ])
        .arg(&python)
        .arg("valet")
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}{}",
        stdout(&listed),
        stderr(&listed)
    );
    assert!(
        ids(&stdout(&listed)).contains(LIST_GROUPS),
        "{}",
        stdout(&listed)
    );
    // python -m subunit.run discover | subunit-trace.
    let sub = ctx
        .cmd()
        .args(["run", "--all-plugin", "--runner", "subunit", "--python"])
        .arg(&python)
        .arg("valet")
        .output()
        .unwrap();
    assert_eq!(
        sub.status.code(),
        Some(0),
        "{}{}",
        stdout(&sub),
        stderr(&sub)
    );
    assert!(
        stdout(&sub).contains("passed, 0 failed"),
        "{}",
        stdout(&sub)
    );
    // Every test of real tempest without a cloud: most setUpClass fail and
    // their tests are only enumerated; the summary counts what
    // subunit-trace counts, and no "incomplete" thousands.
    let all = ctx
        .cmd()
        .args(["run", "--all-plugin", "--runner", "subunit", "--python"])
        .arg(&python)
        .output()
        .unwrap();
    assert_eq!(all.status.code(), Some(1), "{}", stderr(&all));
    let text = stdout(&all);
    let trace = |what: &str| -> usize {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(what))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{what}` in {text}"))
    };
    let (ran, passed, failed, skipped) = (
        trace("Ran:"),
        trace("- Passed:"),
        trace("- Failed:"),
        trace("- Skipped:"),
    );
    let ours = text.lines().last().unwrap();
    assert!(
        ours.ends_with(&format!(
            "{passed} passed, {failed} failed, {skipped} skipped"
        )),
        "ours: {ours}; subunit-trace: ran {ran}, {passed} passed, {failed} failed, {skipped} skipped"
    );
    assert!(failed > 0 && passed + failed + skipped == ran, "{text}");
    // Its listing lists what the filter selects, as tempest's does.
    let list = |runner: &str| {
        let out = ctx
            .cmd()
            .args([
                "run",
                "--all-plugin",
                "--list",
                "--runner",
                runner,
                "--python",
            ])
            .arg(&python)
            .arg("test_groups.ValetGroupsTest.test_(list|create)")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        ids(&stdout(&out))
    };
    let subunit = list("subunit");
    assert_eq!(subunit.len(), 2, "{subunit:?}");
    assert_eq!(subunit, list("tempest"));
}

#[test]
#[ignore = "needs PyPI"]
fn a_setup_py_only_plugin_goes_through_the_installer_editable() {
    require_tool("uv");
    let ctx = TestContext::new();
    let tree = ctx.work.path().join("legacy");
    std::fs::create_dir_all(tree.join("legacy_plugin")).unwrap();
    std::fs::write(
        tree.join("legacy_plugin/__init__.py"),
        "def main():\n    print('legacy tool')\n",
    )
    .unwrap();
    std::fs::write(tree.join("legacy_plugin/plugin.py"), "VALUE = 'first'\n").unwrap();
    std::fs::write(
        tree.join("setup.py"),
        "from setuptools import setup\nsetup(name='legacy-tempest-plugin', version='0.3', packages=['legacy_plugin'],\n      entry_points={'tempest.test_plugins': ['legacy_tests = legacy_plugin.plugin:LegacyPlugin'],\n                    'console_scripts': ['legacy-tool = legacy_plugin:main']})\n",
    )
    .unwrap();
    let out = ctx
        .cmd()
        .args(["create", "legacy", "--installer", "uv", "--plugin"])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = ctx.env_dir("legacy");
    assert_eq!(crate::common::visible_plugins(&env), ["legacy_tests"]);
    let m = crate::common::manifest(&env);
    assert_eq!(m["distributions"][0]["mode"], "editable");
    assert_eq!(
        m["distributions"][0]["plugins"],
        serde_json::json!(["legacy_tests"])
    );
    // The launcher runs with the environment's python at its final path.
    let tool = env.join("bin/legacy-tool");
    assert!(
        std::fs::read_to_string(&tool)
            .unwrap()
            .starts_with(&format!("#!{}/bin/python", env.display()))
    );
    let out = Command::new(&tool).output().unwrap();
    assert_eq!(stdout(&out).trim(), "legacy tool");
    // Editable: an edit in the tree is what the next import sees.
    std::fs::write(tree.join("legacy_plugin/plugin.py"), "VALUE = 'second'\n").unwrap();
    let out = Command::new(env.join("bin/python"))
        .args([
            "-B",
            "-c",
            "import legacy_plugin.plugin as p; print(p.VALUE)",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "second");
    // And uninstall removes what the installer's RECORD lists.
    ctx.cmd()
        .args(["uninstall", "legacy", "legacy-tempest-plugin"])
        .assert()
        .success();
    assert!(crate::common::visible_plugins(&env).is_empty());
}
