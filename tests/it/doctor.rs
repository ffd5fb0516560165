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

/// Run a command doctor suggested, as printed, with this context's home
/// and the tempest-env under test first on PATH.
fn run_suggestion(ctx: &TestContext, command: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_tempest-env"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .env("PATH", path)
        .env("TEMPEST_ENV_HOME", ctx.home.path())
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {}", stderr(&out));
    out
}

fn find<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

fn command_of(finding: &serde_json::Value) -> String {
    finding["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no command in {finding:#}"))
        .to_string()
}

/// The interpreter an environment's manifest names.
fn interpreter_of(ctx: &TestContext, name: &str) -> String {
    crate::common::manifest(&ctx.env_dir(name))["interpreter"]["executable"]
        .as_str()
        .unwrap()
        .to_string()
}

fn system_with(ctx: &TestContext, wheels: &[&str]) -> std::path::PathBuf {
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    let wheels: Vec<_> = wheels.iter().map(|w| fixture_wheel(w)).collect();
    pip_target(&site, &wheels);
    python
}

#[test]
fn system_plugins_left_out_are_one_line_of_information() {
    let ctx = TestContext::new();
    let python = system_with(&ctx, &["valet", "alpha", "bravo"]);
    ctx.cmd()
        .args(["create", "plain", "--python"])
        .arg(&python)
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["plain"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["healthy"], true);
    assert_eq!(ids(&report), ["system-plugins-left-out"]);
    let info = find(&report, "system-plugins-left-out");
    assert_eq!(info["level"], "info");
    let problem = info["problem"].as_str().unwrap();
    assert!(
        problem.starts_with("3 tempest plugin(s) installed system-wide")
            && ["valet_tests", "alpha_tests", "bravo_tests"]
                .iter()
                .all(|p| problem.contains(p)),
        "{problem}"
    );
    // Its suggestion includes them, on the same interpreter.
    let before = interpreter_of(&ctx, "plain");
    run_suggestion(&ctx, &command_of(info));
    assert_eq!(interpreter_of(&ctx, "plain"), before);
    let (code, report) = doctor(&ctx, &["plain"]);
    assert_eq!(code, Some(0));
    assert!(ids(&report).is_empty(), "{report:#}");
}

