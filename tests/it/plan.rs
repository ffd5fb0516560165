//! Plans: `sanity --plan` and `compare --plan` write the probes, each one
//! is run with the printed `tempest-env probe` command in a home of its own
//! (three homes standing for three machines, wheels from a local wheelhouse
//! offline, source trees from the fixtures), and `--collect` merges the
//! results into exactly the table and JSON a local run prints.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use crate::common::{TestContext, fixture_wheel, fixtures, stderr, stdout, wheelhouse};
use crate::isolation::shell_words;

/// `tempest-env` with `home` as its home, in `dir`.
fn cmd_in(home: &Path, dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("tempest-env").unwrap();
    cmd.env("TEMPEST_ENV_HOME", home)
        .env_remove("TEMPEST_ENV_FAILPOINT")
        .env_remove("NO_COLOR")
        .current_dir(dir);
    cmd
}

/// Run a printed `tempest-env ...` line with `home`, in `dir`.
fn run_line(line: &str, home: &Path, dir: &Path) -> std::process::Output {
    let words = shell_words(line.trim());
    assert_eq!(words[0], "tempest-env", "{line}");
    cmd_in(home, dir).args(&words[1..]).output().unwrap()
}

/// The set: the demo (the stand-in and valet), two wheels from the
/// wheelhouse, a plugin that does not load and two that share an entry
/// point, as source trees.
fn sanity_set(ctx: &TestContext) -> Vec<String> {
    let links = wheelhouse(ctx);
    let wheel = |name: &str| {
        links
            .join(fixture_wheel(name).file_name().unwrap())
            .display()
            .to_string()
    };
    let tree = |name: &str| fixtures().join("plugins").join(name).display().to_string();
    let mut args: Vec<String> = vec!["--def".into(), "demo".into()];
    for plugin in [
        wheel("alpha"),
        tree("broken-import"),
        wheel("bravo"),
        tree("dup-entrypoint-a"),
        tree("dup-entrypoint-b"),
    ] {
        args.push("--plugin".into());
        args.push(plugin);
    }
    args.extend([
        "--find-links".into(),
        links.display().to_string(),
        "--offline".into(),
    ]);
    args
}

/// The printed lines that start with `tempest-env`: the probes' commands,
/// then the collect command.
fn printed_commands(text: &str) -> (Vec<String>, String) {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tempest-env "))
        .map(str::to_string)
        .collect();
    let (collect, probes) = lines.split_last().expect("commands are printed");
    (probes.to_vec(), collect.clone())
}

fn without_elapsed(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("elapsed_ms");
    }
    value
}

