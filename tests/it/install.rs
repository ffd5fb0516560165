//! Installing plugin artifacts: wheels to spec through the store, every link
//! mode, editable source trees, replacement and uninstall.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    TestContext, build_wheel, fixture_wheel, fixtures, manifest, stderr, stdout, tree,
    visible_plugins,
};

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        cmd,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn every_link_mode_shows_exactly_the_installed_plugins() {
    let ctx = TestContext::new();
    let valet = fixture_wheel("valet");
    let alpha = fixture_wheel("alpha");
    for mode in ["pth", "symlink", "hardlink", "copy"] {
        let name = format!("m-{mode}");
        ctx.cmd()
            .args(["create", &name, "--link-mode", mode, "--plugin"])
            .arg(&valet)
            .arg("--plugin")
            .arg(&alpha)
            .assert()
            .success();
        let env = ctx.env_dir(&name);
        assert_eq!(
            visible_plugins(&env),
            ["alpha_tests", "valet_tests"],
            "{mode}"
        );
        let m = manifest(&env);
        let modes: Vec<&str> = m["distributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["mode"].as_str().unwrap())
            .collect();
        assert_eq!(modes, [mode, mode]);
        // The console script runs with the environment's python.
        let tool = env.join("bin/alpha-tool");
        let text = std::fs::read_to_string(&tool).unwrap();
        assert!(
            text.starts_with(&format!("#!{}/bin/python\n", env.display())),
            "{text}"
        );
        run_ok(&mut Command::new(&tool));
        // Importing works from wherever the files are.
        run_ok(Command::new(env.join("bin/python")).args([
            "-c",
            "import valet.tests.tempest.services, alpha_tempest_plugin.cli",
        ]));
        let pth = env.join(format!(
            "lib/python{}/site-packages/_tempest_env.pth",
            crate::common::python_version()
        ));
        assert_eq!(pth.exists(), mode == "pth", "{mode}");
    }
}

#[test]
fn pip_sees_and_uninstalls_a_copy_install() {
    let ctx = TestContext::new();
    for mode in ["copy", "hardlink"] {
        let name = format!("pip-{mode}");
        ctx.cmd()
            .args(["create", &name, "--link-mode", mode, "--plugin"])
            .arg(fixture_wheel("alpha"))
            .assert()
            .success();
        let env = ctx.env_dir(&name);
        let pip = |args: &[&str]| {
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "pip", "--disable-pip-version-check", "--python"])
                .arg(env.join("bin/python"))
                .args(args);
            run_ok(&mut cmd)
        };
        let listed = pip(&["list", "--format", "json"]);
        assert!(listed.contains("\"alpha-tempest-plugin\""), "{listed}");
        assert!(listed.contains("\"1.2.0\""), "{listed}");
        let checked = pip(&["show", "-f", "alpha-tempest-plugin"]);
        assert!(
            checked.contains("Installer: tempest-env")
                || checked.contains("alpha_tempest_plugin/__init__.py"),
            "{checked}"
        );
        pip(&["uninstall", "-y", "alpha-tempest-plugin"]);
        let left = visible_plugins(&env);
        assert!(left.is_empty(), "{mode}: {left:?}");
        assert!(
            !env.join("bin/alpha-tool").exists(),
            "pip removed the launcher it found in RECORD"
        );
    }
}

#[test]
fn install_metadata_is_written_to_spec() {
    let ctx = TestContext::new();
    let wheel = fixture_wheel("alpha");
    ctx.cmd()
        .args(["create", "meta", "--link-mode", "copy", "--plugin"])
        .arg(&wheel)
        .assert()
        .success();
    let site = ctx.env_dir("meta").join(format!(
        "lib/python{}/site-packages",
        crate::common::python_version()
    ));
    let dist_info = site.join("alpha_tempest_plugin-1.2.0.dist-info");
    assert_eq!(
        std::fs::read_to_string(dist_info.join("INSTALLER")).unwrap(),
        "tempest-env\n"
    );
    assert!(dist_info.join("REQUESTED").is_file());
    let direct: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dist_info.join("direct_url.json")).unwrap())
            .unwrap();
    assert!(direct["url"].as_str().unwrap().starts_with("file:///"));
    let sha = direct["archive_info"]["hashes"]["sha256"].as_str().unwrap();
    let expected = Command::new("sha256sum").arg(&wheel).output().unwrap();
    assert!(stdout(&expected).starts_with(sha));
    // Every file RECORD lists exists with the hash it records, and every
    // installed file of the distribution is listed.
    let check = r#"
