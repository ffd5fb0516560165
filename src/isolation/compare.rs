//! `compare`: run a filter with its plugin alone and with the whole set,
//! side by side, and list every test with both statuses, the changed ones
//! first ([`crate::runner::results::diff`]).

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::job::Job;
use super::probe::{Action, Outcome, Prober};
use crate::runner::results::{RunResults, diff};
use crate::runner::subunit::Status;

#[derive(Debug, Clone, Serialize)]
pub struct TestRow {
    pub id: String,
    pub alone: Option<Status>,
    pub together: Option<Status>,
    pub changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub filter: String,
    pub target: String,
    pub alone_exit_code: u8,
    pub together_exit_code: u8,
    pub tests: Vec<TestRow>,
    /// Errors of a side that produced no results.
    pub alone_errors: Vec<String>,
    pub together_errors: Vec<String>,
}

impl CompareReport {
    /// A test that passed alone does not pass together (absent counts: a
    /// set that no longer loads loses every test). The exit codes alone
    /// decide nothing.
    pub fn regressed(&self) -> bool {
        self.tests.iter().any(|t| {
            t.changed
                && matches!(
                    t.alone,
                    Some(Status::Success | Status::Skip | Status::Xfail)
                )
                && !matches!(
                    t.together,
                    Some(Status::Success | Status::Skip | Status::Xfail)
                )
        })
    }
}

/// The two probes of a comparison: the filter run with member `target`
/// (named `name`) alone, and with all `n` members.
pub fn jobs(target: usize, name: &str, n: usize, filter: &str) -> Vec<Job> {
    vec![
        Job::new(format!("alone: {name}"), vec![target], Action::Run).with_filter(filter),
        Job::new("together", (0..n).collect(), Action::Run).with_filter(filter),
    ]
}

pub fn compare(
    prober: &Prober,
    filter: &str,
    target: Option<&str>,
    threads: usize,
) -> Result<CompareReport> {
    let (target, _) = super::bisect::find_target(prober, filter, target, threads)?;
    let name = prober.members[target].name.clone();
    let jobs = jobs(target, &name, prober.members.len(), filter);
    let mut outcomes = super::job::run_all(prober, &jobs, threads)?.into_iter();
    let (Some(alone), Some(together)) = (outcomes.next(), outcomes.next()) else {
        anyhow::bail!("internal: a comparison's probes did not all run");
    };
    Ok(evaluate(filter, &name, &alone, &together))
}

/// The report from the two probes' outcomes. Pure: a local comparison and
/// one collected from a plan's results agree on the same outcomes.
pub fn evaluate(filter: &str, target: &str, alone: &Outcome, together: &Outcome) -> CompareReport {
    let empty = RunResults::default();
    let a = alone.results.as_ref().unwrap_or(&empty);
    let b = together.results.as_ref().unwrap_or(&empty);
    let changes = diff(a, b);
    let mut rows: BTreeMap<String, TestRow> = BTreeMap::new();
    fn row(rows: &mut BTreeMap<String, TestRow>, id: String) -> &mut TestRow {
        rows.entry(id.clone()).or_insert(TestRow {
            id,
            alone: None,
            together: None,
            changed: false,
        })
    }
    for (id, status) in alone.statuses() {
        row(&mut rows, id).alone = Some(status);
    }
    for (id, status) in together.statuses() {
        row(&mut rows, id).together = Some(status);
    }
    for change in &changes {
        if let Some(row) = rows.get_mut(&change.id) {
            row.changed = true;
        }
    }
    let mut tests: Vec<TestRow> = rows.into_values().collect();
    tests.sort_by_key(|t| !t.changed);
    let errors = |o: &Outcome| {
        if o.results.as_ref().is_none_or(|r| r.tests.is_empty()) {
            o.error_lines(3)
        } else {
            Vec::new()
        }
    };
    CompareReport {
        filter: filter.to_string(),
        target: target.to_string(),
        alone_exit_code: alone.code,
        together_exit_code: together.code,
        alone_errors: errors(alone),
        together_errors: errors(together),
        tests,
    }
}
