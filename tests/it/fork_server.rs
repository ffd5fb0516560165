//! Listing probes and `plugins --check` probes served by a fork server give
//! what fresh processes give: every interference fixture, under the offline
//! stand-in, is probed both ways (`--no-fork-server`) and the reports are
//! compared whole. A served child whose interpreter differs from a fresh
//! one's, or that would import a module from elsewhere than the server did,
//! sends its probe (and, for a difference, the rest of the search) to fresh
//! processes, and `-v` says so. A served search that is killed or
//! interrupted leaves no process behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TestContext, as_foreground, fixture_plugin_args, fixtures, stderr, strings};
use crate::served::{both_ways, served_counts};

/// Every fixture plugin, the interference ones among the well-behaved.
const EVERY_FIXTURE: &[&str] = &[
    "alpha",
    "broken-import",
    "filler-1",
    "broken-test-module",
    "bravo",
    "dup-client-a",
    "dup-client-b",
    "filler-2",
    "dup-entrypoint-a",
    "dup-entrypoint-b",
    "dup-opt-a",
    "dup-opt-b",
    "filler-3",
    "flaky-neighbour",
    "leaky",
    "victims",
    "pair-a",
    "pair-b",
    "filler-4",
    "scenarios",
    "state-mutator",
    "state-victim",
    "filler-5",
    "filler-6",
    "slow-load",
];

#[test]
fn sanity_served_and_fresh_agree_on_every_fixture() {
    let ctx = TestContext::new();
    let mut args = strings(&["sanity", "--def", "demo", "-j", "2"]);
    args.extend(fixture_plugin_args(EVERY_FIXTURE));
    let (served, fresh, said) = both_ways(|| ctx.cmd(), &args);
    assert_eq!(served, fresh, "{said}");
    let report = &served.0;
    // The interference shows (so the comparison compares something).
    let verdict = |plugin: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["plugin"] == plugin)
            .map(|r| r["verdict"].clone())
            .unwrap_or_else(|| panic!("{plugin}: {report:#}"))
    };
    assert_eq!(verdict("broken-import-tempest-plugin"), "broken");
    assert_eq!(verdict("dupep-a-tempest-plugin"), "fails-together");
    assert_eq!(report["together"]["loads"], false, "{report:#}");
    let probes = report["probes"].as_u64().unwrap() as usize;
    assert_eq!(served_counts(&said), (probes, 0), "{said}");
}

#[test]
fn listing_bisects_served_and_fresh_agree() {
    let ctx = TestContext::new();
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("test_alpha_arithmetic", &["broken-import"], &[]),
        (
            "test_alpha_arithmetic",
            &["broken-test-module"],
            &["--target-plugin", "alpha-tempest-plugin"],
        ),
        (
            "dupep_a",
            &["dup-entrypoint-a", "dup-entrypoint-b"],
            &["--target-plugin", "dupep-a-tempest-plugin"],
        ),
        (
            "dupclient_a",
            &["dup-client-a", "dup-client-b"],
            &["--target-plugin", "dupclient-a"],
        ),
        ("dupopt_b", &["dup-opt-a", "dup-opt-b"], &[]),
        ("victim", &["pair-a", "state-victim", "pair-b"], &[]),
    ];
    for (filter, extra, options) in cases {
        let mut set = vec!["alpha", "filler-1", "filler-2", "bravo"];
        set.extend(extra.iter());
        let mut args = strings(&["bisect", filter, "--probe", "list", "--def", "demo"]);
        args.extend(fixture_plugin_args(&set));
        args.extend(strings(options));
        let (served, fresh, said) = both_ways(|| ctx.cmd(), &args);
        assert_eq!(served, fresh, "{filter}: {said}");
        let report = &served.0;
        let probes = report["probes"].as_u64().unwrap() + report["target_probes"].as_u64().unwrap();
        assert_eq!(
            served_counts(&said),
            (probes as usize, 0),
            "{filter}: {said}"
        );
    }
}

