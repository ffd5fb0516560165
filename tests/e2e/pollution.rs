//! `pollution` with real tempest 47: the leak fixtures built as wheels, a
//! real serial `tempest run` recorded in which the victims fail, then the
//! configuration leak (tempest's own CONF) and the pair are traced back
//! through probes that give real stestr a `--load-list` and one worker, and
//! the printed command lines are run.

use std::process::Command;

use serde_json::Value;

use crate::TEMPEST;
use crate::common::{TestContext, fixture_wheel, require_tool, stderr, stdout};
use crate::isolation::shared_home;

const LEAKY: &str = "leaky_tempest_plugin.tests.test_leaks.LeakyTest.";
const VICTIMS: &str = "victims_tempest_plugin.tests.test_victims.VictimTest.";

fn tempest_env(ctx: &TestContext, args: &[&str]) -> std::process::Output {
    ctx.cmd()
        .env("TEMPEST_ENV_HOME", shared_home())
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

/// A printed `tempest-env run ...` line run by the shell, with
/// `--format json` put after `run`; the test's status in that run.
fn run_printed(ctx: &TestContext, line: &str, test: &str) -> (Option<i32>, String) {
    let rest = line.strip_prefix("tempest-env run ").unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$TEMPEST_ENV_BIN\" run --format json {rest}"))
        .env(
            "TEMPEST_ENV_BIN",
            assert_cmd::cargo::cargo_bin("tempest-env"),
        )
        .env("TEMPEST_ENV_HOME", shared_home())
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    let value = json(&out);
    let status = value["results"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == test)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{test} did not run: {value:#}"));
    (out.status.code(), status)
}

#[test]
#[ignore = "needs PyPI"]
fn real_tempest_leaks_are_traced_to_their_tests() {
    require_tool("uv");
    let ctx = TestContext::new();
    let leaky = fixture_wheel("leaky");
    let victims = fixture_wheel("victims");
    let out = tempest_env(
        &ctx,
        &[
            "run",
            "--format",
            "json",
            "--base",
            TEMPEST,
            "--plugin",
            leaky.to_str().unwrap(),
            "--plugin",
            victims.to_str().unwrap(),
            "leaky_tempest_plugin|victims_tempest_plugin",
            "--",
            "--serial",
        ],
    );
    let run = json(&out);
    assert_eq!(out.status.code(), Some(1), "{run:#}");
    let run_id = run["run"]["id"].as_str().unwrap().to_string();
    let status = |id: &str| {
        run["results"]["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["status"].as_str().unwrap().to_string())
    };
    // Real tempest ran every leak and the victims after them.
    for victim in [
        "test_default_endpoint",
        "test_needs_one_of_the_pair_unset",
        "test_region_is_the_configured_one",
        "test_takes_the_lock",
    ] {
        assert_eq!(
            status(&format!("{VICTIMS}{victim}")).as_deref(),
            Some("fail"),
            "{victim}: {run:#}"
        );
    }
    for (victim, polluters) in [
        (
            "test_region_is_the_configured_one",
            &["test_a14_overrides_a_config_value"][..],
        ),
        (
            "test_needs_one_of_the_pair_unset",
            &[
                "test_a10_sets_half_of_a_pair",
                "test_a12_sets_the_other_half",
            ][..],
        ),
    ] {
        let out = tempest_env(
            &ctx,
            &[
                "pollution",
                victim,
                "--run",
                &run_id,
                "-j",
                "2",
                "--format",
                "json",
            ],
        );
        let report = json(&out);
        assert_eq!(out.status.code(), Some(0), "{report:#}");
        let expected: Vec<String> = polluters.iter().map(|p| format!("{LEAKY}{p}")).collect();
        assert_eq!(
            report["polluters"],
            serde_json::json!(expected),
            "{report:#}"
        );
        assert_eq!(
            report["plugins"],
            serde_json::json!(vec!["leaky-tempest-plugin"; polluters.len()])
        );
        let n = report["before"].as_array().unwrap().len();
        let k = polluters.len();
        let probes = report["probes"].as_u64().unwrap() as usize;
        let log = (n as f64).log2().ceil() as usize;
        assert!(probes <= 2 * k * log + 2 + 2, "{probes}: {report:#}");
        let test = format!("{VICTIMS}{victim}");
        let fails = report["commands"]["fails"].as_str().unwrap();
        assert!(fails.contains("--serial --load-list"), "{fails}");
        assert_eq!(
            run_printed(&ctx, fails, &test),
            (Some(1), "fail".to_string())
        );
        let passes = report["commands"]["passes"].as_str().unwrap();
        assert_eq!(run_printed(&ctx, passes, &test).1, "success");
    }
}
