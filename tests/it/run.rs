//! `run`: per-run environments from definitions or inline options, the
//! runner presets, the workspace, a clean process environment, signals and
//! exit codes, recorded results, JUnit and diffs; all offline through the
//! Tempest stand-in.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    TestContext, as_foreground, fixture_plugin_args, fixtures, python_version, stderr, stdout,
};

const LIST_GROUPS: &str =
    "valet.tests.tempest.tests.api.test_groups.ValetGroupsTest.test_list_groups";

#[test]
fn the_demo_runs_offline_and_records_the_run() {
    let ctx = TestContext::new();
    let out = ctx.cmd().args(["run", "--def", "demo"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{LIST_GROUPS} ... ok")),
        "the runner's output is streamed: {text}"
    );
    let last = text.lines().last().unwrap();
    assert!(last.contains(" passed, 0 failed, 1 skipped"), "{last}");
    let ids = ctx.run_ids();
    assert_eq!(ids.len(), 1);
    let dir = ctx.home.path().join("data/runs").join(&ids[0]);
    for file in [
        "run.json",
        "results.json",
        "stream.subunit",
        "manifest.json",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    assert!(
        !dir.join("env").exists(),
        "the per-run environment is removed"
    );
    assert!(
        crate::common::tree(&ctx.home.path().join("data/envs")).is_empty(),
        "nothing registered"
    );
    // results shows it again; JUnit is readable by a real parser.
    let shown = stdout(&ctx.cmd().args(["results"]).output().unwrap());
    assert!(
        shown.contains(&format!("success    {LIST_GROUPS}")),
        "{shown}"
    );
    let junit = ctx.work.path().join("junit.xml");
    ctx.cmd()
        .args(["results", "last", "--junit"])
        .arg(&junit)
        .assert()
        .success();
    let parsed = Command::new("python3")
        .args(["-c", "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); s = r if r.tag == 'testsuite' else r.find('testsuite'); print(s.get('tests'), s.get('failures'), s.get('skipped'))"])
        .arg(&junit)
        .output()
        .unwrap();
    let counts = stdout(&parsed);
    assert!(
        counts.trim().ends_with("0 1"),
        "{counts}{}",
        stderr(&parsed)
    );
}

#[test]
fn a_filter_selects_tests_and_list_lists_them() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", LIST_GROUPS])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .last()
            .unwrap()
            .contains("1 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "--list", "valet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("valet.")).collect();
    assert!(listed.contains(&LIST_GROUPS), "{listed:?}");
    assert!(listed.len() >= 4, "{listed:?}");
    assert_eq!(ctx.run_ids().len(), 1, "--list records no run");
}

#[test]
fn a_failing_test_fails_the_run_and_diff_names_it() {
    let ctx = TestContext::new();
    let alone = ctx
        .cmd()
        .args(["run", "--def", "demo"])
        .args(fixture_plugin_args(&["state-victim"]))
        .arg("victim")
        .output()
        .unwrap();
    assert_eq!(
        alone.status.code(),
        Some(0),
        "{}{}",
        stdout(&alone),
        stderr(&alone)
    );
    let both = ctx
        .cmd()
        .args(["run", "--def", "demo"])
        .args(fixture_plugin_args(&["state-mutator", "state-victim"]))
        .arg("victim")
        .output()
        .unwrap();
    assert_eq!(
        both.status.code(),
        Some(1),
        "the runner's exit code: {}{}",
        stdout(&both),
        stderr(&both)
    );
    assert!(stdout(&both).contains("Failed:"), "{}", stdout(&both));
    let ids = ctx.run_ids();
    let out = ctx.cmd().args(["diff", &ids[0], &ids[1]]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("success") && text.contains("fail") && text.contains("victim"),
        "{text}"
    );
}

#[test]
fn a_per_run_environment_has_only_what_the_run_uses() {
    let ctx = TestContext::new();
    // The runner looks at its own environment while it lives.
    let look = "python -c 'import os, sys; v = os.environ[\"VIRTUAL_ENV\"]; print(\"SEEN=\" + \" \".join(sorted(os.listdir(v))) + \" | \" + \" \".join(sorted(n for n in os.listdir(os.path.join(v, \"bin\")) if n.startswith((\"activate\", \"python\", \"tempest\")))))'";
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "--runner", look])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = stdout(&out);
    let seen = seen.lines().find_map(|l| l.strip_prefix("SEEN=")).unwrap();
    assert_eq!(
        seen,
        "bin lib lib64 pyvenv.cfg tempest-env.json workspace | python python3 python3.11 tempest"
            .replace("3.11", &python_version()),
        "no activation scripts, CACHEDIR.TAG or .gitignore in an environment nobody keeps"
    );
}

