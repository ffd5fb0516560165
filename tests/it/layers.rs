//! Base layers (built once by a real installer, shared read-only), plugin
//! requirement layers, and the system set (whole, or a view hiding plugins).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    TestContext, fixture_wheel, manifest, pip_target, require_tool, stderr, stdout, system_python,
    tree, visible_plugins, wheelhouse,
};

/// A find-links directory with the stand-in (as `tempest`) and fixture
/// plugin wheels.
fn base_args(links: &Path, installer: &str) -> Vec<String> {
    vec![
        "--base".into(),
        "tempest".into(),
        "--find-links".into(),
        links.display().to_string(),
        "--offline".into(),
        "--installer".into(),
        installer.into(),
    ]
}

/// The manifest's layers of one kind (`base`, `plugin`, `system`), in order.
fn layers(env: &Path, kind: &str) -> Vec<serde_json::Value> {
    manifest(env)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .cloned()
        .collect()
}

/// The paths of the environment's system layers.
fn system_paths(env: &Path) -> Vec<String> {
    layers(env, "system")
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect()
}

fn check_base_is_built_once(installer: &str) {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let first = ctx
        .cmd()
        .args(["create", "one", "-v"])
        .args(base_args(&links, installer))
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains(&format!("with {installer}: tempest")),
        "{}",
        stderr(&first)
    );
    let env = ctx.env_dir("one");
    // The base's tempest runs from the environment's own launcher.
    let launcher = std::fs::read_to_string(env.join("bin/tempest")).unwrap();
    assert!(launcher.starts_with(&format!("#!{}/bin/python", env.display())));
    let out = Command::new(env.join("bin/tempest"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let layer = &layers(&env, "base")[0];
    let site = PathBuf::from(layer["path"].as_str().unwrap());
    assert!(site.join("tempest/__init__.py").exists());
    assert!(
        std::fs::metadata(site.join("tempest/__init__.py"))
            .unwrap()
            .permissions()
            .readonly()
    );

    // Same inputs: the installer is not run again.
    let second = ctx
        .cmd()
        .args(["create", "two", "-v"])
        .args(base_args(&links, installer))
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        !stderr(&second).contains("Building base"),
        "{}",
        stderr(&second)
    );
    assert!(
        stderr(&second).contains("reusing base"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        layers(&ctx.env_dir("two"), "base")[0]["hash"],
        layer["hash"]
    );
    let listed: serde_json::Value = serde_json::from_slice(
        &ctx.cmd()
            .args(["base", "list", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["installed"][0], "tempest==47.0.0+standin");

    // gc keeps a base in use and removes it once nothing uses it.
    ctx.cmd().arg("gc").assert().success();
    assert!(site.exists());
    ctx.cmd().args(["remove", "one", "two"]).assert().success();
    ctx.cmd().arg("gc").assert().success();
    assert!(!site.exists());
}

#[test]
fn a_base_is_built_once_with_pip() {
    check_base_is_built_once("pip");
}

#[test]
#[ignore = "needs uv on PATH (.ci/run installs it); run with --ignored"]
fn a_base_is_built_once_with_uv() {
    require_tool("uv");
    check_base_is_built_once("uv");
}

#[test]
fn layer_launchers_are_links_to_one_dispatcher_that_runs_each_entry_point() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let out = ctx
        .cmd()
        .args([
            "create",
            "d",
            "--base",
            "tempest",
            "--base",
            "alpha-tempest-plugin",
        ])
        .args(&base_args(&links, "pip")[2..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let bin = ctx.env_dir("d").join("bin");
    use std::os::unix::fs::MetadataExt;
    let inode = |name: &str| std::fs::metadata(bin.join(name)).unwrap().ino();
    let dispatcher = inode(".tempest-env-launcher");
    assert_eq!(inode("tempest"), dispatcher);
    assert_eq!(inode("alpha-tool"), dispatcher);
    // The name each is started by picks its entry point, run by the
    // environment's python.
    let out = Command::new(bin.join("alpha-tool"))
        .args(["one", "two"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "alpha-tool 1.2.0: one two\n",
        "{}",
        stderr(&out)
    );
    let out = Command::new(bin.join("tempest"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        out.status.success() && stdout(&out).contains("47.0.0+standin"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Started under its own name, it refuses.
    let out = Command::new(bin.join(".tempest-env-launcher"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no console script is named"),
        "{}",
        stderr(&out)
    );
    // The manifest records each launcher with its layer.
    let files: Vec<String> = layers(&ctx.env_dir("d"), "base")[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(files.contains(&"bin/tempest".to_string()), "{files:?}");
    assert!(files.contains(&"bin/alpha-tool".to_string()), "{files:?}");
}

#[test]
fn constraints_are_part_of_the_base_identity() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let constraints = ctx.work.path().join("upper-constraints.txt");
    std::fs::write(&constraints, "tempest===47.0.0+standin\n").unwrap();
    ctx.cmd()
        .args(["create", "c1", "--constraints"])
        .arg(&constraints)
        .args(base_args(&links, "pip"))
        .assert()
        .success();
    std::fs::write(
        &constraints,
        "tempest===47.0.0+standin\nalpha-tempest-plugin===1.2.0\n",
    )
    .unwrap();
    ctx.cmd()
        .args(["create", "c2", "--constraints"])
        .arg(&constraints)
        .args(base_args(&links, "pip"))
        .assert()
        .success();
    let h1 = layers(&ctx.env_dir("c1"), "base")[0]["hash"].clone();
    let h2 = layers(&ctx.env_dir("c2"), "base")[0]["hash"].clone();
    assert_ne!(h1, h2);
    // An impossible constraint fails with the installer's own last lines,
    // and leaves no environment and no base behind.
    std::fs::write(&constraints, "tempest==1.0\n").unwrap();
    let out = ctx
        .cmd()
        .args(["create", "c3", "--constraints"])
        .arg(&constraints)
        .args(base_args(&links, "pip"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pip failed") && stderr(&out).contains("its last lines"),
        "{}",
        stderr(&out)
    );
    assert!(!ctx.env_dir("c3").exists());
    let bases = std::fs::read_dir(ctx.home.path().join("cache/bases"))
        .unwrap()
        .count();
    assert_eq!(bases, 2);
}

/// The wheel, built into `out`, of a plugin that needs tempest (in the
/// base) and alpha (not in it).
fn needy_wheel(ctx: &TestContext, out: &Path) -> PathBuf {
    let src = ctx.work.path().join("needy");
    std::fs::create_dir_all(src.join("needy_plugin")).unwrap();
    std::fs::write(src.join("needy_plugin/__init__.py"), "").unwrap();
    std::fs::write(
        src.join("pyproject.toml"),
        "[project]\nname = \"needy-tempest-plugin\"\nversion = \"0.1\"\ndependencies = [\"tempest\", \"alpha-tempest-plugin\"]\n[project.entry-points.\"tempest.test_plugins\"]\nneedy_tests = \"needy_plugin:Plugin\"\n",
    )
    .unwrap();
    crate::common::build_wheel(&src, out, None)
}

#[test]
fn a_plugin_requirement_adds_only_what_the_base_lacks() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    needy_wheel(&ctx, &links);
    ctx.cmd()
        .args(["create", "req", "--plugin", "needy-tempest-plugin"])
        .args(base_args(&links, "pip"))
        .assert()
        .success();
    let env = ctx.env_dir("req");
    let m = manifest(&env);
    let plugin_layer = layers(&env, "plugin")[0].clone();
    let site = PathBuf::from(plugin_layer["path"].as_str().unwrap());
    let mut names: Vec<String> = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alpha_tempest_plugin-1.2.0.dist-info",
            "needy_tempest_plugin-0.1.dist-info"
        ]
    );
    assert_eq!(visible_plugins(&env), ["alpha_tests", "needy_tests"]);
    assert_eq!(m["distributions"][0]["name"], "needy-tempest-plugin");
    assert_eq!(
        m["distributions"][0]["plugins"],
        serde_json::json!(["needy_tests"])
    );
}

#[test]
fn a_wheel_on_a_base_gets_what_it_needs_resolved_on_top_of_the_base() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let out_dir = ctx.work.path().join("built");
    std::fs::create_dir_all(&out_dir).unwrap();
    let wheel = needy_wheel(&ctx, &out_dir);
    let create = |name: &str, extra: &[&str]| {
        let out = ctx
            .cmd()
            .args(["create", name, "--plugin"])
            .arg(&wheel)
            .args(base_args(&links, "pip"))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let err = create("deps", &[]);
    assert!(!err.contains("not installed"), "{err}");
    assert_eq!(
        visible_plugins(&ctx.env_dir("deps")),
        ["alpha_tests", "needy_tests"]
    );
    assert_eq!(
        layers(&ctx.env_dir("deps"), "plugin").len(),
        2,
        "the wheel's and the deps' layers"
    );
    // --no-deps: the wheel alone, and the unmet requirement said.
    let err = create("nodeps", &["--no-deps"]);
    assert!(
        err.contains("requires alpha-tempest-plugin, which is not installed"),
        "{err}"
    );
    assert_eq!(visible_plugins(&ctx.env_dir("nodeps")), ["needy_tests"]);
}

#[test]
fn install_takes_the_installer_options_for_a_requirement() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    ctx.cmd()
        .args(["create", "inst"])
        .args(base_args(&links, "pip"))
        .assert()
        .success();
    // Offline with only the wheelhouse: without --find-links the installer
    // cannot find the plugin, with it the plugin becomes a layer.
    let without = ctx
        .cmd()
        .args([
            "install",
            "inst",
            "alpha-tempest-plugin",
            "--offline",
            "--installer",
            "pip",
        ])
        .output()
        .unwrap();
    assert!(!without.status.success(), "{}", stdout(&without));
    assert!(visible_plugins(&ctx.env_dir("inst")).is_empty());
    let constraints = ctx.work.path().join("c.txt");
    std::fs::write(&constraints, "alpha-tempest-plugin==1.2.0\n").unwrap();
    let out = ctx
        .cmd()
        .args(["install", "inst", "alpha-tempest-plugin"])
        .args(base_args(&links, "pip")[2..].iter())
        .arg("--constraints")
        .arg(&constraints)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(visible_plugins(&ctx.env_dir("inst")), ["alpha_tests"]);
    assert_eq!(layers(&ctx.env_dir("inst"), "plugin").len(), 1);
    // A constraints file that does not exist is bad input.
    let out = ctx
        .cmd()
        .args([
            "install",
            "inst",
            "bravo-tempest-plugin",
            "--constraints",
            "nope.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_failing_sdist_build_names_the_sdist_and_leaves_nothing_behind() {
    let ctx = TestContext::new();
    let sdist = ctx.work.path().join("broken-1.0.tar.gz");
    std::fs::write(&sdist, b"not a tar file").unwrap();
    let out = ctx
        .cmd()
        .args([
            "create",
            "sd",
            "--installer",
            "pip",
            "--offline",
            "--plugin",
        ])
        .arg(&sdist)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let first = err.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        first.contains("building the sdist") && first.contains("broken-1.0.tar.gz"),
        "{err}"
    );
    assert!(err.contains("its last lines"), "{err}");
    assert!(!ctx.env_dir("sd").exists());
    let built = ctx.home.path().join("cache/built");
    assert_eq!(std::fs::read_dir(&built).map_or(0, |d| d.count()), 0);
}

/// An interpreter whose system site-packages holds the stand-in and three
/// fixture plugins (dist-info, installed by pip) and a Debian-style
/// egg-info plugin.
fn system_with_plugins(ctx: &TestContext) -> (PathBuf, PathBuf) {
    let (python, site) = system_python(&ctx.work.path().join("syspy"));
    pip_target(
        &site,
        &[
            fixture_wheel("tempest-standin"),
            fixture_wheel("valet"),
            fixture_wheel("alpha"),
            fixture_wheel("bravo"),
        ],
    );
    // Debian installs plugins as egg-info with top_level.txt and no
    // installed-files.txt.
    let egg = site.join("eggy_tempest_plugin-2.0.egg-info");
    std::fs::create_dir_all(&egg).unwrap();
    std::fs::write(
        egg.join("PKG-INFO"),
        "Metadata-Version: 1.2\nName: eggy-tempest-plugin\nVersion: 2.0\n",
    )
    .unwrap();
    std::fs::write(egg.join("top_level.txt"), "eggy_plugin\n").unwrap();
    std::fs::write(
        egg.join("entry_points.txt"),
        "[tempest.test_plugins]\neggy_tests = eggy_plugin.plugin:EggyPlugin\n",
    )
    .unwrap();
    std::fs::create_dir_all(site.join("eggy_plugin")).unwrap();
    std::fs::write(site.join("eggy_plugin/__init__.py"), "").unwrap();
    std::fs::write(
        site.join("eggy_plugin/plugin.py"),
        "class EggyPlugin: pass\n",
    )
    .unwrap();
    (python, site)
}

fn make_read_only(dir: &Path) {
    let out = Command::new("chmod")
        .args(["-R", "a-w"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn all_plugin_sees_what_a_system_site_packages_venv_sees() {
    let ctx = TestContext::new();
    let (python, site) = system_with_plugins(&ctx);
    make_read_only(&site);
    let before = tree(&site);
    ctx.cmd()
        .args(["create", "all", "--all-plugin", "--python"])
        .arg(&python)
        .assert()
        .success();
    let ours = visible_plugins(&ctx.env_dir("all"));
    assert_eq!(
        ours,
        ["alpha_tests", "bravo_tests", "eggy_tests", "valet_tests"]
    );
    // The reference: python -m venv --system-site-packages of the same
    // interpreter.
    let venv = ctx.work.path().join("ref-venv");
    let out = Command::new(&python)
        .args(["-m", "venv", "--without-pip", "--system-site-packages"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(visible_plugins(&venv), ours);
    // The system set is stated in the manifest and shown.
    assert_eq!(system_paths(&ctx.env_dir("all")), [site.to_str().unwrap()]);
    let shown = stdout(&ctx.cmd().args(["show", "all"]).output().unwrap());
    assert!(
        shown.contains(&format!("system    {}", site.display())),
        "{shown}"
    );
    // The system's tempest runs from the environment's launcher.
    let out = Command::new(ctx.env_dir("all").join("bin/tempest"))
        .arg("list-plugins")
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("valet_tests"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        tree(&site),
        before,
        "nothing was written into the system site"
    );
}

#[test]
fn all_plugin_from_inside_another_venv_uses_the_base_interpreters_set() {
    let ctx = TestContext::new();
    let (python, site) = system_with_plugins(&ctx);
    let venv = ctx.work.path().join("outer");
    Command::new(&python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .unwrap();
    ctx.cmd()
        .args(["create", "inner", "--all-plugin", "--python"])
        .arg(venv.join("bin/python"))
        .env("VIRTUAL_ENV", &venv)
        .assert()
        .success();
    assert_eq!(
        system_paths(&ctx.env_dir("inner")),
        [site.to_str().unwrap()]
    );
}

#[test]
fn subsets_hide_plugins_completely() {
    let ctx = TestContext::new();
    let (python, site) = system_with_plugins(&ctx);
    make_read_only(&site);
    let before = tree(&site);
    ctx.cmd()
        .args([
            "create",
            "only-valet",
            "--system-plugin",
            "valet_tests",
            "--python",
        ])
        .arg(&python)
        .assert()
        .success();
    let env = ctx.env_dir("only-valet");
    assert_eq!(visible_plugins(&env), ["valet_tests"]);
    // Hidden completely: neither metadata nor modules importable; the
    // stand-in tempest (no plugin) stays visible.
    let probe = |module: &str| {
        Command::new(env.join("bin/python"))
            .args(["-c", &format!("import {module}")])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(probe("tempest.test_discover.plugins"));
    assert!(probe("valet.tests.tempest.services"));
    for hidden in [
        "alpha_tempest_plugin",
        "bravo_tempest_plugin",
        "eggy_plugin",
    ] {
        assert!(!probe(hidden), "{hidden} is importable");
    }
    ctx.cmd()
        .args([
            "create",
            "no-alpha",
            "--exclude-plugin",
            "alpha-tempest-plugin",
            "--exclude-plugin",
            "eggy_tests",
            "--python",
        ])
        .arg(&python)
        .assert()
        .success();
    assert_eq!(
        visible_plugins(&ctx.env_dir("no-alpha")),
        ["bravo_tests", "valet_tests"]
    );
    let out = ctx
        .cmd()
        .args(["create", "typo", "--system-plugin", "nope", "--python"])
        .arg(&python)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a plugin of the system set")
            && stderr(&out).contains("valet_tests"),
        "{}",
        stderr(&out)
    );
    assert!(!ctx.env_dir("typo").exists());
    assert_eq!(
        tree(&site),
        before,
        "nothing was written into the system site"
    );
}
