//! `lock --run` and `run --from`: a recorded run written down exactly and
//! run again in another home (as on another machine), offline; the per-test
//! statuses are compared, one line per difference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{TestContext, fixture_wheel, fixtures, stderr, stdout, wheelhouse};

/// The `[run]` section's per-test statuses of a lock.
fn locked_results(lock: &str) -> BTreeMap<String, String> {
    let value: toml::Table = toml::from_str(lock).unwrap();
    value["run"]["results"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(id, status)| (id.clone(), status.as_str().unwrap().to_string()))
        .collect()
}

/// Per-test statuses of a `run --format json`.
fn json_results(run: &Value) -> BTreeMap<String, String> {
    run["results"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `run ARGS --format json` in `ctx`: the JSON and the exit code.
fn run_json(ctx: &TestContext, args: &[&str]) -> (Value, i32) {
    let out = ctx
        .cmd()
        .args(["run", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1))
}

/// `lock --run RUN -o FILE` in `ctx`, and the lock's text.
fn lock_run(ctx: &TestContext, run: &str, name: &str) -> (PathBuf, String) {
    let file = ctx.work.path().join(name);
    let out = ctx
        .cmd()
        .args(["lock", "--run", run, "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    (file, text)
}

#[test]
fn a_locked_demo_run_reruns_in_another_home_with_the_same_statuses() {
    let ctx = TestContext::new();
    let (first, code) = run_json(
        &ctx,
        &["--def", "demo", "--set-env", "REPLAY_A=1", "--", "--serial"],
    );
    assert_eq!(code, 0, "{first:#}");
    let id = first["run"]["id"].as_str().unwrap().to_string();
    let (file, text) = lock_run(&ctx, "last", "demo.lock");
    // Stable: locking the run again, by a prefix of its id, gives the same
    // bytes.
    let again = ctx
        .cmd()
        .args(["lock", "--run", &id[..12]])
        .output()
        .unwrap();
    assert_eq!(stdout(&again), text, "{}", stderr(&again));
    let lock: toml::Table = toml::from_str(&text).unwrap();
    let run = &lock["run"];
    assert_eq!(run["id"].as_str(), Some(id.as_str()));
    assert_eq!(run["runner"].as_str(), Some("tempest"));
    assert_eq!(
        run["args"].as_array().unwrap()[0].as_str(),
        Some("--serial")
    );
    assert_eq!(run["set-env"]["REPLAY_A"].as_str(), Some("1"));
    assert_eq!(run["counts"]["success"].as_integer(), Some(6));
    assert_eq!(locked_results(&text), json_results(&first));
    // The bundled stand-in and valet are named relative to the fixtures
    // every tempest-env carries, not by this home's paths.
    assert!(
        text.contains("origin = \"@fixtures/plugins/valet\""),
        "{text}"
    );
    assert!(
        !text.contains(&ctx.home.path().display().to_string()),
        "{text}"
    );

    // Another machine: another home.
    let other = TestContext::new();
    let (rerun, code) = run_json(&other, &["--from", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{rerun:#}");
    assert_eq!(rerun["lock"]["matches"], true, "{rerun:#}");
    assert_eq!(json_results(&rerun), locked_results(&text));
    // It ran the locked command, and recorded it like any run.
    let replay = &rerun["run"]["replay"];
    assert_eq!(replay["posargs"], serde_json::json!(["--serial"]));
    assert_eq!(replay["set_env"], serde_json::json!([["REPLAY_A", "1"]]));
    assert_eq!(other.run_ids().len(), 1);
    let out = other
        .cmd()
        .args(["run", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("The results match the lock: 7 tests, the same statuses, exit code 0"),
        "{}",
        stdout(&out)
    );
}

/// A copy of the alpha fixture that a test may edit.
fn alpha_copy(ctx: &TestContext) -> PathBuf {
    let dest = ctx.work.path().join("alpha");
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures().join("plugins/alpha"))
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    dest
}

fn break_arithmetic(tree: &Path) {
    let test = tree.join("alpha_tempest_plugin/tests/test_alpha.py");
    let text = std::fs::read_to_string(&test).unwrap();
    std::fs::write(
        &test,
        text.replace("assertEqual(4, 2 + 2)", "assertEqual(5, 2 + 2)"),
    )
    .unwrap();
}

const ARITHMETIC: &str = "alpha_tempest_plugin.tests.test_alpha.AlphaTest.test_alpha_arithmetic";

#[test]
fn a_changed_result_is_reported_and_a_locked_failure_is_not_a_mismatch() {
    let ctx = TestContext::new();
    let tree = alpha_copy(&ctx);
    let plugin = tree.to_str().unwrap();
    let (first, code) = run_json(&ctx, &["--def", "demo", "--plugin", plugin, "alpha"]);
    assert_eq!(code, 0, "{first:#}");
    let (passing, _) = lock_run(&ctx, "last", "passing.lock");
    // The plugin's source changes after the lock: its test now fails.
    break_arithmetic(&tree);
    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["run", "--from"])
        .arg(&passing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("differs from the locked run: "))
        .collect();
    let changed = format!("{ARITHMETIC}: success in the lock, fail here");
    assert_eq!(
        lines,
        ["exit code: 0 in the lock, 1 here", changed.as_str()],
        "{text}"
    );
    let (rerun, code) = run_json(&other, &["--from", passing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(rerun["lock"]["matches"], false);
    assert_eq!(rerun["lock"]["differences"][1], changed.as_str());

    // A run that failed, locked, fails the same way again: the runner's
    // exit code is 1, the results match, and that is exit 0.
    let (failed, code) = run_json(&ctx, &["--def", "demo", "--plugin", plugin, "alpha"]);
    assert_eq!(code, 1, "{failed:#}");
    let (failing, text) = lock_run(&ctx, "last", "failing.lock");
    assert_eq!(locked_results(&text)[ARITHMETIC], "fail");
    let (rerun, code) = run_json(&other, &["--from", failing.to_str().unwrap()]);
    assert_eq!(code, 0, "{rerun:#}");
    assert_eq!(rerun["run"]["exit_code"], 1);
    assert_eq!(rerun["lock"]["matches"], true);
}

#[test]
fn a_wheel_run_reruns_offline_from_a_wheelhouse_with_the_same_hashes() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let valet = links.join(fixture_wheel("valet").file_name().unwrap());
    let links_arg = links.to_str().unwrap();
    let args = [
        "--base",
        "tempest",
        "--installer",
        "pip",
        "--offline",
        "--find-links",
        links_arg,
        "--plugin",
        valet.to_str().unwrap(),
        "valet",
    ];
    let (first, code) = run_json(&ctx, &args);
    assert_eq!(code, 0, "{first:#}");
    let (file, text) = lock_run(&ctx, "last", "wheel.lock");
    // A per-run environment of hashed layers only: its lock is kept for
    // the next run of the same composition, which locks the same.
    let cached: Vec<_> = std::fs::read_dir(ctx.home.path().join("cache/locked"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(cached.len(), 1);
    let (_, code) = run_json(&ctx, &args);
    assert_eq!(code, 0);
    let (_, second) = lock_run(&ctx, "last", "second.lock");
    let body = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("environment = ") && !l.starts_with("id = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&second), body(&text));
    let lock: toml::Table = toml::from_str(&text).unwrap();
    let dists = lock["distribution"].as_array().unwrap();
    let wheel = dists
        .iter()
        .find(|d| d["name"].as_str() == Some("valet"))
        .unwrap();
    assert_eq!(wheel["source"].as_str(), Some("wheel"));
    assert_eq!(wheel["sha256"].as_str().map(str::len), Some(64));
    assert!(dists.iter().any(|d| d["source"].as_str() == Some("base")));

    let other = TestContext::new();
    let (rerun, code) = run_json(
        &other,
        &[
            "--from",
            file.to_str().unwrap(),
            "--offline",
            "--find-links",
            links_arg,
        ],
    );
    assert_eq!(code, 0, "{rerun:#}");
    assert_eq!(rerun["lock"]["matches"], true);
    assert_eq!(json_results(&rerun), locked_results(&text));
    // The rerun's own lock holds the same distributions and hashes.
    let (_, relocked) = lock_run(&other, "last", "again.lock");
    let distributions = |text: &str| -> Vec<Value> {
        let lock: toml::Table = toml::from_str(text).unwrap();
        lock["distribution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect()
    };
    assert_eq!(distributions(&relocked), distributions(&text));
}

#[test]
fn an_environment_that_differs_from_the_lock_is_not_run_unless_allowed() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["run", "--def", "demo", "valet"])
        .assert()
        .success();
    let (_, text) = lock_run(&ctx, "last", "demo.lock");
    let claimed = text.replace("version = \"0.0.0\"", "version = \"9.9\"");
    assert_ne!(claimed, text);
    let file = ctx.work.path().join("claimed.lock");
    std::fs::write(&file, claimed).unwrap();
    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["run", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("differs from the lock"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("valet: 9.9 in the lock, 0.0.0 here"),
        "{err}"
    );
    assert!(other.run_ids().is_empty(), "nothing ran, nothing recorded");
    assert!(
        crate::common::tree(&other.home.path().join("data/envs")).is_empty(),
        "no environment left"
    );
    let out = other
        .cmd()
        .args(["run", "--allow-differences", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(other.run_ids().len(), 1);
}

#[test]
fn bad_run_locks_are_one_line_errors_that_change_nothing() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    // Nothing recorded yet.
    let out = ctx.cmd().args(["lock", "--run", "last"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no runs recorded"),
        "{}",
        stderr(&out)
    );
    ctx.create("plain");
    ctx.cmd()
        .args(["lock", "plain", "-o", "env.lock"])
        .assert()
        .success();
    ctx.cmd()
        .args(["run", "--def", "demo", "valet"])
        .assert()
        .success();
    let (run_lock, _) = lock_run(&ctx, "last", "run.lock");
    std::fs::write(work.join("corrupt.lock"), "format = \"1.0.0\"\n[run\n").unwrap();
    std::fs::write(work.join("newer.lock"), "format = \"2.0.0\"\n").unwrap();
    let before = ctx.run_ids();
    let run_lock = run_lock.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--from", "env.lock"], "not a run"),
        (&["run", "--from", "corrupt.lock"], "corrupt.lock"),
        (&["run", "--from", "newer.lock"], "format 2.0.0"),
        (&["run", "--from", "missing.lock"], "missing.lock"),
        (&["run", "--from", run_lock, "valet"], "a filter"),
        (
            &["run", "--from", run_lock, "--runner", "stestr"],
            "--runner",
        ),
        (&["run", "--from", run_lock, "--plugin", "x"], "--plugin"),
        (&["run", "--from", run_lock, "--env", "plain"], "--env"),
        (&["run", "--from", run_lock, "--", "-x"], "runner arguments"),
        (&["lock", "--run", "nope"], "no run `nope`"),
        (&["lock", "--run", "last", "plain"], "cannot be used with"),
        (&["lock", "--run", "last", "-o", "."], "not a regular file"),
    ];
    for (args, needle) in cases {
        let out = ctx.cmd().args(*args).output().unwrap();
        crate::common::assert_refused(&out, &format!("{args:?}"), needle);
        assert_eq!(ctx.run_ids(), before, "{args:?} recorded a run");
    }
    // A run recorded without its environment's lock cannot be locked.
    let dir = ctx
        .home
        .path()
        .join("data/runs")
        .join(before.last().unwrap());
    std::fs::remove_file(dir.join("lock.toml")).unwrap();
    let out = ctx
        .cmd()
        .args(["lock", "--run", "last", "-o", "old.lock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be locked"),
        "{}",
        stderr(&out)
    );
    assert!(!work.join("old.lock").exists());
}
