//! No panic reaches a user. Every command runs with hostile values of every
//! option and positional argument, and of every environment variable
//! tempest-env reads; each must exit 0, 1 or 2 with no panic (nor the panic
//! hook's "internal error") on stderr, and within a minute.
//!
//! The commands and options come from the clap definition
//! (`tempest_env::command()`), so an option added later is covered without
//! touching this file.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TestContext, stderr};

/// Values no option expects. Paths stay inside the test's directories (the
/// commands run three levels below the work dir, so `../x` does too), and
/// no device node is ever named: special files are a FIFO the test makes.
fn hostile_values(work: &Path) -> Vec<OsString> {
    let mut values: Vec<OsString> = [
        "",
        "-",
        "a\nb = c",
        "../x",
        "-1",
        "NaN",
        "1e300",
        "a[b-]",
        "$(touch pwned)",
        "'\"`;|&<>*?",
        "{filter}",
        "é\u{202e}\u{7}\t",
        "==",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    values.push("x".repeat(5000).into());
    values.push(OsString::from_vec(b"bad\xff\xfe".to_vec()));
    values.push(work.join("fifo").into_os_string());
    values
}

/// Variables tempest-env reads that no option names.
const MORE_VARIABLES: &[&str] = &[
    "TEMPEST_ENV_LOCK_TIMEOUT",
    "TEMPEST_ENV_PYTHON_TIMEOUT",
    "TEMPEST_ENV_SCRATCH",
    "TEMPEST_ENV_HOME",
    "NO_COLOR",
];

struct Trial {
    args: Vec<OsString>,
    env: Option<(String, OsString)>,
}

/// Every (sub)command's path and its clap definition, depth first.
fn commands(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    for sub in cmd.get_subcommands() {
        let mut sub_path = path.clone();
        sub_path.push(sub.get_name().to_string());
        if sub.has_subcommands() {
            commands(sub, sub_path, out);
        } else {
            out.push((sub_path, sub.clone()));
        }
    }
}

/// The arguments that make `cmd` parse: required positionals (an existing
/// environment's name), and for the commands that compose an environment,
/// the offline demo definition (else they would build a tempest base from
/// the network), or for `run`, the existing environment.
fn baseline(path: &[String], cmd: &clap::Command, skip: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = path.iter().map(OsString::from).collect();
    for arg in cmd.get_positionals() {
        if Some(arg.get_id().as_str()) == skip || !arg.is_required_set() {
            continue;
        }
        if arg.is_last_set() {
            args.extend(["--", "true"].map(OsString::from));
        } else {
            args.push("e".into());
        }
    }
    let composes = matches!(
        path.first().map(String::as_str),
        Some("sanity" | "bisect" | "compare")
    );
    let option = |id: &str| cmd.get_arguments().any(|a| a.get_id().as_str() == id);
    if skip.is_none_or(|s| s != "def" && s != "env") {
        if path.first().is_some_and(|p| p == "run") && option("env") {
            args.splice(1..1, ["--env", "e"].map(OsString::from));
        } else if composes && option("def") {
            args.splice(1..1, ["--def", "demo"].map(OsString::from));
        }
    }
    args
}

fn trials(work: &Path) -> Vec<Trial> {
    let values = hostile_values(work);
    let root = tempest_env::command();
    let mut all = Vec::new();
    commands(&root, Vec::new(), &mut all);
    let global: Vec<clap::Arg> = root.get_arguments().cloned().collect();
    let mut out = Vec::new();
    let mut variables: Vec<String> = MORE_VARIABLES.iter().map(|v| v.to_string()).collect();
    let fifo = work.join("fifo").into_os_string();
    let mut count = 0;
    for (path, cmd) in &all {
        if path.iter().any(|p| p == "help") {
            continue;
        }
        for arg in cmd.get_arguments().chain(global.iter()) {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if let Some(var) = arg.get_env() {
                variables.push(var.to_string_lossy().into_owned());
            }
            let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
            let base = baseline(path, cmd, Some(id));
            if arg.is_positional() {
                for value in &values {
                    let mut args = base.clone();
                    if arg.is_last_set() {
                        args.extend([OsString::from("--"), value.clone()]);
                    } else {
                        // Before any `--`: clap takes positionals in order.
                        let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
                        args.insert(at, value.clone());
                    }
                    out.push(Trial { args, env: None });
                }
                continue;
            }
            let flag = match (arg.get_long(), arg.get_short()) {
                (Some(long), _) => format!("--{long}"),
                (None, Some(short)) => format!("-{short}"),
                (None, None) => continue,
            };
            if !takes_value {
                let mut args = base.clone();
                args.insert(path.len(), flag.clone().into());
                out.push(Trial { args, env: None });
                continue;
            }
            // Three values per option, turning through the list, and the
            // FIFO for every one (a special file is the hostile value of
            // any option that names a file).
            let picks = [count, count + 5, count + 11].map(|i| &values[i % values.len()]);
            count += 1;
            for value in picks.into_iter().chain([&fifo]) {
                let mut args = base.clone();
                args.insert(path.len(), flag.clone().into());
                args.insert(path.len() + 1, value.clone());
                out.push(Trial { args, env: None });
            }
        }
    }
    variables.sort();
    variables.dedup();
    let commands: [&[&str]; 3] = [&["create", "fromenv"], &["list"], &["run", "--env", "e"]];
    for var in variables {
        for (i, value) in values.iter().enumerate() {
            out.push(Trial {
                args: commands[i % commands.len()]
                    .iter()
                    .map(OsString::from)
                    .collect(),
                env: Some((var.clone(), value.clone())),
            });
        }
    }
    out
}

/// What is wrong with one trial's outcome, if anything.
fn run_trial(ctx: &TestContext, cwd: &Path, trial: &Trial) -> Option<String> {
    let mut cmd = ctx.std_cmd();
    cmd.args(&trial.args)
        .current_dir(cwd)
        .env("PIP_NO_INDEX", "1")
        .env("UV_OFFLINE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some((key, value)) = &trial.env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    let shown = || {
        format!(
            "{}tempest-env {:?}",
            trial
                .env
                .as_ref()
                .map(|(k, v)| format!("{k}={v:?} "))
                .unwrap_or_default(),
            trial.args
        )
    };
    let Some(status) = status else {
        return Some(format!("{}: still running after 60 s", shown()));
    };
    let code = status.code();
    if !matches!(code, Some(0..=2)) || err.contains("panicked") || err.contains("internal error") {
        return Some(format!("{}: exit {code:?}\n{err}", shown()));
    }
    None
}

#[test]
fn no_command_panics_on_hostile_options_or_variables() {
    let ctx = TestContext::new();
    ctx.create("e");
    let cwd = ctx.work.path().join("a/b/c");
    std::fs::create_dir_all(&cwd).unwrap();
    let fifo = ctx.work.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let trials = trials(ctx.work.path());
    let started = Instant::now();
    let (left, right) = trials.split_at(trials.len() / 2);
    let failures: Vec<String> = std::thread::scope(|s| {
        let a = s.spawn(|| {
            left.iter()
                .filter_map(|t| run_trial(&ctx, &cwd, t))
                .collect::<Vec<_>>()
        });
        let b = s.spawn(|| {
            right
                .iter()
                .filter_map(|t| run_trial(&ctx, &cwd, t))
                .collect::<Vec<_>>()
        });
        let mut all = a.join().unwrap();
        all.extend(b.join().unwrap());
        all
    });
    eprintln!(
        "hostile values: {} runs, {} failed, {:.0}s",
        trials.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(trials.len() > 400, "only {} trials", trials.len());
    assert!(!ctx.work.path().join("pwned").exists());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