#[test]
fn plugin_checks_served_and_fresh_agree_on_every_fixture() {
    let ctx = TestContext::new();
    let mut args = strings(&[
        "create",
        "every",
        "--plugin",
        &fixtures().join("tempest-standin").display().to_string(),
    ]);
    args.extend(fixture_plugin_args(EVERY_FIXTURE));
    let out = ctx.cmd().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (served, fresh, said) = both_ways(|| ctx.cmd(), &strings(&["plugins", "every", "--check"]));
    assert_eq!(served, fresh, "{said}");
    let check = &served.0["check"];
    assert_eq!(check["ok"], false, "{check:#}");
    let plugins = check["plugins"].as_array().unwrap().len();
    assert!(plugins >= EVERY_FIXTURE.len(), "{check:#}");
    // Each alone, then all together.
    assert_eq!(served_counts(&said), (plugins + 1, 0), "{said}");
    assert!(said.contains("peak memory"), "{said}");
}

/// A tree of a plugin named `name` with one test, and `extra` files.
fn plugin_tree(dir: &Path, name: &str, extra: &[(&str, String)]) -> PathBuf {
    let tree = dir.join(name);
    let package = format!("{}_tempest_plugin", name.replace('-', "_"));
    let files: Vec<(String, String)> = vec![
        (
            "pyproject.toml".into(),
            format!(
                "[project]\nname = \"{name}-tempest-plugin\"\nversion = \"0.1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\n{package} = \"{package}.plugin:P\"\n"
            ),
        ),
        (format!("{package}/__init__.py"), String::new()),
        (
            format!("{package}/plugin.py"),
            "import os\nfrom tempest.test_discover import plugins\n\nclass P(plugins.TempestPlugin):\n    def load_tests(self):\n        here = os.path.dirname(os.path.abspath(__file__))\n        return (os.path.join(here, 'tests'), os.path.dirname(here))\n    def register_opts(self, conf):\n        pass\n    def get_opt_lists(self):\n        return []\n".into(),
        ),
        (format!("{package}/tests/__init__.py"), String::new()),
        (
            format!("{package}/tests/test_it.py"),
            "from tempest import test\n\nclass T(test.BaseTestCase):\n    def test_it(self):\n        pass\n".into(),
        ),
    ];
    for (path, text) in files
        .into_iter()
        .chain(extra.iter().map(|(p, t)| (p.to_string(), t.clone())))
    {
        let path = tree.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    tree
}

#[test]
fn a_probe_that_would_import_a_module_from_elsewhere_runs_fresh() {
    let ctx = TestContext::new();
    // The plugin's tree puts a directory of its own first on the path, with
    // a `tempest` that is not the stand-in the server imported.
    let shadow = ctx.work.path().join("shadow");
    std::fs::create_dir_all(shadow.join("tempest")).unwrap();
    std::fs::write(
        shadow.join("tempest/__init__.py"),
        "raise ImportError('not the tempest the server imported')\n",
    )
    .unwrap();
    let tree = plugin_tree(
        ctx.work.path(),
        "shadowing",
        &[(
            "shadowing.pth",
            format!("import sys; sys.path.insert(0, {:?})\n", shadow.display()),
        )],
    );
    let mut args = strings(&["sanity", "--def", "demo", "-j", "2"]);
    args.extend(fixture_plugin_args(&["alpha", "bravo"]));
    args.extend(["--plugin".to_string(), tree.display().to_string()]);
    let (served, fresh, said) = both_ways(|| ctx.cmd(), &args);
    assert_eq!(served, fresh, "{said}");
    assert!(
        said.contains("module tempest, imported from ")
            && said.contains(&format!(
                "/tempest-standin, would come from {}",
                shadow.display()
            )),
        "{said}"
    );
    let (served_count, fresh_count) = served_counts(&said);
    // The shadowing plugin alone and all together ran fresh; the rest did not.
    assert_eq!(fresh_count, 2, "{said}");
    assert!(served_count >= 3, "{said}");
    let row = served.0["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["plugin"] == "shadowing-tempest-plugin")
        .unwrap()
        .clone();
    assert_eq!(row["verdict"], "broken", "{row:#}");
}

#[test]
fn a_served_interpreter_that_differs_from_a_fresh_one_ends_serving() {
    let ctx = TestContext::new();
    // A sitecustomize that changes the path: a fresh interpreter runs it at
    // start, a child of the server does not run it again.
    let custom = ctx.work.path().join("custom");
    std::fs::create_dir_all(&custom).unwrap();
    std::fs::write(
        custom.join("sitecustomize.py"),
        "import sys\nsys.path.append('/tempest-env-test/from-sitecustomize')\n",
    )
    .unwrap();
    // The demo, with PYTHONPATH set for the runner.
    std::fs::write(
        ctx.work.path().join("tempest-env.toml"),
        format!(
            "[env.custom]\nplugins = [{:?}, {:?}]\nrunner = \"tempest\"\nset-env = {{ PYTHONPATH = {:?} }}\n",
            fixtures().join("tempest-standin").display().to_string(),
            fixtures().join("plugins/valet").display().to_string(),
            custom.display().to_string(),
        ),
    )
    .unwrap();
    let mut args = strings(&["sanity", "--def", "custom", "-j", "1"]);
    args.extend(fixture_plugin_args(&["alpha", "bravo", "broken-import"]));
    let (served, fresh, said) = both_ways(|| ctx.cmd(), &args);
    assert_eq!(served, fresh, "{said}");
    assert!(
        said.contains("probes run in fresh processes from now on: a served probe's interpreter differs from a fresh one's")
            && said.contains("/tempest-env-test/from-sitecustomize"),
        "{said}"
    );
    let probes = served.0["probes"].as_u64().unwrap() as usize;
    assert_eq!(served_counts(&said), (0, probes), "{said}");
}

/// Processes whose working directory is under the test's home or work dir.
fn strays(ctx: &TestContext) -> Vec<i32> {
    let roots = [ctx.home.path(), ctx.work.path()];
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| roots.iter().any(|r| cwd.starts_with(r)))
        })
        .collect()
}

