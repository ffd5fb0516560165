//! `pollution` over the offline stand-in and the leak fixtures: a run is
//! recorded with `leaky` and `victims` (each victim fails after its leak),
//! then every kind of leak is traced back to the test that leaked it and
//! its plugin, within 2·k·⌈log2 n⌉ + 2 probes and two confirmations; the
//! pair, a flaky test, a failure that does not reproduce, a test that fails
//! alone and a run with two workers each get their own answer, and the
//! printed command lines do what they say.

use serde_json::Value;

use crate::common::{TestContext, fixture_plugin_args, stderr, stdout};
use crate::isolation::shell_words;

const LEAKY: &str = "leaky_tempest_plugin.tests.test_leaks.LeakyTest.";
const VICTIMS: &str = "victims_tempest_plugin.tests.test_victims.VictimTest.";

/// Record a run of the demo with `names`, its runner given `posargs`;
/// some victim fails in it.
fn record(ctx: &TestContext, names: &[&str], posargs: &[&str], envs: &[(&str, &str)]) {
    let mut cmd = ctx.cmd();
    cmd.args(["run", "--def", "demo"])
        .args(fixture_plugin_args(names));
    if !posargs.is_empty() {
        cmd.arg("--").args(posargs);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn pollution(ctx: &TestContext, args: &[&str]) -> (Value, i32) {
    let out = ctx
        .cmd()
        .arg("pollution")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn log2_ceil(n: usize) -> usize {
    (n as f64).log2().ceil() as usize
}

/// Exactly these polluters, of leaky, within the promised probes.
fn assert_found(report: &Value, code: i32, polluters: &[&str]) {
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["finding"], "polluters", "{report:#}");
    let expected: Vec<String> = polluters.iter().map(|p| format!("{LEAKY}{p}")).collect();
    assert_eq!(strings(&report["polluters"]), expected, "{report:#}");
    assert_eq!(
        strings(&report["plugins"]),
        vec!["leaky-tempest-plugin"; polluters.len()]
    );
    assert_eq!(report["test_plugin"], "victims-tempest-plugin");
    let n = report["before"].as_array().unwrap().len();
    let k = polluters.len();
    let probes = report["probes"].as_u64().unwrap() as usize;
    assert!(
        probes <= 2 * k * log2_ceil(n) + 2 + 2,
        "{probes} probes for {k} polluter(s) among {n}: {report:#}"
    );
    assert_eq!(report["with_polluters"], "fail", "{report:#}");
    assert_eq!(report["without_polluters"], "pass", "{report:#}");
    // No list is probed twice.
    let masks: Vec<&str> = report["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mask"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = masks.iter().collect();
    assert_eq!(unique.len(), masks.len(), "{masks:?}");
}

/// Run a printed command line (single-quoted words), then the status of
/// `test` in the run it recorded.
fn run_printed(ctx: &TestContext, line: &str, test: &str) -> (Option<i32>, String) {
    let words = shell_words(line);
    assert_eq!(words[0], "tempest-env", "{line}");
    let out = ctx.std_cmd().args(&words[1..]).output().unwrap();
    let results = ctx
        .cmd()
        .args(["results", "--format", "json"])
        .output()
        .unwrap();
    let results: Value = serde_json::from_str(&stdout(&results)).unwrap();
    let ran: Vec<&Value> = results["results"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let status = ran
        .iter()
        .find(|t| t["id"] == test)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{test} did not run: {}", stderr(&out)));
    (out.status.code(), status)
}

#[test]
fn each_kind_of_leak_is_traced_to_its_test_and_plugin() {
    let ctx = TestContext::new();
    record(&ctx, &["leaky", "victims"], &[], &[]);
    for (victim, polluter) in [
        (
            "test_default_endpoint",
            "test_a02_sets_an_environment_variable",
        ),
        ("test_scratch_file", "test_a04_patches_a_module_attribute"),
        ("test_slow_service", "test_a06_sets_a_default_timeout"),
        ("test_takes_the_lock", "test_a08_leaves_a_lock_file"),
        (
            "test_region_is_the_configured_one",
            "test_a14_overrides_a_config_value",
        ),
    ] {
        let (report, code) = pollution(&ctx, &[victim]);
        assert_eq!(report["test"], format!("{VICTIMS}{victim}"));
        assert_found(&report, code, &[polluter]);
        // The worker ran the stand-in's, leaky's and valet's tests first.
        assert!(
            report["before"].as_array().unwrap().len() >= 14,
            "{report:#}"
        );
    }
}

#[test]
fn two_polluters_that_only_fail_together_are_both_named() {
    let ctx = TestContext::new();
    record(&ctx, &["leaky", "victims"], &[], &[]);
    let (report, code) = pollution(&ctx, &["test_needs_one_of_the_pair_unset", "-j", "1"]);
    assert_found(
        &report,
        code,
        &[
            "test_a10_sets_half_of_a_pair",
            "test_a12_sets_the_other_half",
        ],
    );
    assert_eq!(
        report["bound"],
        2 * 2 * log2_ceil(report["before"].as_array().unwrap().len()) + 2
    );
}

#[test]
fn the_trail_and_the_printed_command_lines_show_the_polluter() {
    let ctx = TestContext::new();
    record(&ctx, &["leaky", "victims"], &[], &[]);
    let out = ctx
        .cmd()
        .args(["pollution", "test_scratch_file"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Polluter:"), "{text}");
    assert!(
        text.contains(&format!(
            "{LEAKY}test_a04_patches_a_module_attribute  (leaky-tempest-plugin"
        )),
        "{text}"
    );
    // A strip per probe: the whole order failed, the test alone passed.
    assert!(
        text.lines()
            .any(|l| l.contains("FAIL") && l.trim_end().ends_with("replay")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("pass") && l.trim_end().ends_with("alone")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.trim() == "^"), "{text}");
    let victim = format!("{VICTIMS}test_scratch_file");
    let fails = text.lines().find_map(|l| l.strip_prefix("fails:")).unwrap();
    let passes = text
        .lines()
        .find_map(|l| l.strip_prefix("passes:"))
        .unwrap();
    assert_eq!(
        run_printed(&ctx, fails.trim(), &victim),
        (Some(1), "fail".to_string())
    );
    // The order less the polluter: the victim passes (other victims of
    // the order may still fail, so the exit code is not the victim's).
    assert_eq!(run_printed(&ctx, passes.trim(), &victim).1, "success");
}

#[test]
fn the_json_command_lines_reproduce_the_pair() {
    let ctx = TestContext::new();
    record(&ctx, &["leaky", "victims"], &[], &[]);
    let (report, code) = pollution(&ctx, &["test_needs_one_of_the_pair_unset"]);
    assert_eq!(code, 0, "{report:#}");
    let victim = format!("{VICTIMS}test_needs_one_of_the_pair_unset");
    let fails = report["commands"]["fails"].as_str().unwrap();
    let passes = report["commands"]["passes"].as_str().unwrap();
    assert!(fails.contains("--load-list"), "{fails}");
    assert_eq!(
        run_printed(&ctx, fails, &victim),
        (Some(1), "fail".to_string())
    );
    assert_eq!(run_printed(&ctx, passes, &victim).1, "success");
    // The failing list is the two halves, then the victim.
    let list = shell_words(fails).last().unwrap().clone();
    let ids: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        ids,
        [
            format!("{LEAKY}test_a10_sets_half_of_a_pair"),
            format!("{LEAKY}test_a12_sets_the_other_half"),
            victim,
        ]
    );
}

#[test]
fn only_the_failing_tests_worker_is_replayed() {
    let ctx = TestContext::new();
    // Two workers, dealt round-robin: leaky's even tests on one, its odd
    // ones (the leaks) and test_scratch_file on the other.
    record(&ctx, &["leaky", "victims"], &["--concurrency", "2"], &[]);
    let (report, code) = pollution(&ctx, &["test_scratch_file"]);
    assert_found(&report, code, &["test_a04_patches_a_module_attribute"]);
    assert_eq!(report["workers"], 2, "{report:#}");
    let worker = report["worker"].as_str().unwrap().to_string();
    assert!(worker.starts_with("worker-"), "{report:#}");
    let before = strings(&report["before"]);
    assert!(
        !before.contains(&format!("{LEAKY}test_a01_harmless")),
        "the other worker's test: {before:?}"
    );
    // The run's stream says which worker ran each test: none of the
    // other worker's.
    let run = report["run"].as_str().unwrap();
    let stream = ctx
        .home
        .path()
        .join("data/runs")
        .join(run)
        .join("stream.subunit");
    assert!(stream.is_file());
    assert!(before.len() < 20, "{before:?}");
}

#[test]
fn a_flaky_test_is_reported_and_never_blamed() {
    let ctx = TestContext::new();
    let counter = ctx.work.path().join("flaky-counter");
    let counter = counter.to_str().unwrap();
    let envs = [("TEMPEST_ENV_FLAKY_COUNTER", counter)];
    // The first run of the flaky test fails; then they alternate.
    record(&ctx, &["leaky", "victims"], &[], &envs);
    let out = ctx
        .cmd()
        .args(["pollution", "test_flaky", "--repeat", "2", "-j", "1"])
        .args(["--format", "json"])
        .env("TEMPEST_ENV_FLAKY_COUNTER", counter)
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["finding"], "flaky-alone", "{report:#}");
    assert!(strings(&report["polluters"]).is_empty());
    assert_eq!(report["flaky"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["trail"][0]["statuses"].as_array().unwrap().len(), 2);
}

#[test]
fn a_failure_that_does_not_reproduce_is_said_with_what_differed() {
    let ctx = TestContext::new();
    // The victim fails because the caller's shell set the variable, and
    // no test of the run did.
    record(
        &ctx,
        &["victims"],
        &[],
        &[("LEAKY_ENDPOINT", "http://127.0.0.1:9/from-the-shell")],
    );
    let (report, code) = pollution(&ctx, &["test_default_endpoint"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["finding"], "not-reproduced", "{report:#}");
    assert!(strings(&report["polluters"]).is_empty());
    let differences = strings(&report["differences"]);
    assert!(
        differences
            .iter()
            .any(|d| d.contains("your shell's variables")),
        "{differences:?}"
    );
    let passes = report["commands"]["passes"].as_str().unwrap();
    assert_eq!(report["commands"]["fails"], Value::Null);
    let victim = format!("{VICTIMS}test_default_endpoint");
    assert_eq!(run_printed(&ctx, passes, &victim).1, "success");
}

#[test]
fn a_test_that_fails_alone_is_not_pollution() {
    let ctx = TestContext::new();
    // A variable the run sets is replayed: the victim fails alone.
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "--set-env", "LEAKY_ENDPOINT=x"])
        .args(fixture_plugin_args(&["victims"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = ctx
        .cmd()
        .args(["pollution", "test_default_endpoint"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("fails alone"), "{text}");
    assert!(text.contains("not a pollution problem"), "{text}");
    let fails = text.lines().find_map(|l| l.strip_prefix("fails:")).unwrap();
    assert!(fails.contains("--set-env 'LEAKY_ENDPOINT=x'"), "{fails}");
    let victim = format!("{VICTIMS}test_default_endpoint");
    assert_eq!(
        run_printed(&ctx, fails.trim(), &victim),
        (Some(1), "fail".to_string())
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["pollution", "test_default_endpoint"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no recorded run"), "{}", stderr(&out));
    record(&ctx, &["leaky", "victims"], &[], &[]);
    let runs = std::fs::read_dir(ctx.home.path().join("data/runs"))
        .unwrap()
        .count();
    let run: Value = serde_json::from_str(&stdout(
        &ctx.cmd()
            .args(["results", "--format", "json"])
            .output()
            .unwrap(),
    ))
    .unwrap();
    let id = run["run"]["id"].as_str().unwrap();
    for (args, says) in [
        (
            vec!["pollution", "test_a01_harmless", "--run", id],
            "did not fail",
        ),
        (
            vec!["pollution", "no_such_test", "--run", id],
            "has no test",
        ),
        (vec!["pollution", "test_", "--run", id], "failed tests"),
        (
            vec!["pollution", "test_scratch_file", "--run", "nope"],
            "no run",
        ),
    ] {
        let out = ctx.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1);
    }
    let after = std::fs::read_dir(ctx.home.path().join("data/runs"))
        .unwrap()
        .count();
    assert_eq!(runs, after);
    assert!(
        !ctx.home
            .path()
            .join("data/runs")
            .join(id)
            .join("pollution")
            .exists()
    );
}
