//! A probe described, not yet run: which members it has, whether it lists
//! or runs, with which filter, and a name people can read. `sanity` and
//! `compare` describe their probes once; the same descriptions run here
//! ([`super::probe::Prober::batch`]) or are written into a plan for other
//! machines ([`super::plan`]).

use serde::{Deserialize, Serialize};

use super::probe::Action;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// `base`, `alone: NAME`, `together`, ...
    pub name: String,
    /// Member indices, ascending.
    pub members: Vec<usize>,
    pub action: Action,
    pub filter: Option<String>,
}

impl Job {
    pub fn new(name: impl Into<String>, members: Vec<usize>, action: Action) -> Self {
        Self {
            name: name.into(),
            members,
            action,
            filter: None,
        }
    }

    pub fn with_filter(mut self, filter: &str) -> Self {
        self.filter = Some(filter.to_string());
        self
    }

    /// The form [`super::probe::Prober::batch`] takes.
    pub fn batch_entry(&self) -> (Vec<usize>, Action, Option<String>) {
        (self.members.clone(), self.action, self.filter.clone())
    }
}

/// Run `jobs` on `prober`, `threads` at once; outcomes in the jobs' order.
pub fn run_all(
    prober: &super::probe::Prober,
    jobs: &[Job],
    threads: usize,
) -> anyhow::Result<Vec<super::probe::Outcome>> {
    let entries: Vec<_> = jobs.iter().map(Job::batch_entry).collect();
    prober.batch(&entries, threads).into_iter().collect()
}
