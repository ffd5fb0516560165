//! Attacks on the environment's boundary: writes and deletes that would
//! leave the environment through its symbolic links (a view of the system
//! set, a link a user made), and an uninstall killed part-way.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    TestContext, fixture_wheel, fixtures, manifest, pip_target, python_version, stderr, tree,
    visible_plugins,
};

/// The `evil` 1.0 wheel of `fixtures/bad_wheels.py` with `extra` members
/// (archive name, content), RECORD kept true, written into `dir`.
fn evil_wheel(dir: &Path, extra: &[(&str, &str)]) -> PathBuf {
    evil_wheel_at(dir, "1.0", extra)
}

/// The same at another version (`extra` names use `evil-1.0.data`, and
/// are renamed to the version's).
fn evil_wheel_at(dir: &Path, version: &str, extra: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let members: Vec<String> = extra
        .iter()
        .map(|(name, data)| {
            let name = name.replace("evil-1.0.data", &format!("evil-{version}.data"));
            format!("b.Member({name:?}, {data:?}.encode())")
        })
        .collect();
    let file = dir.join(format!("evil-{version}-py3-none-any.whl"));
    let script = format!(
        "import sys\nsys.path.insert(0, {fixtures:?})\nimport bad_wheels as b\n\
         di = 'evil-{version}.dist-info'\n\
         meta = b.METADATA.replace(b'Version: 1.0', b'Version: {version}')\n\
         data = b.build(b.base_members(metadata=meta, dist_info=di) + [{members}], dist_info=di)\n\
         open({out:?}, 'wb').write(data)\n",
        fixtures = fixtures().to_str().unwrap(),
        members = members.join(", "),
        out = file.to_str().unwrap(),
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    file
}

/// A system directory with plugins (alpha, valet) and a plain package
/// `victimpkg`, and an environment `view` that sees it through a view
/// hiding alpha. Returns (system dir, environment, the view's index).
fn view_of_system(ctx: &TestContext, mode_args: &[&str]) -> (PathBuf, PathBuf, String) {
    let system = ctx.work.path().join("system-site");
    pip_target(&system, &[fixture_wheel("alpha"), fixture_wheel("valet")]);
    std::fs::create_dir_all(system.join("victimpkg")).unwrap();
    std::fs::write(system.join("victimpkg/__init__.py"), "VICTIM = 1\n").unwrap();
    ctx.cmd()
        .args(["create", "view", "--system-site"])
        .arg(&system)
        .args(["--exclude-plugin", "alpha_tests"])
        .args(mode_args)
        .assert()
        .success();
    let env = ctx.env_dir("view");
    let index = std::fs::read_dir(env.join("system"))
        .unwrap()
        .flatten()
        .find(|e| {
            std::fs::symlink_metadata(e.path().join("victimpkg"))
                .is_ok_and(|m| m.file_type().is_symlink())
        })
        .expect("a view links victimpkg")
        .file_name()
        .into_string()
        .unwrap();
    (system, env, index)
}

#[test]
fn a_wheel_cannot_write_into_the_system_site_through_a_view() {
    for mode in ["pth", "copy"] {
        let ctx = TestContext::new();
        let (system, env, index) = view_of_system(&ctx, &[]);
        let wheel = evil_wheel(
            &ctx.work.path().join("w"),
            &[(
                &format!("evil-1.0.data/data/system/{index}/victimpkg/planted.py"),
                "print('planted')\n",
            )],
        );
        let before = (tree(&system), tree(&env));
        let out = ctx
            .cmd()
            .args(["install", "view", "--link-mode", mode])
            .arg(&wheel)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
        assert!(!system.join("victimpkg/planted.py").exists(), "{mode}");
        assert!(
            before == (tree(&system), tree(&env)),
            "{mode}: something changed"
        );
    }
}

#[test]
fn no_link_mode_writes_through_a_link_out_of_the_environment() {
    let ctx = TestContext::new();
    let env = ctx.create("linked");
    let outside = ctx.work.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A link a user made inside the environment, and one where the wheel's
    // package directory goes.
    std::os::unix::fs::symlink(&outside, env.join("share")).unwrap();
    let data_wheel = evil_wheel(
        &ctx.work.path().join("data"),
        &[("evil-1.0.data/data/share/planted.txt", "planted\n")],
    );
    for mode in ["pth", "symlink", "hardlink", "copy"] {
        let before = (tree(&outside), tree(&env));
        let out = ctx
            .cmd()
            .args(["install", "linked", "--link-mode", mode])
            .arg(&data_wheel)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{mode}: {err}");
        assert!(
            err.contains("a symbolic link to") && err.contains("hint:"),
            "{err}"
        );
        assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1);
        assert!(
            before == (tree(&outside), tree(&env)),
            "{mode}: something changed"
        );
    }
    std::fs::remove_file(env.join("share")).unwrap();
    // Without the link, the same wheel installs its data file.
    ctx.cmd()
        .args(["install", "linked", "--link-mode", "copy"])
        .arg(&data_wheel)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(env.join("share/planted.txt")).unwrap(),
        "planted\n"
    );
    ctx.cmd()
        .args(["uninstall", "linked", "evil"])
        .assert()
        .success();
    assert!(!env.join("share").exists());
    let site = env.join(format!("lib/python{}/site-packages", python_version()));
    std::os::unix::fs::symlink(&outside, site.join("evil")).unwrap();
    let plain = evil_wheel(&ctx.work.path().join("plain"), &[]);
    for mode in ["symlink", "hardlink", "copy"] {
        let before = (tree(&outside), tree(&env));
        let out = ctx
            .cmd()
            .args(["install", "linked", "--link-mode", mode])
            .arg(&plain)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
        assert!(
            before == (tree(&outside), tree(&env)),
            "{mode}: something changed"
        );
    }
}