import base64, csv, hashlib, os, sys
site, dist_info = sys.argv[1], sys.argv[2]
listed = set()
with open(os.path.join(site, dist_info, 'RECORD'), newline='') as f:
    for path, digest, size in csv.reader(f):
        full = os.path.normpath(os.path.join(site, path))
        listed.add(full)
        if not digest:
            continue
        algo, value = digest.split('=', 1)
        data = open(full, 'rb').read()
        got = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b'=').decode()
        assert got == value, path
        assert int(size) == len(data), path
for root, _, files in os.walk(os.path.join(site, 'alpha_tempest_plugin')):
    for name in files:
        assert os.path.join(root, name) in listed, name
print('ok', len(listed))
"#;
    let out = run_ok(
        Command::new("python3")
            .args(["-c", check])
            .arg(&site)
            .arg("alpha_tempest_plugin-1.2.0.dist-info"),
    );
    assert!(out.starts_with("ok"), "{out}");
    let record = std::fs::read_to_string(dist_info.join("RECORD")).unwrap();
    assert!(
        record.contains("bin/alpha-tool,sha256="),
        "the launcher is in RECORD: {record}"
    );
}

#[test]
fn the_store_unpacks_each_wheel_once() {
    let ctx = TestContext::new();
    let wheel = fixture_wheel("valet");
    let first = ctx
        .cmd()
        .args(["create", "s1", "-v", "--plugin"])
        .arg(&wheel)
        .output()
        .unwrap();
    assert!(stderr(&first).contains("unpacked"), "{}", stderr(&first));
    let second = ctx
        .cmd()
        .args(["create", "s2", "-v", "--plugin"])
        .arg(&wheel)
        .output()
        .unwrap();
    assert!(second.status.success());
    assert!(
        stderr(&second).contains("reusing store entry"),
        "{}",
        stderr(&second)
    );
    let store = ctx.home.path().join("cache/store");
    let entries: Vec<_> = std::fs::read_dir(&store).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1);
    let entry = entries[0].path();
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("valet-"), "{name}");
    // Read-only, but for the bytecode cache that the first import fills.
    let meta = std::fs::metadata(entry.join("site/valet/__init__.py")).unwrap();
    assert!(meta.permissions().readonly());
    assert!(
        std::fs::metadata(entry.join("site/valet"))
            .unwrap()
            .permissions()
            .readonly()
    );
    let pycache = entry.join("site/valet/__pycache__");
    assert_eq!(
        std::fs::read_dir(&pycache).unwrap().count(),
        0,
        "nothing compiled yet"
    );
    run_ok(
        Command::new(ctx.env_dir("s1").join("bin/python"))
            .args(["-c", "import valet"])
            .env_remove("PYTHONDONTWRITEBYTECODE"),
    );
    let compiled: Vec<String> = std::fs::read_dir(&pycache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        compiled.iter().any(|n| n.starts_with("__init__.cpython-")),
        "{compiled:?}"
    );
    // gc keeps it while an environment uses it, then removes it.
    ctx.cmd().arg("gc").assert().success();
    assert!(entry.exists());
    ctx.cmd().args(["remove", "s1", "s2"]).assert().success();
    ctx.cmd().arg("gc").assert().success();
    assert!(!entry.exists());
}

#[test]
fn compile_bytecode_compiles_eagerly() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "eager", "--compile-bytecode", "--plugin"])
        .arg(fixture_wheel("alpha"))
        .assert()
        .success();
    let store = ctx.home.path().join("cache/store");
    let entry = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let pycache = entry.join("site/alpha_tempest_plugin/__pycache__");
    let compiled = std::fs::read_dir(&pycache).unwrap().count();
    assert!(compiled >= 3, "{compiled} files in {}", pycache.display());
    // RECORD lists the generated bytecode too.
    let record =
        std::fs::read_to_string(entry.join("site/alpha_tempest_plugin-1.2.0.dist-info/RECORD"))
            .unwrap();
    assert!(record.contains("__pycache__/plugin.cpython-"), "{record}");
}

#[test]
fn the_stand_in_tempest_runs_from_its_layer() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "standin", "--plugin"])
        .arg(fixture_wheel("tempest-standin"))
        .arg("--plugin")
        .arg(fixture_wheel("valet"))
        .assert()
        .success();
    let env = ctx.env_dir("standin");
    let out = run_ok(Command::new(env.join("bin/tempest")).arg("list-plugins"));
    assert!(out.contains("valet_tests"), "{out}");
}

