//! Reliability: commands SIGKILLed at pseudo-random points leave nothing
//! half-built under a real name and `gc` clears what they left; eight
//! processes at once never corrupt anything; a held lock is waited on with
//! a message and given up on after `TEMPEST_ENV_LOCK_TIMEOUT`; a full disk,
//! a read-only home and read-only system site directories are handled
//! cleanly.
//!
//! The kill loops use a fixed-seed LCG for their delays, so a failure is
//! reproducible: the trial number and delay are in every assertion message.
//! After each kill, no process started from the test's home or work dir may
//! be left a second later: children (installer, runner, and what they
//! started) die with tempest-env, SIGKILL included.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    TestContext, as_foreground, build_wheel, fixture_wheel, fixtures, pip_target, stderr, stdout,
    strings, system_python, tree, visible_plugins,
};

/// A fixed-seed linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Where a trial's SIGKILL lands.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This many milliseconds after spawn.
    Delay(u64),
    /// When the process reports that it stopped at this failpoint.
    Failpoint(&'static str),
}

/// Whom the SIGKILL hits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    /// tempest-env alone: its children (installer, runner) must die with it.
    Process,
    /// tempest-env and every child in its process group.
    Group,
}

#[derive(Debug, Default)]
struct Tally {
    killed: usize,
    finished_first: usize,
    orphans: usize,
}

/// Spawn `tempest-env args`, SIGKILL it at `at`, reap it, and count an
/// orphan if anything started from the test's directories is still running
/// a second later (then end it, so the next trial starts clean).
fn kill_trial(ctx: &TestContext, args: &[String], at: KillAt, victim: Victim, tally: &mut Tally) {
    let mut cmd = ctx.std_cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let KillAt::Failpoint(name) = at {
        cmd.env("TEMPEST_ENV_FAILPOINT", name)
            .stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("tempest-env spawns");
    match at {
        KillAt::Delay(ms) => std::thread::sleep(Duration::from_millis(ms)),
        KillAt::Failpoint(_) => {
            // Ends at the failpoint's line, or at EOF when the command
            // finished without reaching it.
            let reader = BufReader::new(child.stderr.take().unwrap());
            for line in reader.lines() {
                if line.map_or(true, |l| l.starts_with("failpoint ")) {
                    break;
                }
            }
        }
    }
    if child.try_wait().unwrap().is_some() {
        tally.finished_first += 1;
    } else {
        let pid = child.id() as i32;
        let target = if victim == Victim::Group { -pid } else { pid };
        // SAFETY: kill(2) with a pid (or process group) we spawned.
        unsafe { libc::kill(target, libc::SIGKILL) };
        tally.killed += 1;
    }
    let killed = Instant::now();
    child.wait().unwrap();
    // Its children (installer, runner, and what they started) die with it.
    let left = alive_a_second_after(ctx, killed);
    if !left.is_empty() {
        eprintln!("{args:?} ({at:?}, {victim:?}): alive a second after the kill: {left:?}");
        tally.orphans += 1;
    }
}

/// Processes whose working directory is inside the test's home or work dir.
fn strays(ctx: &TestContext) -> Vec<i32> {
    let roots = [ctx.home.path(), ctx.work.path()];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| roots.iter().any(|r| cwd.starts_with(r)))
        })
        .collect()
}

/// Wait (at most 60 s) until no stray is left; whether there was one.
fn wait_for_strays(ctx: &TestContext) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = false;
    while !strays(ctx).is_empty() {
        seen = true;
        assert!(
            Instant::now() < deadline,
            "processes left running: {:?}",
            strays(ctx)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    seen
}

/// Every real name under data/envs is a complete environment; every store
/// entry and base not starting with `.` has its info file; `list` works and
/// shows no per-run environment.
fn assert_consistent(ctx: &TestContext, trial: &str) {
    let home = ctx.home.path();
    for entry in read_dir(&ctx.envs_dir()) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(entry.join("tempest-env.json"))
            .unwrap_or_else(|e| panic!("{trial}: data/envs/{name} has no manifest: {e}"));
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{trial}: data/envs/{name}: manifest does not parse: {e}"));
        assert_eq!(manifest["name"], name.as_str(), "{trial}");
        assert!(
            std::fs::symlink_metadata(entry.join("bin/python")).is_ok(),
            "{trial}: data/envs/{name} has no bin/python"
        );
        assert!(
            !name.starts_with("run-"),
            "{trial}: a per-run environment is registered as {name}"
        );
    }
    for (dir, info) in [("cache/store", "entry.json"), ("cache/bases", "base.json")] {
        for entry in read_dir(&home.join(dir)) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let text = std::fs::read_to_string(entry.join(info))
                .unwrap_or_else(|e| panic!("{trial}: {dir}/{name} has no {info}: {e}"));
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{trial}: {dir}/{name}/{info} does not parse: {e}"));
        }
    }
    let out = ctx
        .cmd()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{trial}: list: {}", stderr(&out));
    assert!(
        !stdout(&out).contains("\"run-"),
        "{trial}: {}",
        stdout(&out)
    );
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Paths under `root` with a `.tmp.` or `.trash.` component.
fn leftovers(root: &Path) -> Vec<PathBuf> {
    tree(root)
        .into_keys()
        .filter(|p| {
            p.components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c.starts_with(".tmp.") || c.starts_with(".trash.")
            })
        })
        .collect()
}