#[test]
fn a_runner_that_is_not_there_is_bad_input_and_leaves_nothing() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args([
            "run",
            "--def",
            "demo",
            "--runner",
            "no-such-runner --flag {filter}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: runner `no-such-runner` not found in environment `run-"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    // The per-run environment and its run directory are gone.
    let runs = ctx.home.path().join("data/runs");
    let left: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        std::fs::read_dir(ctx.envs_dir()).unwrap().next().is_none(),
        "no environment is registered"
    );
}

#[test]
fn keep_keeps_the_environment_under_a_name() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "--keep", LIST_GROUPS])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("Kept the environment"))
        .unwrap();
    let name = line.split('`').nth(1).unwrap();
    let path = ctx.cmd().args(["path", name]).output().unwrap();
    let path = stdout(&path).trim().to_string();
    assert!(Path::new(&path).join("workspace/.stestr.conf").is_file());
    // Kept, it is a whole environment: it can be activated.
    for file in ["bin/activate", "bin/activate.fish", "CACHEDIR.TAG"] {
        assert!(Path::new(&path).join(file).is_file(), "{file}");
    }
    // It can be run in again.
    let again = ctx
        .cmd()
        .args(["run", "--env", name, LIST_GROUPS])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn the_runner_gets_a_clean_environment() {
    let ctx = TestContext::new();
    let dump = "python -c 'import json, os, sys; print(\"ENV=\" + json.dumps(dict(os.environ))); print(\"EXE=\" + sys.executable)'";
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = ctx
            .cmd()
            .args(["run", "--def", "demo", "--runner", dump])
            .args(extra)
            .env("PYTHONPATH", "/leak")
            .env("PYTHON", "/usr/bin/python2")
            .env("TEMPEST_CONFIG", "leak.conf")
            .env("TEMPEST_CONFIG_DIR", "/leak")
            .env("FOO_CALLER", "kept")
            .env("PYTHONOPTIMIZE", "2")
            .env("PYTHONWARNINGS", "error")
            .env("PYTHONPLATLIBDIR", "leak")
            .env("PIP_USER", "1")
            .env("PYTHONSTARTUP", "/leak/startup.py")
            .env("PYTHONUSERBASE", "/leak")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let line = text.lines().find_map(|l| l.strip_prefix("ENV=")).unwrap();
        serde_json::from_str(line).unwrap()
    };
    let vars = run(&[]);
    for leaked in [
        "PYTHONPATH",
        "PYTHON",
        "TEMPEST_CONFIG",
        "TEMPEST_CONFIG_DIR",
        "PYTHONOPTIMIZE",
        "PYTHONWARNINGS",
        "PYTHONPLATLIBDIR",
        "PIP_USER",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
    ] {
        assert!(vars.get(leaked).is_none(), "{leaked} leaked");
    }
    let venv = vars["VIRTUAL_ENV"].as_str().unwrap();
    assert!(
        vars["PATH"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{venv}/bin:"))
    );
    assert_eq!(vars["PYTHONNOUSERSITE"], "1");
    assert!(vars["XDG_CACHE_HOME"].as_str().unwrap().starts_with(venv));
    assert_eq!(vars["FOO_CALLER"], "kept");
    let vars = run(&[
        "--set-env",
        "OS_CLOUD=devstack",
        "--pass-env",
        "TEMPEST_CONFIG*",
        "--user-site",
    ]);
    assert_eq!(vars["OS_CLOUD"], "devstack");
    assert_eq!(vars["TEMPEST_CONFIG"], "leak.conf");
    assert!(vars.get("PYTHONNOUSERSITE").is_none());
    let vars = run(&["--isolated-env", "--pass-env", "OS_*"]);
    assert!(
        vars.get("FOO_CALLER").is_none(),
        "--isolated-env passes only what is named"
    );
    assert!(vars.get("HOME").is_some());
}

#[test]
fn signals_are_forwarded_and_the_environment_still_removed() {
    let ctx = TestContext::new();
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let child = as_foreground(
            ctx.std_cmd()
                .args(["run", "--def", "demo", "--runner", "sleep 30"]),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // Wait for the runner to start (its per-run environment exists).
        let deadline = Instant::now() + Duration::from_secs(30);
        let runs_dir = ctx.home.path().join("data/runs");
        loop {
            let started = std::fs::read_dir(&runs_dir)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.path().join("env/workspace/.stestr.conf").exists())
                })
                .unwrap_or(false);
            if started {
                break;
            }
            assert!(Instant::now() < deadline, "the run never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let leftovers: Vec<_> = std::fs::read_dir(&runs_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("env").exists())
            .collect();
        assert!(leftovers.is_empty(), "the per-run environment was removed");
    }
}

