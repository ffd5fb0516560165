//! `create`: a PEP 405 environment that Python, pip and uv accept, built
//! atomically under a lock.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    TestContext, manifest, python_version, real_python, require_tool, stdout, tree,
};

#[test]
fn writes_a_pep405_environment() {
    let ctx = TestContext::new();
    let env = ctx.create("e1");
    let version = python_version();
    let cfg = std::fs::read_to_string(env.join("pyvenv.cfg")).unwrap();
    let python = real_python();
    assert!(
        cfg.contains(&format!("home = {}\n", python.parent().unwrap().display())),
        "{cfg}"
    );
    for key in [
        "implementation = CPython",
        "version_info = ",
        "include-system-site-packages = false",
        "prompt = e1",
        "tempest-env = ",
    ] {
        assert!(cfg.contains(key), "pyvenv.cfg lacks {key}:\n{cfg}");
    }
    assert_eq!(std::fs::read_link(env.join("bin/python")).unwrap(), python);
    for alias in ["python3".to_string(), format!("python{version}")] {
        assert_eq!(
            std::fs::canonicalize(env.join("bin").join(alias)).unwrap(),
            python
        );
    }
    assert!(
        env.join(format!("lib/python{version}/site-packages"))
            .is_dir()
    );
    assert_eq!(
        std::fs::read_link(env.join("lib64")).unwrap().to_str(),
        Some("lib")
    );
    for file in ["bin/activate", "bin/activate.fish", ".gitignore"] {
        assert!(env.join(file).is_file(), "{file}");
    }
    assert!(
        std::fs::read_to_string(env.join("CACHEDIR.TAG"))
            .unwrap()
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55")
    );
    let m = manifest(&env);
    assert_eq!(m["format_version"], "1.0.0");
    assert_eq!(m["name"], "e1");
    assert_eq!(m["interpreter"]["executable"], python.to_str().unwrap());
    assert!(m["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(m["distributions"], serde_json::json!([]));
}

#[test]
fn python_sees_the_environment_as_its_prefix() {
    let ctx = TestContext::new();
    let env = ctx.create("e1");
    let out = Command::new(env.join("bin/python"))
        .args([
            "-c",
            "import sys, site; print(sys.prefix); print(sys.base_prefix); print(site.getsitepackages()[0])",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], env.to_str().unwrap());
    let base = Command::new(real_python())
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .unwrap();
    assert_eq!(lines[1], stdout(&base).trim());
    assert!(lines[2].starts_with(env.to_str().unwrap()), "{text}");
}

#[test]
fn activate_puts_the_env_first_and_deactivate_undoes_it() {
    let ctx = TestContext::new();
    let env = ctx.create("act");
    let script = format!(
        r#"PS1='$ '
before="$PATH"
source {env}/bin/activate
echo "first=${{PATH%%:*}}"
echo "venv=$VIRTUAL_ENV"
echo "python=$(command -v python)"
echo "ps1=$PS1"
deactivate
[ "$PATH" = "$before" ] && echo restored
echo "after=${{VIRTUAL_ENV-unset}}"
[ "$(type -t deactivate)" != function ] && echo gone"#,
        env = env.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(&format!("first={}/bin\n", env.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("venv={}\n", env.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("python={}/bin/python\n", env.display())),
        "{text}"
    );
    assert!(text.contains("ps1=(act) $ "), "{text}");
    assert!(text.contains("restored\n"), "{text}");
    assert!(text.contains("after=unset\n"), "{text}");
    assert!(text.contains("gone"), "{text}");
}

#[test]
#[ignore = "needs fish on PATH (.ci/run installs it); run with --ignored"]
fn fish_activation_works() {
    require_tool("fish");
    let ctx = TestContext::new();
    let env = ctx.create("fishy");
    let script = format!(
        "set before $PATH; source {env}/bin/activate.fish; echo first=$PATH[1]; deactivate; test (string join : $PATH) = (string join : $before); and echo restored; functions -q deactivate; or echo gone",
        env = env.display()
    );
    let out = Command::new("fish").args(["-c", &script]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(&format!("first={}/bin", env.display())),
        "{text}"
    );
    assert!(text.contains("restored"), "{text}");
}

#[test]
fn pip_accepts_it_as_a_venv() {
    let ctx = TestContext::new();
    let env = ctx.create("pipped");
    // pip run from outside, pointed at the environment's python.
    let out = Command::new("python3")
        .args(["-m", "pip", "--python"])
        .arg(env.join("bin/python"))
        .args(["list", "--format", "json", "--disable-pip-version-check"])
        .env("PIP_NO_INPUT", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]), "a fresh env holds nothing");
    // And installs into it.
    let out = Command::new("python3")
        .args(["-m", "pip", "--disable-pip-version-check", "--python"])
        .arg(env.join("bin/python"))
        .args(["install", "--no-index", "--no-deps"])
        .arg(crate::common::fixture_wheel("alpha"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    assert_eq!(crate::common::visible_plugins(&env), ["alpha_tests"]);
    let version = python_version();
    assert!(
        env.join(format!(
            "lib/python{version}/site-packages/alpha_tempest_plugin"
        ))
        .is_dir()
    );
}

#[test]
#[ignore = "needs uv on PATH (.ci/run installs it); run with --ignored"]
fn uv_accepts_it_as_a_venv() {
    require_tool("uv");
    let ctx = TestContext::new();
    let env = ctx.create("uvved");
    let out = Command::new("uv")
        .args(["pip", "list", "--format", "json", "--python"])
        .arg(env.join("bin/python"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, serde_json::json!([]));
    let out = Command::new("uv")
        .args(["pip", "install", "--offline", "--no-deps", "--python"])
        .arg(env.join("bin/python"))
        .arg(crate::common::fixture_wheel("valet"))
        .env("UV_CACHE_DIR", ctx.work.path().join("uv-cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    assert_eq!(crate::common::visible_plugins(&env), ["valet_tests"]);
}

#[test]
fn bad_names_are_refused_and_create_nothing() {
    let ctx = TestContext::new();
    let long = "x".repeat(65);
    for name in ["../x", "/abs", "", &long, ".hidden", "a/b", "a b"] {
        let out = ctx.cmd().args(["create", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name:?}");
        let err = crate::common::stderr(&out);
        assert!(err.contains("invalid environment name"), "{name:?}: {err}");
        assert_eq!(err.lines().next().unwrap().matches("error:").count(), 1);
    }
    assert!(tree(ctx.home.path()).is_empty(), "nothing was written");
    assert!(tree(ctx.work.path()).is_empty());
}

#[test]
fn an_existing_env_needs_clear() {
    let ctx = TestContext::new();
    let env = ctx.create("twice");
    let marker = env.join("marker");
    std::fs::write(&marker, "x").unwrap();
    let before = tree(&env);
    let out = ctx.cmd().args(["create", "twice"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("already exists"));
    assert_eq!(tree(&env), before, "a refused create changes nothing");
    ctx.cmd()
        .args(["create", "twice", "--clear"])
        .assert()
        .success();
    assert!(!marker.exists(), "--clear rebuilt the environment");
    assert!(env.join("bin/python").exists());
}

#[test]
fn a_directory_that_is_not_an_env_is_never_deleted() {
    let ctx = TestContext::new();
    let dir = ctx.work.path().join("precious");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("data.txt"), "keep me").unwrap();
    let before = tree(&dir);
    for extra in [&[][..], &["--clear"][..]] {
        let out = ctx
            .cmd()
            .args(["create", "p", "--path"])
            .arg(&dir)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(crate::common::stderr(&out).contains("not a tempest-env environment"));
        assert_eq!(tree(&dir), before);
    }
    let out = ctx.cmd().args(["remove", "p"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(tree(&dir), before);
}

#[test]
fn path_puts_the_env_elsewhere_under_its_name() {
    let ctx = TestContext::new();
    let dir = ctx.work.path().join("elsewhere");
    ctx.cmd()
        .args(["create", "away", "--prompt", "my prompt", "--path"])
        .arg(&dir)
        .assert()
        .success();
    assert!(dir.join("pyvenv.cfg").is_file());
    assert!(
        std::fs::read_to_string(dir.join("pyvenv.cfg"))
            .unwrap()
            .contains("prompt = my prompt")
    );
    let out = ctx.cmd().args(["path", "away"]).output().unwrap();
    assert_eq!(stdout(&out).trim(), dir.to_str().unwrap());
    ctx.cmd().args(["remove", "away"]).assert().success();
    assert!(!dir.exists());
    assert!(std::fs::symlink_metadata(ctx.env_dir("away")).is_err());
}

#[test]
fn concurrent_creates_of_one_name_never_corrupt_it() {
    let ctx = TestContext::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            ctx.std_cmd()
                .args(["create", "race"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let won = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(won, 1, "exactly one create wins");
    for lost in outputs.iter().filter(|o| !o.status.success()) {
        assert_eq!(lost.status.code(), Some(2));
        assert!(crate::common::stderr(lost).contains("already exists"));
    }
    let env = ctx.env_dir("race");
    assert_eq!(manifest(&env)["name"], "race");
    let leftovers: Vec<_> = std::fs::read_dir(ctx.envs_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "race")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_killed_create_leaves_nothing_under_the_real_name() {
    let ctx = TestContext::new();
    let mut child = ctx
        .std_cmd()
        .args(["create", "killed"])
        .env("TEMPEST_ENV_FAILPOINT", "create-before-rename")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the half-built environment exists, then kill.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let temps = std::fs::read_dir(ctx.envs_dir())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp.killed."))
                    .filter(|e| e.path().join("tempest-env.json").exists())
                    .count()
            })
            .unwrap_or(0);
        if temps == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the failpoint was never reached");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!ctx.env_dir("killed").exists());
    let out = ctx
        .cmd()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "[]");
    // The next create succeeds, and gc removes the leftover.
    ctx.cmd().args(["create", "killed"]).assert().success();
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains(".tmp.killed."), "{}", stdout(&out));
    let names: Vec<String> = std::fs::read_dir(ctx.envs_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["killed".to_string()]);
}