#[test]
fn a_long_environment_path_gets_an_exec_shebang() {
    let ctx = TestContext::new();
    let dir = ctx
        .work
        .path()
        .join("a dir with spaces")
        .join("x".repeat(120));
    ctx.cmd()
        .args(["create", "longpath", "--path"])
        .arg(&dir)
        .arg("--plugin")
        .arg(fixture_wheel("alpha"))
        .assert()
        .success();
    let tool = dir.join("bin/alpha-tool");
    assert!(
        std::fs::read_to_string(&tool)
            .unwrap()
            .starts_with("#!/bin/sh\n")
    );
    run_ok(&mut Command::new(&tool));
}

#[test]
fn editable_trees_are_seen_without_reinstalling() {
    let ctx = TestContext::new();
    let tree_dir = ctx.work.path().join("valet-src");
    copy_tree(&fixtures().join("plugins/valet"), &tree_dir);
    ctx.cmd()
        .args(["create", "ed", "--plugin"])
        .arg(&tree_dir)
        .env("PBR_VERSION", "4.5.6")
        .assert()
        .success();
    let env = ctx.env_dir("ed");
    assert_eq!(visible_plugins(&env), ["valet_tests"]);
    let m = manifest(&env);
    assert_eq!(m["distributions"][0]["mode"], "editable");
    assert_eq!(m["distributions"][0]["version"], "4.5.6");
    let site = env.join(format!(
        "lib/python{}/site-packages",
        crate::common::python_version()
    ));
    let direct =
        std::fs::read_to_string(site.join("valet-4.5.6.dist-info/direct_url.json")).unwrap();
    assert!(direct.contains("\"editable\":true"), "{direct}");
    // An edit in the tree is what the next import sees.
    let probe = "import valet.edited_probe as p; print(p.VALUE)";
    std::fs::write(tree_dir.join("valet/edited_probe.py"), "VALUE = 'first'\n").unwrap();
    assert_eq!(
        run_ok(Command::new(env.join("bin/python")).args(["-c", probe])).trim(),
        "first"
    );
    std::fs::write(tree_dir.join("valet/edited_probe.py"), "VALUE = 'second'\n").unwrap();
    assert_eq!(
        run_ok(Command::new(env.join("bin/python")).args(["-B", "-c", probe])).trim(),
        "second"
    );
    // A pyproject tree works too.
    ctx.cmd()
        .args(["install", "ed"])
        .arg(fixtures().join("plugins/alpha"))
        .assert()
        .success();
    assert_eq!(visible_plugins(&env), ["alpha_tests", "valet_tests"]);
}

