//! `sanity`, `bisect` and `compare` with real tempest 47 and real plugins
//! from PyPI, in both probe modes, their answers checked against what
//! tempest itself says in plain venvs (made with uv) holding the same
//! packages. Two old releases of real plugins break discovery on tempest
//! 47: congress-tempest-plugin 1.0.0 imports `tempest.manager`, which
//! tempest has since removed, and vmware-nsx-tempest-plugin 1.0.0 reads
//! `[network] dns_servers`, an option tempest no longer has.
//!
//! The tests share one `TEMPEST_ENV_HOME`, so the tempest base and the
//! plugin layers are built once for all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

use crate::TEMPEST;
use crate::common::{TestContext, fixture_wheel, fixtures, require_tool, stderr, stdout};

pub(crate) const CONGRESS_OLD: &str = "congress-tempest-plugin==1.0.0";
pub(crate) const VMWARE_OLD: &str = "vmware-nsx-tempest-plugin==1.0.0";
/// Current plugins that load on tempest 47 and are quick to discover.
pub(crate) const CURRENT: &[&str] = &[
    "barbican-tempest-plugin",
    "cinder-tempest-plugin",
    "glance-tempest-plugin",
    "designate-tempest-plugin",
];
const VICTIM: &str = "state_victim_tempest_plugin.tests.test_slow_service.SlowServiceTest.test_waits_for_slow_service";

/// The home every test here shares (bases and layers are built once).
pub(crate) fn shared_home() -> &'static Path {
    static HOME: OnceLock<TempDir> = OnceLock::new();
    HOME.get_or_init(|| TempDir::new().expect("shared home"))
        .path()
}

/// `tempest-env ARGS` in the shared home.
fn tempest_env(ctx: &TestContext, args: &[String]) -> Output {
    ctx.cmd()
        .env("TEMPEST_ENV_HOME", shared_home())
        .args(args)
        .output()
        .unwrap()
}

fn json(ctx: &TestContext, args: &[String]) -> (Value, i32) {
    let mut args = args.to_vec();
    args.extend(["--format".into(), "json".into()]);
    let out = tempest_env(ctx, &args);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1))
}

pub(crate) fn fixture(name: &str) -> String {
    fixtures().join("plugins").join(name).display().to_string()
}

/// `--plugin X` for each.
pub(crate) fn plugins(names: &[String]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| ["--plugin".to_string(), n.clone()])
        .collect()
}

/// A plain venv made with uv holding tempest and `packages`, with a
/// workspace made by `tempest init` (under a throwaway HOME): tempest as its
/// users run it.
struct Plain {
    venv: PathBuf,
    workspace: PathBuf,
    home: PathBuf,
}

impl Plain {
    fn new(dir: &Path, packages: &[&str]) -> Self {
        require_tool("uv");
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let venv = dir.join("venv");
        let uv = |args: &[&str]| {
            let out = Command::new("uv")
                .args(args)
                .env("HOME", &home)
                .env_remove("VIRTUAL_ENV")
                .output()
                .unwrap();
            assert!(out.status.success(), "uv {args:?}: {}", stderr(&out));
        };
        uv(&["venv", "-q", venv.to_str().unwrap()]);
        let python = venv.join("bin/python");
        let mut install = vec![
            "pip",
            "install",
            "-q",
            "--python",
            python.to_str().unwrap(),
            TEMPEST,
        ];
        install.extend(packages);
        uv(&install);
        let workspace = dir.join("ws");
        let init = Command::new(venv.join("bin/tempest"))
            .arg("init")
            .arg(&workspace)
            .env("HOME", &home)
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", stderr(&init));
        Plain {
            venv,
            workspace,
            home,
        }
    }

    /// `tempest ARGS` in the workspace.
    fn tempest(&self, args: &[&str]) -> Output {
        Command::new(self.venv.join("bin/tempest"))
            .args(args)
            .current_dir(&self.workspace)
            .env("HOME", &self.home)
            .env_remove("PYTHONPATH")
            .output()
            .unwrap()
    }