/// `gc`, then no temporary or trash sibling is left where `gc` looks for
/// them: the top level of data/envs, cache/store and cache/bases. With
/// `strict`, nothing temporary may be left anywhere under the home but in
/// data/runs (see [`gc_removes_what_killed_runs_left`]); without, what is
/// left deeper is only counted, and returned.
fn assert_gc_clears(ctx: &TestContext, strict: bool) -> Vec<PathBuf> {
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "gc: {}", stderr(&out));
    let (top, deeper): (Vec<PathBuf>, Vec<PathBuf>) = leftovers(ctx.home.path())
        .into_iter()
        .filter(|p| !p.starts_with("data/runs"))
        .partition(|p| {
            ["data/envs", "cache/store", "cache/bases"]
                .iter()
                .any(|dir| p.parent() == Some(Path::new(dir)))
        });
    assert!(top.is_empty(), "gc left: {top:?}");
    assert!(!strict || deeper.is_empty(), "gc left: {deeper:?}");
    deeper
}

fn run_ok(ctx: &TestContext, args: &[String], trial: &str) {
    let out = ctx.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{trial}: the next command `{}` failed: {}",
        args.join(" "),
        stderr(&out)
    );
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn report(what: &str, trials: usize, tally: &Tally, started: Instant) {
    eprintln!(
        "{what}: {trials} trials, {} killed, {} finished before the kill, {} left orphans, {:.1}s",
        tally.killed,
        tally.finished_first,
        tally.orphans,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn killed_creates_leave_nothing_half_built() {
    let started = Instant::now();
    let ctx = TestContext::new();
    let valet = path_str(&fixture_wheel("valet"));
    ctx.create("warm");
    let mut rng = Lcg(0x5eed_0001);
    let mut tally = Tally::default();
    const TRIALS: usize = 60;
    for i in 0..TRIALS {
        let mut args = strings(&["create", "k", "--clear"]);
        if i % 2 == 0 {
            args.extend(["--plugin".into(), valet.clone()]);
        }
        let at = if i % 6 == 5 {
            KillAt::Failpoint("create-before-rename")
        } else {
            KillAt::Delay(rng.below(30))
        };
        let trial = format!("create trial {i} ({at:?})");
        kill_trial(&ctx, &args, at, Victim::Process, &mut tally);
        assert_consistent(&ctx, &trial);
        run_ok(&ctx, &args, &trial);
        assert_consistent(&ctx, &trial);
    }
    assert_gc_clears(&ctx, true);
    run_ok(
        &ctx,
        &strings(&["create", "k", "--clear", "--plugin", &valet]),
        "end",
    );
    assert_eq!(visible_plugins(&ctx.env_dir("k")), ["valet_tests"]);
    report("create", TRIALS, &tally, started);
    assert!(tally.killed >= TRIALS / 3, "{tally:?}");
    assert_eq!(tally.orphans, 0, "children outlived tempest-env: {tally:?}");
}

/// Kill `install` into one environment, over and over, with wheels (some
/// never seen before, so the store unpacks them) made visible in `modes`.
fn install_kill_loop(what: &str, modes: &[&str], seed: u64) {
    let started = Instant::now();
    let ctx = TestContext::new();
    ctx.create("i");
    // Fresh versions of alpha keep the store cold for some trials, so kills
    // also land inside a store unpack.
    let fresh_dir = ctx.work.path().join("fresh");
    let mut rng = Lcg(seed);
    let mut tally = Tally::default();
    const TRIALS: usize = 60;
    let names = ["valet", "alpha", "bravo"];
    for i in 0..TRIALS {
        let fresh = i % 4 == 3;
        let wheel = if fresh {
            let out = fresh_dir.join(i.to_string());
            build_wheel(
                &fixtures().join("plugins/alpha"),
                &out,
                Some(&format!("1.{i}")),
            )
        } else {
            fixture_wheel(names[i % names.len()])
        };
        let mode = modes[(i / 3) % modes.len()];
        let args = vec![
            "install".into(),
            "i".into(),
            "--link-mode".into(),
            mode.into(),
            path_str(&wheel),
        ];
        let at = if fresh && i % 8 == 7 {
            KillAt::Failpoint("store-before-rename")
        } else {
            KillAt::Delay(rng.below(25))
        };
        let trial = format!("{what} trial {i} ({mode}, {at:?})");
        kill_trial(&ctx, &args, at, Victim::Process, &mut tally);
        assert_consistent(&ctx, &trial);
        run_ok(&ctx, &args, &trial);
        assert_consistent(&ctx, &trial);
    }
    // Temporaries a kill leaves inside the environment are not gc's to find
    // yet: see gc_removes_temporaries_that_killed_installs_left_inside_environments.
    let deeper = assert_gc_clears(&ctx, false);
    eprintln!(
        "{what}: after gc, {} temporaries are left inside environments and caches: {deeper:?}",
        deeper.len()
    );
    assert_eq!(
        visible_plugins(&ctx.env_dir("i")),
        ["alpha_tests", "bravo_tests", "valet_tests"]
    );
    report(what, TRIALS, &tally, started);
    assert!(tally.killed >= TRIALS / 3, "{tally:?}");
    assert_eq!(tally.orphans, 0, "children outlived tempest-env: {tally:?}");
}

#[test]
fn killed_installs_leave_nothing_half_built() {
    install_kill_loop("install (pth)", &["pth"], 0x5eed_0002);
}

/// What a kill inside `atomic::write_file` leaves (seen in the install
/// loop when a kill lands while the manifest or the `.pth` file is being
/// replaced): a `.tmp.*` file inside the environment. `gc` removes it.
#[test]
fn gc_removes_temporaries_that_killed_installs_left_inside_environments() {
    let ctx = TestContext::new();
    let env = ctx.create("i");
    let site = std::fs::read_dir(env.join("lib"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .join("site-packages");
    std::fs::write(env.join(".tmp.AbC123"), "{ half a manifest").unwrap();
    std::fs::write(site.join(".tmp.XyZ789"), "import site; site.add").unwrap();
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let left = leftovers(ctx.home.path());
    assert!(left.is_empty(), "gc left: {left:?}");
}

#[test]
fn killed_installs_into_site_packages_leave_nothing_half_built() {
    install_kill_loop(
        "install (symlink, copy, hardlink)",
        &["symlink", "copy", "hardlink"],
        0x5eed_0005,
    );
}

/// A find-links directory with the stand-in (as `tempest`) and valet.
fn wheelhouse(ctx: &TestContext) -> String {
    let dir = ctx.work.path().join("wheelhouse");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["tempest-standin", "valet"] {
        let wheel = fixture_wheel(name);
        std::fs::copy(&wheel, dir.join(wheel.file_name().unwrap())).unwrap();
    }
    path_str(&dir)
}

#[test]
fn killed_base_builds_leave_nothing_half_built() {
    let started = Instant::now();
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    ctx.create("warm");
    let mut rng = Lcg(0x5eed_0003);
    let mut tally = Tally::default();
    const TRIALS: usize = 50;
    for i in 0..TRIALS {
        // A requirement of its own per trial: a fresh base hash, so every
        // trial builds (pip takes about a second here).
        let base = |name: &str| {
            vec![
                "create".into(),
                name.to_string(),
                "--base".into(),
                format!("tempest!=0.0.{i}"),
                "--find-links".into(),
                links.clone(),
                "--offline".into(),
                "--installer".into(),
                "pip".into(),
            ]
        };
        // Mostly the whole process group (pip included), early or mid-build;
        // every tenth trial tempest-env alone (pip must die with it).
        let (at, victim) = match i % 10 {
            0 | 5 => (KillAt::Failpoint("base-before-install"), Victim::Process),
            1 => (KillAt::Delay(rng.below(600)), Victim::Process),
            _ => (KillAt::Delay(rng.below(600)), Victim::Group),
        };
        let trial = format!("base trial {i} ({at:?}, {victim:?})");
        kill_trial(&ctx, &base(&format!("b{i}")), at, victim, &mut tally);
        assert_consistent(&ctx, &trial);
        if i % 10 == 9 {
            // The same build, not killed, succeeds.
            run_ok(&ctx, &base(&format!("again{i}")), &trial);
        } else {
            run_ok(
                &ctx,
                &strings(&["create", &format!("b{i}"), "--clear"]),
                &trial,
            );
        }
        run_ok(
            &ctx,
            &strings(&["base", "list", "--format", "json"]),
            &trial,
        );
        assert_consistent(&ctx, &trial);
    }
    assert_gc_clears(&ctx, true);
    report("base", TRIALS, &tally, started);
    assert!(tally.killed >= TRIALS / 2, "{tally:?}");
    assert_eq!(tally.orphans, 0, "children outlived tempest-env: {tally:?}");
}

#[test]
fn killed_runs_leave_no_registered_environment() {
    let started = Instant::now();
    let ctx = TestContext::new();
    let demo = strings(&["run", "--def", "demo"]);
    run_ok(&ctx, &demo, "warm-up");
    let mut rng = Lcg(0x5eed_0004);
    let mut tally = Tally::default();
    const TRIALS: usize = 50;
    for i in 0..TRIALS {
        let at = if i % 10 == 9 {
            KillAt::Failpoint("create-before-rename")
        } else {
            KillAt::Delay(rng.below(180))
        };
        let trial = format!("run trial {i} ({at:?})");
        kill_trial(&ctx, &demo, at, Victim::Process, &mut tally);
        assert_consistent(&ctx, &trial);
        assert!(read_dir(&ctx.envs_dir()).is_empty(), "{trial}");
        if i % 2 == 1 {
            run_ok(&ctx, &demo, &trial);
        }
        run_ok(&ctx, &strings(&["results", "--list"]), &trial);
    }
    assert_gc_clears(&ctx, true);
    let left_in_runs: Vec<PathBuf> = read_dir(&ctx.home.path().join("data/runs"))
        .iter()
        .flat_map(|run| read_dir(run))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name == "env" || name.starts_with(".tmp.")
        })
        .collect();
    report("run", TRIALS, &tally, started);
    eprintln!(
        "run: after gc, {} per-run environments (or their temporaries) are left under data/runs",
        left_in_runs.len()
    );
    assert!(tally.killed >= TRIALS / 3, "{tally:?}");
    assert_eq!(tally.orphans, 0, "children outlived tempest-env: {tally:?}");
}

/// A run killed while its environment is half-built, and one killed while
/// its runner runs: `gc` removes both per-run environments.
#[test]
fn gc_removes_what_killed_runs_left() {
    let ctx = TestContext::new();
    let mut tally = Tally::default();
    kill_trial(
        &ctx,
        &strings(&["run", "--def", "demo"]),
        KillAt::Failpoint("create-before-rename"),
        Victim::Process,
        &mut tally,
    );
    // The runner sleeps; tempest-env is killed once the environment exists.
    let mut child = ctx
        .std_cmd()
        .args(["run", "--def", "demo", "--runner", "sleep 30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = ctx.home.path().join("data/runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read_dir(&runs)
        .iter()
        .any(|r| r.join("env/workspace").exists())
    {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    let killed = Instant::now();
    child.wait().unwrap();
    // `sleep 30` dies with tempest-env.
    let left = alive_a_second_after(&ctx, killed);
    assert!(left.is_empty(), "alive a second after the kill: {left:?}");
    let before: Vec<PathBuf> = read_dir(&runs).iter().flat_map(|r| read_dir(r)).collect();
    assert_eq!(before.len(), 2, "{before:?}");
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let after: Vec<PathBuf> = read_dir(&runs).iter().flat_map(|r| read_dir(r)).collect();
    assert!(after.is_empty(), "gc left per-run environments: {after:?}");
}

#[test]
fn gc_leaves_a_per_run_environment_alone_from_its_creation_on() {
    use std::io::BufRead;
    let ctx = TestContext::new();
    let mut child = ctx
        .std_cmd()
        .args(["run", "--def", "demo", "--runner", "true"])
        .env("TEMPEST_ENV_FAILPOINT", "run-after-create")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("failpoint run-after-create"))));
    // Created, not yet running: the run holds its lock, so gc keeps it.
    let runs = ctx.home.path().join("data/runs");
    let envs = || -> Vec<PathBuf> {
        read_dir(&runs)
            .iter()
            .map(|r| r.join("env"))
            .filter(|e| e.exists())
            .collect()
    };
    assert_eq!(envs().len(), 1);
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(envs().len(), 1, "gc removed a live run's environment");
    child.kill().unwrap();
    child.wait().unwrap();
    ctx.cmd().arg("gc").assert().success();
    assert!(envs().is_empty());
}

/// The summary line of a run: `N passed, N failed, N skipped`.
fn summary(out: &std::process::Output) -> String {
    stdout(out)
        .lines()
        .rev()
        .find(|l| l.starts_with("Run "))
        .map(|l| l.rsplit(": ").next().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn eight_processes_at_once_never_corrupt_anything() {
    let started = Instant::now();
    let ctx = TestContext::new();
    let standin = path_str(&fixture_wheel("tempest-standin"));
    let valet = path_str(&fixture_wheel("valet"));
    ctx.create("shared");
    run_ok(
        &ctx,
        &strings(&["create", "tenv", "--plugin", &standin, "--plugin", &valet]),
        "setup",
    );
    // Every round installs two more plugins into `shared`; none may be lost.
    let plugin_rounds = [
        ["alpha", "bravo"],
        ["pair-a", "pair-b"],
        ["filler-1", "filler-2"],
    ];
    let mut expected: Vec<String> = Vec::new();
    let mut processes = 0;
    for (round, plugins) in plugin_rounds.iter().enumerate() {
        let jobs: Vec<Vec<String>> = vec![
            strings(&["install", "shared", &path_str(&fixture_wheel(plugins[0]))]),
            strings(&[
                "install",
                "shared",
                "--link-mode",
                "copy",
                &path_str(&fixture_wheel(plugins[1])),
            ]),
            strings(&["create", "same", "--clear", "--plugin", &valet]),
            strings(&["create", "same", "--clear", "--plugin", &valet]),
            strings(&["create", &format!("d{round}"), "--plugin", &valet]),
            strings(&["create", &format!("e{round}")]),
            strings(&["run", "--env", "tenv"]),
            strings(&["run", "--def", "demo"]),
        ];
        let children: Vec<_> = jobs
            .iter()
            .map(|args| {
                ctx.std_cmd()
                    .args(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        processes += children.len();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for (args, out) in jobs.iter().zip(&outputs) {
            assert!(
                out.status.success(),
                "round {round}: `{}` failed: {}",
                args.join(" "),
                stderr(out)
            );
        }
        for out in &outputs[6..] {
            assert_eq!(
                summary(out),
                "6 passed, 0 failed, 1 skipped",
                "round {round}"
            );
        }
        let trial = format!("round {round}");
        assert_consistent(&ctx, &trial);
        expected.extend(
            plugins
                .iter()
                .map(|p| format!("{}_tests", p.replace('-', "_"))),
        );
        expected.sort();
        assert_eq!(visible_plugins(&ctx.env_dir("shared")), expected, "{trial}");
        assert_eq!(visible_plugins(&ctx.env_dir("same")), ["valet_tests"]);
    }
    assert_gc_clears(&ctx, true);
    eprintln!(
        "concurrency: {} rounds of 8 processes ({processes} in all), {:.1}s",
        plugin_rounds.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A process stopped at `failpoint` while it holds a lock.
fn hold(ctx: &TestContext, args: &[String], failpoint: &str) -> std::process::Child {
    let mut child = ctx
        .std_cmd()
        .args(args)
        .env("TEMPEST_ENV_FAILPOINT", failpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stderr.take().unwrap());
    let reached = reader
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("failpoint "));
    assert!(reached, "`{}` never reached {failpoint}", args.join(" "));
    child
}

fn release(ctx: &TestContext, mut holder: std::process::Child) {
    // SAFETY: kill(2) on the process group this test spawned.
    unsafe { libc::kill(-(holder.id() as i32), libc::SIGKILL) };
    holder.wait().unwrap();
    wait_for_strays(ctx);
}

/// `args` with a one-second lock timeout waits, says for what, and gives up.
fn assert_gives_up(ctx: &TestContext, args: &[String], what: &str) {
    let clock = Instant::now();
    let out = ctx
        .cmd()
        .args(args)
        .env("TEMPEST_ENV_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    let elapsed = clock.elapsed();
    let err = stderr(&out);
    let shown = format!("`{}`: {err}", args.join(" "));
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        err.contains(&format!(
            "waiting for {what} (locked by another tempest-env process: "
        )),
        "{shown}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{shown}");
    assert!(
        errors[0].contains(&format!("gave up waiting for {what} after 1s")),
        "{shown}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(15),
        "{elapsed:?}"
    );
}

#[test]
fn a_held_lock_is_waited_on_with_a_message_and_given_up_on() {
    let ctx = TestContext::new();
    let valet = path_str(&fixture_wheel("valet"));
    ctx.create("warm");

    // An environment's lock.
    let holder = hold(&ctx, &strings(&["create", "held"]), "create-before-rename");
    assert_gives_up(&ctx, &strings(&["create", "held"]), "environment `held`");
    assert_gives_up(
        &ctx,
        &strings(&["install", "held", &valet]),
        "environment `held`",
    );
    // Without a timeout the waiter goes on once the holder is gone.
    let waiter = ctx
        .std_cmd()
        .args(["create", "held"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    release(&ctx, holder);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("waiting for environment `held`"));

    // A store entry's lock.
    let fresh = build_wheel(
        &fixtures().join("plugins/alpha"),
        &ctx.work.path().join("fresh"),
        Some("9.9"),
    );
    let fresh = path_str(&fresh);
    let holder = hold(
        &ctx,
        &strings(&["create", "s1", "--plugin", &fresh]),
        "store-before-rename",
    );
    let out = ctx
        .cmd()
        .args(["create", "s2", "--plugin", &fresh])
        .env("TEMPEST_ENV_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("waiting for ") && err.contains("(locked by another tempest-env process: "),
        "{err}"
    );
    assert!(
        err.contains("error: ") && err.contains("gave up waiting for "),
        "{err}"
    );
    release(&ctx, holder);

    // A base's lock.
    let links = wheelhouse(&ctx);
    let base = |name: &str| {
        strings(&[
            "create",
            name,
            "--base",
            "tempest",
            "--find-links",
            &links,
            "--offline",
            "--installer",
            "pip",
        ])
    };
    let holder = hold(&ctx, &base("b1"), "base-before-install");
    let out = ctx
        .cmd()
        .args(base("b2"))
        .env("TEMPEST_ENV_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("waiting for base "), "{err}");
    assert!(err.contains("gave up waiting for base "), "{err}");
    release(&ctx, holder);

    // Nothing was left half-built by the waiters or the killed holders.
    assert_consistent(&ctx, "after the lock waits");
    assert_gc_clears(&ctx, true);
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Mount a tmpfs of `size` at `dir`; None (with a message) where that is
    /// not allowed.
    fn tmpfs(dir: &Path, size: &str) -> Option<Self> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipping: cannot mount a tmpfs here ({})",
                stderr(&out).trim()
            );
            return None;
        }
        Some(Self(dir.to_path_buf()))
    }

    /// A read-only bind mount of `dir` onto itself.
    fn read_only_bind(dir: &Path) -> Option<Self> {
        let ok = |args: &[&str]| {
            Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !ok(&["--bind"]) {
            return None;
        }
        let mount = Self(dir.to_path_buf());
        let ro = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        ro.then_some(mount)
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", options])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

/// Fill the filesystem at `dir` up to `free` bytes.
fn fill(dir: &Path, free: u64) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.flush();
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(free)).unwrap();
    filler
}

/// `create --plugin` and/or `install` in `mode` on a 2 MiB tmpfs home filled
/// up to a few sizes: each either succeeds, or fails with exit 1, one
/// `error:` line that says the disk is full, and nothing half-written; then
/// succeeds once the space is back. Returns what went wrong.
fn full_disk(mode: &str, commands: &[&str]) -> Vec<String> {
    let ctx = TestContext::new();
    let Some(_mount) = Mount::tmpfs(ctx.home.path(), "2m") else {
        return Vec::new();
    };
    let valet = path_str(&fixture_wheel("valet"));
    let alpha = path_str(&fixture_wheel("alpha"));
    let warm = ctx.create("warm");
    let mut problems = Vec::new();
    let (mut cases, mut refused) = (0, 0);
    for free in [
        0u64,
        4 << 10,
        16 << 10,
        48 << 10,
        96 << 10,
        160 << 10,
        256 << 10,
    ] {
        let all = [
            strings(&["create", "full", "--plugin", &valet, "--link-mode", mode]),
            strings(&["install", "warm", "--link-mode", mode, &alpha]),
        ];
        for args in all
            .into_iter()
            .filter(|a| commands.contains(&a[0].as_str()))
        {
            cases += 1;
            let before = tree(&warm);
            let filler = fill(ctx.home.path(), free);
            let out = ctx.cmd().args(&args).output().unwrap();
            std::fs::remove_file(&filler).unwrap();
            let trial = format!("`{}` with {free} bytes free", args.join(" "));
            let err = stderr(&out);
            if out.status.success() {
                assert_consistent(&ctx, &trial);
            } else {
                refused += 1;
                let errors = err.lines().filter(|l| l.starts_with("error:")).count();
                if out.status.code() != Some(1)
                    || errors != 1
                    || !err.contains("No space left on device")
                {
                    problems.push(format!(
                        "{trial}: exit {:?}, not 1 with one error line saying \"No space left on device\": {err}",
                        out.status.code()
                    ));
                }
                assert_consistent(&ctx, &trial);
                if ctx.env_dir("full").exists() {
                    problems.push(format!("{trial}: data/envs/full exists"));
                }
                if tree(&warm) != before {
                    problems.push(format!("{trial}: the failed install changed `warm`"));
                }
                let left = leftovers(ctx.home.path());
                if !left.is_empty() {
                    problems.push(format!("{trial}: left behind: {left:?}"));
                }
            }
            // With the space back, the same command succeeds.
            let again = if out.status.success() {
                out
            } else {
                ctx.cmd().args(&args).output().unwrap()
            };
            if !again.status.success() {
                problems.push(format!(
                    "{trial}: with the space back, it fails: {}",
                    stderr(&again)
                ));
                return problems;
            }
            let undo = if args[0] == "create" {
                strings(&["remove", "full"])
            } else {
                strings(&["uninstall", "warm", "alpha-tempest-plugin"])
            };
            run_ok(&ctx, &undo, &trial);
            // An empty store: the next case unpacks into it again.
            run_ok(&ctx, &strings(&["gc"]), &trial);
        }
    }
    eprintln!("full disk ({mode}): {cases} commands, {refused} refused for lack of space");
    if refused < 4 {
        problems.push(format!("the disk was never full enough: {refused} refused"));
    }
    problems
}

#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_nothing_half_written() {
    let problems = full_disk("pth", &["create"]);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_full_disk_during_an_install_leaves_the_environment_as_it_was() {
    let problems = full_disk("pth", &["install"]);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_full_disk_during_a_copy_create_gives_a_clear_error() {
    let problems = full_disk("copy", &["create"]);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_read_only_home_gives_a_clear_error_and_changes_nothing() {
    let ctx = TestContext::new();
    let Some(mount) = Mount::tmpfs(ctx.home.path(), "16m") else {
        return;
    };
    let valet = path_str(&fixture_wheel("valet"));
    let alpha = path_str(&fixture_wheel("alpha"));
    let standin = path_str(&fixture_wheel("tempest-standin"));
    run_ok(
        &ctx,
        &strings(&["create", "e", "--plugin", &standin, "--plugin", &valet]),
        "setup",
    );
    run_ok(&ctx, &strings(&["run", "--def", "demo"]), "setup");
    mount.remount("remount,ro");
    let before = tree(ctx.home.path());
    for args in [
        strings(&["create", "x"]),
        strings(&["create", "e", "--clear"]),
        strings(&["install", "e", &alpha]),
        strings(&["uninstall", "e", "valet"]),
        strings(&["remove", "e"]),
        strings(&["run", "--def", "demo"]),
        strings(&["run", "--env", "e"]),
        strings(&["gc"]),
    ] {
        let out = ctx.cmd().args(&args).output().unwrap();
        let err = stderr(&out);
        let shown = format!("`{}`: {err}", args.join(" "));
        // `gc` with nothing to remove has nothing to write.
        if args[0] == "gc" && out.status.success() {
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{shown}"
        );
        assert!(err.contains("Read-only file system"), "{shown}");
        assert_eq!(tree(ctx.home.path()), before, "{shown}");
    }
    for args in [["list"], ["defs"]] {
        run_ok(&ctx, &strings(&args), "read-only");
    }
    run_ok(&ctx, &strings(&["show", "e"]), "read-only");
    mount.remount("remount,rw");
}

#[test]
fn system_site_directories_are_never_written_to() {
    let ctx = TestContext::new();
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
    let chmod = |mode: &str| {
        let out = Command::new("chmod")
            .args(["-R", mode])
            .arg(&site)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    chmod("a-w");
    // As root, permissions do not stop a write; a read-only mount does.
    let mount = Mount::read_only_bind(&site);
    eprintln!(
        "system site: read-only by chmod{}",
        if mount.is_some() {
            " and a read-only bind mount"
        } else {
            " only"
        }
    );
    let before = tree(&site);
    let py = path_str(&python);
    for args in [
        vec!["create", "all", "--all-plugin", "--python", &py],
        vec![
            "create",
            "ex",
            "--all-plugin",
            "--exclude-plugin",
            "alpha_tests",
            "--python",
            &py,
        ],
        vec![
            "create",
            "only",
            "--all-plugin",
            "--system-plugin",
            "valet_tests",
            "--python",
            &py,
        ],
        vec!["run", "--all-plugin", "--python", &py, "valet"],
        vec!["plugins", "--all-plugin", "--python", &py],
    ] {
        run_ok(&ctx, &strings(&args), "system site");
    }
    assert_eq!(
        visible_plugins(&ctx.env_dir("all")),
        ["alpha_tests", "bravo_tests", "valet_tests"]
    );
    assert_eq!(
        visible_plugins(&ctx.env_dir("ex")),
        ["bravo_tests", "valet_tests"]
    );
    assert_eq!(visible_plugins(&ctx.env_dir("only")), ["valet_tests"]);
    assert_eq!(tree(&site), before, "the system site was written to");
    drop(mount);
    chmod("u+w");
}

/// Wait until `marker` exists (the runner got going), at most 60 s.
fn wait_for_file(marker: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "{what}: never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Processes started from the test's directories that are still alive one
/// second after `since`; then ends them (they were started by this test) so
/// the next trial starts clean.
fn alive_a_second_after(ctx: &TestContext, since: Instant) -> Vec<String> {
    let deadline = since + Duration::from_secs(1);
    loop {
        let left = strays(ctx);
        if left.is_empty() {
            return Vec::new();
        }
        if Instant::now() >= deadline {
            let shown = left
                .iter()
                .map(|pid| {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    format!(
                        "{pid}: {}",
                        String::from_utf8_lossy(&cmdline).replace('\0', " ")
                    )
                })
                .collect();
            for pid in left {
                // SAFETY: kill(2) on a process this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            wait_for_strays(ctx);
            return shown;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A python runner that starts a child, a child in a session of its own,
/// and an orphan (a child that starts a grandchild and exits), then says it
/// is ready and sleeps.
fn spawning_runner(ctx: &TestContext, marker: &Path) -> String {
    let script = ctx.work.path().join("spawner.py");
    std::fs::write(
        &script,
        r#"import subprocess, sys, time
subprocess.Popen(["sleep", "303"])
subprocess.Popen(["sleep", "304"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import subprocess; subprocess.Popen(['sleep', '305'])"]).wait()
open(sys.argv[1], "w").write("ready")
time.sleep(300)
"#,
    )
    .unwrap();
    format!("python {} {}", script.display(), marker.display())
}

#[test]
fn a_killed_run_leaves_no_process_of_its_runner_alive() {
    let ctx = TestContext::new();
    let marker = ctx.work.path().join("started");
    let shell = format!("touch {}; sleep 301; echo done", marker.display());
    let python = spawning_runner(&ctx, &marker);
    let mut problems = Vec::new();
    for (runner, victim) in [
        (&shell, Victim::Process),
        (&python, Victim::Process),
        (&python, Victim::Group),
        (&shell, Victim::Group),
    ] {
        let _ = std::fs::remove_file(&marker);
        let mut child = ctx
            .std_cmd()
            .args(["run", "--def", "demo", "--runner", runner])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        wait_for_file(&marker, runner);
        let pid = child.id() as i32;
        let target = if victim == Victim::Group { -pid } else { pid };
        // SAFETY: kill(2) on the process (group) this test spawned.
        unsafe { libc::kill(target, libc::SIGKILL) };
        let killed = Instant::now();
        child.wait().unwrap();
        let left = alive_a_second_after(&ctx, killed);
        if !left.is_empty() {
            problems.push(format!(
                "`{runner}` ({victim:?}): still alive after 1 s: {left:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    // What the killed runs left is gc's to remove.
    assert_gc_clears(&ctx, true);
}

/// `sanity`, `bisect` and `compare` with probes running in parallel: killed
/// (SIGKILL, also of the whole process group) or interrupted (SIGINT,
/// SIGTERM), no probe's runner is left alive a second later, and `gc`
/// removes the scratch directory they ran in.
#[test]
fn killed_or_interrupted_searches_leave_no_probe_alive_and_nothing_gc_keeps() {
    let ctx = TestContext::new();
    let markers = ctx.work.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    // One python process, marking that it runs: a shell runner (`sh -c
    // 'touch m; sleep'`) may take a SIGINT that arrives between its commands
    // as handled and sleep on, which is the shell's choice, not a leak.
    let runner = format!(
        "python -c \"import os, time; open('{}/%d' % os.getpid(), 'w').close(); time.sleep(306)\"",
        markers.display()
    );
    let plugins: Vec<String> = ["alpha", "bravo", "filler-1"]
        .iter()
        .flat_map(|n| {
            [
                "--plugin".to_string(),
                path_str(&fixtures().join("plugins").join(n)),
            ]
        })
        .collect();
    let mut problems = Vec::new();
    let cases = [
        ("sanity", libc::SIGKILL, Victim::Process),
        ("sanity", libc::SIGKILL, Victim::Group),
        ("sanity", libc::SIGINT, Victim::Process),
        ("sanity", libc::SIGTERM, Victim::Process),
        ("bisect", libc::SIGKILL, Victim::Process),
        ("bisect", libc::SIGINT, Victim::Process),
        ("compare", libc::SIGKILL, Victim::Process),
    ];
    for (command, signal, victim) in cases {
        for marker in read_dir(&markers) {
            std::fs::remove_file(marker).unwrap();
        }
        let mut args = strings(&[command]);
        if command != "sanity" {
            args.push("tempest.api".into());
        }
        args.extend(strings(&["--def", "demo", "--runner", &runner, "-j", "2"]));
        if command == "compare" {
            args.extend(strings(&["--target-plugin", "alpha_tests"]));
        }
        args.extend(plugins.iter().cloned());
        let mut searching = ctx.std_cmd();
        searching
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = as_foreground(&mut searching).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while read_dir(&markers).is_empty() {
            assert!(Instant::now() < deadline, "{command}: no probe started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let case = format!("{command} ({signal}, {victim:?})");
        let pid = child.id() as i32;
        let target = if victim == Victim::Group { -pid } else { pid };
        // SAFETY: kill(2) on the process (group) this test spawned.
        unsafe { libc::kill(target, signal) };
        let sent = Instant::now();
        // Interrupted, it may wind down by itself; give it a while.
        let exit_deadline = sent + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() >= exit_deadline {
                problems.push(format!("{case}: still running 20 s after the signal"));
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let ended = Instant::now();
        let left = alive_a_second_after(&ctx, ended);
        if !left.is_empty() {
            problems.push(format!("{case}: still alive 1 s after it ended: {left:?}"));
        }
        let out = ctx.cmd().arg("gc").output().unwrap();
        assert!(out.status.success(), "{case}: gc: {}", stderr(&out));
        let scratch: Vec<PathBuf> = read_dir(&ctx.home.path().join("data"))
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp.")
            })
            .collect();
        if !scratch.is_empty() {
            problems.push(format!("{case}: gc left {scratch:?}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert_gc_clears(&ctx, true);
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = read_dir(dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// While a run uses a store entry and a base, `gc` keeps both and `base
/// remove` refuses the base, naming the process; the runner, importing from
/// both after they ran, passes. Once the run is over, `gc` removes both and
/// their lock files.
#[test]
fn gc_and_base_remove_leave_what_a_live_run_uses() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let alpha = path_str(&fixture_wheel("alpha"));
    let marker = ctx.work.path().join("started");
    let runner = format!(
        "touch {}; sleep 3; python -c 'import alpha_tempest_plugin.plugin, tempest; print(\"imported\")'",
        marker.display()
    );
    let run = ctx
        .std_cmd()
        .args([
            "run",
            "--base",
            "tempest",
            "--find-links",
            &links,
            "--offline",
            "--installer",
            "pip",
            "--plugin",
            &alpha,
            "--runner",
            &runner,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&marker, "run");
    let store = ctx.home.path().join("cache/store");
    let bases = ctx.home.path().join("cache/bases");
    let (entries, built) = (names_in(&store), names_in(&bases));
    assert_eq!(
        (entries.len(), built.len()),
        (1, 1),
        "{entries:?} {built:?}"
    );
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names_in(&store), entries, "gc removed a store entry in use");
    assert_eq!(names_in(&bases), built, "gc removed a base in use");
    let out = ctx
        .cmd()
        .args(["base", "remove", &built[0]])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is in use by process "), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(names_in(&bases), built, "base remove removed a base in use");
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "the run failed: {}", stderr(&out));
    assert!(stdout(&out).contains("imported"), "{}", stdout(&out));
    // Over: nothing uses them.
    let out = ctx.cmd().arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(names_in(&store).is_empty() && names_in(&bases).is_empty());
    let locks: Vec<String> = names_in(&ctx.home.path().join("cache/locks"))
        .into_iter()
        .chain(names_in(&ctx.home.path().join("data/locks")))
        .collect();
    assert!(locks.is_empty(), "gc left lock files: {locks:?}");
}

/// A plugin with many modules, for deletes that take a while.
fn big_wheel(ctx: &TestContext, files: usize) -> PathBuf {
    let src = ctx.work.path().join("big-src");
    let pkg = src.join("big_tempest_plugin");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        src.join("pyproject.toml"),
        "[project]\nname = \"big-tempest-plugin\"\nversion = \"1.0\"\n\n[project.entry-points.\"tempest.test_plugins\"]\nbig_tests = \"big_tempest_plugin:Plugin\"\n",
    )
    .unwrap();
    std::fs::write(pkg.join("__init__.py"), "class Plugin:\n    pass\n").unwrap();
    for i in 0..files {
        std::fs::write(pkg.join(format!("m{i}.py")), format!("X = {i}\n")).unwrap();
    }
    build_wheel(&src, &ctx.work.path().join("big"), None)
}

/// `gc` killed while it deletes a store entry (at a failpoint just after it
/// moved the entry aside, and at random moments): never a partial entry
/// under its real name; the next `create` unpacks it again and sees the
/// plugin; the next `gc` removes what the killed one left.
#[test]
fn a_killed_gc_never_leaves_a_partial_store_entry() {
    let started = Instant::now();
    let ctx = TestContext::new();
    let big = path_str(&big_wheel(&ctx, 1500));
    let store = ctx.home.path().join("cache/store");
    let mut rng = Lcg(0x5eed_0006);
    let mut tally = Tally::default();
    const TRIALS: usize = 16;
    for i in 0..TRIALS {
        let trial = format!("gc trial {i}");
        run_ok(&ctx, &strings(&["create", "big", "--plugin", &big]), &trial);
        assert_eq!(
            visible_plugins(&ctx.env_dir("big")),
            ["big_tests"],
            "{trial}"
        );
        run_ok(&ctx, &strings(&["remove", "big"]), &trial);
        let at = if i % 4 == 0 {
            KillAt::Failpoint("gc-after-move-aside")
        } else {
            KillAt::Delay(rng.below(60))
        };
        kill_trial(&ctx, &strings(&["gc"]), at, Victim::Process, &mut tally);
        for entry in read_dir(&store) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            assert!(
                entry.join(".tempest-env-seal").is_file(),
                "{trial} ({at:?}): {name} is under its real name without its seal"
            );
            assert_eq!(
                tree(&entry.join("site/big_tempest_plugin"))
                    .keys()
                    .filter(|p| p.extension().is_some_and(|e| e == "py"))
                    .count(),
                1501,
                "{trial} ({at:?}): {name} is partial"
            );
        }
    }
    run_ok(&ctx, &strings(&["create", "big", "--plugin", &big]), "end");
    assert_eq!(visible_plugins(&ctx.env_dir("big")), ["big_tests"]);
    assert_gc_clears(&ctx, true);
    report("gc", TRIALS, &tally, started);
    assert!(tally.killed >= TRIALS / 3, "{tally:?}");
    assert_eq!(tally.orphans, 0, "children outlived tempest-env: {tally:?}");
}

/// `bisect` over plugins installed from wheels (store entries) while `gc`
/// runs over and over: the store entries stay while the search uses them
/// (it leases them), so the verdict is the one without `gc`; once it is
/// over, `gc` removes them.
#[test]
fn gc_running_throughout_a_bisect_changes_nothing() {
    let ctx = TestContext::new();
    let mut set: Vec<&str> = vec![
        "alpha",
        "filler-1",
        "dup-client-a",
        "filler-2",
        "bravo",
        "filler-3",
        "dup-client-b",
        "filler-4",
        "filler-5",
        "filler-6",
    ];
    set.sort_unstable();
    let mut args = strings(&["bisect", "dupclient_a", "--def", "demo"]);
    for name in &set {
        args.extend(["--plugin".to_string(), path_str(&fixture_wheel(name))]);
    }
    args.extend(strings(&[
        "--probe",
        "list",
        "--target-plugin",
        "dupclient-a",
        "--format",
        "json",
        "-j",
        "2",
    ]));
    let done = std::sync::atomic::AtomicBool::new(false);
    let (out, collections) = std::thread::scope(|scope| {
        let collector = scope.spawn(|| {
            let mut n = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let out = ctx.cmd().arg("gc").output().unwrap();
                assert!(out.status.success(), "gc: {}", stderr(&out));
                n += 1;
            }
            n
        });
        let out = ctx.cmd().args(&args).output().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (out, collector.join().unwrap())
    });
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    assert!(collections >= 3, "gc ran only {collections} times");
    assert_eq!(report["finding"], "culprits", "{report:#}");
    assert_eq!(
        report["culprits"],
        serde_json::json!(["dupclient-b-tempest-plugin"]),
        "{report:#}"
    );
    assert_eq!(report["without_culprits"], "pass", "{report:#}");
    let store = ctx.home.path().join("cache/store");
    ctx.cmd().arg("gc").assert().success();
    assert!(names_in(&store).is_empty(), "{:?}", names_in(&store));
}