#[test]
fn a_system_plugin_outside_the_environment_gets_a_fix_that_keeps_its_options() {
    let ctx = TestContext::new();
    let python = system_with(&ctx, &["valet"]);
    let alpha = fixture_wheel("alpha");
    ctx.cmd()
        .args(["create", "plain", "--link-mode", "copy", "--python"])
        .arg(&python)
        .arg("--plugin")
        .arg(&alpha)
        .assert()
        .success();
    let before = interpreter_of(&ctx, "plain");
    let (code, report) = doctor(&ctx, &["plain", "valet_tests"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&report), ["system-plugin-invisible"]);
    let found = find(&report, "system-plugin-invisible");
    let command = command_of(found);
    assert!(
        command.contains(&format!("--python {before}")) && command.contains("--link-mode copy"),
        "{command}"
    );
    // The command that shows it lists it.
    let seen = run_suggestion(&ctx, found["see"].as_str().unwrap());
    assert!(stdout(&seen).contains("valet_tests"), "{}", stdout(&seen));
    run_suggestion(&ctx, &command);
    let (code, report) = doctor(&ctx, &["plain", "valet_tests"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(ids(&report), ["plugin-origin"]);
    // Nothing else changed: the interpreter, alpha, its link mode.
    assert_eq!(interpreter_of(&ctx, "plain"), before);
    assert_eq!(
        crate::common::visible_plugins(&ctx.env_dir("plain")),
        ["alpha_tests", "valet_tests"]
    );
    let (_, report) = doctor(&ctx, &["plain", "alpha_tests"]);
    assert!(
        find(&report, "plugin-origin")["problem"]
            .as_str()
            .unwrap()
            .contains("in the env layer"),
        "{report:#}"
    );
    // A plugin nobody has.
    let (code, report) = doctor(&ctx, &["plain", "nosuch_tests"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&report), ["plugin-not-installed"]);
}

#[test]
fn a_plugin_hidden_by_a_view_is_reported_by_that_option() {
    let ctx = TestContext::new();
    let python = system_with(&ctx, &["valet", "alpha"]);
    let py = python.to_str().unwrap();
    for (name, selection, shown) in [
        (
            "ex",
            ["--exclude-plugin", "valet"],
            "--exclude-plugin valet",
        ),
        (
            "only",
            ["--system-plugin", "alpha_tests"],
            "--system-plugin",
        ),
    ] {
        ctx.cmd()
            .args(["create", name, "--all-plugin", "--python", py])
            .args(selection)
            .assert()
            .success();
        let (code, report) = doctor(&ctx, &[name, "valet_tests"]);
        assert_eq!(code, Some(1));
        assert_eq!(ids(&report), ["plugin-hidden"], "{report:#}");
        let found = find(&report, "plugin-hidden");
        let problem = found["problem"].as_str().unwrap();
        assert!(
            problem.contains("hidden") && problem.contains(shown),
            "{problem}"
        );
        assert!(!problem.contains("none was found"), "{problem}");
        let seen = run_suggestion(&ctx, found["see"].as_str().unwrap());
        assert!(stdout(&seen).contains("valet_tests"), "{}", stdout(&seen));
        run_suggestion(&ctx, &command_of(found));
        let (code, report) = doctor(&ctx, &[name, "valet_tests"]);
        assert_eq!(code, Some(0), "{report:#}");
        assert_eq!(
            crate::common::visible_plugins(&ctx.env_dir(name)),
            ["alpha_tests", "valet_tests"]
        );
        assert_eq!(
            interpreter_of(&ctx, name),
            python.canonicalize().unwrap().to_str().unwrap()
        );
    }
}

#[test]
fn with_a_plugin_doctor_says_where_it_comes_from() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "ok", "--plugin"])
        .arg(fixture_wheel("valet"))
        .arg("--plugin")
        .arg(fixture_wheel("dup-entrypoint-a"))
        .arg("--plugin")
        .arg(fixture_wheel("dup-entrypoint-b"))
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["ok", "valet_tests"]);
    assert_eq!(code, Some(0), "{report:#}");
    let origin = find(&report, "plugin-origin");
    assert_eq!(origin["level"], "info");
    let text = origin["problem"].as_str().unwrap();
    let store = ctx.home.path().join("cache/store");
    for part in [
        "entry point valet_tests = valet",
        " of valet ",
        "in the store layer at",
        store.to_str().unwrap(),
        "tempest loads this copy",
    ] {
        assert!(text.contains(part), "{part} not in {text}");
    }
    // Two distributions with one entry-point name: which one wins.
    let (_, report) = doctor(&ctx, &["ok", "dupep_tests"]);
    let text = find(&report, "plugin-origin")["problem"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("dupep-a-tempest-plugin")
            && text.contains("the tests of the last loaded, dupep-b-tempest-plugin"),
        "{text}"
    );
    // The human form has a line for it.
    let out = ctx
        .cmd()
        .args(["doctor", "ok", "valet_tests"])
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("[plugin-origin] info: valet_tests: entry point valet_tests"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_entry_point_naming_a_missing_module_is_a_finding() {
    let ctx = TestContext::new();
    let tree = ctx.work.path().join("ghost");
    std::fs::create_dir_all(tree.join("ghost_plugin")).unwrap();
    std::fs::write(
        tree.join("pyproject.toml"),
        "[project]\nname = \"ghost-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\nghost_tests = \"ghost_gone.plugin:P\"\n",
    )
    .unwrap();
    std::fs::write(tree.join("ghost_plugin/__init__.py"), "").unwrap();
    let wheel = crate::common::build_wheel(&tree, &ctx.work.path().join("w"), None);
    ctx.cmd()
        .args(["create", "g", "--plugin"])
        .arg(fixture_wheel("valet"))
        .arg("--plugin")
        .arg(&wheel)
        .assert()
        .success();
    let (code, report) = doctor(&ctx, &["g"]);
    assert_eq!(code, Some(1));
    assert_eq!(ids(&report), ["entry-point-missing-module"]);
    let found = find(&report, "entry-point-missing-module");
    assert!(
        found["problem"]
            .as_str()
            .unwrap()
            .contains("ghost_gone.plugin"),
        "{found:#}"
    );
    run_suggestion(&ctx, &command_of(found));
    let (code, report) = doctor(&ctx, &["g"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(
        crate::common::visible_plugins(&ctx.env_dir("g")),
        ["valet_tests"]
    );
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
    let doctor_u = |args: &[&str]| {
        let out = ctx
            .cmd()
            .arg("doctor")
            .args(args)
            .args(["--format", "json"])
            .env("HOME", &home)
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let (code, report) = doctor_u(&["u"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(ids(&report), ["user-plugins-left-out"]);
    let (code, report) = doctor_u(&["u", "alpha_tests"]);
    assert_eq!(code, Some(1));
    let found = find(&report, "user-plugin-invisible");
    let command = command_of(found);
    assert!(command.contains("--user-site"), "{command}");
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .env(
            "PATH",
            format!(
                "{}:{}",
                Path::new(env!("CARGO_BIN_EXE_tempest-env"))
                    .parent()
                    .unwrap()
                    .display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("TEMPEST_ENV_HOME", ctx.home.path())
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, report) = doctor_u(&["u", "alpha_tests"]);
    assert_eq!(code, Some(0), "{report:#}");
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
    // The rebuild it suggests, with the environment's own options, makes
    // every problem go (the changed store entry is checked and made anew).
    let before = crate::common::visible_plugins(&env);
    run_suggestion(&ctx, &command_of(find(&report, "dangling-pth")));
    let (code, after) = doctor(&ctx, &["b"]);
    assert_eq!(code, Some(0), "{after:#}");
    assert_eq!(crate::common::visible_plugins(&env), before);
    std::fs::write(site.join("zz-extra.pth"), "/nonexistent/src/tree\n").unwrap();
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
