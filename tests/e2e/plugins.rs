//! `plugins` against real tempest and real plugins from PyPI: the names it
//! reports are what `tempest list-plugins` lists; `--check` loads the
//! plugins alone and together in a configuration tempest initialised, marks
//! nothing failed on the current plugins (and finds the tests `tempest run
//! --list-tests` finds), and flags real failures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::TEMPEST;
use crate::common::{
    TestContext, build_wheel, fixture_wheel, plugins_json, real_python, require_tool, stderr,
    stdout,
};

fn barbican_env(ctx: &TestContext) -> std::path::PathBuf {
    let out = ctx
        .cmd()
        .args([
            "create",
            "barb",
            "--base",
            TEMPEST,
            "--plugin",
            "barbican-tempest-plugin",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    ctx.env_dir("barb")
}

#[test]
#[ignore = "needs PyPI"]
fn reports_what_real_tempest_lists() {
    let ctx = TestContext::new();
    let env = barbican_env(&ctx);
    let listed = Command::new(env.join("bin/tempest"))
        .arg("list-plugins")
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let mut expected: Vec<String> = stdout(&listed)
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split('|').next())
        .map(|n| n.trim().to_string())
        .filter(|n| n != "Name")
        .collect();
    expected.sort();
    let (report, code) = plugins_json(&ctx, &["barb"]);
    assert_eq!(code, 0);
    let mut names: Vec<String> = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, expected);
    assert!(names.contains(&"barbican_tests".to_string()));
}

#[test]
#[ignore = "needs PyPI"]
fn check_loads_a_real_plugin_with_real_oslo_config() {
    let ctx = TestContext::new();
    barbican_env(&ctx);
    let (report, code) = plugins_json(&ctx, &["barb", "--check"]);
    assert_eq!(code, 0, "{report:#}");
    let check = &report["check"];
    assert_eq!(check["config_backend"], "oslo.config");
    assert_eq!(check["ok"], true);
    let row = check["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "barbican_tests")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(row["alone"]["verdict"], "loads", "{row:#}");
    assert_eq!(row["together"]["ok"], true, "{row:#}");
    assert!(
        row["together"]["discovery"]["tests"].as_u64().unwrap() > 0,
        "{row:#}"
    );
    // The human output: one line per plugin, exit 0.
    let out = ctx
        .cmd()
        .args(["plugins", "barb", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("barbican_tests") && l.contains("discovery ok")),
        "{}",
        stdout(&out)
    );
}

// `plugins --check` on the current plugins from PyPI, installed with real
// tempest in one uv resolution, compared with what tempest itself says.

/// Current tempest plugins on PyPI that install with tempest 47 in one
/// resolution.
pub(crate) const CURRENT: &[&str] = &[
    "barbican-tempest-plugin",
    "blazar-tempest-plugin",
    "cinder-tempest-plugin",
    "cloudkitty-tempest-plugin",
    "cyborg-tempest-plugin",
    "designate-tempest-plugin",
    "ec2api-tempest-plugin",
    "freezer-tempest-plugin",
    "glance-tempest-plugin",
    "heat-tempest-plugin",
    "ironic-tempest-plugin",
    "keystone-tempest-plugin",
    "kuryr-tempest-plugin",
    "magnum-tempest-plugin",
    "manila-tempest-plugin",
    "mistral-tempest-tests",
    "monasca-tempest-plugin",
    "murano-tempest-plugin",
    "neutron-tempest-plugin",
    "octavia-tempest-plugin",
    "oswin-tempest-plugin",
    "patrole",
    "sahara-tests",
    "senlin-tempest-plugin",
    "solum-tempest-plugin",
    "telemetry-tempest-plugin",
    "trove-tempest-plugin",
    "venus-tempest-plugin",
    "vitrage-tempest-plugin",
    "watcher-tempest-plugin",
    "whitebox-tempest-plugin",
    "zaqar-tempest-plugin",
    "zun-tempest-plugin",
];

/// A venv made by uv holding `packages`, installed in one resolution (uv's
/// own cache makes a rerun cheap).
pub(crate) fn uv_venv(ctx: &TestContext, name: &str, packages: &[&str]) -> PathBuf {
    let venv = ctx.work.path().join(name);
    let made = Command::new("uv")
        .args(["venv", "-q", "--python"])
        .arg(real_python())
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let out = Command::new("uv")
        .args(["pip", "install", "-q", "--python"])
        .arg(venv.join("bin/python"))
        .args(packages)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    venv
}

/// A tempest workspace made by `tempest init` (under a throwaway HOME, so
/// nothing is registered in the user's `~/.tempest`).
fn workspace(ctx: &TestContext, venv: &Path) -> (PathBuf, PathBuf) {
    let home = ctx.work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let ws = ctx.work.path().join("ws");
    let init = Command::new(venv.join("bin/tempest"))
        .arg("init")
        .arg(&ws)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    (ws, home)
}

fn listed_plugins(venv: &Path, cwd: &Path) -> (Vec<String>, bool) {
    let out = Command::new(venv.join("bin/tempest"))
        .arg("list-plugins")
        .current_dir(cwd)
        .output()
        .unwrap();
    let mut names: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split('|').next())
        .map(|n| n.trim().to_string())
        .filter(|n| n != "Name")
        .collect();
    names.sort();
    (names, out.status.success())
}

fn rows(check: &Value) -> &Vec<Value> {
    check["plugins"].as_array().unwrap()
}

fn row<'a>(check: &'a Value, name: &str) -> &'a Value {
    rows(check)
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {check:#}"))
}