#[test]
fn uninstall_never_deletes_through_a_view() {
    let ctx = TestContext::new();
    let (system, env, index) = view_of_system(&ctx, &[]);
    // A distribution another tool (or an older tempest-env) left, whose
    // RECORD names a system file through the view's link.
    let site = env.join(format!("lib/python{}/site-packages", python_version()));
    let dist_info = site.join("victim-9.9.dist-info");
    std::fs::create_dir_all(&dist_info).unwrap();
    std::fs::write(
        dist_info.join("METADATA"),
        "Metadata-Version: 2.1\nName: victim\nVersion: 9.9\n",
    )
    .unwrap();
    std::fs::write(
        dist_info.join("RECORD"),
        format!(
            "../../../system/{index}/victimpkg/__init__.py,,\nvictim-9.9.dist-info/METADATA,,\nvictim-9.9.dist-info/RECORD,,\n"
        ),
    )
    .unwrap();
    let before = (tree(&system), tree(&env));
    let out = ctx
        .cmd()
        .args(["uninstall", "view", "victim"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("hint: "),
        "{err}"
    );
    assert!(system.join("victimpkg/__init__.py").is_file());
    assert!(before == (tree(&system), tree(&env)), "something changed");

    // Through a link a user made, the walk itself refuses.
    let outside = ctx.work.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious"), "keep\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.join("share")).unwrap();
    std::fs::write(
        dist_info.join("RECORD"),
        "../../../share/precious,,\nvictim-9.9.dist-info/RECORD,,\n",
    )
    .unwrap();
    let before = (tree(&outside), tree(&env));
    let out = ctx
        .cmd()
        .args(["uninstall", "view", "victim"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a symbolic link to"), "{err}");
    assert!(before == (tree(&outside), tree(&env)), "something changed");
    std::fs::remove_file(env.join("share")).unwrap();

    // Nor the environment's own files.
    std::fs::write(
        dist_info.join("RECORD"),
        "../../../pyvenv.cfg,,\nvictim-9.9.dist-info/RECORD,,\n",
    )
    .unwrap();
    let out = ctx
        .cmd()
        .args(["uninstall", "view", "victim"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(env.join("pyvenv.cfg").is_file());
}

#[test]
fn an_uninstall_killed_part_way_is_finished_by_the_next_command() {
    for (point, next) in [
        ("uninstall-part-way", "gc"),
        ("uninstall-after-commit", "install"),
    ] {
        let ctx = TestContext::new();
        ctx.cmd()
            .args(["create", "e", "--link-mode", "copy", "--plugin"])
            .arg(fixture_wheel("alpha"))
            .assert()
            .success();
        let env = ctx.env_dir("e");
        let site = env.join(format!("lib/python{}/site-packages", python_version()));
        assert_eq!(visible_plugins(&env), ["alpha_tests"]);
        let before = tree(&env);
        let mut child = ctx
            .std_cmd()
            .args(["uninstall", "e", "alpha-tempest-plugin"])
            .env("TEMPEST_ENV_FAILPOINT", point)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap();
            assert!(n > 0, "{point}: the uninstall ended before its failpoint");
            if line.starts_with("failpoint ") {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The manifest no longer lists a distribution whose files may be
        // half gone, and tempest no longer finds its plugin.
        let listed = manifest(&env)["distributions"].as_array().unwrap().len();
        assert_eq!(listed, 0, "{point}");
        if point == "uninstall-part-way" {
            assert!(visible_plugins(&env).is_empty(), "{point}");
            assert!(tree(&env) != before);
        }
        match next {
            "gc" => ctx.cmd().arg("gc").assert().success(),
            _ => ctx
                .cmd()
                .args(["install", "e", "--link-mode", "copy"])
                .arg(fixture_wheel("bravo"))
                .assert()
                .success(),
        };
        let left: Vec<_> = tree(&site)
            .into_keys()
            .filter(|p| p.to_string_lossy().contains("alpha"))
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
        assert!(!env.join(".tempest-env-pending").exists(), "{point}");
    }
}

#[test]
fn recovery_never_follows_links_planted_for_its_own_files() {
    let ctx = TestContext::new();
    let env = ctx.create("planted");
    let outside = ctx.work.path().join("outside");
    std::fs::create_dir_all(outside.join("files/lib")).unwrap();
    std::fs::write(outside.join("journal"), "keep\n").unwrap();
    std::fs::write(outside.join("files/lib/precious.py"), "keep\n").unwrap();
    // The install journal and the replaced files' directory, as links out.
    std::os::unix::fs::symlink(outside.join("journal"), env.join(".tempest-env-pending")).unwrap();
    std::os::unix::fs::symlink(&outside, env.join(".tempest-env-replaced")).unwrap();
    let before = tree(&outside);
    let out = ctx
        .cmd()
        .args(["install", "planted"])
        .arg(fixture_wheel("alpha"))
        .output()
        .unwrap();
    // The links are dropped, not followed; the install goes ahead.
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(before, tree(&outside));
    assert!(!env.join("lib/precious.py").exists());
    ctx.cmd().arg("gc").assert().success();
    assert_eq!(before, tree(&outside));
}

#[test]
fn a_replacement_never_moves_files_through_a_link() {
    let ctx = TestContext::new();
    let env = ctx.create("swap");
    let one = evil_wheel_at(
        &ctx.work.path().join("one"),
        "1.0",
        &[("evil-1.0.data/data/share/evil/old.txt", "old\n")],
    );
    let two = evil_wheel_at(&ctx.work.path().join("two"), "2.0", &[]);
    ctx.cmd()
        .args(["install", "swap", "--link-mode", "copy"])
        .arg(&one)
        .assert()
        .success();
    // `share/evil` becomes a link to a directory outside, holding a file of
    // the same name as the one 1.0 installed.
    let outside = ctx.work.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("old.txt"), "someone else's\n").unwrap();
    std::fs::remove_file(env.join("share/evil/old.txt")).unwrap();
    std::fs::remove_dir(env.join("share/evil")).unwrap();
    std::os::unix::fs::symlink(&outside, env.join("share/evil")).unwrap();
    let before = (tree(&outside), tree(&env));
    // Replacing 1.0 by 2.0 would move 1.0's stale `share/evil/old.txt`
    // aside; reinstalling 1.0 would overwrite it.
    for wheel in [&two, &one] {
        let out = ctx
            .cmd()
            .args(["install", "swap", "--link-mode", "copy"])
            .arg(wheel)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("a symbolic link to"), "{err}");
        assert!(before == (tree(&outside), tree(&env)), "something changed");
    }
    // Nor does uninstall remove it.
    let out = ctx
        .cmd()
        .args(["uninstall", "swap", "evil"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(before == (tree(&outside), tree(&env)), "something changed");
}

#[test]
fn an_uninstall_killed_at_random_never_leaves_a_listed_half_removed_distribution() {
    const TRIALS: u64 = 16;
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "k", "--link-mode", "copy", "--plugin"])
        .arg(fixture_wheel("alpha"))
        .assert()
        .success();
    let env = ctx.env_dir("k");
    let site = env.join(format!("lib/python{}/site-packages", python_version()));
    let alpha_files = |site: &Path| -> Vec<PathBuf> {
        tree(site)
            .into_keys()
            .filter(|p| p.to_string_lossy().contains("alpha"))
            .collect()
    };
    let installed = alpha_files(&site);
    let mut killed = 0;
    for trial in 0..TRIALS {
        let mut child = ctx
            .std_cmd()
            .args(["uninstall", "k", "alpha-tempest-plugin"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the few milliseconds an uninstall takes.
        std::thread::sleep(std::time::Duration::from_micros(1500 * trial));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        let listed = manifest(&env)["distributions"].as_array().unwrap().len();
        if listed == 1 {
            // Still listed: untouched.
            assert_eq!(alpha_files(&site), installed, "trial {trial}");
        } else {
            // Gone from the manifest: the next command finishes the job.
            ctx.cmd().arg("gc").assert().success();
            assert!(alpha_files(&site).is_empty(), "trial {trial}");
            ctx.cmd()
                .args(["install", "k", "--link-mode", "copy"])
                .arg(fixture_wheel("alpha"))
                .assert()
                .success();
        }
    }
    eprintln!("uninstall: {TRIALS} trials, {killed} killed while running");
    assert!(killed >= 1);
}