/// Served children loading the slow plugin (their directory is a probe's
/// workspace).
fn served_children(ctx: &TestContext) -> usize {
    strays(ctx)
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.ends_with("workspace"))
        })
        .count()
}

#[test]
fn a_killed_or_interrupted_served_search_leaves_nothing_behind() {
    for signal in [libc::SIGKILL, libc::SIGINT] {
        let ctx = TestContext::new();
        let mut args = strings(&["sanity", "--def", "demo", "-j", "2"]);
        args.extend(fixture_plugin_args(&["slow-load", "alpha"]));
        // Passed on to every probe's runner.
        let mut searching = ctx.std_cmd();
        searching
            .env("TEMPEST_ENV_FIXTURE_SLOW_LOAD", "300")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = as_foreground(&mut searching).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while served_children(&ctx) < 2 {
            assert!(Instant::now() < deadline, "no served probe started");
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill(2) on the process this test spawned.
        unsafe { libc::kill(child.id() as i32, signal) };
        let signalled = Instant::now();
        let mut child = child;
        // A probe that swallows the SIGINT (unittest's discovery catches
        // everything around an import) is ended a few seconds later.
        while child.try_wait().unwrap().is_none() {
            if signalled.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("signal {signal}: tempest-env still running 20 s after it");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let ended = Instant::now();
        if signal == libc::SIGINT {
            assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        }
        let mut left = strays(&ctx);
        while !left.is_empty() && ended.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(10));
            left = strays(&ctx);
        }
        for pid in &left {
            // SAFETY: kill(2) on a process this test started.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        assert!(
            left.is_empty(),
            "signal {signal}: still alive a second later: {left:?}"
        );
        let gc = ctx.cmd().arg("gc").output().unwrap();
        assert!(gc.status.success(), "{}", stderr(&gc));
        let scratch: Vec<_> = std::fs::read_dir(ctx.home.path().join("data"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
            .collect();
        assert!(scratch.is_empty(), "signal {signal}: {scratch:?}");
    }
}
