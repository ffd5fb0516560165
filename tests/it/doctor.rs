//! `doctor`: each finding provoked for real, found, explained with a fix;
//! exit 0 when healthy, 1 when something needs fixing.

use std::path::Path;

use crate::common::{TestContext, fixture_wheel, pip_target, stderr, stdout, system_python};

fn doctor(ctx: &TestContext, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = ctx
        .cmd()
        .arg("doctor")
        .args(args)
        .args(["--format", "json"])
        .env_remove("PYTHONPATH")
        .env_remove("PYTHON")
        .env_remove("TEMPEST_CONFIG")
        .env_remove("TEMPEST_CONFIG_DIR")
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}{}", stdout(&out), stderr(&out)));
    (out.status.code(), value)
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_healthy_environment_passes() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "ok", "--plugin"])
        .arg(fixture_wheel("valet"))
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["ok"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["healthy"], true);
    let out = ctx
        .cmd()
        .args(["doctor", "ok"])
        .env("PYTHONPATH", "/somewhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("[leaking-variable] PYTHONPATH=/somewhere"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("fix: unset PYTHONPATH"));
}

#[test]
fn a_system_wide_plugin_outside_the_environment_is_explained() {
    let ctx = TestContext::new();
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    pip_target(&site, &[fixture_wheel("valet")]);
    ctx.cmd()
        .args(["create", "plain", "--python"])
        .arg(&python)
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["plain", "valet_tests"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&report), ["system-plugin-invisible"]);
    assert!(
        report["findings"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("--all-plugin")
    );
    ctx.cmd()
        .args(["create", "all", "--all-plugin", "--python"])
        .arg(&python)
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["all", "valet_tests"]);
    assert_eq!(code, Some(0), "{report}");
    // A plugin nobody has.
    let (code, report) = doctor(&ctx, &["all", "nosuch_tests"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&report), ["plugin-not-installed"]);
}

#[test]
fn a_user_site_plugin_is_explained() {
    let ctx = TestContext::new();
    let (python, _) = system_python(&ctx.work.path().join("syspy"));
    let home = ctx.work.path().join("home");
    let version = crate::common::python_version();
    let user_site = home.join(format!(".local/lib/python{version}/site-packages"));
    pip_target(&user_site, &[fixture_wheel("alpha")]);
    let out = ctx
        .cmd()
        .args(["create", "u", "--python"])
        .arg(&python)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ctx
        .cmd()
        .args(["doctor", "u", "--format", "json"])
        .env("HOME", &home)
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        ids(&report).contains(&"user-plugin-invisible".to_string()),
        "{report}"
    );
    assert!(report.to_string().contains("--user-site"));
}

#[test]
fn broken_environments_are_diagnosed() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "b", "--link-mode", "copy", "--plugin"])
        .arg(fixture_wheel("alpha"))
        .assert()
        .success();
    ctx.cmd()
        .args(["install", "b", "--link-mode", "pth"])
        .arg(fixture_wheel("valet"))
        .assert()
        .success();
    let env = ctx.env_dir("b");
    let site = env.join(format!(
        "lib/python{}/site-packages",
        crate::common::python_version()
    ));
    // A file its RECORD lists is gone.
    std::fs::remove_file(site.join("alpha_tempest_plugin/cli.py")).unwrap();
    // A .pth line pointing nowhere.
    std::fs::write(site.join("zz-extra.pth"), "/nonexistent/src/tree\n").unwrap();
    // A stevedore cache older than the environment's last change.
    let cache = env.join(".cache/python-entrypoints");
    std::fs::create_dir_all(&cache).unwrap();
    let old = cache.join("abc123");
    std::fs::write(&old, "{}").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    // The shared store entry changed after it was made read-only.
    let store = ctx.home.path().join("cache/store");
    let entry = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("valet-"))
        .unwrap()
        .path();
    let victim = entry.join("site/valet/__init__.py");
    make_writable(&victim);
    std::fs::write(&victim, "# changed\n").unwrap();
    let (code, report) = doctor(&ctx, &["b"]);
    assert_eq!(code, Some(1));
    let found = ids(&report);
    for id in [
        "missing-files",
        "dangling-pth",
        "stale-entry-point-cache",
        "modified-layer",
    ] {
        assert!(found.contains(&id.to_string()), "{id} not in {found:?}");
    }
    // pyvenv.cfg whose home is gone.
    let cfg = std::fs::read_to_string(env.join("pyvenv.cfg")).unwrap();
    let cfg: String = cfg
        .lines()
        .map(|l| {
            if l.starts_with("home =") {
                "home = /nonexistent/bin\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(env.join("pyvenv.cfg"), cfg).unwrap();
    let (_, report) = doctor(&ctx, &["b"]);
    assert!(
        ids(&report).contains(&"missing-home".to_string()),
        "{report}"
    );
}

fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}