/// Plan `args` in `ctx`, run every probe with its printed command in three
/// other homes in turn, and collect in a fifth: (human table, JSON).
fn fan_out(ctx: &TestContext, command: &str, args: &[String]) -> (String, Value) {
    let work = ctx.work.path();
    let out = ctx
        .cmd()
        .arg(command)
        .args(args)
        .args(["--plan", "plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (probes, collect) = printed_commands(&stdout(&out));
    let plan: Value =
        serde_json::from_slice(&std::fs::read(work.join("plan.json")).unwrap()).unwrap();
    assert_eq!(probes.len(), plan["probes"].as_array().unwrap().len());
    let machines = [TestContext::new(), TestContext::new(), TestContext::new()];
    for (i, line) in probes.iter().enumerate() {
        assert_eq!(plan["probes"][i]["command"].as_str(), Some(line.as_str()));
        let machine = &machines[i % machines.len()];
        let out = run_line(line, machine.home.path(), work);
        assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
    }
    // Every machine built what it probed in its own home.
    for machine in machines.iter().take(probes.len()) {
        assert!(machine.home.path().join("cache").is_dir());
    }
    let collector = TestContext::new();
    let out = run_line(&collect, collector.home.path(), work);
    let table = stdout(&out);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{collect}: {}",
        stderr(&out)
    );
    let words = shell_words(&collect);
    let out = cmd_in(collector.home.path(), work)
        .args(&words[1..])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (table, without_elapsed(json))
}

#[test]
fn a_sanity_plan_run_on_three_machines_collects_to_the_local_table() {
    let ctx = TestContext::new();
    let set = sanity_set(&ctx);
    let local = ctx.cmd().arg("sanity").args(&set).output().unwrap();
    assert_eq!(local.status.code(), Some(1), "{}", stderr(&local));
    let local_json: Value = serde_json::from_slice(
        &ctx.cmd()
            .arg("sanity")
            .args(&set)
            .args(["--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    // The set exercises every row kind, and the probe that runs only when
    // some plugin does not load alone.
    assert_eq!(
        local_json["healthy_together"]["loads"], true,
        "{local_json:#}"
    );
    let (table, json) = fan_out(&ctx, "sanity", &set);
    assert_eq!(table, stdout(&local));
    assert_eq!(json, without_elapsed(local_json));

    // The plan: a lock and a command per probe, a GitHub Actions matrix
    // and Zuul jobs.
    let plan: Value =
        serde_json::from_slice(&std::fs::read(ctx.work.path().join("plan.json")).unwrap()).unwrap();
    let probes = plan["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 6 + 2, "base, six alone, together");
    let matrix = plan["matrix"]["include"].as_array().unwrap();
    assert_eq!(matrix.len(), probes.len());
    assert_eq!(matrix[0], serde_json::json!({"index": 0, "probe": "base"}));
    let alpha = probes
        .iter()
        .find(|p| p["name"] == "alone: alpha-tempest-plugin")
        .unwrap();
    let locked = alpha["lock"]["distribution"].as_array().unwrap();
    let wheel = locked
        .iter()
        .find(|d| d["name"] == "alpha-tempest-plugin")
        .unwrap();
    assert_eq!(wheel["source"], "wheel");
    assert_eq!(wheel["sha256"].as_str().map(str::len), Some(64));
    let zuul = plan["zuul"].as_array().unwrap();
    assert_eq!(zuul.len(), probes.len() + 1);
    assert_eq!(zuul[3]["job"]["vars"]["tempest_env_probe_index"], 3);
    // The same set planned again is the same plan, to the byte.
    let before = std::fs::read(ctx.work.path().join("plan.json")).unwrap();
    let again = ctx
        .cmd()
        .arg("sanity")
        .args(&set)
        .args(["--plan", "plan.json"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        std::fs::read(ctx.work.path().join("plan.json")).unwrap(),
        before
    );
}

#[test]
fn a_compare_plan_run_on_other_machines_collects_to_the_local_table() {
    let ctx = TestContext::new();
    let tree = |name: &str| fixtures().join("plugins").join(name).display().to_string();
    let mut args: Vec<String> = vec!["victim".into(), "--def".into(), "demo".into()];
    for name in ["alpha", "state-mutator", "bravo", "state-victim"] {
        args.push("--plugin".into());
        args.push(tree(name));
    }
    let local = ctx.cmd().arg("compare").args(&args).output().unwrap();
    assert_eq!(local.status.code(), Some(1), "{}", stderr(&local));
    let local_json: Value = serde_json::from_slice(
        &ctx.cmd()
            .arg("compare")
            .args(&args)
            .args(["--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (table, json) = fan_out(&ctx, "compare", &args);
    assert_eq!(table, stdout(&local));
    assert_eq!(json, local_json);
    let changed: Vec<&Value> = json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["changed"] == true)
        .collect();
    assert_eq!(changed.len(), 1, "{json:#}");
    assert_eq!(changed[0]["together"], "fail");
}

/// A small sanity plan in `ctx`'s work dir, and its probes' results under
/// `results/`.
fn small_plan(ctx: &TestContext, file: &str, plugins: &[&str]) {
    let mut cmd = ctx.cmd();
    cmd.args(["sanity", "--def", "demo", "--plan", file]);
    for name in plugins {
        cmd.arg("--plugin")
            .arg(fixtures().join("plugins").join(name));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn probe(ctx: &TestContext, file: &str, index: usize, out: &str) -> std::process::Output {
    ctx.cmd()
        .args(["probe", file, "--index", &index.to_string(), "--out", out])
        .output()
        .unwrap()
}

#[test]
fn bad_plans_and_results_are_one_line_errors_that_write_nothing() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    small_plan(&ctx, "plan.json", &["alpha"]);
    small_plan(&ctx, "other.json", &["bravo"]);
    let plan: Value =
        serde_json::from_slice(&std::fs::read(work.join("plan.json")).unwrap()).unwrap();
    let probes = plan["probes"].as_array().unwrap().len();
    assert_eq!(probes, 4);
    for i in 0..probes {
        let out = probe(&ctx, "plan.json", i, &format!("results/probe-{i}.json"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A result of the other plan, a damaged result, a missing one.
    let out = probe(&ctx, "other.json", 1, "foreign/results/probe-1.json");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(work.join("plan.json")).unwrap();
    std::fs::write(
        work.join("edited.json"),
        text.replace("--index 1 ", "--index 9 "),
    )
    .unwrap();
    std::fs::write(
        work.join("newer.json"),
        text.replacen("\"format\": \"1.0.0\"", "\"format\": \"2.0.0\"", 1),
    )
    .unwrap();
    std::fs::write(work.join("corrupt.json"), &text[..text.len() / 2]).unwrap();
    let copy = |from: &str, to: &str| {
        let dir = work.join(to);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(work.join(from)).unwrap().flatten() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    };
    copy("results", "mixed");
    std::fs::copy(
        work.join("foreign/results/probe-1.json"),
        work.join("mixed/probe-1.json"),
    )
    .unwrap();
    copy("results", "partial");
    std::fs::remove_file(work.join("partial/probe-2.json")).unwrap();
    copy("results", "damaged");
    std::fs::write(
        work.join("damaged/probe-3.json"),
        "{\"format\": \"1.0.0\", ",
    )
    .unwrap();
    copy("results", "doubled");
    std::fs::create_dir_all(work.join("doubled/again")).unwrap();
    std::fs::copy(
        work.join("results/probe-0.json"),
        work.join("doubled/again/probe-0.json"),
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["probe", "plan.json", "--index", "4", "--out", "x.json"],
            "the plan has 4 probes",
        ),
        (
            &["probe", "edited.json", "--index", "0", "--out", "x.json"],
            "does not match its id",
        ),
        (
            &["probe", "newer.json", "--index", "0", "--out", "x.json"],
            "format 2.0.0",
        ),
        (
            &["probe", "corrupt.json", "--index", "0", "--out", "x.json"],
            "not valid JSON",
        ),
        (
            &["probe", "missing.json", "--index", "0", "--out", "x.json"],
            "missing.json",
        ),
        (
            &["probe", "results", "--index", "0", "--out", "x.json"],
            "not a regular file",
        ),
        (
            &["probe", "plan.json", "--index", "0", "--out", "results"],
            "not a regular file",
        ),
        (
            &["sanity", "--collect", "mixed", "--plan", "plan.json"],
            "from another plan",
        ),
        (
            &["sanity", "--collect", "partial", "--plan", "plan.json"],
            "no result for probe 2 (alone: alpha-tempest-plugin)",
        ),
        (
            &["sanity", "--collect", "damaged", "--plan", "plan.json"],
            "probe-3.json",
        ),
        (
            &["sanity", "--collect", "doubled", "--plan", "plan.json"],
            "has another result",
        ),
        (
            &["sanity", "--collect", "nowhere", "--plan", "plan.json"],
            "nowhere",
        ),
        (
            &["sanity", "--collect", "results", "--plan", "edited.json"],
            "does not match its id",
        ),
        (
            &["compare", "--collect", "results", "--plan", "plan.json"],
            "is a sanity plan",
        ),
        (
            &[
                "sanity",
                "--collect",
                "results",
                "--plan",
                "plan.json",
                "--def",
                "demo",
            ],
            "--def",
        ),
        (
            &[
                "sanity",
                "--collect",
                "results",
                "--plan",
                "plan.json",
                "--plugin",
                "x",
            ],
            "--plugin",
        ),
        (&["sanity", "--collect", "results"], "--plan"),
        (
            &["sanity", "--def", "demo", "--plan", "results"],
            "not a regular file",
        ),
    ];
    let before = crate::common::tree(work);
    for (args, needle) in cases {
        let out = ctx.cmd().args(*args).output().unwrap();
        crate::common::assert_refused(&out, &format!("{args:?}"), needle);
        assert_eq!(
            crate::common::tree(work),
            before,
            "{args:?} wrote something"
        );
    }
    // The complete results collect.
    let out = ctx
        .cmd()
        .args(["sanity", "--collect", "results", "--plan", "plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The fenced block of the README that starts with `first_line`.
fn readme_block(readme: &str, first_line: &str) -> String {
    let start = readme
        .find(&format!("```yaml\n{first_line}\n"))
        .unwrap_or_else(|| panic!("no README block starting with {first_line}"));
    let body = &readme[start + "```yaml\n".len()..];
    body[..body.find("\n```").unwrap()].to_string()
}

/// The `tempest-env sanity|probe` command lines of a block, in order.
fn tempest_env_lines(block: &str) -> Vec<String> {
    block
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let at = l.find("tempest-env ")?;
            let rest = &l[at..];
            (rest.starts_with("tempest-env sanity") || rest.starts_with("tempest-env probe"))
                .then(|| rest.trim().to_string())
        })
        .collect()
}

/// `key: VALUE` on a line of `block`.
fn yaml_value(block: &str, key: &str) -> String {
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {block}"))
        .to_string()
}

#[test]
fn the_readme_workflow_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let workflow = readme_block(&readme, "# .github/workflows/plugin-sanity.yml");
    let set = yaml_value(&workflow, "SET");
    let lines = tempest_env_lines(&workflow);
    assert_eq!(lines.len(), 3, "plan, probe, collect: {lines:?}");
    let fill = |line: &str, index: &str| -> Vec<String> {
        shell_words(
            &line
                .replace("$SET", &set)
                .replace("${{ matrix.index }}", index),
        )
    };
    // The Zuul playbooks run the same commands.
    let zuul = readme_block(&readme, "# zuul.d/tempest-env.yaml");
    let playbooks = readme_block(&readme, "# playbooks/tempest-env/plan.yaml");
    let zuul_set = yaml_value(&zuul, "tempest_env_set");
    let zuul_lines: Vec<Vec<String>> = tempest_env_lines(&playbooks)
        .iter()
        .map(|l| {
            shell_words(
                &l.replace("{{ tempest_env_set }}", &zuul_set)
                    .replace("{{ tempest_env_probe_index }}", "7"),
            )
        })
        .collect();
    let gh_lines: Vec<Vec<String>> = lines.iter().map(|l| fill(l, "7")).collect();
    assert_eq!(zuul_lines, gh_lines);

    // The workflow's checkout: this repository's fixtures.
    let ctx = TestContext::new();
    let work = ctx.work.path();
    std::os::unix::fs::symlink(fixtures(), work.join("fixtures")).unwrap();
    let run = |words: &[String], home: &Path| {
        assert_eq!(words[0], "tempest-env");
        cmd_in(home, work).args(&words[1..]).output().unwrap()
    };
    let local = run(
        &shell_words(&format!("tempest-env sanity {set}")),
        ctx.home.path(),
    );
    assert_eq!(local.status.code(), Some(1), "{}", stderr(&local));
    // plan job
    let out = run(&fill(&lines[0], ""), ctx.home.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value =
        serde_json::from_slice(&std::fs::read(work.join("plan.json")).unwrap()).unwrap();
    // probe jobs, one per matrix entry, on three machines
    let machines = [TestContext::new(), TestContext::new(), TestContext::new()];
    let entries = plan["matrix"]["include"].as_array().unwrap();
    assert_eq!(entries.len(), 4 + 2, "valet and three plugins");
    for (i, entry) in entries.iter().enumerate() {
        let index = entry["index"].as_u64().unwrap().to_string();
        let out = run(&fill(&lines[1], &index), machines[i % 3].home.path());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(work.join(format!("results/probe-{index}.json")).is_file());
    }
    // collect job
    let collector = TestContext::new();
    let out = run(&fill(&lines[2], ""), collector.home.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&local));
}

#[test]
fn a_probe_whose_environment_differs_from_its_lock_runs_only_when_allowed() {
    let ctx = TestContext::new();
    let work = ctx.work.path();
    let tree = work.join("alpha");
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures().join("plugins/alpha"))
        .arg(&tree)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ctx
        .cmd()
        .args(["sanity", "--def", "demo", "--plan", "plan.json", "--plugin"])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The plugin's source moves on after the plan was written.
    let pyproject = tree.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        text.replace("version = \"1.2.0\"", "version = \"1.3.0\""),
    )
    .unwrap();
    let machine = TestContext::new();
    let out = cmd_in(machine.home.path(), work)
        .args([
            "probe",
            "plan.json",
            "--index",
            "2",
            "--out",
            "r/probe-2.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("differs from")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("alpha-tempest-plugin: 1.2.0 in the lock, 1.3.0 here"),
        "{err}"
    );
    assert!(!work.join("r/probe-2.json").exists());
    let out = cmd_in(machine.home.path(), work)
        .args([
            "probe",
            "plan.json",
            "--index",
            "2",
            "--out",
            "r/probe-2.json",
        ])
        .arg("--allow-differences")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: Value =
        serde_json::from_slice(&std::fs::read(work.join("r/probe-2.json")).unwrap()).unwrap();
    assert_eq!(
        result["differences"][0],
        "alpha-tempest-plugin: 1.2.0 in the lock, 1.3.0 here"
    );
    // Collected, the difference is said again, with the probe it was in.
    // The together probe has alpha too.
    for (i, allow) in [(0, false), (1, false), (3, true)] {
        let out = cmd_in(machine.home.path(), work)
            .args(["probe", "plan.json", "--index", &i.to_string()])
            .args(["--out", &format!("r/probe-{i}.json")])
            .args(allow.then_some("--allow-differences"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = ctx
        .cmd()
        .args(["sanity", "--collect", "r", "--plan", "plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "probe 2 (alone: alpha-tempest-plugin) ran in an environment that differs from its lock"
        ),
        "{}",
        stderr(&out)
    );
}