#[test]
#[ignore = "needs PyPI"]
fn check_agrees_with_tempest_on_the_current_plugins() {
    require_tool("uv");
    let ctx = TestContext::new();
    // patrole imports pkg_resources (setuptools) and monasca's event tests
    // import pytz without declaring either: without them, tempest's own
    // discovery fails (see the next test), so the set holds them.
    let mut packages = vec![TEMPEST, "setuptools<81", "pytz"];
    packages.extend(CURRENT);
    let venv = uv_venv(&ctx, "current", &packages);
    let python = venv.join("bin/python");
    let started = std::time::Instant::now();
    let (report, code) = plugins_json(&ctx, &["--python", python.to_str().unwrap(), "--check"]);
    eprintln!(
        "plugins --check on {} plugins: {:.1?}",
        CURRENT.len(),
        started.elapsed()
    );
    let check = &report["check"];
    assert_eq!(check["config_backend"], "oslo.config");
    let failed: Vec<String> = rows(check)
        .iter()
        .filter(|p| p["alone"]["ok"] != true || p["together"]["ok"] != true)
        .map(|p| {
            format!(
                "{}: {} / {}",
                p["name"], p["alone"]["verdict"], p["together"]["verdict"]
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(code, 0);
    assert_eq!(check["ok"], true);

    // The same plugins as tempest lists.
    let (ws, home) = workspace(&ctx, &venv);
    let (expected, ok) = listed_plugins(&venv, &ws);
    assert!(ok);
    assert!(expected.len() >= 30, "{expected:?}");
    let mut names: Vec<String> = rows(check)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, expected);

    // The same tests per plugin as `tempest run --list-tests` finds.
    let out = Command::new(venv.join("bin/tempest"))
        .args(["run", "--list-tests"])
        .current_dir(&ws)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut per_package: BTreeMap<String, u64> = BTreeMap::new();
    for id in stdout(&out)
        .lines()
        .filter(|l| !l.contains(' ') && l.contains('.'))
    {
        *per_package
            .entry(id.split('.').next().unwrap().to_string())
            .or_default() += 1;
    }
    for p in rows(check) {
        let package = p["target"].as_str().unwrap().split('.').next().unwrap();
        assert_eq!(
            p["together"]["discovery"]["tests"].as_u64(),
            Some(per_package.get(package).copied().unwrap_or(0)),
            "{}",
            p["name"]
        );
    }
}

/// A plugin tree built into a wheel: `module` with `plugin_py`, declaring
/// entry point `NAME_tests = target`.
fn plugin_wheel(ctx: &TestContext, name: &str, target: &str, plugin_py: &str) -> PathBuf {
    let dir = ctx.work.path().join("trees").join(name);
    let package = dir.join(format!("{name}_plugin"));
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[project]\nname = \"{name}-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\n{name}_tests = \"{target}\"\n"
        ),
    )
    .unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(package.join("plugin.py"), plugin_py).unwrap();
    build_wheel(&dir, &ctx.work.path().join("wheels"), None)
}

