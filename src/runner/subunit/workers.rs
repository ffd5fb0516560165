//! Which tests ran before a given one in the same process: runners that
//! spread tests over workers (stestr, tempest) tag each test `worker-N`,
//! and a worker runs its tests one after another, so the tests that can
//! have left state behind for a test are those of its worker that started
//! before it. Pure: it reads a parsed stream.

use std::time::Duration;

use super::{Parsed, Status, TestResult};

/// The tests of one worker that ran before a test, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerOrder {
    /// The test's `worker-N` tag; `None` when the stream tags no worker
    /// (one process ran everything).
    pub worker: Option<String>,
    /// The ids that ran before it on that worker, first first.
    pub before: Vec<String>,
    /// How many workers the run had (at least one).
    pub workers: usize,
    /// Whether the order comes from timestamps (else from stream order).
    pub timed: bool,
}

/// The worker tag of a test, if it has one.
pub fn worker_of(test: &TestResult) -> Option<&str> {
    test.tags
        .iter()
        .map(String::as_str)
        .find(|t| t.strip_prefix("worker-").is_some_and(|n| !n.is_empty()))
}

/// The tests that ran before `test_id` on its worker; `None` if the
/// stream does not have it. Tests only enumerated (`exists`) never ran and
/// are left out. Order: by start time when every test of the worker has
/// one, else the order the stream reported them in.
pub fn order_before(parsed: &Parsed, test_id: &str) -> Option<WorkerOrder> {
    let target_at = parsed.tests.iter().position(|t| t.id == test_id)?;
    let target = &parsed.tests[target_at];
    let worker = worker_of(target);
    let mut workers: Vec<Option<&str>> = parsed
        .tests
        .iter()
        .filter(|t| t.status != Status::Exists)
        .map(worker_of)
        .collect();
    workers.sort_unstable();
    workers.dedup();
    let same: Vec<(usize, &TestResult)> = parsed
        .tests
        .iter()
        .enumerate()
        .filter(|(_, t)| t.status != Status::Exists && worker_of(t) == worker)
        .collect();
    let timed = same.iter().all(|(_, t)| t.started.is_some());
    let key = |at: usize, t: &TestResult| -> (Duration, usize) {
        if timed {
            (t.started.unwrap_or_default(), at)
        } else {
            (Duration::ZERO, at)
        }
    };
    let target_key = key(target_at, target);
    let mut earlier: Vec<((Duration, usize), &str)> = same
        .iter()
        .filter(|(at, _)| *at != target_at)
        .map(|(at, t)| (key(*at, t), t.id.as_str()))
        .filter(|(k, _)| *k < target_key)
        .collect();
    earlier.sort();
    Some(WorkerOrder {
        worker: worker.map(str::to_string),
        before: earlier.into_iter().map(|(_, id)| id.to_string()).collect(),
        workers: workers.len().max(1),
        timed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::subunit::parse;

    const STESTR: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/stestr-run.subunit"
    ));
    const FAIL: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/standin-state-fail.subunit"
    ));

    fn test(id: &str, worker: Option<&str>, started: Option<u64>) -> TestResult {
        TestResult {
            id: id.into(),
            status: Status::Success,
            duration: None,
            started: started.map(Duration::from_millis),
            tags: worker.map(|w| vec![w.to_string()]).unwrap_or_default(),
            details: String::new(),
        }
    }

    #[test]
    fn a_serial_stand_in_run_is_one_worker_in_stream_order() {
        let parsed = parse(FAIL);
        let victim = "state_victim_tempest_plugin.tests.test_slow_service.SlowServiceTest.test_waits_for_slow_service";
        let order = order_before(&parsed, victim).unwrap();
        assert_eq!(order.worker.as_deref(), Some("worker-0"));
        assert_eq!(order.workers, 1);
        assert!(order.timed);
        let at = parsed.tests.iter().position(|t| t.id == victim).unwrap();
        let expected: Vec<String> = parsed.tests[..at].iter().map(|t| t.id.clone()).collect();
        assert_eq!(order.before, expected);
        assert!(
            order
                .before
                .iter()
                .any(|id| id.starts_with("state_mutator")),
            "{order:?}"
        );
    }

    #[test]
    fn stestr_workers_are_kept_apart() {
        let parsed = parse(STESTR);
        let ran: Vec<&TestResult> = parsed
            .tests
            .iter()
            .filter(|t| t.status != Status::Exists)
            .collect();
        let workers: std::collections::BTreeSet<&str> =
            ran.iter().filter_map(|t| worker_of(t)).collect();
        assert_eq!(workers.len(), 2, "{ran:?}");
        for t in &ran {
            let order = order_before(&parsed, &t.id).unwrap();
            assert_eq!(order.workers, 2);
            assert_eq!(order.worker.as_deref(), worker_of(t));
            for id in &order.before {
                let other = parsed.tests.iter().find(|o| &o.id == id).unwrap();
                assert_eq!(worker_of(other), worker_of(t), "{id}");
                assert!(other.started < t.started, "{id} before {}", t.id);
            }
        }
        // Every test of a worker but its first has the worker's earlier
        // tests before it: the before-lists of one worker nest.
        let total: usize = ran
            .iter()
            .map(|t| order_before(&parsed, &t.id).unwrap().before.len())
            .sum();
        let mut per_worker = std::collections::BTreeMap::new();
        for t in &ran {
            *per_worker.entry(worker_of(t)).or_insert(0usize) += 1;
        }
        let expected: usize = per_worker.values().map(|n| n * (n - 1) / 2).sum();
        assert_eq!(total, expected);
    }

    #[test]
    fn timestamps_order_interleaved_reports() {
        let parsed = Parsed {
            tests: vec![
                test("a.T.late", Some("worker-0"), Some(30)),
                test("a.T.other", Some("worker-1"), Some(5)),
                test("a.T.early", Some("worker-0"), Some(10)),
                test("a.T.victim", Some("worker-0"), Some(40)),
                test("a.T.after", Some("worker-0"), Some(50)),
            ],
            warnings: Vec::new(),
        };
        let order = order_before(&parsed, "a.T.victim").unwrap();
        assert_eq!(order.before, ["a.T.early", "a.T.late"]);
        assert_eq!(order.workers, 2);
        assert!(order_before(&parsed, "a.T.missing").is_none());
    }

    #[test]
    fn without_timestamps_or_tags_the_stream_order_counts() {
        let parsed = Parsed {
            tests: vec![
                test("a.T.one", None, None),
                test("a.T.two", None, Some(1)),
                test("a.T.victim", None, None),
                test("a.T.three", None, None),
            ],
            warnings: Vec::new(),
        };
        let order = order_before(&parsed, "a.T.victim").unwrap();
        assert_eq!(order.before, ["a.T.one", "a.T.two"]);
        assert_eq!(order.worker, None);
        assert!(!order.timed);
        let mut enumerated = parsed.clone();
        enumerated.tests[0].status = Status::Exists;
        let order = order_before(&enumerated, "a.T.victim").unwrap();
        assert_eq!(order.before, ["a.T.two"]);
    }
}