    /// The ids `tempest run --list-tests` prints, and its exit code.
    fn list(&self) -> (Vec<String>, i32) {
        let out = self.tempest(&["run", "--list-tests"]);
        let ids = stdout(&out)
            .lines()
            .map(str::trim)
            .filter(|l| l.contains('.') && !l.contains(' '))
            .map(str::to_string)
            .collect();
        (ids, out.status.code().unwrap_or(-1))
    }

    /// Each test's outcome as subunit-trace prints it for
    /// `tempest run --regex REGEX` (`{0} ID [0.2s] ... ok`).
    fn run(&self, regex: &str) -> BTreeMap<String, String> {
        let out = self.tempest(&["run", "--regex", regex]);
        stdout(&out)
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix('{')?.split_once("} ")?.1;
                let (id, outcome) = rest.split_once(" ... ")?;
                let id = id.rsplit_once(" [").map_or(id, |(id, _)| id);
                let status = match outcome.split_whitespace().next()? {
                    "ok" => "success",
                    "FAILED" => "fail",
                    "SKIPPED:" | "SKIPPED" => "skip",
                    other => other,
                };
                Some((id.to_string(), status.to_string()))
            })
            .collect()
    }
}

#[test]
#[ignore = "needs PyPI"]
fn sanity_counts_what_tempest_lists_and_marks_old_releases_broken() {
    require_tool("uv");
    let ctx = TestContext::new();
    let set: Vec<String> = [
        "barbican-tempest-plugin",
        "manila-tempest-plugin",
        "neutron-tempest-plugin",
        CONGRESS_OLD,
        VMWARE_OLD,
    ]
    .map(String::from)
    .to_vec();
    let mut args = vec![
        "sanity".into(),
        "-j".into(),
        "2".into(),
        "--base".into(),
        TEMPEST.into(),
    ];
    args.extend(plugins(&set));
    let (report, code) = json(&ctx, &args);
    assert_eq!(code, 1, "{report:#}");
    let rows = report["rows"].as_array().unwrap();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["plugin"] == name)
            .unwrap_or_else(|| panic!("{name}: {report:#}"))
    };

    // What tempest lists in a plain venv holding tempest, manila and
    // neutron, less tempest's own tests (package `tempest`). manila requires
    // barbican-tempest-plugin, so tempest with manila lists barbican's tests
    // too, and so does manila's probe alone; barbican and neutron require no
    // other plugin, so their tests there are what a venv with each alone
    // lists.
    let plain = Plain::new(
        &ctx.work.path().join("plain"),
        &["manila-tempest-plugin", "neutron-tempest-plugin"],
    );
    let (ids, listed) = plain.list();
    assert_eq!(listed, 0);
    let plugin_ids: Vec<&String> = ids
        .iter()
        .filter(|id| !id.starts_with("tempest."))
        .collect();
    let count = |package: &str| ids.iter().filter(|id| id.starts_with(package)).count();
    let barbican = count("barbican_tempest_plugin.");
    for (dist, theirs) in [
        ("barbican-tempest-plugin", barbican),
        ("neutron-tempest-plugin", count("neutron_tempest_plugin.")),
        (
            "manila-tempest-plugin",
            count("manila_tempest_tests.") + barbican,
        ),
    ] {
        assert!(theirs > 300, "{dist}: {theirs}");
        assert_eq!(row(dist)["verdict"], "ok", "{report:#}");
        assert_eq!(row(dist)["alone"]["tests"], theirs, "{dist}");
        assert_eq!(row(dist)["together"]["tests"], theirs, "{dist}");
    }
    // manila has a test whose id is not ASCII (`..._björn[...]`); it is
    // counted like the others.
    assert!(
        plugin_ids.iter().any(|id| !id.is_ascii()),
        "no non-ASCII id to check"
    );
    // The old releases do not load on tempest 47, alone or together, and
    // tempest says the same.
    for (dist, missing) in [
        (
            "congress-tempest-plugin",
            "cannot import name 'manager' from 'tempest'",
        ),
        (
            "vmware-nsx-tempest-plugin",
            "no such option dns_servers in group [network]",
        ),
    ] {
        assert_eq!(row(dist)["verdict"], "broken", "{report:#}");
        let errors = row(dist)["alone"]["errors"].to_string();
        assert!(errors.contains(missing), "{dist}: {errors}");
    }
    assert_eq!(report["together"]["loads"], false);
    // Without the broken ones, the plugins' own tests and nothing else.
    let healthy = &report["healthy_together"];
    assert_eq!(healthy["loads"], true, "{report:#}");
    assert_eq!(healthy["tests"], plugin_ids.len());
    let old = Plain::new(&ctx.work.path().join("old"), &[CONGRESS_OLD]);
    let (_, code) = old.list();
    assert_ne!(code, 0, "tempest itself fails to list with {CONGRESS_OLD}");
}