#[test]
fn unusable_artifacts_are_refused_with_a_reason() {
    let ctx = TestContext::new();
    let no_metadata = ctx.work.path().join("not-a-tree");
    std::fs::create_dir_all(no_metadata.join("pkg")).unwrap();
    std::fs::write(no_metadata.join("pkg/__init__.py"), "").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![no_metadata.display().to_string()],
            "is not a plugin source tree",
        ),
        (
            vec!["not a requirement!".into()],
            "is not a wheel, a source directory or a requirement",
        ),
        (vec!["./missing.whl".into()], "does not exist"),
        (
            vec![fixtures().join("README.md").display().to_string()],
            "neither a wheel",
        ),
    ];
    for (args, expect) in cases {
        let out = ctx
            .cmd()
            .args(["create", "refused", "--plugin"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
        assert!(!ctx.env_dir("refused").exists());
    }
}

#[test]
fn a_newer_version_replaces_the_installed_one_and_uninstall_removes_it() {
    let ctx = TestContext::new();
    let (v1, v2) = bravo_wheels(&ctx);
    let env = ctx.create("upg");
    let before = tree(&env);
    ctx.cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(&v1)
        .assert()
        .success();
    ctx.cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(&v2)
        .assert()
        .success();
    let m = manifest(&env);
    let dists = m["distributions"].as_array().unwrap();
    assert_eq!(dists.len(), 1);
    assert_eq!(dists[0]["version"], "2.0.0");
    let site = env.join(format!(
        "lib/python{}/site-packages",
        crate::common::python_version()
    ));
    let infos: Vec<String> = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    assert_eq!(infos, ["bravo_tempest_plugin-2.0.0.dist-info"]);
    assert_eq!(visible_plugins(&env), ["bravo_tests"]);
    let out = ctx
        .cmd()
        .args(["uninstall", "upg", "not-installed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not installed"));
    ctx.cmd()
        .args(["uninstall", "upg", "bravo-tempest-plugin"])
        .assert()
        .success();
    assert!(visible_plugins(&env).is_empty());
    // Back to the files of a fresh environment (the manifest aside).
    let mut after = tree(&env);
    let mut before = before;
    for t in [&mut after, &mut before] {
        t.remove(Path::new("tempest-env.json"));
        t.retain(|_, (kind, ..)| *kind != 'd');
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
}

/// Wheels of bravo 1.0.0 and 2.0.0.
fn bravo_wheels(ctx: &TestContext) -> (PathBuf, PathBuf) {
    let out_dir = ctx.work.path().join("wheels");
    let build = |version: &str| {
        build_wheel(
            &fixtures().join("plugins/bravo"),
            &out_dir.join(version),
            Some(version),
        )
    };
    (build("1.0.0"), build("2.0.0"))
}

/// An environment with alpha and bravo 1.0.0 copied in, and bravo 2.0.0.
fn with_bravo_one(ctx: &TestContext) -> (PathBuf, PathBuf) {
    let (v1, v2) = bravo_wheels(ctx);
    let env = ctx.create("upg");
    ctx.cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(fixture_wheel("alpha"))
        .arg(&v1)
        .assert()
        .success();
    (env, v2)
}

/// The environment's files with size, mode and modification time, and its
/// directories by name alone (their size and times change when entries
/// move through them).
fn files_of(env: &Path) -> std::collections::BTreeMap<PathBuf, (char, u64, u32, i64, i64)> {
    let mut files = tree(env);
    for (kind, size, _, secs, nanos) in files.values_mut() {
        if *kind == 'd' {
            (*size, *secs, *nanos) = (0, 0, 0);
        }
    }
    files
}

#[test]
fn a_failed_replacement_puts_the_old_version_back_untouched() {
    let ctx = TestContext::new();
    let (env, v2) = with_bravo_one(&ctx);
    let before = files_of(&env);
    // A second artifact that would overwrite alpha's package fails the
    // install after bravo 2.0.0 has replaced 1.0.0's files.
    let intruder = ctx.work.path().join("intruder");
    std::fs::create_dir_all(intruder.join("alpha_tempest_plugin")).unwrap();
    std::fs::write(
        intruder.join("pyproject.toml"),
        "[project]\nname = \"intruder\"\nversion = \"0.1\"\n",
    )
    .unwrap();
    std::fs::write(intruder.join("alpha_tempest_plugin/__init__.py"), "").unwrap();
    let intruder = build_wheel(&intruder, &ctx.work.path().join("w3"), None);
    let out = ctx
        .cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(&v2)
        .arg(&intruder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would overwrite"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Replaced bravo-tempest-plugin 1.0.0 with 2.0.0"),
        "the replacement had happened before the failure: {}",
        stderr(&out)
    );
    // Every file of 1.0.0 is back, the same files (times and all).
    assert_eq!(files_of(&env), before);
    let m = manifest(&env);
    let bravo = m["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "bravo-tempest-plugin")
        .unwrap();
    assert_eq!(bravo["version"], "1.0.0");
}

#[test]
fn a_replacement_killed_before_it_commits_is_undone_by_the_next_command() {
    use std::io::BufRead;
    let ctx = TestContext::new();
    let (env, v2) = with_bravo_one(&ctx);
    let before = files_of(&env);
    let mut child = ctx
        .std_cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(&v2)
        .env("TEMPEST_ENV_FAILPOINT", "install-before-commit")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.contains("failpoint install-before-commit"))),
        "the install reached its commit point"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed with 2.0.0's files in place and 1.0.0's set aside.
    assert!(env.join(".tempest-env-replaced").is_dir());
    assert_ne!(files_of(&env), before);
    ctx.cmd().arg("gc").assert().success();
    assert_eq!(files_of(&env), before);
    assert_eq!(visible_plugins(&env), ["alpha_tests", "bravo_tests"]);
    // And the replacement goes through when it is not killed.
    ctx.cmd()
        .args(["install", "upg", "--link-mode", "copy"])
        .arg(&v2)
        .assert()
        .success();
    assert!(!env.join(".tempest-env-replaced").exists());
    let m = manifest(&env);
    assert!(
        m["distributions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "bravo-tempest-plugin" && d["version"] == "2.0.0")
    );
}

#[test]
fn seed_installs_pip_which_lists_the_plugins() {
    let ctx = TestContext::new();
    ctx.cmd()
        .args(["create", "seeded", "--seed", "--plugin"])
        .arg(fixture_wheel("valet"))
        .assert()
        .success();
    let env = ctx.env_dir("seeded");
    let listed = run_ok(Command::new(env.join("bin/pip")).args([
        "list",
        "--format",
        "json",
        "--disable-pip-version-check",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let names: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}=={}",
                r["name"].as_str().unwrap(),
                r["version"].as_str().unwrap()
            )
        })
        .collect();
    assert!(names.iter().any(|n| n.starts_with("pip==")), "{names:?}");
    assert!(names.iter().any(|n| n == "valet==0.0.0"), "{names:?}");
}

