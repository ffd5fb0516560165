//! The native scanner and `pip check` against the real thing: what the
//! environment's python reports through `sys.path`, importlib.metadata and
//! `pip check` must be what `dist::scan` and `dist::check` compute without
//! running it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempest_env::dist::check::{self, Problem, Unmet};
use tempest_env::dist::entry_points::TEMPEST_GROUP;
use tempest_env::dist::scan::{self, EffectivePath, Origin, PathOptions, ScanResult, SiteDir};

use crate::common::{
    TestContext, build_wheel, fixture_wheel, fixtures, python_version, stderr, stdout,
    visible_plugins,
};

fn site_packages(env: &Path) -> PathBuf {
    env.join(format!("lib/python{}/site-packages", python_version()))
}

/// How the machine's python3 treats hidden `.pth` files.
fn path_options() -> PathOptions<'static> {
    let version = python_lines(
        Path::new("python3"),
        &[],
        "import sys; print(*sys.version_info[:3])",
    );
    let v: Vec<u32> = version[0].split(' ').map(|n| n.parse().unwrap()).collect();
    PathOptions {
        skip_hidden_pth: scan::skips_hidden_pth(v[0], v[1], v[2]),
        ..PathOptions::default()
    }
}

fn native(env: &Path) -> (EffectivePath, ScanResult) {
    let sites = [SiteDir {
        dir: site_packages(env),
        origin: Origin::Env,
    }];
    let path = scan::effective_path_with(&sites, &path_options()).unwrap();
    let result = scan::scan(&path);
    assert!(result.problems.is_empty(), "{:?}", result.problems);
    (path, result)
}

