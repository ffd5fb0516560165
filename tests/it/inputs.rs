//! Inputs and outputs at the edges: `--junit` through links and never over
//! a special file, environment variables with values out of range, an
//! interpreter that never answers, arguments that are not UTF-8, and what a
//! user sees if tempest-env panics anyway.

use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use crate::common::{TestContext, stderr, tree};

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn one_error_line(err: &str) -> bool {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.iter().filter(|l| l.starts_with("error:")).count() == 1
        && lines
            .iter()
            .all(|l| l.starts_with("error:") || l.starts_with("hint:"))
}

#[test]
fn junit_writes_through_a_link_and_never_over_a_special_file() {
    let ctx = TestContext::new();
    ctx.cmd().args(["run", "--def", "demo"]).assert().success();
    let work = ctx.work.path();
    // Through a link: the file it names gets the XML, the link stays.
    std::fs::create_dir_all(work.join("reports")).unwrap();
    std::fs::write(work.join("reports/junit.xml"), "old").unwrap();
    std::os::unix::fs::symlink("reports/junit.xml", work.join("link.xml")).unwrap();
    ctx.cmd()
        .args(["results", "--junit", "link.xml"])
        .assert()
        .success();
    assert!(
        std::fs::symlink_metadata(work.join("link.xml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let xml = std::fs::read_to_string(work.join("reports/junit.xml")).unwrap();
    assert!(
        xml.starts_with("<?xml") && xml.contains("<testsuite"),
        "{xml}"
    );
    // A FIFO, and a link to one: refused, left as they were, no hang.
    mkfifo(&work.join("pipe"));
    std::os::unix::fs::symlink("pipe", work.join("to-pipe.xml")).unwrap();
    for target in ["pipe", "to-pipe.xml"] {
        let before = tree(work);
        let started = Instant::now();
        let out = ctx
            .cmd()
            .args(["results", "--junit", target])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{target}: {err}");
        assert!(err.contains("FIFO") && one_error_line(&err), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(before, tree(work), "{target}");
    }
}

#[test]
fn out_of_range_timeouts_are_refused_not_panics() {
    let ctx = TestContext::new();
    for (var, value) in [
        ("TEMPEST_ENV_LOCK_TIMEOUT", "-1"),
        ("TEMPEST_ENV_LOCK_TIMEOUT", "NaN"),
        ("TEMPEST_ENV_LOCK_TIMEOUT", "1e300"),
        ("TEMPEST_ENV_LOCK_TIMEOUT", "soon"),
        ("TEMPEST_ENV_PYTHON_TIMEOUT", "0"),
        ("TEMPEST_ENV_PYTHON_TIMEOUT", "inf"),
    ] {
        let out = ctx
            .cmd()
            .args(["create", "e", "--python", "python3"])
            .env(var, value)
            // No cached answer: the interpreter is queried.
            .env(
                "TEMPEST_ENV_HOME",
                ctx.work.path().join(format!("home-{var}-{value}")),
            )
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert!(err.contains(var) && one_error_line(&err), "{err}");
    }
}

#[test]
fn an_interpreter_that_never_answers_is_refused_within_the_bound() {
    let ctx = TestContext::new();
    let python = ctx.work.path().join("python3");
    std::fs::write(&python, "#!/bin/sh\nsleep 300\n").unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = ctx
        .cmd()
        .args(["create", "slow", "--python"])
        .arg(&python)
        .env("TEMPEST_ENV_PYTHON_TIMEOUT", "1.5")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(python.to_str().unwrap()) && err.contains("1.5 s"),
        "{err}"
    );
    assert!(one_error_line(&err), "{err}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(20));
    assert!(!ctx.env_dir("slow").exists());
    // The wrapper's `sleep` went with it.
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("{} ", python.display())])
        .output();
    if let Ok(out) = out {
        assert!(out.stdout.is_empty(), "left running: {out:?}");
    }
}

#[test]
fn arguments_that_are_not_utf8_are_refused() {
    let ctx = TestContext::new();
    let odd = std::ffi::OsStr::from_bytes(b"site-\xff");
    std::fs::create_dir_all(ctx.work.path().join(odd)).unwrap();
    let out = ctx
        .cmd()
        .args(["create", "e", "--system-site"])
        .arg(ctx.work.path().join(odd))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("UTF-8") && one_error_line(&err), "{err}");
    assert!(!ctx.env_dir("e").exists());
    // After `--`, the arguments are the command's own.
    ctx.create("e");
    ctx.cmd()
        .args(["exec", "e", "--", "true"])
        .arg(odd)
        .assert()
        .success();
}

#[test]
fn a_panic_is_one_error_line_and_exit_1() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .arg("list")
        .env("TEMPEST_ENV_FAILPOINT", "panic")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: internal error"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn an_interpreter_whose_scheme_leaves_the_environment_is_refused() {
    let ctx = TestContext::new();
    let python = ctx.work.path().join("python3");
    // The real interpreter's answer, with purelib pointing out of the
    // environment.
    std::fs::write(
        &python,
        "#!/bin/sh\npython3 \"$@\" | sed 's#\"purelib\": \"[^\"]*\"#\"purelib\": \"../../escape\"#'\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = ctx
        .cmd()
        .args(["create", "e", "--python"])
        .arg(&python)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("purelib") && one_error_line(&err), "{err}");
    assert!(!ctx.env_dir("e").exists());
    assert!(!ctx.home.path().join("escape").exists());
}