const PLUGIN_PY: &str = "import os\nfrom tempest.test_discover import plugins\n\nclass P(plugins.TempestPlugin):\n    def load_tests(self):\n        here = os.path.dirname(os.path.abspath(__file__))\n        return (here, os.path.dirname(here))\n    def register_opts(self, conf):\n        pass\n    def get_opt_lists(self):\n        return []\n";

#[test]
#[ignore = "needs PyPI"]
fn check_flags_real_failures_over_real_tempest() {
    require_tool("uv");
    let ctx = TestContext::new();
    let ghost = plugin_wheel(&ctx, "ghost", "ghost_gone.plugin:P", PLUGIN_PY);
    let moved = plugin_wheel(
        &ctx,
        "moved",
        "moved_plugin.plugin:P",
        &PLUGIN_PY.replace(
            "here = os.path.dirname(os.path.abspath(__file__))",
            "raise RuntimeError('tests moved to another package')",
        ),
    );
    let fixtures: Vec<PathBuf> = [
        "dup-opt-a",
        "dup-opt-b",
        "dup-client-a",
        "dup-client-b",
        "broken-import",
    ]
    .iter()
    .map(|n| fixture_wheel(n))
    .chain([ghost, moved])
    .collect();
    let mut packages: Vec<&str> = vec![TEMPEST, "barbican-tempest-plugin", "patrole"];
    packages.extend(fixtures.iter().map(|p| p.to_str().unwrap()));
    let venv = uv_venv(&ctx, "broken", &packages);
    let python = venv.join("bin/python");
    let (report, code) = plugins_json(&ctx, &["--python", python.to_str().unwrap(), "--check"]);
    assert_eq!(code, 1);
    let check = &report["check"];
    let first = |name: &str, pass: &str| row(check, name)[pass]["problems"][0].clone();

    // An entry point naming a module that does not exist, and an import
    // error: each fails alone, as tempest fails to load it.
    let ghost = first("ghost_tests", "alone");
    assert_eq!(ghost["kind"], "import-error", "{ghost:#}");
    assert_eq!(ghost["missing_module"], "ghost_gone");
    let broken = first("broken_import_tests", "alone");
    assert_eq!(
        broken["missing_module"],
        "tempest_env_fixture_missing_dependency"
    );
    let (_, listed) = listed_plugins(&venv, ctx.work.path());
    assert!(!listed, "tempest list-plugins fails too");

    // load_tests raising.
    let moved = first("moved_tests", "alone");
    assert_eq!(moved["kind"], "load-tests-error", "{moved:#}");
    assert_eq!(moved["message"], "tests moved to another package");

    // A real DuplicateOptError between two plugins, both named.
    assert_eq!(row(check, "dupopt_b_tests")["alone"]["ok"], true);
    let conflict = first("dupopt_b_tests", "together");
    assert_eq!(conflict["kind"], "config-conflict", "{conflict:#}");
    assert_eq!(conflict["exception"], "DuplicateOptError");
    assert_eq!(conflict["group"], "shared");
    assert_eq!(conflict["option"], "shared_timeout");
    assert_eq!(conflict["first"], "dupopt_a_tests");

    // Two plugins claiming one service client: tempest's ServiceClients
    // refuses the second.
    let clash = first("dupclient_b_tests", "together");
    assert_eq!(clash["kind"], "service-client-conflict", "{clash:#}");
    assert_eq!(clash["service"], "shared_service");
    assert_eq!(clash["first"], "dupclient_a_tests");
    assert_eq!(clash["exception"], "PluginRegistrationException");

    // A real plugin whose test modules import what it does not declare
    // (six, pkg_resources): its test modules fail to import.
    let patrole = first("patrole_tests", "together");
    assert_eq!(patrole["kind"], "discovery-error", "{patrole:#}");
    let missing = &patrole["modules"][0]["message"];
    assert!(
        missing
            .as_str()
            .unwrap()
            .starts_with("ModuleNotFoundError: No module named"),
        "{patrole:#}"
    );

    // A healthy plugin loads alone, and together it is blocked by the
    // failures above (tempest stops at the first plugin it cannot load),
    // not by anything of its own.
    let barbican = row(check, "barbican_tests");
    assert_eq!(barbican["alone"]["ok"], true, "{barbican:#}");
    let problems = barbican["together"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{barbican:#}");
    assert_eq!(problems[0]["kind"], "blocked");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("tempest stops loading plugins"),
        "{barbican:#}"
    );
}

#[test]
#[ignore = "needs PyPI"]
fn a_plugin_that_does_not_fit_tempest_resolved_alone_is_resolved_with_it() {
    let ctx = TestContext::new();
    // tempest 47 alone resolves oslo.log to a release that pins
    // python-dateutil 4, which every botocore ec2api can use refuses.
    let out = ctx
        .cmd()
        .args([
            "create",
            "ec2",
            "--base",
            TEMPEST,
            "--plugin",
            "ec2api-tempest-plugin",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolving them together"),
        "{}",
        stderr(&out)
    );
    let env = ctx.env_dir("ec2");
    let (names, ok) = listed_plugins(&env, ctx.work.path());
    assert!(ok);
    assert_eq!(names, ["aws_tests"]);
    let (report, code) = plugins_json(&ctx, &["ec2", "--check"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(row(&report["check"], "aws_tests")["together"]["ok"], true);
}

#[test]
#[ignore = "needs PyPI"]
fn a_warning_is_what_tempest_logs_and_carries_on_from() {
    require_tool("uv");
    let ctx = TestContext::new();
    // oswin's get_service_clients reads the [metric] group that only the
    // telemetry plugin registers, and oswin does not require it.
    let venv = uv_venv(&ctx, "oswin", &[TEMPEST, "oswin-tempest-plugin"]);
    let python = venv.join("bin/python");
    let (report, code) = plugins_json(&ctx, &["--python", python.to_str().unwrap(), "--check"]);
    assert_eq!(code, 0, "{report:#}");
    let oswin = row(&report["check"], "oswin_tempest_plugin");
    assert_eq!(oswin["alone"]["ok"], true, "{oswin:#}");
    assert_eq!(oswin["alone"]["warned"], true, "{oswin:#}");
    let warning = &oswin["alone"]["problems"][0];
    assert_eq!(warning["kind"], "service-clients-error");
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["exception"], "UnknownServiceClient");
    // Tempest itself lists the tests and logs that very error.
    let (ws, home) = workspace(&ctx, &venv);
    let out = Command::new(venv.join("bin/tempest"))
        .args(["run", "--list-tests"])
        .current_dir(&ws)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("oswin_tempest_plugin."));
    let log = std::fs::read_to_string(ws.join("logs/tempest.log")).unwrap();
    assert!(
        log.contains("Plugin oswin_tempest_plugin raised an exception trying to run get_service_clients: tempest.lib.exceptions.UnknownServiceClient"),
        "{log}"
    );
}