/// The command after `prefix: ` in bisect's output, run as printed (it
/// starts with `tempest-env`), in the shared home.
fn run_printed(ctx: &TestContext, text: &str, prefix: &str) -> Output {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line: {text}"));
    let command = line.split_once(": ").unwrap().1.trim();
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "\"$TEMPEST_ENV_BIN\" -q {}",
            command.strip_prefix("tempest-env ").unwrap()
        ))
        .env(
            "TEMPEST_ENV_BIN",
            assert_cmd::cargo::cargo_bin("tempest-env"),
        )
        .env("TEMPEST_ENV_HOME", shared_home())
        .current_dir(ctx.work.path())
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs PyPI"]
fn bisect_finds_the_culprit_with_real_tempest_in_both_probe_modes() {
    require_tool("uv");
    let ctx = TestContext::new();
    let real: Vec<String> = CURRENT.iter().map(|s| s.to_string()).collect();
    // --probe run: the fixture whose import leaks a socket timeout, among
    // real plugins (8 plugins, 7 candidates).
    let mut set = vec![fixture("state-victim"), fixture("alpha")];
    set.extend(real.iter().take(2).cloned());
    set.push(fixture("state-mutator"));
    set.extend(real.iter().skip(2).cloned());
    let mut args: Vec<String> = vec![
        "bisect".into(),
        "state_victim".into(),
        "--target-plugin".into(),
        "state-victim".into(),
        "-j".into(),
        "2".into(),
        "--base".into(),
        TEMPEST.into(),
    ];
    args.extend(plugins(&set));
    let out = tempest_env(&ctx, &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("Culprit: state-mutator-tempest-plugin\n"),
        "{text}"
    );
    assert!(text.contains("probe: run"), "{text}");
    // The printed lines do what they say with real tempest.
    let fails = run_printed(&ctx, &text, "fails:");
    assert_eq!(fails.status.code(), Some(1), "{}", stdout(&fails));
    assert!(stdout(&fails).contains(VICTIM), "{}", stdout(&fails));
    let passes = run_printed(&ctx, &text, "passes:");
    assert_eq!(
        passes.status.code(),
        Some(0),
        "{}{}",
        stdout(&passes),
        stderr(&passes)
    );
    assert!(
        stdout(&passes)
            .lines()
            .last()
            .unwrap_or("")
            .contains("1 passed, 0 failed"),
        "{}",
        stdout(&passes)
    );
    let trail_probes = text
        .lines()
        .filter(|l| l.ends_with(" search") || l.ends_with(" confirm"))
        .count();
    assert!(trail_probes >= 2, "{text}");

    // --probe list: an old release that breaks discovery for everybody.
    let mut set = vec![fixture("state-victim"), fixture("alpha")];
    set.extend(real.iter().take(3).cloned());
    set.push(CONGRESS_OLD.into());
    set.extend(real.iter().skip(3).cloned());
    set.push(fixture("filler-1"));
    let mut args: Vec<String> = vec![
        "bisect".into(),
        VICTIM.into(),
        "--probe".into(),
        "list".into(),
        "-j".into(),
        "2".into(),
        "--base".into(),
        TEMPEST.into(),
    ];
    args.extend(plugins(&set));
    let (report, code) = json(&ctx, &args);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["target"], "state-victim-tempest-plugin");
    assert_eq!(
        report["culprits"],
        serde_json::json!(["congress-tempest-plugin"]),
        "{report:#}"
    );
    assert_eq!(report["without_culprits"], "pass", "{report:#}");
    // Discovery's failure names the old release's test module: it is
    // probed first, and confirmed in that round.
    let stages: Vec<(&str, &str)> = report["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [
            ("alone", "pass"),
            ("whole-set", "fail"),
            ("suspects", "fail"),
            ("without-suspects", "pass")
        ],
        "{report:#}"
    );
    assert!(report["candidates"].as_array().unwrap().len() >= 7);
    let probes = report["probes"].as_u64().unwrap();
    assert!(probes <= report["bound"].as_u64().unwrap(), "{report:#}");
    assert!(report["probe_overhead_ms"].as_f64().unwrap() > 0.0);
    let text = format!(
        "fails: {}\npasses: {}\n",
        report["commands"]["fails"].as_str().unwrap(),
        report["commands"]["passes"].as_str().unwrap()
    );
    let passes = run_printed(&ctx, &text, "passes:");
    assert_eq!(passes.status.code(), Some(0), "{}", stderr(&passes));
    assert_eq!(stdout(&passes).trim(), VICTIM, "a listing, run as printed");
    let fails = run_printed(&ctx, &text, "fails:");
    assert_ne!(fails.status.code(), Some(0), "{}", stdout(&fails));
    assert!(!stdout(&fails).contains(VICTIM), "{}", stdout(&fails));
}

