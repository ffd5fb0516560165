//! The results of one run as `tempest-env` keeps them: a serialisable record
//! per test (stored with the run, read back by `results` and `diff`), the
//! summary printed after a run, and the differences between two runs, which
//! is how a plugin that breaks others shows up.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::subunit::{Parsed, Status};

/// Every test of a run, in the order the runner reported them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub tests: Vec<TestRecord>,
}

/// One test's outcome, as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    pub id: String,
    pub status: Status,
    pub duration_secs: Option<f64>,
    pub details: String,
}

impl TestRecord {
    /// The duration, if it is recorded and makes sense.
    pub fn duration(&self) -> Option<Duration> {
        self.duration_secs
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
    }
}

/// Counts and timings of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub xfail: usize,
    pub uxsuccess: usize,
    /// Tests that never reached a final status: still in progress when the
    /// stream ended (a crashed worker), only listed, or never given a status.
    pub incomplete: usize,
    pub total: usize,
    /// The sum of test durations; more than the wall time when workers ran
    /// in parallel.
    pub duration: Duration,
    /// The five slowest tests, slowest first.
    pub slowest: Vec<(String, Duration)>,
}

const SLOWEST: usize = 5;

impl RunResults {
    /// The tests that ran. A test the stream only enumerated (`exists`:
    /// listed by a worker that never started it, as after a failing
    /// `setUpClass`) did not run, and subunit-trace does not count it
    /// either.
    pub fn from_parsed(parsed: &Parsed) -> Self {
        let tests = parsed
            .tests
            .iter()
            .filter(|test| test.status != Status::Exists)
            .map(|test| TestRecord {
                id: test.id.clone(),
                status: test.status,
                duration_secs: test.duration.map(|d| d.as_secs_f64()),
                details: test.details.clone(),
            })
            .collect();
        RunResults { tests }
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            total: self.tests.len(),
            ..Summary::default()
        };
        let mut timed = Vec::new();
        for test in &self.tests {
            let count = match test.status {
                Status::Success => &mut summary.passed,
                Status::Fail => &mut summary.failed,
                Status::Skip => &mut summary.skipped,
                Status::Xfail => &mut summary.xfail,
                Status::Uxsuccess => &mut summary.uxsuccess,
                Status::InProgress | Status::Exists | Status::Undefined => &mut summary.incomplete,
            };
            *count += 1;
            if let Some(duration) = test.duration() {
                summary.duration = summary.duration.saturating_add(duration);
                timed.push((test.id.clone(), duration));
            }
        }
        timed.sort_by(|(a_id, a), (b_id, b)| b.cmp(a).then_with(|| a_id.cmp(b_id)));
        timed.truncate(SLOWEST);
        summary.slowest = timed;
        summary
    }

    /// Tests that make the run fail: failures and unexpected successes.
    pub fn failed(&self) -> impl Iterator<Item = &TestRecord> {
        self.tests
            .iter()
            .filter(|test| matches!(test.status, Status::Fail | Status::Uxsuccess))
    }
}

impl Summary {
    /// At least one test ran, and none failed, succeeded unexpectedly or
    /// was left unfinished.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.uxsuccess == 0 && self.incomplete == 0 && self.total > 0
    }

    /// `12 passed, 1 failed, 2 skipped`, then the rarer outcomes when present.
    pub fn totals_line(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        for (count, what) in [
            (self.xfail, "expected failures"),
            (self.uxsuccess, "unexpected successes"),
            (self.incomplete, "incomplete"),
        ] {
            if count > 0 {
                line.push_str(&format!(", {count} {what}"));
            }
        }
        line
    }
}

/// A test whose outcome differs between two runs; `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
}

