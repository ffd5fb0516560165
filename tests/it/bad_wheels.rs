//! The catalogue of malicious and corrupt wheels (`fixtures/bad_wheels.py`):
//! each is refused with exit 2 and a clear message, and nothing changes: not
//! the environment, not the store, not a sentinel directory beside them.

use std::process::Command;

use crate::common::{TestContext, fixtures, stderr, stdout, tree};

/// The cases that only unpacking can tell from a good wheel: they are
/// refused (and the store left as it was) after the entry's lock is taken.
const UNPACK_TELLS: &[&str] = &["record-mismatch"];

fn store_locks(ctx: &TestContext) -> Vec<std::path::PathBuf> {
    tree(&ctx.home.path().join("cache/locks"))
        .into_keys()
        .filter(|p| p.to_string_lossy().starts_with("store-"))
        .collect()
}

#[test]
fn every_bad_wheel_is_refused_and_changes_nothing() {
    let ctx = TestContext::new();
    let catalogue = ctx.work.path().join("catalogue");
    let out = Command::new("python3")
        .arg(fixtures().join("bad_wheels.py"))
        .arg(&catalogue)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(catalogue.join("cases.json")).unwrap())
            .unwrap();
    assert!(cases.len() >= 20, "the catalogue has {} cases", cases.len());

    let env = ctx.create("target");
    let sentinel = ctx.work.path().join("sentinel");
    std::fs::create_dir_all(&sentinel).unwrap();
    std::fs::write(sentinel.join("keep"), "x").unwrap();
    let store = ctx.home.path().join("cache/store");
    let mut refused = 0;
    for case in &cases {
        let name = case["case"].as_str().unwrap();
        let wheel = catalogue.join(case["file"].as_str().unwrap());
        let expect = case["expect"].as_str().unwrap();
        if expect.is_empty() {
            continue;
        }
        let locks_before = store_locks(&ctx);
        let before = (
            tree(&env),
            tree(&store),
            tree(&sentinel),
            tree(ctx.work.path()),
        );
        let out = ctx
            .cmd()
            .args(["install", "target"])
            .arg(&wheel)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with("error: "), "{name}: {err}");
        assert!(
            err.contains(expect),
            "{name}: expected `{expect}` in: {err}"
        );
        let after = (
            tree(&env),
            tree(&store),
            tree(&sentinel),
            tree(ctx.work.path()),
        );
        assert!(before == after, "{name}: something changed");
        // Refused before the store entry was locked, unless only unpacking
        // can tell (a hash or a size that lies): no store lock file either.
        let new_locks: Vec<_> = store_locks(&ctx)
            .into_iter()
            .filter(|l| !locks_before.contains(l))
            .collect();
        if !UNPACK_TELLS.contains(&name) {
            assert!(new_locks.is_empty(), "{name}: {new_locks:?}");
        }
        // `create` with it builds nothing either.
        let out = ctx
            .cmd()
            .args(["create", "fresh", "--plugin"])
            .arg(&wheel)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(!ctx.env_dir("fresh").exists(), "{name}");
        // A refused create leaves no lock file for the name it never made.
        let env_lock = ctx.home.path().join("data/locks/env-fresh.lock");
        assert!(!env_lock.exists(), "{name}: {} is left", env_lock.display());
        refused += 1;
    }
    assert!(refused >= 20);
    assert!(!std::path::Path::new("/tmp/evil-abs.py").exists());
    // The leftover check: nothing half-built anywhere under the home.
    let leftovers: Vec<_> = tree(ctx.home.path())
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".tmp."))
        .filter(|p| !p.starts_with("cache/locks") && !p.starts_with("data/locks"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // And the valid one installs, with its console script working.
    let valid = cases.iter().find(|c| c["case"] == "valid").unwrap();
    ctx.cmd()
        .args(["install", "target"])
        .arg(catalogue.join(valid["file"].as_str().unwrap()))
        .assert()
        .success();
    let out = Command::new(env.join("bin/evil-tool")).output().unwrap();
    assert!(out.status.success());
    // Executable bits are kept as pip keeps them, in the store and in a
    // real installation.
    let valid_wheel = catalogue.join(valid["file"].as_str().unwrap());
    ctx.cmd()
        .args(["create", "copied", "--link-mode", "copy", "--plugin"])
        .arg(&valid_wheel)
        .assert()
        .success();
    let site = ctx.env_dir("copied").join(format!(
        "lib/python{}/site-packages/evil",
        crate::common::python_version()
    ));
    let mode = |p: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
    };
    assert_eq!(mode(&site.join("run.py")) & 0o111, 0o111);
    assert_eq!(mode(&site.join("__init__.py")) & 0o111, 0);
    let out = Command::new(site.join("run.py")).output().unwrap();
    assert_eq!(stdout(&out).trim(), "run.py ran");
}
