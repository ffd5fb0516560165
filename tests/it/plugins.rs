//! `tempest-env plugins`: the plugins it reports are the ones tempest lists,
//! the problems it finds without importing are flagged by kind, and
//! `--check` loads the plugins the way tempest does (with the offline
//! stand-in).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{
    TestContext, build_wheel, fixture_wheel, fixtures, pip_target, plugins_json, python_version,
    real_python, stderr, stdout, system_python,
};

/// The sorted entry-point names of a report.
fn names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The sorted names in a `tempest list-plugins` table (the stand-in's and
/// real tempest's are both `| Name | EntryPoint |`).
fn listed(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    let mut names: Vec<String> = stdout(out)
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split('|').next())
        .map(|n| n.trim().to_string())
        .filter(|n| n != "Name")
        .collect();
    names.sort();
    names
}

fn tempest_list_plugins(env: &Path) -> Vec<String> {
    listed(
        &Command::new(env.join("bin/tempest"))
            .arg("list-plugins")
            .env_remove("PYTHONPATH")
            .output()
            .unwrap(),
    )
}

fn wheels(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| fixture_wheel(n)).collect()
}

fn create(ctx: &TestContext, name: &str, extra: &[&str], plugins: &[PathBuf]) {
    let mut cmd = ctx.cmd();
    cmd.args(["create", name]).args(extra);
    for p in plugins {
        cmd.arg("--plugin").arg(p);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn check_matches_list_plugins(mode: &str) {
    let ctx = TestContext::new();
    create(
        &ctx,
        "e",
        &["--link-mode", mode],
        &wheels(&["tempest-standin", "valet", "alpha", "bravo"]),
    );
    let (report, code) = plugins_json(&ctx, &["e"]);
    assert_eq!(code, 0);
    assert_eq!(
        names(&report),
        ["alpha_tests", "bravo_tests", "valet_tests"]
    );
    assert_eq!(names(&report), tempest_list_plugins(&ctx.env_dir("e")));
}

#[test]
fn reports_what_tempest_lists_with_pth_links() {
    check_matches_list_plugins("pth");
}

#[test]
fn reports_what_tempest_lists_with_copies() {
    check_matches_list_plugins("copy");
}

#[test]
fn reports_what_tempest_lists_with_editable_trees() {
    let ctx = TestContext::new();
    let trees: Vec<PathBuf> = ["valet", "alpha", "bravo"]
        .iter()
        .map(|n| fixtures().join("plugins").join(n))
        .chain([fixtures().join("tempest-standin")])
        .collect();
    create(&ctx, "ed", &[], &trees);
    let (report, _) = plugins_json(&ctx, &["ed"]);
    assert!(
        report["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["origin"] == "editable"),
        "{report:#}"
    );
    assert_eq!(
        names(&report),
        ["alpha_tests", "bravo_tests", "valet_tests"]
    );
    assert_eq!(names(&report), tempest_list_plugins(&ctx.env_dir("ed")));
}

#[test]
fn reports_what_tempest_lists_over_a_system_set() {
    let ctx = TestContext::new();
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    pip_target(
        &site,
        &wheels(&["tempest-standin", "valet", "alpha", "bravo"]),
    );
    let py = python.to_str().unwrap();
    create(&ctx, "all", &["--all-plugin", "--python", py], &[]);
    let expected = ["alpha_tests", "bravo_tests", "valet_tests"];
    let (report, _) = plugins_json(&ctx, &["all"]);
    assert_eq!(names(&report), expected);
    assert_eq!(names(&report), tempest_list_plugins(&ctx.env_dir("all")));
    // The interpreter itself, without an environment, lists the same.
    let reference = listed(
        &Command::new(&python)
            .args([
                "-s",
                "-c",
                "import sys; from tempest.cmd.main import main; sys.exit(main(['list-plugins']))",
            ])
            .env_remove("PYTHONPATH")
            .current_dir(ctx.work.path())
            .output()
            .unwrap(),
    );
    assert_eq!(reference, expected);
    let (report, _) = plugins_json(&ctx, &["--all-plugin", "--python", py]);
    assert_eq!(names(&report), reference);
    let (report, _) = plugins_json(&ctx, &["--python", py]);
    assert_eq!(names(&report), reference);
}

/// The kinds of problem reported for `subject`.
fn kinds_for(report: &Value, subject: &str) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["subject"].as_str().unwrap().contains(subject))
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

fn problem<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {report:#}"))
}

#[test]
fn flags_a_duplicate_entry_point_and_names_the_shadowed_one() {
    let ctx = TestContext::new();
    create(
        &ctx,
        "dup",
        &[],
        &wheels(&["tempest-standin", "dup-entrypoint-a", "dup-entrypoint-b"]),
    );
    let (report, _) = plugins_json(&ctx, &["dup"]);
    let found = problem(&report, "duplicate-entry-point");
    assert_eq!(found["subject"], "dupep_tests");
    let message = found["message"].as_str().unwrap();
    assert!(
        message.contains("tests of dupep-b-tempest-plugin only")
            && message.contains("dupep-a-tempest-plugin are shadowed"),
        "{message}"
    );
    // Tempest agrees: both are listed.
    assert_eq!(
        tempest_list_plugins(&ctx.env_dir("dup")),
        ["dupep_tests", "dupep_tests"]
    );
}

#[test]
fn flags_one_distribution_visible_twice_at_two_versions() {
    let ctx = TestContext::new();
    let out = ctx.work.path().join("wheels");
    let bravo = fixtures().join("plugins/bravo");
    let v1 = build_wheel(&bravo, &out.join("v1"), Some("1.0.0"));
    let v2 = build_wheel(&bravo, &out.join("v2"), Some("2.0.0"));
    // Version 1 in the system set, version 2 in the environment itself.
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    pip_target(&site, &[fixture_wheel("tempest-standin"), v1]);
    create(
        &ctx,
        "twice",
        &[
            "--all-plugin",
            "--python",
            python.to_str().unwrap(),
            "--link-mode",
            "copy",
        ],
        &[v2],
    );
    let (report, _) = plugins_json(&ctx, &["twice"]);
    let found = problem(&report, "shadowed-distribution");
    assert_eq!(found["subject"], "bravo-tempest-plugin");
    let message = found["message"].as_str().unwrap();
    assert!(
        message.contains("2.0.0") && message.contains("1.0.0"),
        "{message}"
    );
    // The plugin is reported once, at the version that wins.
    let rows: Vec<&Value> = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "bravo_tests")
        .collect();
    assert_eq!(rows.len(), 1, "{report:#}");
    assert_eq!(rows[0]["version"], "2.0.0");
    // importlib.metadata sees the same winner.
    let seen = Command::new(ctx.env_dir("twice").join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('bravo-tempest-plugin'))",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&seen).trim(), "2.0.0");
}

/// A plugin source tree: `pyproject.toml` plus files (relative path, text).
fn tree(dir: &Path, pyproject: &str, files: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pyproject.toml"), pyproject).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir.to_path_buf()
}

const PLUGIN_PY: &str = "from tempest.test_discover import plugins\n\nclass P(plugins.TempestPlugin):\n    def load_tests(self):\n        return ('.', '.')\n    def register_opts(self, conf):\n        pass\n    def get_opt_lists(self):\n        return []\n";

#[test]
fn flags_a_plugin_module_shadowed_by_another_distribution() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    let plugin = tree(
        &work.join("shadowee"),
        "[project]\nname = \"shadowee-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\nshadowee_tests = \"commonpkg.plugin:P\"\n",
        &[
            ("commonpkg/__init__.py", ""),
            ("commonpkg/plugin.py", PLUGIN_PY),
        ],
    );
    let other = tree(
        &work.join("other"),
        "[project]\nname = \"other-dist\"\nversion = \"3.0\"\n",
        &[("commonpkg/__init__.py", "# not a plugin\n")],
    );
    let plugin_wheel = build_wheel(&plugin, &work.join("w1"), None);
    let other_wheel = build_wheel(&other, &work.join("w2"), None);
    // The plugin in the system set; the other distribution in the
    // environment, which comes first on the path.
    let (python, site) = system_python(&work.join("syspy"));
    pip_target(&site, &[fixture_wheel("tempest-standin"), plugin_wheel]);
    create(
        &ctx,
        "sh",
        &[
            "--all-plugin",
            "--python",
            python.to_str().unwrap(),
            "--link-mode",
            "copy",
        ],
        &[other_wheel],
    );
    let (report, _) = plugins_json(&ctx, &["sh"]);
    let found = problem(&report, "shadowed-module");
    let message = found["message"].as_str().unwrap();
    assert!(
        message.contains("commonpkg") && message.contains("other-dist 3.0"),
        "{message}"
    );
    assert!(kinds_for(&report, "shadowee").contains(&"shadowed-module".to_string()));
}