#[test]
#[ignore = "needs PyPI"]
fn compare_marks_exactly_what_tempest_changes() {
    require_tool("uv");
    let ctx = TestContext::new();
    let set = vec![
        fixture("state-victim"),
        "barbican-tempest-plugin".to_string(),
        fixture("state-mutator"),
        fixture("alpha"),
    ];
    let mut args: Vec<String> = vec![
        "compare".into(),
        "state_".into(),
        "--target-plugin".into(),
        "state-victim".into(),
        "--base".into(),
        TEMPEST.into(),
    ];
    args.extend(plugins(&set));
    let (report, code) = json(&ctx, &args);
    assert_eq!(code, 1, "{report:#}");
    // Tempest itself, alone and with the whole set, in plain venvs.
    let wheels = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| fixture_wheel(n).display().to_string())
            .collect()
    };
    let alone_pkgs = wheels(&["state-victim"]);
    let alone = Plain::new(
        &ctx.work.path().join("alone"),
        &alone_pkgs.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .run("state_");
    let mut together_pkgs = wheels(&["state-victim", "state-mutator", "alpha"]);
    together_pkgs.push("barbican-tempest-plugin".into());
    let together = Plain::new(
        &ctx.work.path().join("together"),
        &together_pkgs.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .run("state_");
    assert_eq!(
        alone.get(VICTIM).map(String::as_str),
        Some("success"),
        "{alone:?}"
    );
    assert_eq!(
        together.get(VICTIM).map(String::as_str),
        Some("fail"),
        "{together:?}"
    );
    let ids: BTreeSet<&String> = alone.keys().chain(together.keys()).collect();
    let expected_changed: BTreeSet<String> = ids
        .iter()
        .filter(|id| alone.get(**id) != together.get(**id))
        .map(|id| id.to_string())
        .collect();
    let tests = report["tests"].as_array().unwrap();
    let ours: BTreeMap<String, (Value, Value)> = tests
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                (t["alone"].clone(), t["together"].clone()),
            )
        })
        .collect();
    let status = |s: Option<&String>| s.map_or(Value::Null, |s| Value::String(s.clone()));
    for id in &ids {
        assert_eq!(
            ours.get(id.as_str()),
            Some(&(status(alone.get(*id)), status(together.get(*id)))),
            "{id}: {report:#}"
        );
    }
    assert_eq!(ours.len(), ids.len(), "{report:#}");
    let changed: BTreeSet<String> = tests
        .iter()
        .filter(|t| t["changed"] == true)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(changed, expected_changed, "{report:#}");
}
