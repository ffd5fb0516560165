//! `lock --run` and `run --from` with real tempest 47: a run of the valet
//! fixture plugin's tests under real tempest, locked, and re-run from the
//! lock in another home (its base rebuilt from PyPI at the locked
//! versions, the valet wheel from a wheel directory): the same
//! distributions, hashes and per-test statuses.

use crate::TEMPEST;
use crate::common::{TestContext, fixture_wheel, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

#[test]
#[ignore = "needs PyPI"]
fn a_real_tempest_run_reruns_from_its_lock_in_another_home() {
    let ctx = TestContext::new();
    let wheels = ctx.work.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let valet = fixture_wheel("valet");
    let copy = wheels.join(valet.file_name().unwrap());
    std::fs::copy(&valet, &copy).unwrap();
    let out = ctx
        .cmd()
        .args(["run", "--format", "json", "--base", TEMPEST, "--plugin"])
        .arg(&copy)
        .arg("valet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = json(&out);
    let file = ctx.work.path().join("real.lock");
    let out = ctx
        .cmd()
        .args(["lock", "--run", "last", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    let lock: toml::Table = toml::from_str(&text).unwrap();
    let dists = lock["distribution"].as_array().unwrap();
    assert!(
        dists.iter().any(|d| d["name"].as_str() == Some("tempest")
            && d["version"].as_str() == Some("47.0.0")
            && d["source"].as_str() == Some("base")),
        "{text}"
    );
    assert!(dists.len() > 40, "tempest and its requirements: {text}");
    let results = lock["run"]["results"].as_table().unwrap();
    assert_eq!(
        results.len(),
        first["results"]["tests"].as_array().unwrap().len()
    );

    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["run", "--format", "json", "--from"])
        .arg(&file)
        .arg("--find-links")
        .arg(&wheels)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rerun = json(&out);
    assert_eq!(rerun["lock"]["matches"], true, "{rerun:#}");
    assert!(
        !stderr(&out).contains("differs from the lock"),
        "{}",
        stderr(&out)
    );
    let statuses = |run: &serde_json::Value| -> Vec<(String, String)> {
        let mut s: Vec<(String, String)> = run["results"]["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        s.sort();
        s
    };
    assert_eq!(statuses(&rerun), statuses(&first));
    // The rebuilt environment, locked, is the locked one.
    let out = other
        .cmd()
        .args(["lock", "--run", "last"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let again: toml::Table = toml::from_str(&stdout(&out)).unwrap();
    assert_eq!(again["distribution"], lock["distribution"]);
}