#[test]
fn an_incompatible_wheel_names_the_tags() {
    let ctx = TestContext::new();
    let good = fixture_wheel("alpha");
    let bad = ctx
        .work
        .path()
        .join("alpha_tempest_plugin-1.2.0-cp27-cp27mu-linux_x86_64.whl");
    std::fs::copy(&good, &bad).unwrap();
    let env = ctx.create("incompat");
    let before = tree(&env);
    let out = ctx
        .cmd()
        .args(["install", "incompat"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cp27-cp27mu-linux_x86_64") && err.contains("accepts tags such as"),
        "{err}"
    );
    assert_eq!(tree(&env), before);
}

fn copy_tree(src: &Path, dest: &Path) {
    let options = fs_extra::dir::CopyOptions::new()
        .content_only(true)
        .copy_inside(true);
    fs_extra::dir::copy(src, dest, &options).unwrap();
}

#[test]
fn hardlink_falls_back_to_copy_across_filesystems() {
    let shm = Path::new("/dev/shm");
    let same_fs = std::fs::metadata(shm).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.dev() == std::fs::metadata(std::env::temp_dir()).unwrap().dev()
    });
    if !matches!(same_fs, Ok(false)) {
        eprintln!("skipping: /dev/shm is not a separate filesystem here");
        return;
    }
    let ctx = TestContext::new();
    let home = tempfile::TempDir::new_in(shm).unwrap();
    let dir = ctx.work.path().join("on-disk");
    let out = ctx
        .cmd()
        .env("TEMPEST_ENV_HOME", home.path())
        .args(["create", "xfs", "-v", "--link-mode", "hardlink", "--path"])
        .arg(&dir)
        .arg("--plugin")
        .arg(fixture_wheel("alpha"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("across filesystems; copying"),
        "{}",
        stderr(&out)
    );
    assert_eq!(visible_plugins(&dir), ["alpha_tests"]);
}

#[test]
fn concurrent_installs_of_one_wheel_share_one_store_entry() {
    let ctx = TestContext::new();
    let wheel = fixture_wheel("valet");
    let children: Vec<_> = (0..4)
        .map(|i| {
            ctx.std_cmd()
                .args(["create", &format!("c{i}"), "--plugin"])
                .arg(&wheel)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let store = ctx.home.path().join("cache/store");
    let entries: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    for i in 0..4 {
        assert_eq!(
            visible_plugins(&ctx.env_dir(&format!("c{i}"))),
            ["valet_tests"]
        );
    }
}

#[test]
fn a_newer_minor_wheel_version_warns_and_installs() {
    let ctx = TestContext::new();
    let wheel = ctx
        .work
        .path()
        .join("alpha_tempest_plugin-1.2.0-py3-none-any.whl");
    // Rewrite WHEEL as 1.9, keeping RECORD true to it.
    let script = r#"
import base64, csv, hashlib, io, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
zin = zipfile.ZipFile(src)
files = {i.filename: zin.read(i) for i in zin.infolist()}
di = [n for n in files if n.endswith('.dist-info/WHEEL')][0]
files[di] = files[di].replace(b'Wheel-Version: 1.0', b'Wheel-Version: 1.9')
rec = di.rsplit('/', 1)[0] + '/RECORD'
out = io.StringIO()
w = csv.writer(out, lineterminator='\n')
for path, data in files.items():
    if path == rec:
        continue
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    w.writerow([path, 'sha256=' + h, len(data)])
w.writerow([rec, '', ''])
files[rec] = out.getvalue().encode()
with zipfile.ZipFile(dest, 'w') as z:
    for path, data in files.items():
        z.writestr(path, data)
"#;
    run_ok(
        Command::new("python3")
            .args(["-c", script])
            .arg(fixture_wheel("alpha"))
            .arg(&wheel),
    );
    let out = ctx
        .cmd()
        .args(["create", "minor", "--plugin"])
        .arg(&wheel)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning:") && stderr(&out).contains("Wheel-Version 1.9"),
        "{}",
        stderr(&out)
    );
    assert_eq!(visible_plugins(&ctx.env_dir("minor")), ["alpha_tests"]);
}
