//! `lock` and `create --from`: an environment written down exactly and
//! rebuilt in another home (as on another machine) from a local wheelhouse,
//! offline; what cannot be matched is reported one line each.

use std::path::{Path, PathBuf};

use crate::common::{TestContext, fixture_wheel, pip_target, stderr, stdout, wheelhouse};

/// `(name, version, source, sha256)` of every locked distribution.
fn distributions(lock: &str) -> Vec<(String, String, String, Option<String>)> {
    let value: toml::Table = toml::from_str(lock).unwrap();
    value["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["version"].as_str().unwrap().to_string(),
                d["source"].as_str().unwrap().to_string(),
                d.get("sha256").and_then(|s| s.as_str()).map(str::to_string),
            )
        })
        .collect()
}

fn lock_of(ctx: &TestContext, name: &str) -> String {
    let out = ctx.cmd().args(["lock", name]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// An environment with a base built offline by pip from the wheelhouse, a
/// wheel installed through the store, and pip from `--seed`.
fn locked_environment(ctx: &TestContext, links: &Path) -> PathBuf {
    let valet = links.join(fixture_wheel("valet").file_name().unwrap());
    let out = ctx
        .cmd()
        .args([
            "create",
            "orig",
            "--base",
            "tempest",
            "--installer",
            "pip",
            "--offline",
            "--seed",
        ])
        .arg("--find-links")
        .arg(links)
        .arg("--plugin")
        .arg(&valet)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ctx.work.path().join("orig.lock");
    let out = ctx
        .cmd()
        .args(["lock", "orig", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    file
}

#[test]
fn a_lock_rebuilds_the_same_environment_in_another_home_offline() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let file = locked_environment(&ctx, &links);
    let text = std::fs::read_to_string(&file).unwrap();
    // Stable: locking again gives the same bytes.
    assert_eq!(lock_of(&ctx, "orig"), text);
    let locked = distributions(&text);
    let sources: Vec<&str> = locked.iter().map(|d| d.2.as_str()).collect();
    assert!(
        sources.contains(&"base") && sources.contains(&"wheel"),
        "{text}"
    );
    assert!(
        locked.iter().any(|d| d.0 == "valet" && d.3.is_some()),
        "{text}"
    );

    // Another machine: another home, the same wheelhouse, no network.
    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["create", "copy", "--offline", "--from"])
        .arg(&file)
        .arg("--find-links")
        .arg(&links)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("matches the lock"),
        "{}",
        stderr(&out)
    );
    assert_eq!(distributions(&lock_of(&other, "copy")), locked);
    // The rebuilt environment works: its python imports the locked plugin.
    let out = std::process::Command::new(other.env_dir("copy").join("bin/python"))
        .args(["-c", "import valet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_wheel_with_another_hash_is_refused_before_anything_is_built() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let file = locked_environment(&ctx, &links);
    // Another wheelhouse where the valet wheel has the same name but other
    // bytes.
    let other = TestContext::new();
    let forged = other.work.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    for entry in std::fs::read_dir(&links).unwrap().flatten() {
        std::fs::copy(entry.path(), forged.join(entry.file_name())).unwrap();
    }
    let valet = forged.join(fixture_wheel("valet").file_name().unwrap());
    let mut bytes = std::fs::read(&valet).unwrap();
    bytes.extend_from_slice(b"\0");
    std::fs::write(&valet, bytes).unwrap();
    let out = other
        .cmd()
        .args(["create", "copy", "--offline", "--from"])
        .arg(&file)
        .arg("--find-links")
        .arg(&forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sha256"), "{}", stderr(&out));
    assert!(!other.env_dir("copy").exists());
}

#[test]
fn system_set_differences_are_reported_one_line_each_and_can_be_allowed() {
    let ctx = TestContext::new();
    let system = ctx.work.path().join("system");
    pip_target(&system, &[fixture_wheel("alpha"), fixture_wheel("bravo")]);
    let out = ctx
        .cmd()
        .args(["create", "sys", "--system-site"])
        .arg(&system)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ctx.work.path().join("sys.lock");
    ctx.cmd()
        .args(["lock", "sys", "-o"])
        .arg(&file)
        .assert()
        .success();
    // The system directory changes: bravo is gone.
    for entry in std::fs::read_dir(&system).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("bravo") {
            std::fs::remove_dir_all(entry.path()).unwrap();
        }
    }
    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["create", "again", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.contains("differs from the lock"))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    assert!(lines[0].contains("missing: bravo"), "{lines:?}");
    let out = other
        .cmd()
        .args(["create", "allowed", "--allow-differences", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn bad_locks_are_one_line_errors_that_change_nothing() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    std::fs::write(work.join("corrupt.lock"), "format = [").unwrap();
    std::fs::write(
        work.join("newer.lock"),
        "format = \"2.0.0\"\nenvironment = \"x\"\n",
    )
    .unwrap();
    std::fs::write(work.join("binary.lock"), [0xff, 0xfe, 0x00]).unwrap();
    let fifo = work.join("fifo.lock");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let cases: &[(&[&str], &str)] = &[
        (&["--from", "corrupt.lock"], "corrupt.lock"),
        (&["--from", "newer.lock"], "format 2.0.0"),
        (&["--from", "binary.lock"], "UTF-8"),
        (&["--from", "fifo.lock"], "not a regular file"),
        (&["--from", "missing.lock"], "missing.lock"),
        (&["--from", "corrupt.lock", "--plugin", "x.whl"], "--plugin"),
    ];
    for (args, needle) in cases {
        let out = ctx
            .cmd()
            .args(["create", "x"])
            .args(*args)
            .output()
            .unwrap();
        crate::common::assert_refused(&out, &format!("{args:?}"), needle);
        assert!(!ctx.env_dir("x").exists());
    }
    let out = ctx.cmd().args(["lock", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_requirement_plugin_is_locked_as_its_layer_and_rebuilt_from_it() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let out = ctx
        .cmd()
        .args([
            "create",
            "req",
            "--base",
            "tempest",
            "--plugin",
            "alpha-tempest-plugin",
            "--installer",
            "pip",
            "--offline",
        ])
        .arg("--find-links")
        .arg(&links)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = lock_of(&ctx, "req");
    let locked = distributions(&text);
    let alpha = locked
        .iter()
        .find(|d| d.0 == "alpha-tempest-plugin")
        .unwrap_or_else(|| panic!("{text}"));
    // Resolved by the installer into a layer on top of the base: no wheel
    // file of its own to find.
    assert_eq!(alpha.2, "plugin-layer", "{text}");
    assert_eq!(alpha.3, None);
    let file = ctx.work.path().join("req.lock");
    std::fs::write(&file, &text).unwrap();
    let other = TestContext::new();
    let out = other
        .cmd()
        .args(["create", "copy", "--offline", "--from"])
        .arg(&file)
        .arg("--find-links")
        .arg(&links)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(distributions(&lock_of(&other, "copy")), locked);
}
