//! `plugins` against real tempest and a real plugin from PyPI: the names it
//! reports are what `tempest list-plugins` lists, and `--check` loads the
//! plugin alone and together with the real oslo.config.

use std::process::Command;

use super::TEMPEST;
use crate::common::{TestContext, plugins_json, stderr, stdout};

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
