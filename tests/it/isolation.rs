//! `sanity`, `bisect` and `compare` over the offline stand-in and the
//! interference fixtures: every kind of interference is found among at
//! least eight plugins, within 2·k·⌈log2 n⌉ + 2 probes.

use serde_json::Value;

use crate::common::{TestContext, as_foreground, fixture_plugin_args, stderr, stdout};

/// Well-behaved plugins that pad every set.
const FILLERS: &[&str] = &[
    "alpha", "filler-1", "filler-2", "bravo", "filler-3", "filler-4", "filler-5", "filler-6",
];

/// The fillers with `extra` spread among them.
fn set_with(extra: &[&str]) -> Vec<&'static str> {
    let mut set: Vec<&'static str> = FILLERS.to_vec();
    for (i, name) in extra.iter().enumerate() {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        set.insert((i * 3 + 1).min(set.len()), name);
    }
    set
}

fn json(ctx: &TestContext, args: &[String], envs: &[(&str, String)]) -> (Value, i32) {
    let mut cmd = ctx.cmd();
    cmd.args(args).args(["--format", "json"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (value, out.status.code().unwrap_or(-1))
}

fn bisect(filter: &str, set: &[&str], extra: &[&str]) -> Value {
    bisect_env(filter, set, extra, &[])
}

fn bisect_env(filter: &str, set: &[&str], extra: &[&str], envs: &[(&str, String)]) -> Value {
    let ctx = TestContext::new();
    let mut args: Vec<String> = vec![
        "bisect".into(),
        filter.into(),
        "--def".into(),
        "demo".into(),
    ];
    args.extend(fixture_plugin_args(set));
    args.extend(extra.iter().map(|s| s.to_string()));
    json(&ctx, &args, envs).0
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Exactly these culprits, within the promised number of probes.
fn assert_found(report: &Value, culprits: &[&str]) {
    assert_eq!(report["finding"], "culprits", "{report:#}");
    assert_eq!(strings(&report["culprits"]), culprits, "{report:#}");
    let n = report["candidates"].as_array().unwrap().len();
    assert!(n >= 8, "at least 8 other plugins: {n}");
    let k = culprits.len();
    let log = (n as f64).log2().ceil() as usize;
    let probes = report["probes"].as_u64().unwrap() as usize;
    // Two more when the plugins the failure named were probed first.
    let guessed = if stages(report).contains(&"suspects".to_string()) {
        2
    } else {
        0
    };
    assert!(
        probes <= 2 * k * log + 2 + guessed,
        "{probes} probes for {k} culprit(s) among {n}: {report:#}"
    );
    assert_eq!(report["without_culprits"], "pass", "{report:#}");
    // No subset is probed twice, and the time of tempest-env's own is told.
    let masks: Vec<&str> = report["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mask"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = masks.iter().collect();
    assert_eq!(
        unique.len(),
        masks.len(),
        "a subset probed twice: {masks:?}"
    );
    assert!(
        report["probe_overhead_ms"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    let fails = report["commands"]["fails"].as_str().unwrap();
    // The target and the culprits, nothing else (the definition brings
    // the stand-in and valet).
    assert_eq!(fails.matches("--plugin ").count(), k + 1, "{fails}");
    assert!(report["probe_overhead_ms"].as_f64().is_some());
}

#[test]
fn sanity_marks_exactly_the_broken_plugins() {
    let ctx = TestContext::new();
    let set = set_with(&[
        "broken-import",
        "broken-test-module",
        "dup-entrypoint-a",
        "dup-entrypoint-b",
    ]);
    let mut args: Vec<String> = vec!["sanity".into(), "--def".into(), "demo".into()];
    args.extend(fixture_plugin_args(&set));
    let (report, code) = json(&ctx, &args, &[]);
    assert_eq!(code, 1, "{report:#}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), set.len() + 1, "valet comes with the definition");
    let broken: Vec<&str> = rows
        .iter()
        .filter(|r| r["verdict"] == "broken")
        .map(|r| r["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(
        broken,
        [
            "broken-import-tempest-plugin",
            "broken-test-module-tempest-plugin"
        ]
    );
    let row = |name: &str| rows.iter().find(|r| r["plugin"] == name).unwrap();
    let import = row("broken-import-tempest-plugin");
    assert_eq!(import["alone"]["exit_code"], 100);
    assert!(
        import["alone"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("PluginLoadError"),
        "{import:#}"
    );
    // The whole set does not load; without the broken ones it does, and
    // the duplicate entry point costs a its test.
    assert_eq!(report["together"]["loads"], false);
    assert_eq!(report["healthy_together"]["loads"], true);
    assert_eq!(row("dupep-a-tempest-plugin")["verdict"], "loses-tests");
    assert_eq!(row("alpha-tempest-plugin")["verdict"], "ok");
    assert_eq!(row("alpha-tempest-plugin")["alone"]["tests"], 3);

    // The human table says the same.
    let out = ctx.cmd().args(&args).args(["-j", "2"]).output().unwrap();
    let text = stdout(&out);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("BROKEN"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        marked,
        [
            "broken-import-tempest-plugin",
            "broken-test-module-tempest-plugin"
        ],
        "{text}"
    );
}

#[test]
fn one_culprit_leaking_state() {
    let set = set_with(&["state-mutator", "state-victim"]);
    let report = bisect("victim", &set, &[]);
    assert_eq!(report["target"], "state-victim-tempest-plugin");
    assert_found(&report, &["state-mutator-tempest-plugin"]);
}

#[test]
fn two_culprits_that_fail_only_together() {
    let set = set_with(&["pair-a", "state-victim", "pair-b"]);
    let report = bisect("victim", &set, &[]);
    assert_found(&report, &["pair-a-tempest-plugin", "pair-b-tempest-plugin"]);
}

#[test]
fn a_flaky_neighbour_is_reported_not_blamed() {
    let counter = tempfile::NamedTempFile::new().unwrap();
    let set = set_with(&["flaky-neighbour", "state-victim", "state-mutator"]);
    let report = bisect_env(
        "victim",
        &set,
        &["--repeat", "2"],
        &[(
            "TEMPEST_ENV_FLAKY_COUNTER",
            counter.path().display().to_string(),
        )],
    );
    assert_eq!(
        strings(&report["culprits"]),
        ["state-mutator-tempest-plugin"]
    );
    assert!(
        !report["flaky"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert!(
        strings(&report["flaky_suspects"]).contains(&"flaky-neighbour-tempest-plugin".into()),
        "{report:#}"
    );
    // Without the culprit the flaky neighbour still bites now and then.
    assert_eq!(report["without_culprits"], "flaky");
    let n = report["candidates"].as_array().unwrap().len();
    let log = (n as f64).log2().ceil() as u64;
    assert!(report["probes"].as_u64().unwrap() <= 2 * log + 2);
}

#[test]
fn a_duplicate_option_breaks_the_plugin_loaded_second() {
    let set = set_with(&["dup-opt-a", "dup-opt-b"]);
    let report = bisect("dupopt_b", &set, &[]);
    assert_eq!(report["target"], "dupopt-b-tempest-plugin");
    assert_found(&report, &["dupopt-a-tempest-plugin"]);
}

fn stages(report: &Value) -> Vec<String> {
    report["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_string())
        .collect()
}

/// A failure whose output names other plugins' code has those probed first,
/// together and left out, in one round. Guilty, the search is over in four
/// probes; innocent (a bystander that names itself in every probe's
/// output), the search goes on among the others only and finds the
/// culprit.
#[test]
fn plugins_a_failure_names_are_probed_first() {
    let set = set_with(&["broken-test-module"]);
    let report = bisect(
        "test_alpha_arithmetic",
        &set,
        &["--probe", "list", "--target-plugin", "alpha-tempest-plugin"],
    );
    assert_found(&report, &["broken-test-module-tempest-plugin"]);
    assert_eq!(
        stages(&report),
        ["alone", "whole-set", "suspects", "without-suspects"],
        "{report:#}"
    );

    let set = set_with(&["chatty", "state-mutator", "state-victim"]);
    let report = bisect("victim", &set, &[]);
    assert_found(&report, &["state-mutator-tempest-plugin"]);
    let trail = report["trail"].as_array().unwrap();
    assert_eq!(
        stages(&report)[..4],
        ["alone", "whole-set", "suspects", "without-suspects"],
        "{report:#}"
    );
    assert_eq!(strings(&trail[2]["plugins"]), ["chatty-tempest-plugin"]);
    assert_eq!(trail[2]["verdict"], "pass", "{report:#}");
    for step in trail[4..].iter().filter(|s| s["stage"] == "search") {
        assert!(
            !strings(&step["plugins"]).contains(&"chatty-tempest-plugin".to_string()),
            "the search left the innocent suspect out: {report:#}"
        );
    }
}

#[test]
fn discovery_problems_are_found_by_listing() {
    // A plugin that does not import keeps everybody's tests from loading.
    let set = set_with(&["broken-import"]);
    let report = bisect("test_alpha_arithmetic", &set, &["--probe", "list"]);
    assert_eq!(report["target"], "alpha-tempest-plugin");
    assert!(report["target_probes"].as_u64().unwrap() >= 1);
    assert_found(&report, &["broken-import-tempest-plugin"]);

    // A test module that does not import breaks discovery for everybody.
    let set = set_with(&["broken-test-module"]);
    let report = bisect(
        "test_alpha_arithmetic",
        &set,
        &["--probe", "list", "--target-plugin", "alpha-tempest-plugin"],
    );
    assert_found(&report, &["broken-test-module-tempest-plugin"]);

    // Two distributions with one entry-point name: only one's tests.
    let set = set_with(&["dup-entrypoint-a", "dup-entrypoint-b"]);
    let report = bisect(
        "dupep_a",
        &set,
        &[
            "--probe",
            "list",
            "--target-plugin",
            "dupep-a-tempest-plugin",
        ],
    );
    assert_found(&report, &["dupep-b-tempest-plugin"]);

    // Two plugins claiming one service client.
    let set = set_with(&["dup-client-a", "dup-client-b"]);
    let report = bisect(
        "dupclient_a",
        &set,
        &["--probe", "list", "--target-plugin", "dupclient-a"],
    );
    assert_found(&report, &["dupclient-b-tempest-plugin"]);
}

#[test]
fn the_single_command_of_each_other_finding_does_what_it_says() {
    let ctx = TestContext::new();
    let run_printed = |text: &str, prefix: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line: {text}"));
        let words = shell_words(line.split_once(": ").unwrap().1.trim());
        ctx.std_cmd()
            .arg("-q")
            .args(&words[1..])
            .output()
            .unwrap()
            .status
            .code()
    };
    // Nothing to find: the whole set passes, run as printed.
    let out = ctx
        .cmd()
        .args(["bisect", "alpha", "--def", "demo"])
        .args(fixture_plugin_args(&set_with(&[])))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("passes with the whole set"), "{text}");
    assert_eq!(run_printed(&text, "passes:"), Some(0), "{text}");
    // Not an isolation problem: it fails alone, run as printed.
    let out = ctx
        .cmd()
        .args([
            "bisect",
            "test_fine",
            "--probe",
            "list",
            "--target-plugin",
            "broken-test-module",
            "--def",
            "demo",
        ])
        .args(fixture_plugin_args(&set_with(&["broken-test-module"])))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("not an isolation problem"), "{text}");
    let code = run_printed(&text, "fails:");
    assert!(code.is_some_and(|c| c != 0), "{code:?}: {text}");
}

#[test]
fn nothing_to_find_and_not_an_isolation_problem() {
    let report = bisect("alpha", &set_with(&[]), &[]);
    assert_eq!(report["finding"], "passes-together", "{report:#}");
    assert_eq!(report["probes"], 2);

    let set = set_with(&["broken-test-module"]);
    let report = bisect(
        "test_fine",
        &set,
        &["--probe", "list", "--target-plugin", "broken-test-module"],
    );
    assert_eq!(report["finding"], "fails-alone", "{report:#}");
    // Alone and with the whole set, probed at once.
    assert_eq!(report["probes"], 2);
}

#[test]
fn the_human_trail_and_command_lines() {
    let ctx = TestContext::new();
    let set = set_with(&["state-mutator", "state-victim"]);
    let out = ctx
        .cmd()
        .args(["bisect", "victim", "--def", "demo"])
        .args(fixture_plugin_args(&set))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Culprit: state-mutator-tempest-plugin"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("FAIL") && l.ends_with("whole-set")),
        "{text}"
    );
    let fails = text.lines().find(|l| l.starts_with("fails:")).unwrap();
    let passes = text.lines().find(|l| l.starts_with("passes:")).unwrap();
    // The printed commands do what they say.
    let run = |line: &str| {
        let command = line.split_once(": ").unwrap().1.trim().to_string();
        let out = ctx
            .std_cmd()
            .args(["-q"])
            .args(shell_words(&command)[1..].iter())
            .output()
            .unwrap();
        out.status.code()
    };
    assert_eq!(run(fails), Some(1), "{fails}");
    assert_eq!(run(passes), Some(0), "{passes}");
    // Nothing is left behind in the data dir.
    let leftovers: Vec<_> = std::fs::read_dir(ctx.home.path().join("data"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
        .collect();
    assert!(leftovers.is_empty());
}

/// Split a command line of single-quoted words.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                any = false;
            }
            c => current.push(c),
        }
    }
    if any || !current.is_empty() {
        words.push(current);
    }
    words
}

#[test]
fn compare_shows_the_test_that_changed() {
    let ctx = TestContext::new();
    let set = set_with(&["state-mutator", "state-victim"]);
    let mut args: Vec<String> = vec![
        "compare".into(),
        "victim".into(),
        "--def".into(),
        "demo".into(),
    ];
    args.extend(fixture_plugin_args(&set));
    let (report, code) = json(&ctx, &args, &[]);
    assert_eq!(code, 1, "{report:#}");
    let tests = report["tests"].as_array().unwrap();
    let victim = tests
        .iter()
        .find(|t| t["id"].as_str().unwrap().starts_with("state_victim"))
        .unwrap();
    assert_eq!(victim["alone"], "success");
    assert_eq!(victim["together"], "fail");
    assert_eq!(victim["changed"], true);
}

#[test]
fn ids_with_scenarios_and_non_ascii_names_are_counted_and_bisected() {
    let ctx = TestContext::new();
    let set = set_with(&["scenarios"]);
    let mut args: Vec<String> = vec!["sanity".into(), "--def".into(), "demo".into()];
    args.extend(fixture_plugin_args(&set));
    let (report, code) = json(&ctx, &args, &[]);
    assert_eq!(code, 0, "{report:#}");
    let rows = report["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["plugin"] == "scenarios-tempest-plugin")
        .unwrap();
    // Four scenario ids and the non-ASCII one, as `run --list` prints them.
    assert_eq!(row["alone"]["tests"], 5, "{row:#}");
    assert_eq!(row["together"]["tests"], 5, "{row:#}");
    // "together" counts the plugins' own tests, as the table says: the sum
    // of the rows (no plugin shares a test id with another).
    let sum: u64 = rows
        .iter()
        .map(|r| r["together"]["tests"].as_u64().unwrap())
        .sum();
    assert_eq!(report["together"]["tests"].as_u64().unwrap(), sum);

    // A filter that only scenario ids match finds its plugin by listing.
    let set = set_with(&["scenarios", "broken-import"]);
    let report = bisect(
        r"test_rule_delete\[.*\]\(egress\)$",
        &set,
        &["--probe", "list"],
    );
    assert_eq!(report["target"], "scenarios-tempest-plugin", "{report:#}");
    assert_found(&report, &["broken-import-tempest-plugin"]);
}

#[test]
fn listing_probes_print_listing_commands_that_do_what_they_say() {
    let ctx = TestContext::new();
    let set = set_with(&["broken-import"]);
    let out = ctx
        .cmd()
        .args([
            "bisect",
            "test_alpha_arithmetic",
            "--probe",
            "list",
            "-j",
            "3",
            "--def",
            "demo",
        ])
        .args(fixture_plugin_args(&set))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Culprit: broken-import-tempest-plugin"),
        "{text}"
    );
    let command = |prefix: &str| {
        let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
        shell_words(line.split_once(": ").unwrap().1.trim())
    };
    let (fails, passes) = (command("fails:"), command("passes:"));
    for words in [&fails, &passes] {
        assert!(words.contains(&"--list".to_string()), "{words:?}");
    }
    let run = |words: &[String]| ctx.std_cmd().arg("-q").args(&words[1..]).output().unwrap();
    // Run as printed: the passing one lists the test and runs nothing.
    let passed = run(&passes);
    assert_eq!(passed.status.code(), Some(0), "{}", stderr(&passed));
    let listed = stdout(&passed);
    assert_eq!(
        listed.trim(),
        "alpha_tempest_plugin.tests.test_alpha.AlphaTest.test_alpha_arithmetic",
        "{listed}"
    );
    assert!(
        !ctx.home.path().join("data/runs").exists()
            || std::fs::read_dir(ctx.home.path().join("data/runs"))
                .unwrap()
                .next()
                .is_none(),
        "a listing records no run"
    );
    let failed = run(&fails);
    assert_ne!(failed.status.code(), Some(0), "{}", stdout(&failed));
    assert!(stdout(&failed).trim().is_empty(), "{}", stdout(&failed));
}

#[test]
fn progress_is_drawn_on_a_terminal_and_nothing_extra_when_piped() {
    let ctx = TestContext::new();
    let set = set_with(&["state-mutator", "state-victim"]);
    let mut args: Vec<String> = vec![
        "bisect".into(),
        "victim".into(),
        "--def".into(),
        "demo".into(),
    ];
    args.extend(fixture_plugin_args(&set));
    // Piped: stderr holds only the closing status line.
    let out = ctx.cmd().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains('\r') && !err.contains("\x1b["), "{err:?}");
    assert!(!err.contains("probe 1 of"), "{err}");
    // On a terminal (script(1) gives the command a pty): a progress line.
    // script(1) is util-linux's, on every Debian system.
    crate::common::require_tool("script");
    let line = std::iter::once(
        assert_cmd::cargo::cargo_bin("tempest-env")
            .display()
            .to_string(),
    )
    .chain(args.iter().cloned())
    .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
    .collect::<Vec<_>>()
    .join(" ");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{line} >/dev/null"), "/dev/null"])
        .env("TEMPEST_ENV_HOME", ctx.home.path())
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    let tty = stdout(&out);
    assert!(out.status.success(), "{tty}");
    assert!(tty.contains("probe ") && tty.contains(" of "), "{tty:?}");
}

#[test]
fn compare_exits_0_when_no_test_changed() {
    let ctx = TestContext::new();
    // The victim with well-behaved neighbours only: the same status alone
    // and together, though the whole set runs more tests.
    let set = set_with(&["state-victim"]);
    let mut args: Vec<String> = vec![
        "compare".into(),
        "victim".into(),
        "--def".into(),
        "demo".into(),
    ];
    args.extend(fixture_plugin_args(&set));
    let (report, code) = json(&ctx, &args, &[]);
    assert_eq!(code, 0, "{report:#}");
    let tests = report["tests"].as_array().unwrap();
    assert!(!tests.is_empty(), "{report:#}");
    assert!(tests.iter().all(|t| t["changed"] == false), "{report:#}");
}

#[test]
fn an_interrupted_probe_stops_the_search_and_leaves_nothing() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let ctx = TestContext::new();
    let mut args: Vec<String> = vec![
        "sanity".into(),
        "-j".into(),
        "1".into(),
        "--def".into(),
        "demo".into(),
        "--runner".into(),
        "sleep 30".into(),
    ];
    args.extend(fixture_plugin_args(&set_with(&[])));
    let started = Instant::now();
    let child = as_foreground(ctx.std_cmd().args(&args))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first probe's runner to start.
    let data = ctx.home.path().join("data");
    let running = || {
        std::fs::read_dir(&data)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".tmp.isolation.")
            })
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
            .any(|probe| probe.path().join("workspace/.stestr.conf").exists())
    };
    while !running() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no probe started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Interrupted (signal 2"),
        "{}",
        stderr(&out)
    );
    // Not ten probes of 30 s each: it stopped at the first.
    assert!(started.elapsed() < Duration::from_secs(25));
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