#[test]
fn flags_unmet_requirements_and_missing_modules() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    let needy = tree(
        &work.join("needy"),
        "[project]\nname = \"needy-tempest-plugin\"\nversion = \"1.0\"\ndependencies = [\"nothere>=1\"]\n\n[project.entry-points.\"tempest.test_plugins\"]\nneedy_tests = \"needy_plugin.plugin:P\"\n",
        &[
            ("needy_plugin/__init__.py", ""),
            ("needy_plugin/plugin.py", PLUGIN_PY),
        ],
    );
    let ghost = tree(
        &work.join("ghost"),
        "[project]\nname = \"ghost-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\nghost_tests = \"ghost_gone.plugin:P\"\n",
        &[
            ("ghost_plugin/__init__.py", ""),
            ("ghost_plugin/plugin.py", PLUGIN_PY),
        ],
    );
    let mut plugins = wheels(&["tempest-standin"]);
    plugins.push(build_wheel(&needy, &work.join("w1"), None));
    plugins.push(build_wheel(&ghost, &work.join("w2"), None));
    create(&ctx, "bad", &[], &plugins);
    let (report, _) = plugins_json(&ctx, &["bad"]);
    assert_eq!(kinds_for(&report, "needy_tests"), ["unmet-requirement"]);
    assert!(
        problem(&report, "unmet-requirement")["message"]
            .as_str()
            .unwrap()
            .contains("nothere"),
        "{report:#}"
    );
    assert_eq!(kinds_for(&report, "ghost_tests"), ["missing-module"]);
    assert!(
        problem(&report, "missing-module")["message"]
            .as_str()
            .unwrap()
            .contains("ghost_gone.plugin")
    );
    // A plain report is a listing, not a verdict.
    assert_eq!(plugins_json(&ctx, &["bad"]).1, 0);
}