/// Runs `code` with `python`, returning its stdout lines.
fn python_lines(python: &Path, args: &[&str], code: &str) -> Vec<String> {
    let out = Command::new(python)
        .args(args)
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// `sys.path` from the environment's site-packages on, as Python built it.
fn python_sys_path(env: &Path) -> Vec<PathBuf> {
    let site = site_packages(env);
    let lines = python_lines(
        &env.join("bin/python"),
        &[],
        "import sys; print('\\n'.join(sys.path))",
    );
    let paths: Vec<PathBuf> = lines.iter().map(PathBuf::from).collect();
    let start = paths
        .iter()
        .position(|p| *p == site)
        .expect("site-packages on sys.path");
    paths[start..].to_vec()
}

/// `(entry point, distribution)` of the plugin group in importlib.metadata's
/// order.
fn python_plugins(env: &Path) -> Vec<(String, String)> {
    python_lines(
        &env.join("bin/python"),
        &[],
        "import importlib.metadata as m\nfor e in m.entry_points(group='tempest.test_plugins'):\n    print(e.name, e.dist.name)",
    )
    .iter()
    .map(|line| {
        let (ep, dist) = line.split_once(' ').unwrap();
        (ep.to_string(), dist.to_string())
    })
    .collect()
}

fn native_plugins(result: &ScanResult) -> Vec<(String, String)> {
    result
        .entry_points(TEMPEST_GROUP)
        .iter()
        .map(|(ep, dist)| (ep.name.clone(), dist.name.clone()))
        .collect()
}

fn copy_tree(src: &Path, dest: &Path) {
    let options = fs_extra::dir::CopyOptions::new()
        .content_only(true)
        .copy_inside(true);
    fs_extra::dir::copy(src, dest, &options).unwrap();
}

#[test]
fn the_native_scan_sees_what_importlib_sees_in_every_link_mode() {
    let ctx = TestContext::new();
    let editable = ctx.work.path().join("bravo-src");
    copy_tree(&fixtures().join("plugins/bravo"), &editable);
    let wheels: Vec<PathBuf> = [
        "tempest-standin",
        "valet",
        "alpha",
        "dup-entrypoint-a",
        "dup-entrypoint-b",
    ]
    .iter()
    .map(|name| fixture_wheel(name))
    .collect();
    for mode in ["pth", "copy"] {
        let mut cmd = ctx.cmd();
        cmd.args(["create", mode, "--link-mode", mode]);
        for wheel in &wheels {
            cmd.arg("--plugin").arg(wheel);
        }
        cmd.arg("--plugin")
            .arg(&editable)
            .env("PBR_VERSION", "2.0.0")
            .assert()
            .success();
        let env = ctx.env_dir(mode);
        let (path, result) = native(&env);
        // sys.path, entry for entry, from site-packages on.
        let dirs: Vec<PathBuf> = path.entries.iter().map(|e| e.dir.clone()).collect();
        assert_eq!(dirs, python_sys_path(&env), "{mode}");
        if mode == "pth" {
            assert!(path.entries.len() > 5, "{:?}", path.entries);
            assert!(
                path.entries[1..]
                    .iter()
                    .all(|e| e.via_pth.is_some() && e.origin != Origin::Env)
            );
        }
        // The plugins, with the distribution each comes from.
        let mut ours = native_plugins(&result);
        let mut theirs = python_plugins(&env);
        if mode == "pth" {
            // One directory per layer: the order is the path order.
            assert_eq!(ours, theirs, "{mode}");
        }
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{mode}");
        let mut names: Vec<String> = ours.into_iter().map(|(ep, _)| ep).collect();
        names.sort();
        assert_eq!(names, visible_plugins(&env), "{mode}");
        assert_eq!(
            names,
            [
                "alpha_tests",
                "bravo_tests",
                "dupep_tests",
                "dupep_tests",
                "valet_tests"
            ],
            "{mode}"
        );
        let bravo = result.get("bravo-tempest-plugin").unwrap();
        assert_eq!(bravo.version, "2.0.0");
        assert_eq!(bravo.editable_location.as_ref(), Some(&editable));
    }
}

#[test]
fn a_shadowed_distribution_gives_no_entry_points() {
    let ctx = TestContext::new();
    // alpha 1.2.0 in the environment, alpha 9.0 in a layer behind it: only
    // 1.2.0's metadata counts, for importlib.metadata as for the scan.
    ctx.cmd()
        .args(["create", "sh", "--link-mode", "copy", "--plugin"])
        .arg(fixture_wheel("alpha"))
        .assert()
        .success();
    let env = ctx.env_dir("sh");
    let layer = ctx.work.path().join("layer");
    let newer = build_wheel(
        &fixtures().join("plugins/alpha"),
        &ctx.work.path().join("wheels"),
        Some("9.0"),
    );
    crate::common::pip_target(&layer, &[newer, fixture_wheel("valet")]);
    std::fs::write(
        site_packages(&env).join("zz-extra.pth"),
        format!("{}\n", layer.display()),
    )
    .unwrap();
    let (path, result) = native(&env);
    assert_eq!(path.entries.last().unwrap().dir, layer);
    assert_eq!(path.entries.last().unwrap().origin, Origin::Editable);
    let shadowed: Vec<(&str, &str)> = result
        .shadowed()
        .iter()
        .map(|(hidden, winner)| (hidden.version.as_str(), winner.version.as_str()))
        .collect();
    assert_eq!(shadowed, [("9.0", "1.2.0")]);
    let mut ours = native_plugins(&result);
    let mut theirs = python_plugins(&env);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(
        theirs,
        [
            (
                "alpha_tests".to_string(),
                "alpha-tempest-plugin".to_string()
            ),
            ("valet_tests".to_string(), "valet".to_string())
        ]
    );
}

#[test]
fn the_effective_path_is_what_site_addsitedir_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let site = root.join("site");
    let layer = root.join("it's a \\ layer \"quoted\" é");
    let nested = root.join("nested");
    for dir in [
        &site,
        &site.join("rel"),
        &site.join("hidden"),
        &layer,
        &layer.join("inner"),
        &nested,
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let addsitedir = |dir: &Path| {
        format!(
            "import site; site.addsitedir({})\n",
            tempest_env::env::layers::py_literal(&dir.to_string_lossy())
        )
    };
    std::fs::write(
        site.join("_tempest_env.pth"),
        format!(
            "# layers\n{}rel\nnowhere\nimport sys\n{}",
            addsitedir(&layer),
            addsitedir(&root.join("gone"))
        ),
    )
    .unwrap();
    std::fs::write(site.join("a.pth"), "./rel/../rel\n\n   \n../nested\n").unwrap();
    std::fs::write(site.join(".hidden.pth"), "hidden\n").unwrap();
    std::fs::write(
        layer.join("z.pth"),
        format!("inner\n{}", addsitedir(&nested)),
    )
    .unwrap();
    // `../nested` in a.pth is added a second time: the layer's addsitedir
    // added it with a known-paths set of its own.
    let sites = [SiteDir {
        dir: site.clone(),
        origin: Origin::Env,
    }];
    let ours = scan::effective_path_with(&sites, &path_options()).unwrap();
    let python = python_lines(
        Path::new("python3"),
        &["-S", "-I"],
        &format!(
            "import site, sys\nbefore = list(sys.path)\nsite.addsitedir({})\nfor p in sys.path:\n    if p not in before: print(p)",
            tempest_env::env::layers::py_literal(&site.to_string_lossy())
        ),
    );
    assert_eq!(ours.entries.last().unwrap().dir, nested);
    let ours: Vec<String> = ours
        .entries
        .iter()
        .map(|e| e.dir.to_string_lossy().into_owned())
        .collect();
    assert_eq!(ours, python);
}

/// A source tree for the wheel builder.
fn project(dir: &Path, name: &str, version: &str, dependencies: &[&str]) -> PathBuf {
    let root = dir.join(name);
    let package = root.join(name.replace('-', "_"));
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    let deps: Vec<String> = dependencies
        .iter()
        .map(|d| format!("{:?}", d.to_string()))
        .collect();
    std::fs::write(
        root.join("pyproject.toml"),
        format!(
            "[project]\nname = \"{name}\"\nversion = \"{version}\"\ndependencies = [{}]\n",
            deps.join(", ")
        ),
    )
    .unwrap();
    root
}

/// The interpreter's PEP 508 marker environment, as `query.py` reports it.
fn markers(python: &Path) -> BTreeMap<String, String> {
    let code = "import json, os, platform, sys\n\
        impl = sys.implementation\n\
        v = impl.version\n\
        iv = '%d.%d.%d' % (v.major, v.minor, v.micro)\n\
        if v.releaselevel != 'final': iv += v.releaselevel[0] + str(v.serial)\n\
        print(json.dumps({'implementation_name': impl.name, 'implementation_version': iv, \
        'os_name': os.name, 'platform_machine': platform.machine(), \
        'platform_python_implementation': platform.python_implementation(), \
        'platform_release': platform.release(), 'platform_system': platform.system(), \
        'platform_version': platform.version(), 'python_full_version': platform.python_version(), \
        'python_version': '%d.%d' % sys.version_info[:2], 'sys_platform': sys.platform}))";
    let lines = python_lines(python, &[], code);
    serde_json::from_str(&lines[0]).unwrap()
}

/// `pip check`'s verdict lines (as our `Display` writes them).
fn pip_check(python: &Path) -> (BTreeSet<String>, String) {
    let out = Command::new(python)
        .args(["-m", "pip", "check", "--disable-pip-version-check"])
        .output()
        .unwrap();
    let lines: BTreeSet<String> = stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (lines, stderr(&out))
}

#[test]
fn check_gives_the_verdicts_of_pip_check() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    let venv = work.join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let python = venv.join("bin/python");
    let trees = work.join("trees");
    let out = work.join("wheels");
    let wheels: Vec<PathBuf> = [
        project(
            &trees,
            "needsbad",
            "2.0rc1",
            &[
                "nothere>=1",
                "Alpha_Tempest.Plugin>=9",
                "x; python_version < \"3\"",
                "y; python_version >= \"3\"",
                "z; extra == \"test\"",
                "valet",
                "valet>=1",
                "badreq>=0.5",
                "pip>=1",
                "pip<1",
                "prerel>=1",
            ],
        ),
        project(&trees, "prerel", "2.0rc1", &["needsbad>=2", "needsbad>=1"]),
        project(
            &trees,
            "badreq",
            "1.0",
            &["nothere>=1", "this is not valid!", "six>=99"],
        ),
        project(
            &trees,
            "urlreq",
            "0.1",
            &[
                "faraway @ https://example.com/faraway-1.0.tar.gz",
                "tempest @ file:///nowhere ; sys_platform == \"win32\"",
            ],
        ),
    ]
    .iter()
    .map(|tree| build_wheel(tree, &out, None))
    .chain([fixture_wheel("alpha"), fixture_wheel("valet")])
    .collect();
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
        ])
        .args(&wheels)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", stderr(&installed));

    let (pip_lines, pip_stderr) = pip_check(&python);
    let (_, result) = native(&venv);
    // The distributions importlib.metadata finds first, by normalized name.
    let mut visible: Vec<String> = result
        .visible()
        .iter()
        .map(|d| d.normalized_name())
        .collect();
    visible.sort();
    let mut importlib = python_lines(
        &python,
        &[],
        "import importlib.metadata as m, re\nfor d in m.distributions(): print(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower())",
    );
    importlib.sort();
    importlib.dedup();
    assert_eq!(visible, importlib);

    let report = check::check_report(&result, &markers(&python));
    let ours: BTreeSet<String> = report.problems.iter().map(Problem::to_string).collect();
    assert_eq!(ours, pip_lines, "pip check stderr: {pip_stderr}");
    // The cases this test is for, each seen by both.
    let verdict = |dist: &str, name: &str| {
        report
            .problems
            .iter()
            .find(|p| p.dist == dist && p.requirement_name == name)
            .map(|p| p.unmet.clone())
    };
    assert_eq!(verdict("needsbad", "nothere"), Some(Unmet::Missing));
    assert_eq!(
        verdict("needsbad", "alpha-tempest-plugin"),
        Some(Unmet::Conflict {
            installed: "1.2.0".into()
        })
    );
    assert_eq!(verdict("needsbad", "x"), None);
    assert_eq!(verdict("needsbad", "y"), Some(Unmet::Missing));
    assert_eq!(verdict("needsbad", "z"), None);
    assert!(matches!(
        verdict("needsbad", "valet"),
        Some(Unmet::Conflict { .. })
    ));
    assert!(matches!(
        verdict("needsbad", "pip"),
        Some(Unmet::Conflict { .. })
    ));
    // badreq is left out by both, so it reads as missing.
    assert_eq!(verdict("needsbad", "badreq"), Some(Unmet::Missing));
    assert_eq!(verdict("badreq", "nothere"), None);
    assert_eq!(report.unparsable.len(), 1);
    assert_eq!(report.unparsable[0].dist, "badreq");
    assert!(
        pip_stderr.contains("Error parsing requirements for badreq"),
        "{pip_stderr}"
    );
    // Pre-releases satisfy a specifier.
    assert_eq!(verdict("needsbad", "prerel"), None);
    assert!(matches!(
        verdict("prerel", "needsbad"),
        Some(Unmet::Conflict { .. })
    ));
    assert_eq!(verdict("urlreq", "faraway"), Some(Unmet::Missing));
    assert_eq!(verdict("urlreq", "tempest"), None);
    assert_eq!(ours.len(), 8, "{ours:#?}");

    // Once what was missing is there, both agree again.
    let fixed = [
        project(&trees, "nothere", "1.0", &[]),
        project(&trees, "y", "0.1", &[]),
        project(&trees, "faraway", "1.0", &["needsbad"]),
    ];
    let fixed: Vec<PathBuf> = fixed.iter().map(|t| build_wheel(t, &out, None)).collect();
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--no-index", "--no-deps", "-q"])
        .args(&fixed)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", stderr(&installed));
    let (pip_lines, pip_stderr) = pip_check(&python);
    let (_, result) = native(&venv);
    let ours: BTreeSet<String> = check::check(&result, &markers(&python))
        .iter()
        .map(Problem::to_string)
        .collect();
    assert_eq!(ours, pip_lines, "pip check stderr: {pip_stderr}");
    assert_eq!(ours.len(), 5, "{ours:#?}");
}
