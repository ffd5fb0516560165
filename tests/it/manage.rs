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