/// Signals tempest-env was started ignoring (`nohup`, a shell's background
/// job) stay ignored, by it and by the runner: the run goes on to its end.
#[test]
fn signals_the_caller_ignores_stay_ignored() {
    let ctx = TestContext::new();
    let marker = ctx.work.path().join("started");
    let runner = format!(
        "python -c \"import signal, time; open('{}', 'w').close(); time.sleep(2); \
         print('survived', signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\"",
        marker.display()
    );
    let mut cmd = ctx.std_cmd();
    cmd.args(["run", "--def", "demo", "--runner", &runner])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: signal(2) between fork and exec, no allocation.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the runner never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    for signal in [libc::SIGINT, libc::SIGHUP] {
        // SAFETY: kill(2) on the process this test spawned.
        unsafe { libc::kill(child.id() as i32, signal) };
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("survived True"), "{}", stdout(&out));
}

#[test]
fn a_config_file_is_used_as_is() {
    let ctx = TestContext::new();
    let conf = ctx.work.path().join("cloud").join("my-tempest.conf");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(&conf, "[identity]\nuri = http://keystone\n").unwrap();
    let before = crate::common::tree(ctx.work.path());
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "-v", "--config-file"])
        .arg(&conf)
        .args([
            "--runner",
            "echo dir=$TEMPEST_CONFIG_DIR file=$TEMPEST_CONFIG",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "dir={} file=my-tempest.conf",
            conf.parent().unwrap().display()
        )),
        "{}",
        stdout(&out)
    );
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "-v", "--config-file"])
        .arg(&conf)
        .arg(LIST_GROUPS)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--config-file"), "{}", stderr(&out));
    assert_eq!(
        crate::common::tree(ctx.work.path()),
        before,
        "the config file is never modified"
    );
}