// --check, with editable trees and the offline stand-in.

/// An environment of the stand-in and the fixture plugin trees `names`,
/// checked: the report and the exit code.
fn checked(names: &[&str]) -> (Value, i32) {
    let ctx = TestContext::new();
    let trees: Vec<PathBuf> = [fixtures().join("tempest-standin")]
        .into_iter()
        .chain(names.iter().map(|n| fixtures().join("plugins").join(n)))
        .collect();
    create(&ctx, "c", &[], &trees);
    let (report, code) = plugins_json(&ctx, &["c", "--check"]);
    assert_eq!(report["check"]["config_backend"], "tempest.config");
    (report, code)
}

fn check_row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["check"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

fn first_problem(outcome: &Value) -> &Value {
    &outcome["problems"][0]
}

#[test]
fn check_passes_when_every_plugin_loads() {
    let (report, code) = checked(&["valet", "alpha"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["check"]["ok"], true);
    for name in ["valet_tests", "alpha_tests"] {
        let row = check_row(&report, name);
        assert_eq!(row["alone"]["ok"], true, "{row:#}");
        assert_eq!(row["alone"]["verdict"], "loads");
        assert_eq!(row["together"]["ok"], true, "{row:#}");
        let tests = row["together"]["discovery"]["tests"].as_u64().unwrap();
        assert!(tests > 0, "{row:#}");
        assert_eq!(
            row["together"]["verdict"],
            format!("loads; discovery ok ({tests} tests)")
        );
    }
    assert_eq!(
        check_row(&report, "alpha_tests")["together"]["discovery"]["tests"],
        3
    );
}

#[test]
fn check_names_the_missing_module_of_an_import_error() {
    let (report, code) = checked(&["valet", "broken-import"]);
    assert_eq!(code, 1);
    let broken = check_row(&report, "broken_import_tests");
    assert_eq!(broken["alone"]["ok"], false);
    let problem = first_problem(&broken["alone"]);
    assert_eq!(problem["kind"], "import-error");
    assert_eq!(problem["exception"], "ModuleNotFoundError");
    assert_eq!(
        problem["missing_module"],
        "tempest_env_fixture_missing_dependency"
    );
    // Alone, valet is fine; together, the broken plugin stops tempest.
    let valet = check_row(&report, "valet_tests");
    assert_eq!(valet["alone"]["ok"], true);
    assert_eq!(valet["together"]["ok"], false);
    let blocked = first_problem(&valet["together"]);
    assert_eq!(blocked["kind"], "blocked");
    assert!(
        blocked["message"]
            .as_str()
            .unwrap()
            .contains("broken_import_tests"),
        "{blocked:#}"
    );
}

#[test]
fn check_reports_a_test_module_that_breaks_discovery() {
    let (report, code) = checked(&["valet", "broken-test-module"]);
    assert_eq!(code, 1);
    let broken = check_row(&report, "broken_test_module_tests");
    assert_eq!(broken["alone"]["ok"], true, "{broken:#}");
    assert_eq!(broken["together"]["ok"], false);
    let problem = first_problem(&broken["together"]);
    assert_eq!(problem["kind"], "discovery-error");
    let module = problem["modules"][0]["module"].as_str().unwrap();
    assert!(module.ends_with("test_moved_api"), "{problem:#}");
    assert!(
        problem["modules"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tempest.api"),
        "{problem:#}"
    );
    assert_eq!(
        first_problem(&check_row(&report, "valet_tests")["together"])["kind"],
        "blocked"
    );
}

#[test]
fn check_names_both_sides_of_a_configuration_conflict() {
    let (report, code) = checked(&["dup-opt-a", "dup-opt-b"]);
    assert_eq!(code, 1);
    let a = check_row(&report, "dupopt_a_tests");
    let b = check_row(&report, "dupopt_b_tests");
    assert_eq!(a["alone"]["ok"], true);
    assert_eq!(b["alone"]["ok"], true);
    assert_eq!(a["together"]["ok"], true, "{a:#}");
    let problem = first_problem(&b["together"]);
    assert_eq!(problem["kind"], "config-conflict");
    assert_eq!(problem["group"], "shared");
    assert_eq!(problem["option"], "shared_timeout");
    assert_eq!(problem["first"], "dupopt_a_tests");
}

#[test]
fn check_reports_a_service_client_conflict() {
    let (report, code) = checked(&["dup-client-a", "dup-client-b"]);
    assert_eq!(code, 1);
    let b = check_row(&report, "dupclient_b_tests");
    assert_eq!(b["alone"]["ok"], true);
    let problem = first_problem(&b["together"]);
    assert_eq!(problem["kind"], "service-client-conflict");
    assert_eq!(problem["service"], "shared_service");
    assert_eq!(problem["first"], "dupclient_a_tests");
    // What tempest itself said when it refused it.
    assert_eq!(problem["exception"], "ServiceClientRegistrationException");
    // The first claimant is fine; the conflict fails everybody's clients.
    let a = check_row(&report, "dupclient_a_tests");
    assert_eq!(first_problem(&a["together"])["kind"], "blocked", "{a:#}");
}

#[test]
fn check_output_for_people_has_a_verdict_per_plugin() {
    let ctx = TestContext::new();
    create(
        &ctx,
        "h",
        &[],
        &[
            fixtures().join("tempest-standin"),
            fixtures().join("plugins/valet"),
            fixtures().join("plugins/broken-import"),
        ],
    );
    let out = ctx
        .cmd()
        .args(["plugins", "h", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("PLUGIN"), "{text}");
    // The check's table follows the listing's.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !(l.starts_with("PLUGIN") && l.contains("ALONE")))
        .collect();
    let line = |name: &str| {
        table
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name} in {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        line("broken_import_tests")
            .starts_with("broken_import_tests FAIL FAIL import error: missing module tempest_env_fixture_missing_dependency"),
        "{text}"
    );
    assert!(
        line("valet_tests").starts_with("valet_tests ok FAIL tempest stops loading plugins"),
        "{text}"
    );
}

#[test]
fn plugin_output_does_not_corrupt_the_answer() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    let noisy_py = format!(
        "import os, sys\nprint('noise on stdout')\nos.write(1, b'raw noise\\n')\n{PLUGIN_PY}"
    );
    let noisy = tree(
        &work.join("noisy"),
        "[project]\nname = \"noisy-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\nnoisy_tests = \"noisy_plugin.plugin:P\"\n",
        &[
            ("noisy_plugin/__init__.py", ""),
            ("noisy_plugin/plugin.py", &noisy_py),
        ],
    );
    create(&ctx, "n", &[], &[fixtures().join("tempest-standin"), noisy]);
    let (report, _) = plugins_json(&ctx, &["n", "--check"]);
    let row = check_row(&report, "noisy_tests");
    assert_eq!(row["alone"]["ok"], true, "{row:#}");
    assert_eq!(row["alone"]["loaded"], true);
}

/// An environment of the stand-in, valet and one plugin tree made from
/// `plugin_py` (the plugin module) with entry point `target`.
fn checked_with(ctx: &TestContext, name: &str, target: &str, plugin_py: &str) -> (Value, i32) {
    let pyproject = format!(
        "[project]\nname = \"{name}-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\n{name}_tests = \"{target}\"\n"
    );
    let plugin = tree(
        &ctx.work.path().join(name),
        &pyproject,
        &[
            (&format!("{name}_plugin/__init__.py"), ""),
            (&format!("{name}_plugin/plugin.py"), plugin_py),
        ],
    );
    let mut plugins = wheels(&["tempest-standin", "valet"]);
    plugins.push(build_wheel(&plugin, &ctx.work.path().join("w"), None));
    create(ctx, "e", &[], &plugins);
    plugins_json(ctx, &["e", "--check"])
}

#[test]
fn check_blames_an_entry_point_naming_a_missing_module_and_nothing_else() {
    let ctx = TestContext::new();
    let (report, code) = checked_with(&ctx, "ghost", "ghost_gone.plugin:P", PLUGIN_PY);
    assert_eq!(code, 1);
    let ghost = check_row(&report, "ghost_tests");
    for pass in ["alone", "together"] {
        let problem = first_problem(&ghost[pass]);
        assert_eq!(problem["kind"], "import-error", "{ghost:#}");
        assert_eq!(problem["missing_module"], "ghost_gone", "{ghost:#}");
    }
    // Together, valet is blocked by the ghost and by nothing else.
    let valet = check_row(&report, "valet_tests");
    assert_eq!(valet["alone"]["ok"], true, "{valet:#}");
    let problems = valet["together"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{valet:#}");
    assert_eq!(problems[0]["kind"], "blocked");
    assert_eq!(
        problems[0]["message"],
        "tempest stops loading plugins: ghost_tests fails to load"
    );
    // As tempest itself says: list-plugins fails.
    let out = Command::new(ctx.env_dir("e").join("bin/tempest"))
        .arg("list-plugins")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn check_reports_load_tests_raising() {
    let ctx = TestContext::new();
    let raising = PLUGIN_PY.replace(
        "return ('.', '.')",
        "raise RuntimeError('tests moved to another package')",
    );
    let (report, code) = checked_with(&ctx, "moved", "moved_plugin.plugin:P", &raising);
    assert_eq!(code, 1);
    let moved = check_row(&report, "moved_tests");
    assert_eq!(moved["alone"]["loaded"], true);
    let problem = first_problem(&moved["alone"]);
    assert_eq!(problem["kind"], "load-tests-error", "{moved:#}");
    assert_eq!(problem["exception"], "RuntimeError");
    assert_eq!(
        moved["alone"]["verdict"],
        "load_tests fails: RuntimeError: tests moved to another package"
    );
    let valet = check_row(&report, "valet_tests");
    assert_eq!(valet["alone"]["ok"], true, "{valet:#}");
    assert_eq!(
        first_problem(&valet["together"])["message"],
        "test discovery fails for every plugin: load_tests of moved_tests fails"
    );
}

// What `plugins` looks at without an environment.

#[test]
fn a_venvs_python_stands_for_that_venv() {
    let ctx = TestContext::new();
    let venv = ctx.work.path().join("venv");
    let made = Command::new(real_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let site = venv
        .join("lib")
        .join(format!("python{}", python_version()))
        .join("site-packages");
    pip_target(&site, &wheels(&["tempest-standin", "valet", "alpha"]));
    let python = venv.join("bin/python");
    let (report, code) = plugins_json(&ctx, &["--python", python.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(names(&report), ["alpha_tests", "valet_tests"]);
    // What the venv's own tempest lists.
    let listed = listed(
        &Command::new(&python)
            .args([
                "-c",
                "import sys; from tempest.cmd.main import main; sys.exit(main(['list-plugins']))",
            ])
            .env_remove("PYTHONPATH")
            .current_dir(ctx.work.path())
            .output()
            .unwrap(),
    );
    assert_eq!(names(&report), listed);
    assert!(
        report["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["location"] == site.to_str().unwrap()),
        "{report:#}"
    );
    // And --check loads them in the venv.
    let (report, code) = plugins_json(&ctx, &["--python", python.to_str().unwrap(), "--check"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["check"]["config_backend"], "tempest.config");
    assert_eq!(
        check_row(&report, "alpha_tests")["together"]["discovery"]["tests"],
        3
    );
}

/// A copied interpreter whose own site-packages hold the stand-in, valet
/// and bravo 1.0.0, and a `--system-site` directory holding bravo 2.0.0.
fn two_sets(ctx: &TestContext) -> (PathBuf, PathBuf) {
    let work = ctx.work.path();
    let (python, site) = system_python(&work.join("syspy"));
    let bravo = fixtures().join("plugins/bravo");
    pip_target(
        &site,
        &[
            fixture_wheel("tempest-standin"),
            fixture_wheel("valet"),
            build_wheel(&bravo, &work.join("w1"), Some("1.0.0")),
        ],
    );
    let extra = work.join("set");
    pip_target(
        &extra,
        &[build_wheel(&bravo, &work.join("w2"), Some("2.0.0"))],
    );
    (python, extra)
}

#[test]
fn system_site_dirs_come_before_the_interpreters_own_site_packages() {
    let ctx = TestContext::new();
    let (python, extra) = two_sets(&ctx);
    let (py, dir) = (python.to_str().unwrap(), extra.to_str().unwrap());
    create(
        &ctx,
        "set",
        &["--all-plugin", "--python", py, "--system-site", dir],
        &[],
    );
    let version = Command::new(ctx.env_dir("set").join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m, bravo_tempest_plugin as b; print(m.version('bravo-tempest-plugin'), b.__file__)",
        ])
        .output()
        .unwrap();
    let text = stdout(&version);
    assert!(text.starts_with("2.0.0 "), "{text}{}", stderr(&version));
    // The module too comes from the named directory, not from the view of
    // the interpreter's site-packages.
    assert!(
        text.contains(&format!("{dir}/")) || text.contains("/system/0/"),
        "{text}"
    );
    // `plugins` says what the named directory shadows, on the environment
    // and with the same options without one.
    for args in [
        vec!["set"],
        vec!["--all-plugin", "--python", py, "--system-site", dir],
    ] {
        let (report, _) = plugins_json(&ctx, &args);
        let shadowed = problem(&report, "shadowed-distribution");
        let message = shadowed["message"].as_str().unwrap();
        assert!(
            message.contains("2.0.0") && message.contains("wins") && message.contains("1.0.0"),
            "{message}"
        );
        let row = report["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "bravo_tests")
            .unwrap();
        assert_eq!(row["version"], "2.0.0", "{args:?}: {report:#}");
    }
    let (report, _) = plugins_json(
        &ctx,
        &["--all-plugin", "--python", py, "--system-site", dir],
    );
    let row = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bravo_tests")
        .unwrap();
    assert_eq!(row["location"], dir, "{report:#}");
}

#[test]
fn plugins_takes_creates_selection_options() {
    let ctx = TestContext::new();
    let (python, extra) = two_sets(&ctx);
    let (py, dir) = (python.to_str().unwrap(), extra.to_str().unwrap());
    for selection in [
        vec!["--system-plugin", "valet_tests"],
        vec!["--exclude-plugin", "bravo-tempest-plugin"],
        vec!["--all-plugin", "--system-site", dir],
        vec!["--exclude-plugin", "valet", "--system-site", dir],
    ] {
        let mut args = vec!["--python", py];
        args.extend(&selection);
        let (report, code) = plugins_json(&ctx, &args);
        assert_eq!(code, 0, "{selection:?}: {report:#}");
        // What an environment created with the same options lists.
        let name = format!("s{}", selection.len() + selection[0].len());
        let _ = ctx.cmd().args(["remove", &name]).output();
        create(&ctx, &name, &args, &[]);
        assert_eq!(
            names(&report),
            tempest_list_plugins(&ctx.env_dir(&name)),
            "{selection:?}"
        );
    }
    // Nothing is left behind by the throwaway environments.
    let leftovers: Vec<_> = walkdir(ctx.home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("plugins-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A name that is not a plugin of the set: exit 2, error and hint.
    let out = ctx
        .cmd()
        .args(["plugins", "--python", py, "--system-plugin", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: `nosuch` is not a plugin of the system set")
            && err.contains("hint:"),
        "{err}"
    );
    let out = ctx
        .cmd()
        .args([
            "plugins",
            "--python",
            py,
            "--system-site",
            "/nonexistent/dir",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walkdir(&path));
        }
    }
    out
}

// A requirement plugin that does not fit the base resolved alone.

/// A wheel of a distribution with `dependencies`, and an entry point when
/// `plugin` is set, into `links`.
fn dist_wheel(
    ctx: &TestContext,
    links: &Path,
    name: &str,
    version: &str,
    deps: &[&str],
    plugin: bool,
) {
    let module = name.replace('-', "_");
    let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
    let mut pyproject = format!(
        "[project]\nname = \"{name}\"\nversion = \"{version}\"\ndependencies = [{}]\n",
        deps.join(", ")
    );
    let mut files: Vec<(String, String)> = vec![(format!("{module}/__init__.py"), String::new())];
    if plugin {
        pyproject.push_str(&format!(
            "\n[project.entry-points.\"tempest.test_plugins\"]\n{module}_tests = \"{module}.plugin:P\"\n"
        ));
        files.push((format!("{module}/plugin.py"), PLUGIN_PY.to_string()));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = tree(
        &ctx.work
            .path()
            .join("src")
            .join(format!("{name}-{version}")),
        &pyproject,
        &files,
    );
    build_wheel(&dir, links, None);
}

fn base_layers(env: &Path) -> Vec<Value> {
    crate::common::manifest(env)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "base" || l["kind"] == "plugin")
        .cloned()
        .collect()
}

#[test]
fn a_plugin_that_does_not_fit_the_base_alone_is_resolved_with_it() {
    let ctx = TestContext::new();
    let links = ctx.work.path().join("links");
    dist_wheel(&ctx, &links, "shared-lib", "1.0", &[], false);
    dist_wheel(&ctx, &links, "shared-lib", "2.0", &[], false);
    // Alone, the base takes shared-lib 2.0; the picky plugin needs < 2.
    dist_wheel(&ctx, &links, "basepkg", "1.0", &["shared-lib"], false);
    dist_wheel(
        &ctx,
        &links,
        "picky-tempest-plugin",
        "1.0",
        &["basepkg", "shared-lib<2"],
        true,
    );
    dist_wheel(
        &ctx,
        &links,
        "easy-tempest-plugin",
        "1.0",
        &["basepkg", "shared-lib"],
        true,
    );
    let links = links.to_str().unwrap();
    let create = |name: &str, plugin: Option<&str>| {
        let mut cmd = ctx.cmd();
        cmd.args([
            "create",
            name,
            "--base",
            "basepkg",
            "--find-links",
            links,
            "--offline",
        ]);
        cmd.args(["--installer", "pip"]);
        if let Some(p) = plugin {
            cmd.args(["--plugin", p]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    create("plain", None);
    let out = create("picky", Some("picky-tempest-plugin"));
    assert!(
        stderr(&out).contains("resolving them together"),
        "{}",
        stderr(&out)
    );
    let env = ctx.env_dir("picky");
    let versions = Command::new(env.join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('shared-lib'), m.version('picky-tempest-plugin'))",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&versions).trim(), "1.0 1.0", "{}", stderr(&versions));
    assert_eq!(
        tempest_list_plugins_in(&env),
        ["picky_tempest_plugin_tests"]
    );
    let layers = base_layers(&env);
    assert_eq!(layers.len(), 1, "{layers:#?}");
    assert_ne!(
        layers[0]["hash"],
        base_layers(&ctx.env_dir("plain"))[0]["hash"]
    );
    // A plugin that fits keeps the shared base, with its own layer on top.
    create("easy", Some("easy-tempest-plugin"));
    let layers = base_layers(&ctx.env_dir("easy"));
    assert_eq!(layers.len(), 2, "{layers:#?}");
    assert_eq!(
        layers[0]["hash"],
        base_layers(&ctx.env_dir("plain"))[0]["hash"]
    );
}

/// The plugins `python -c` with importlib.metadata finds in `env` (no
/// tempest in these environments).
fn tempest_list_plugins_in(env: &Path) -> Vec<String> {
    let out = Command::new(env.join("bin/python"))
        .args([
            "-c",
            "import importlib.metadata as m\nfor e in m.entry_points(group='tempest.test_plugins'): print(e.name)",
        ])
        .output()
        .unwrap();
    stdout(&out).lines().map(str::to_string).collect()
}

/// The scratch directories of `plugins --check` under the data dir.
fn check_scratch(ctx: &TestContext) -> Vec<PathBuf> {
    std::fs::read_dir(ctx.home.path().join("data"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp.isolation.check."))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `plugins --check` keeps its probes' directories and its fork server's
/// under the data dir, never in `$TMPDIR`, and removes them; what a killed
/// check leaves there, `gc` removes.
#[test]
fn check_writes_only_under_the_data_dir_and_gc_clears_a_killed_one() {
    let ctx = TestContext::new();
    let trees: Vec<PathBuf> = [
        fixtures().join("tempest-standin"),
        fixtures().join("plugins/valet"),
        fixtures().join("plugins/slow-load"),
    ]
    .into();
    create(&ctx, "c", &[], &trees);
    let tmp = ctx.work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    for mode in [&[][..], &["--no-fork-server"][..]] {
        let out = ctx
            .cmd()
            .env("TMPDIR", &tmp)
            .args(["plugins", "c", "--check"])
            .args(mode)
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode:?}: {}", stderr(&out));
        let written: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
        assert!(
            written.is_empty(),
            "{mode:?} wrote into $TMPDIR: {written:?}"
        );
        assert!(check_scratch(&ctx).is_empty(), "{mode:?} left its scratch");
    }
    let mut checking = ctx.std_cmd();
    checking
        .env("TEMPEST_ENV_FIXTURE_SLOW_LOAD", "300")
        .env("TMPDIR", &tmp)
        .args(["plugins", "c", "--check"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = checking.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Probing: a probe's directory is in the check's scratch.
    while !check_scratch(&ctx).iter().any(|s| {
        std::fs::read_dir(s).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("probe")))
        })
    }) {
        assert!(std::time::Instant::now() < deadline, "no probe started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let written: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        written.is_empty(),
        "a live check wrote into $TMPDIR: {written:?}"
    );
    assert_eq!(check_scratch(&ctx).len(), 1, "the killed check's scratch");
    let gc = ctx.cmd().arg("gc").output().unwrap();
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(
        check_scratch(&ctx).is_empty(),
        "gc left the killed check's scratch"
    );
}