/// Tests whose status changed, appeared or disappeared from `a` to `b`,
/// sorted by id. A test listed twice counts with its last record.
pub fn diff(a: &RunResults, b: &RunResults) -> Vec<Change> {
    let statuses = |run: &RunResults| -> BTreeMap<String, Status> {
        run.tests
            .iter()
            .map(|test| (test.id.clone(), test.status))
            .collect()
    };
    let (mut before, after) = (statuses(a), statuses(b));
    let mut changes = Vec::new();
    for (id, status) in after {
        let old = before.remove(&id);
        if old != Some(status) {
            changes.push(Change {
                id,
                before: old,
                after: Some(status),
            });
        }
    }
    changes.extend(before.into_iter().map(|(id, status)| Change {
        id,
        before: Some(status),
        after: None,
    }));
    changes.sort_by(|x, y| x.id.cmp(&y.id));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::subunit::parse;

    const FAIL: &[u8] = include_bytes!("../../fixtures/samples/subunit/standin-state-fail.subunit");
    const PYTHON_SUBUNIT: &[u8] =
        include_bytes!("../../fixtures/samples/subunit/python-subunit-run.subunit");
    const ALL_PASS: &[u8] =
        include_bytes!("../../fixtures/samples/subunit/standin-all-pass.subunit");

    fn record(id: &str, status: Status, secs: Option<f64>) -> TestRecord {
        TestRecord {
            id: id.to_string(),
            status,
            duration_secs: secs,
            details: String::new(),
        }
    }

    fn run(tests: &[(&str, Status)]) -> RunResults {
        RunResults {
            tests: tests.iter().map(|(id, s)| record(id, *s, None)).collect(),
        }
    }

    #[test]
    fn summary_of_a_failing_tempest_run() {
        let results = RunResults::from_parsed(&parse(FAIL));
        let summary = results.summary();
        assert_eq!(
            (
                summary.passed,
                summary.failed,
                summary.skipped,
                summary.total
            ),
            (7, 1, 1, 9)
        );
        assert!(!summary.is_success());
        assert_eq!(summary.totals_line(), "7 passed, 1 failed, 1 skipped");
        let failed: Vec<&str> = results.failed().map(|t| t.id.as_str()).collect();
        assert_eq!(
            failed,
            [
                "state_victim_tempest_plugin.tests.test_slow_service.SlowServiceTest.test_waits_for_slow_service"
            ]
        );
        // The victim waited on a socket; it is the slowest by far.
        assert_eq!(summary.slowest.len(), 5);
        assert_eq!(summary.slowest[0].0, failed[0]);
        assert!(summary.slowest.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(summary.duration >= summary.slowest[0].1);
    }

    #[test]
    fn summary_names_every_kind_of_outcome() {
        let summary = RunResults::from_parsed(&parse(PYTHON_SUBUNIT)).summary();
        assert_eq!(
            summary.totals_line(),
            "1 passed, 1 failed, 1 skipped, 1 expected failures, 1 unexpected successes"
        );
        assert!(!summary.is_success());

        let summary = RunResults::from_parsed(&parse(ALL_PASS)).summary();
        assert_eq!(summary.totals_line(), "6 passed, 0 failed, 0 skipped");
        assert!(summary.is_success());
    }

    #[test]
    fn enumerated_tests_that_never_ran_are_not_counted() {
        use crate::runner::subunit::TestResult;
        let test = |id: &str, status| TestResult {
            id: id.into(),
            status,
            duration: None,
            started: None,
            tags: Vec::new(),
            details: String::new(),
        };
        let parsed = Parsed {
            tests: vec![
                test("a.B.setUpClass", Status::Fail),
                test("a.B.test_one", Status::Exists),
                test("a.B.test_two", Status::Exists),
                test("a.C.test_ok", Status::Success),
                test("a.C.test_cut", Status::InProgress),
            ],
            warnings: Vec::new(),
        };
        let summary = RunResults::from_parsed(&parsed).summary();
        // As subunit-trace counts: 3 ran (one of them unfinished).
        assert_eq!(summary.total, 3);
        assert_eq!(
            summary.totals_line(),
            "1 passed, 1 failed, 0 skipped, 1 incomplete"
        );
    }

    #[test]
    fn success_needs_a_test_and_nothing_unfinished() {
        assert!(!RunResults::default().summary().is_success());
        let results = run(&[("a", Status::Xfail), ("b", Status::Skip)]);
        assert!(results.summary().is_success());
        let results = run(&[("a", Status::Uxsuccess)]);
        assert!(!results.summary().is_success());
        assert_eq!(results.failed().count(), 1);
        let results = run(&[("a", Status::Success), ("b", Status::InProgress)]);
        let summary = results.summary();
        assert!(!summary.is_success());
        assert_eq!(
            summary.totals_line(),
            "1 passed, 0 failed, 0 skipped, 1 incomplete"
        );
    }

    #[test]
    fn slowest_ignores_nonsense_durations_and_breaks_ties_by_id() {
        let results = RunResults {
            tests: vec![
                record("nan", Status::Success, Some(f64::NAN)),
                record("negative", Status::Success, Some(-1.0)),
                record("b", Status::Success, Some(2.0)),
                record("a", Status::Success, Some(2.0)),
                record("c", Status::Success, Some(0.5)),
                record("none", Status::Success, None),
            ],
        };
        let summary = results.summary();
        let order: Vec<&str> = summary.slowest.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(summary.duration, Duration::from_millis(4500));
    }

    #[test]
    fn records_round_trip_through_json() {
        let results = RunResults::from_parsed(&parse(FAIL));
        let json = serde_json::to_string(&results).unwrap();
        assert!(json.contains(r#""status":"fail""#));
        assert!(json.contains("TimeoutError: timed out"));
        let back: RunResults = serde_json::from_str(&json).unwrap();
        assert_eq!(back, results);
    }

    #[test]
    fn diff_lists_changes_appearances_and_disappearances_by_id() {
        let a = run(&[
            ("z.same", Status::Success),
            ("m.fixed", Status::Fail),
            ("b.gone", Status::Success),
            ("c.broke", Status::Success),
        ]);
        let b = run(&[
            ("c.broke", Status::Fail),
            ("z.same", Status::Success),
            ("a.new", Status::Skip),
            ("m.fixed", Status::Success),
        ]);
        let change = |id: &str, before, after| Change {
            id: id.to_string(),
            before,
            after,
        };
        assert_eq!(
            diff(&a, &b),
            [
                change("a.new", None, Some(Status::Skip)),
                change("b.gone", Some(Status::Success), None),
                change("c.broke", Some(Status::Success), Some(Status::Fail)),
                change("m.fixed", Some(Status::Fail), Some(Status::Success)),
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn diff_of_real_runs_shows_the_victim() {
        let alone = RunResults::from_parsed(&parse(ALL_PASS));
        let together = RunResults::from_parsed(&parse(FAIL));
        let changes = diff(&alone, &together);
        let victim = changes
            .iter()
            .find(|c| c.id.starts_with("state_victim"))
            .unwrap();
        assert_eq!((victim.before, victim.after), (None, Some(Status::Fail)));
        // Tests present and passing in both runs are not changes.
        assert!(!changes.iter().any(|c| c.id.ends_with("test_truth")));
        assert_eq!(changes.len(), 3); // victim, mutator, the skipped update_group
    }
}
