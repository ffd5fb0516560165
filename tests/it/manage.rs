//! list, show, path, remove, exec, gc, and where things live.

use crate::common::{TestContext, manifest, stderr, stdout};

#[test]
fn list_shows_every_environment() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "[]");
    ctx.create("b-env");
    ctx.create("a-env");
    let out = ctx
        .cmd()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-env", "b-env"]);
    assert_eq!(rows[0]["plugins"], 0);
    assert_eq!(rows[0]["path"], ctx.env_dir("a-env").to_str().unwrap());
    let human = stdout(&ctx.cmd().arg("list").output().unwrap());
    assert!(human.starts_with("NAME"), "{human}");
    assert!(
        human.contains("a-env") && human.contains("b-env"),
        "{human}"
    );
}

#[test]
fn show_prints_the_manifest() {
    let ctx = TestContext::new();
    let env = ctx.create("shown");
    let out = ctx
        .cmd()
        .args(["show", "shown", "--format", "json"])
        .output()
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["path"], env.to_str().unwrap());
    value.as_object_mut().unwrap().remove("path");
    assert_eq!(value, manifest(&env));
    let human = stdout(&ctx.cmd().args(["show", "shown"]).output().unwrap());
    assert!(human.contains("name:        shown"), "{human}");
    let out = ctx.cmd().args(["show", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no environment named `nope`"));
}

#[test]
fn a_corrupt_or_newer_manifest_is_bad_input() {
    let ctx = TestContext::new();
    let env = ctx.create("corrupt");
    std::fs::write(env.join("tempest-env.json"), "{not json").unwrap();
    let out = ctx.cmd().args(["show", "corrupt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unreadable"), "{}", stderr(&out));
    let mut m = serde_json::json!({"format_version": "9.0.0"});
    m["name"] = "corrupt".into();
    std::fs::write(env.join("tempest-env.json"), m.to_string()).unwrap();
    let out = ctx.cmd().args(["show", "corrupt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("newer tempest-env (format 9.0.0)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn remove_deletes_only_environments() {
    let ctx = TestContext::new();
    let env = ctx.create("gone");
    ctx.cmd().args(["remove", "gone"]).assert().success();
    assert!(!env.exists());
    let out = ctx.cmd().args(["remove", "gone"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A directory in the registry without a manifest is left alone.
    let stray = ctx.envs_dir().join("stray");
    std::fs::create_dir_all(stray.join("sub")).unwrap();
    let out = ctx.cmd().args(["remove", "stray"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stray.join("sub").is_dir());
}

#[test]
fn exec_runs_inside_the_environment() {
    let ctx = TestContext::new();
    let env = ctx.create("ex");
    let out = ctx
        .cmd()
        .args(["exec", "ex", "--", "python", "-c"])
        .arg("import os, sys; print(sys.prefix); print(os.environ['VIRTUAL_ENV']); print(os.environ['PATH'].split(':')[0]); print(os.environ.get('PYTHONPATH', 'unset'), os.environ.get('PYTHONHOME', 'unset'))")
        .env("PYTHONPATH", "/somewhere")
        .env("PYTHONHOME", "/elsewhere")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], env.to_str().unwrap());
    assert_eq!(lines[1], env.to_str().unwrap());
    assert_eq!(lines[2], env.join("bin").to_str().unwrap());
    assert_eq!(lines[3], "unset unset");
}

#[test]
fn exec_takes_the_command_with_or_without_a_separator() {
    let ctx = TestContext::new();
    let env = ctx.create("bare");
    let prefix = "import sys; print(sys.prefix, sys.argv[1:])";
    for separator in [&[][..], &["--"][..]] {
        let out = ctx
            .cmd()
            .args(["exec", "bare"])
            .args(separator)
            .args(["python", "-c", prefix, "-x", "--flag"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            format!("{} ['-x', '--flag']", env.display()),
            "separator {separator:?}"
        );
    }
}

#[test]
fn exec_passes_exit_codes_and_signals_through() {
    let ctx = TestContext::new();
    ctx.create("codes");
    let out = ctx
        .cmd()
        .args(["exec", "codes", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = ctx
        .cmd()
        .args(["exec", "codes", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = ctx
        .cmd()
        .args(["exec", "codes", "--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 9));
    let out = ctx
        .cmd()
        .args(["exec", "codes", "--", "no-such-command-xyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-command-xyz"));
}

#[test]
fn home_flag_and_variable_put_everything_under_one_dir() {
    let ctx = TestContext::new();
    let other = tempfile::TempDir::new().unwrap();
    ctx.cmd()
        .args(["--home"])
        .arg(other.path())
        .args(["create", "flagged"])
        .assert()
        .success();
    assert!(other.path().join("data/envs/flagged/pyvenv.cfg").is_file());
    assert!(other.path().join("cache/interpreters").is_dir());
    assert!(
        !ctx.env_dir("flagged").exists(),
        "--home wins over TEMPEST_ENV_HOME"
    );
}

#[test]
fn gc_removes_leftovers_but_not_environments() {
    let ctx = TestContext::new();
    let env = ctx.create("kept");
    let leftover = ctx.envs_dir().join(".tmp.half.abc123");
    std::fs::create_dir_all(leftover.join("bin")).unwrap();
    let trash = ctx.envs_dir().join(".trash.old.xyz789");
    std::fs::create_dir_all(&trash).unwrap();
    let out = ctx.cmd().args(["gc", "--dry-run"]).output().unwrap();
    assert!(stdout(&out).contains("Would remove"));
    assert!(leftover.exists());
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success());
    assert!(!leftover.exists() && !trash.exists());
    assert!(env.join("pyvenv.cfg").exists());
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(stderr(&out).contains("Nothing to remove"));
}

#[test]
fn gc_says_how_much_it_frees_and_base_list_how_big_each_base_is() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["create", "sized"])
        .args(base_options(&ctx))
        .arg("--plugin")
        .arg(crate::common::fixture_wheel("alpha"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = ctx
        .cmd()
        .args(["base", "list", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert!(
        report[0]["size_bytes"].as_u64().unwrap() > 10_000,
        "{report}"
    );
    let human = ctx.cmd().args(["base", "list"]).output().unwrap();
    assert!(stdout(&human).lines().next().unwrap().contains("SIZE"));
    ctx.cmd().args(["remove", "sized"]).assert().success();
    // The store entry and the base are now unused.
    let dry = ctx.cmd().args(["gc", "--dry-run"]).output().unwrap();
    let said = |out: &std::process::Output, verb: &str| -> f64 {
        let err = stderr(out);
        let line = err
            .lines()
            .find(|l| l.starts_with(verb))
            .unwrap_or_else(|| panic!("no `{verb}` line: {err}"));
        let number: String = line[verb.len()..]
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        number.parse().unwrap()
    };
    let would = said(&dry, "Would free");
    let done = ctx.cmd().arg("gc").output().unwrap();
    assert!(done.status.success(), "{}", stderr(&done));
    let freed = said(&done, "Freed");
    assert!(would > 0.0 && freed > 0.0, "{would} {freed}");
    assert!(bases(&ctx).is_empty());
}

/// A find-links directory with the stand-in (as `tempest`) and valet, and
/// the `create` options that build a base from it with pip.
fn base_options(ctx: &TestContext) -> Vec<String> {
    let dir = ctx.work.path().join("wheelhouse");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["tempest-standin", "valet"] {
        let wheel = crate::common::fixture_wheel(name);
        std::fs::copy(&wheel, dir.join(wheel.file_name().unwrap())).unwrap();
    }
    [
        "--base",
        "tempest",
        "--find-links",
        dir.to_str().unwrap(),
        "--offline",
        "--installer",
        "pip",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn bases(ctx: &TestContext) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ctx.home.path().join("cache/bases"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One `error:` line and a `hint:`, exit 2.
fn assert_refused(out: &std::process::Output, says: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(says), "{err}");
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn base_remove_refuses_empty_bad_ambiguous_and_used_hashes() {
    let ctx = TestContext::new();
    let mut args = vec!["create".to_string(), "user".to_string()];
    args.extend(base_options(&ctx));
    ctx.cmd().args(&args).assert().success();
    let built = bases(&ctx);
    assert_eq!(built.len(), 1);
    let hash = built[0].clone();
    // A second base sharing the first four digits of the hash.
    let twin = format!("{}{}", &hash[..4], "0".repeat(hash.len() - 4));
    let twin_dir = ctx.home.path().join("cache/bases").join(&twin);
    std::fs::create_dir_all(&twin_dir).unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            ctx.home
                .path()
                .join("cache/bases")
                .join(&hash)
                .join("base.json"),
        )
        .unwrap(),
    )
    .unwrap();
    info["hash"] = twin.clone().into();
    std::fs::write(twin_dir.join("base.json"), info.to_string()).unwrap();
    let before = crate::common::tree(ctx.home.path());
    for (prefix, says) in [
        ("", "is not a base hash"),
        ("   ", "is not a base hash"),
        ("zz", "is not a base hash"),
        (&hash[..4], "matches 2 bases"),
        (&hash, "is used by environment `user`"),
    ] {
        let out = ctx.cmd().args(["base", "remove", prefix]).output().unwrap();
        assert_refused(&out, says);
        assert_eq!(crate::common::tree(ctx.home.path()), before, "`{prefix}`");
    }
    // --force removes it, and names the environment that used it.
    let out = ctx
        .cmd()
        .args(["base", "remove", &hash, "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("environment `user`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bases(&ctx), [twin]);
}

/// A file of a hardlink-mode install edited after `chmod u+w` (the store
/// entry's file is the same inode): the next environment that wants the
/// entry finds the change, says what changed, and gets a fresh copy.
#[test]
fn a_changed_store_entry_is_found_and_unpacked_again() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::new();
    let alpha = crate::common::fixture_wheel("alpha");
    ctx.cmd()
        .args(["create", "hard", "--link-mode", "hardlink", "--plugin"])
        .arg(&alpha)
        .assert()
        .success();
    let file = std::fs::read_dir(ctx.env_dir("hard").join("lib"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .join("site-packages/alpha_tempest_plugin/plugin.py");
    let original = std::fs::read_to_string(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut edit = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    edit.write_all(b"raise SystemExit('tampered')\n").unwrap();
    drop(edit);
    let out = ctx
        .cmd()
        .args(["create", "next", "--plugin"])
        .arg(&alpha)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "was changed after it was made: site/alpha_tempest_plugin/plugin.py was modified"
        ),
        "{err}"
    );
    assert_eq!(
        crate::common::visible_plugins(&ctx.env_dir("next")),
        ["alpha_tests"]
    );
    let store = ctx.home.path().join("cache/store");
    let entry = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(entry.join("site/alpha_tempest_plugin/plugin.py")).unwrap(),
        original
    );
    // Sound again: reused without a word.
    let out = ctx
        .cmd()
        .args(["create", "third", "--plugin"])
        .arg(&alpha)
        .output()
        .unwrap();
    assert!(
        out.status.success() && !stderr(&out).contains("changed"),
        "{}",
        stderr(&out)
    );
}

/// A base changed as root (no chmod needed) is rebuilt; one whose seal is
/// gone (a build or delete cut short) too.
#[test]
fn a_changed_or_incomplete_base_is_built_again() {
    let ctx = TestContext::new();
    let options = base_options(&ctx);
    let create = |name: &str| {
        let mut args = vec!["create".to_string(), name.to_string()];
        args.extend(options.iter().cloned());
        ctx.cmd().args(&args).output().unwrap()
    };
    assert!(create("one").status.success());
    let hash = bases(&ctx)[0].clone();
    let base = ctx.home.path().join("cache/bases").join(&hash);
    let init = std::fs::read_dir(base.join("site"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("__init__.py").is_file() && p.file_name().unwrap() == "tempest")
        .expect("the stand-in's tempest package")
        .join("__init__.py");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut text = std::fs::read_to_string(&init).unwrap();
    text.push_str("\nraise ImportError('tampered')\n");
    std::fs::write(&init, text).unwrap();
    let out = create("two");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("base {hash} was changed after it was made")),
        "{err}"
    );
    assert!(!std::fs::read_to_string(&init).unwrap().contains("tampered"));
    // Incomplete: no seal.
    let seal = base.join(".tempest-env-seal");
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&base, mode(0o755)).unwrap();
    std::fs::remove_file(&seal).unwrap();
    let out = create("three");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("is incomplete"), "{}", stderr(&out));
    assert!(seal.is_file());
    // Every reuse checks every file: an edit in place right after a sound
    // reuse is found by the next one, and so is a file added (as root, no
    // chmod).
    let out = create("four");
    assert!(
        out.status.success() && !stderr(&out).contains("changed"),
        "{}",
        stderr(&out)
    );
    for (round, tamper) in ["edit", "add"].into_iter().enumerate() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        match tamper {
            "edit" => {
                let mut text = std::fs::read_to_string(&init).unwrap();
                text.push_str("\n# edited in place\n");
                std::fs::write(&init, text).unwrap();
            }
            _ => std::fs::write(init.with_file_name("planted.py"), "").unwrap(),
        }
        let out = create(&format!("five-{round}"));
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains(&format!("base {hash} was changed after it was made")),
            "{tamper}: {err}"
        );
    }
    assert!(
        !std::fs::read_to_string(&init)
            .unwrap()
            .contains("edited in place")
    );
    assert!(!init.with_file_name("planted.py").exists());
}

/// `gc` removes the lock files of environments, store entries and bases
/// that are gone, and keeps those of what still exists.
#[test]
fn gc_removes_lock_files_of_what_no_longer_exists() {
    let ctx = TestContext::new();
    let alpha = crate::common::fixture_wheel("alpha");
    ctx.create("kept");
    ctx.cmd()
        .args(["create", "gone", "--plugin"])
        .arg(&alpha)
        .assert()
        .success();
    ctx.cmd().args(["remove", "gone"]).assert().success();
    let locks = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(ctx.home.path().join(dir))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(locks("data/locks"), ["env-gone.lock", "env-kept.lock"]);
    assert_eq!(locks("cache/locks").len(), 1, "{:?}", locks("cache/locks"));
    // A lock of a store entry that never got built.
    std::fs::write(
        ctx.home.path().join("cache/locks/store-never-1.0-abc.lock"),
        "",
    )
    .unwrap();
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(locks("data/locks"), ["env-kept.lock"]);
    assert!(
        locks("cache/locks").is_empty(),
        "{:?}",
        locks("cache/locks")
    );
    ctx.cmd().args(["create", "gone"]).assert().success();
}

/// An environment whose manifest cannot be read might use anything: `gc`
/// then keeps every store entry.
#[test]
fn gc_keeps_the_store_while_an_environment_is_unreadable() {
    let ctx = TestContext::new();
    let alpha = crate::common::fixture_wheel("alpha");
    ctx.cmd()
        .args(["create", "user", "--plugin"])
        .arg(&alpha)
        .assert()
        .success();
    let broken = ctx.create("broken");
    ctx.cmd().args(["remove", "user"]).assert().success();
    std::fs::write(broken.join("tempest-env.json"), "{not json").unwrap();
    let store = ctx.home.path().join("cache/store");
    let entries = || std::fs::read_dir(&store).unwrap().count();
    assert_eq!(entries(), 1);
    ctx.cmd().arg("gc").assert().success();
    assert_eq!(
        entries(),
        1,
        "gc removed a store entry an unreadable environment may use"
    );
}
