//! `compare`: run a filter with its plugin alone and with the whole set,
//! side by side, and list every test with both statuses, the changed ones
//! first ([`crate::runner::results::diff`]).

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::probe::{Action, Prober};
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

pub fn compare(
    prober: &Prober,
    filter: &str,
    target: Option<&str>,
    threads: usize,
) -> Result<CompareReport> {
    let (target, _) = super::bisect::find_target(prober, filter, target, threads)?;
    let all: Vec<usize> = (0..prober.members.len()).collect();
    let jobs = vec![
        (vec![target], Action::Run, Some(filter.to_string())),
        (all, Action::Run, Some(filter.to_string())),
    ];
    let mut outcomes = prober.batch(&jobs, threads).into_iter();
    let alone = outcomes.next().expect("alone")?;
    let together = outcomes.next().expect("together")?;
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
    let errors = |o: &super::probe::Outcome| {
        if o.results.as_ref().is_none_or(|r| r.tests.is_empty()) {
            o.error_lines(3)
        } else {
            Vec::new()
        }
    };
    Ok(CompareReport {
        filter: filter.to_string(),
        target: prober.members[target].name.clone(),
        alone_exit_code: alone.code,
        together_exit_code: together.code,
        alone_errors: errors(&alone),
        together_errors: errors(&together),
        tests,
    })
}