#[test]
fn definitions_come_from_the_project_file() {
    let ctx = TestContext::new();
    std::fs::write(
        ctx.work.path().join("tempest-env.toml"),
        format!(
            "[env.mine]\ndescription = \"valet and alpha\"\nplugins = [\"{standin}\", \"{valet}\", \"{alpha}\"]\nrunner = \"tempest\"\nset-env = {{ OS_CLOUD = \"x\" }}\n",
            standin = fixtures().join("tempest-standin").display(),
            valet = fixtures().join("plugins/valet").display(),
            alpha = fixtures().join("plugins/alpha").display(),
        ),
    )
    .unwrap();
    let defs = stdout(&ctx.cmd().arg("defs").output().unwrap());
    for name in ["all-plugin", "demo", "isolated", "mine"] {
        assert!(defs.contains(name), "{defs}");
    }
    let out = ctx
        .cmd()
        .args(["run", "--def", "mine", "alpha"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).lines().last().unwrap().contains("3 passed"),
        "{}",
        stdout(&out)
    );
    // Unknown keys: the file, the line and the key.
    std::fs::write(
        ctx.work.path().join("tempest-env.toml"),
        "[env.bad]\nrunner = \"tempest\"\nplugin = [\"x\"]\n",
    )
    .unwrap();
    let out = ctx.cmd().args(["run", "--def", "bad"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("tempest-env.toml") && err.contains("line 3") && err.contains("plugin"),
        "{err}"
    );
}

#[test]
fn conflicting_and_unknown_targets_are_refused() {
    let ctx = TestContext::new();
    ctx.create("exists");
    let out = ctx
        .cmd()
        .args(["run", "--env", "exists", "--all-plugin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be combined"));
    let out = ctx.cmd().args(["run", "--def", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no definition named `nope`") && stderr(&out).contains("demo"));
    // An environment without tempest says how to get one.
    let out = ctx.cmd().args(["run", "--env", "exists"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has no tempest"), "{}", stderr(&out));
}

#[test]
fn a_preset_runner_missing_from_the_environment_is_never_taken_from_the_host() {
    let ctx = TestContext::new();
    // A `testr` and a `stestr` on the host PATH that would "pass".
    let host = ctx.work.path().join("host-bin");
    std::fs::create_dir_all(&host).unwrap();
    for tool in ["testr", "stestr"] {
        let path = host.join(tool);
        std::fs::write(&path, "#!/bin/sh\necho host-tool-ran\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        host.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (runner, program, option) in [
        ("testr", "testr", "--plugin testrepository"),
        ("stestr", "stestr", "--plugin stestr"),
    ] {
        for list in [false, true] {
            let mut cmd = ctx.cmd();
            cmd.args(["run", "--def", "demo", "--runner", runner])
                .env("PATH", &path);
            if list {
                cmd.arg("--list");
            }
            let out = cmd.arg("valet").output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{runner}: {err}");
            assert!(!stdout(&out).contains("host-tool-ran"), "{}", stdout(&out));
            let error: Vec<&str> = err
                .lines()
                .skip_while(|l| !l.starts_with("error:"))
                .collect();
            assert_eq!(error.len(), 2, "one error line and a hint: {err}");
            assert!(
                error[0].starts_with(&format!(
                    "error: runner `{program}` ({runner} preset) not found in environment `run-"
                )),
                "{err}"
            );
            assert!(
                error[1].starts_with(&format!("hint: add it with `{option}`")),
                "{err}"
            );
        }
    }
    assert!(ctx.run_ids().is_empty(), "{:?}", ctx.run_ids());
}

#[test]
fn a_custom_template_takes_the_filter_as_one_word_and_refuses_it_quoted() {
    let ctx = TestContext::new();
    let marker = ctx.work.path().join("pwned");
    let evil = format!("x'; touch {}; echo '", marker.display());
    // Unquoted, wherever it stands, the filter is one word of the command.
    let out = ctx
        .cmd()
        .args([
            "run",
            "--def",
            "demo",
            "--runner",
            "python -c 'import sys; print(sys.argv[1:])' --regex={filter} {posargs}",
            &evil,
            "--",
            "a b",
            "{filter}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker.exists(), "the filter ran as shell code");
    let expected = format!(
        "{:?}",
        [
            "--regex=".to_string() + &evil,
            "a b".into(),
            "{filter}".into()
        ]
    );
    let printed = stdout(&out);
    let line = printed.lines().find(|l| l.starts_with('[')).unwrap();
    assert_eq!(
        line.replace('"', "'"),
        expected.replace('"', "'"),
        "{printed}"
    );
    // Quoted by the template, it would end the template's quotes: refused.
    for template in ["echo '{filter}'", "sh -c \"run {filter}\""] {
        let out = ctx
            .cmd()
            .args(["run", "--def", "demo", "--runner", template, &evil])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        // Refused before anything is made: the first and only lines.
        assert!(
            err.starts_with("error: --runner: `{filter}` stands inside quotes"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "{err}");
        assert!(err.contains("hint: "), "{err}");
        assert!(!marker.exists());
    }
}

#[test]
fn run_ids_are_unique_under_concurrency_and_results_shows_the_newest() {
    let ctx = TestContext::new();
    let children: Vec<_> = (0..4)
        .map(|i| {
            ctx.std_cmd()
                .args(["run", "--def", "demo", "--runner", &format!("echo run-{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let ids = ctx.run_ids();
    assert_eq!(ids.len(), 4, "{ids:?}");
    // Two runs in quick succession: `results` shows the second.
    for name in ["first", "second"] {
        ctx.cmd()
            .args(["run", "--def", "demo", "--runner", &format!("echo {name}")])
            .assert()
            .success();
    }
    let out = ctx
        .cmd()
        .args(["results", "--list", "--format", "json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commands: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands.len(), 6);
    assert_eq!(
        &commands[4..],
        ["echo first", "echo second"],
        "oldest first"
    );
    let out = ctx
        .cmd()
        .args(["results", "--format", "json"])
        .output()
        .unwrap();
    // A run without subunit results is still the newest one `results` picks.
    assert!(
        stderr(&out).contains(&format!(
            "run {} recorded no subunit results",
            listed[5]["run"]["id"].as_str().unwrap()
        )),
        "{}",
        stderr(&out)
    );
}

/// A run records what it takes to run it again: the runner as given, its
/// arguments and variables, and the `create` arguments that compose the
/// same environment, which a new `create` accepts and composes identically.
#[test]
fn a_run_records_how_to_replay_it() {
    let ctx = TestContext::new();
    let out = ctx
        .cmd()
        .args(["run", "--def", "demo", "--set-env", "PROBE_A=1"])
        .args(["--pass-env", "LANG*", "--", "--concurrency", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids = ctx.run_ids();
    let dir = ctx.home.path().join("data/runs").join(&ids[0]);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let replay = &run["replay"];
    assert_eq!(replay["posargs"], serde_json::json!(["--concurrency", "1"]));
    assert_eq!(replay["set_env"], serde_json::json!([["PROBE_A", "1"]]));
    assert_eq!(replay["pass_env"], serde_json::json!(["LANG*"]));
    let args: Vec<String> = replay["composition"]
        .as_array()
        .expect("a per-run environment records its composition")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(args.iter().any(|a| a == "--python"), "{args:?}");
    ctx.cmd()
        .args(["create", "again"])
        .args(&args)
        .assert()
        .success();
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let again = crate::common::manifest(&ctx.home.path().join("data/envs/again"));
    assert_eq!(again["layers"], recorded["layers"]);
}
