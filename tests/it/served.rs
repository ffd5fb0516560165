//! Served against fresh: a command's JSON report both ways, timings left
//! out, and the fork server's own count of what it served. Shared by the
//! integration suite (the stand-in's fixtures) and the end-to-end suite
//! (real tempest and plugins).

use assert_cmd::Command;
use serde_json::Value;

use crate::common::{stderr, stdout};

/// Timings, which differ between any two runs.
pub(crate) fn without_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["elapsed_ms", "runner_ms", "probe_overhead_ms", "seconds"] {
                map.remove(key);
            }
            map.values_mut().for_each(without_times);
        }
        Value::Array(items) => items.iter_mut().for_each(without_times),
        _ => {}
    }
}

/// `tempest-env ARGS --format json` (each run from `cmd()`), served (with
/// `-v`) and with `--no-fork-server`: both reports without timings and
/// their exit codes, and the served run's stderr.
pub(crate) fn both_ways(
    cmd: impl Fn() -> Command,
    args: &[String],
) -> ((Value, i32), (Value, i32), String) {
    let run = |extra: &[&str]| {
        let out = cmd()
            .args(args)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let mut value: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        without_times(&mut value);
        ((value, out.status.code().unwrap_or(-1)), stderr(&out))
    };
    let (served, said) = run(&["-v"]);
    let (fresh, _) = run(&["--no-fork-server"]);
    (served, fresh, said)
}

/// The counts of `fork server: N probe(s) served, M in fresh processes`.
pub(crate) fn served_counts(said: &str) -> (usize, usize) {
    let line = said
        .lines()
        .find(|l| l.contains("fork server: "))
        .unwrap_or_else(|| panic!("no fork server figures: {said}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}
