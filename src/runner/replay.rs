//! A recorded run as the `[run]` section of a lock, and a new run compared
//! with a locked one: the same tests with the same statuses, and the same
//! runner exit code. Pure, so the comparison is tested on made-up runs.

use std::collections::BTreeMap;

use super::record::RunRecord;
use super::results::RunResults;
use crate::lockfile::LockedRun;
use crate::runner::subunit::Status;

/// The status as locks and JSON name it (`success`, `fail`, ...).
pub fn status_name(status: Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{status:?}").to_lowercase())
}

/// Per-test status by id, and how many tests ended with each status.
fn statuses(results: Option<&RunResults>) -> (BTreeMap<String, String>, BTreeMap<String, usize>) {
    let mut by_id = BTreeMap::new();
    for test in results.iter().flat_map(|r| r.tests.iter()) {
        by_id.insert(test.id.clone(), status_name(test.status));
    }
    let mut counts = BTreeMap::new();
    for status in by_id.values() {
        *counts.entry(status.clone()).or_insert(0) += 1;
    }
    (by_id, counts)
}

/// The run section of `record`'s lock. `None` for a run recorded before
/// tempest-env kept what it takes to replay one.
pub fn locked_run(record: &RunRecord, results: Option<&RunResults>) -> Option<LockedRun> {
    let replay = record.replay.as_ref()?;
    let (results, counts) = statuses(results);
    Some(LockedRun {
        id: record.id.clone(),
        runner: replay.runner.clone(),
        command: record.command.clone(),
        filter: record.filter.clone(),
        args: replay.posargs.clone(),
        set_env: replay.set_env.iter().cloned().collect(),
        pass_env: replay.pass_env.clone(),
        isolated_env: replay.isolated_env,
        user_site: replay.user_site,
        config_file: replay.config_file.as_ref().map(|p| p.display().to_string()),
        exit_code: record.exit_code,
        counts,
        results,
    })
}

/// Where a new run (`exit_code`, `results`) differs from the locked one,
/// one line each: the exit code, then every test missing, added or with
/// another status, by id.
pub fn differences(locked: &LockedRun, exit_code: u8, results: Option<&RunResults>) -> Vec<String> {
    let mut out = Vec::new();
    if locked.exit_code != exit_code {
        out.push(format!(
            "exit code: {} in the lock, {exit_code} here",
            locked.exit_code
        ));
    }
    let (mut here, _) = statuses(results);
    for (id, want) in &locked.results {
        match here.remove(id) {
            None => out.push(format!("missing: {id} ({want} in the lock)")),
            Some(got) if &got != want => {
                out.push(format!("{id}: {want} in the lock, {got} here"));
            }
            Some(_) => {}
        }
    }
    for (id, got) in here {
        out.push(format!("extra: {id} ({got} here)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::record::Replay;
    use crate::runner::results::TestRecord;

    fn results(tests: &[(&str, Status)]) -> RunResults {
        RunResults {
            tests: tests
                .iter()
                .map(|(id, status)| TestRecord {
                    id: id.to_string(),
                    status: *status,
                    duration_secs: Some(0.5),
                    details: String::new(),
                })
                .collect(),
        }
    }

    fn record(exit_code: u8) -> RunRecord {
        RunRecord {
            id: "01JX".into(),
            environment: "run-01JX".into(),
            runner: "tempest".into(),
            command: "tempest run --regex valet".into(),
            filter: Some("valet".into()),
            exit_code,
            started: "2026-12-01T10:00:00.000Z".into(),
            duration_secs: 1.5,
            kept: None,
            interrupted_by: None,
            replay: Some(Replay {
                runner: "tempest".into(),
                posargs: vec!["--serial".into()],
                set_env: vec![("A".into(), "1".into()), ("A".into(), "2".into())],
                pass_env: vec!["OS_*".into()],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_run_is_locked_with_its_command_and_per_test_statuses() {
        let run = results(&[
            ("valet.b", Status::Fail),
            ("valet.a", Status::Success),
            ("valet.c", Status::Skip),
        ]);
        let locked = locked_run(&record(1), Some(&run)).unwrap();
        assert_eq!(locked.runner, "tempest");
        assert_eq!(locked.filter.as_deref(), Some("valet"));
        assert_eq!(locked.args, ["--serial"]);
        // The last value of a variable set twice wins, as in the run.
        assert_eq!(locked.set_env["A"], "2");
        assert_eq!(locked.results["valet.b"], "fail");
        assert_eq!(locked.counts["success"], 1);
        assert_eq!(locked.counts["fail"], 1);
        assert_eq!(locked.counts["skip"], 1);
        let old = RunRecord {
            replay: None,
            ..record(0)
        };
        assert!(locked_run(&old, Some(&run)).is_none());
    }

    #[test]
    fn the_same_statuses_match_even_when_the_run_failed() {
        let run = results(&[("valet.a", Status::Success), ("valet.b", Status::Fail)]);
        let locked = locked_run(&record(1), Some(&run)).unwrap();
        assert!(differences(&locked, 1, Some(&run)).is_empty());
    }

    #[test]
    fn every_difference_is_one_line() {
        let before = results(&[
            ("valet.a", Status::Success),
            ("valet.b", Status::Success),
            ("valet.gone", Status::Skip),
        ]);
        let locked = locked_run(&record(0), Some(&before)).unwrap();
        let after = results(&[
            ("valet.a", Status::Success),
            ("valet.b", Status::Fail),
            ("valet.new", Status::Success),
        ]);
        assert_eq!(
            differences(&locked, 1, Some(&after)),
            [
                "exit code: 0 in the lock, 1 here",
                "valet.b: success in the lock, fail here",
                "missing: valet.gone (skip in the lock)",
                "extra: valet.new (success here)",
            ]
        );
        assert_eq!(differences(&locked, 0, None).len(), 3);
    }
}
