//! `sanity`: the base alone, every plugin alone and all of them together,
//! each listed in a fresh environment, in parallel. A plugin that does not
//! load alone is broken; one that loads alone but not with the others, or
//! lists fewer tests with them, interferes. When broken plugins keep the
//! whole set from loading, the healthy ones are also tried together, so
//! one bad plugin does not hide the others' problems.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;

use super::probe::{Action, Outcome, Prober};

/// A listing probe, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub loads: bool,
    pub exit_code: u8,
    /// Tests listed (for a plugin: its own, without the base's).
    pub tests: usize,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginVerdict {
    Ok,
    /// Does not load (or discover) alone.
    Broken,
    /// Loads alone, not together.
    FailsTogether,
    /// Loads together but lists fewer of its tests.
    LosesTests,
    /// Loads alone but lists no test.
    NoTests,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub plugin: String,
    pub entry_points: Vec<String>,
    pub alone: Listing,
    pub together: Listing,
    pub verdict: PluginVerdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct SanityReport {
    pub base: Listing,
    pub rows: Vec<Row>,
    /// Every plugin together.
    pub together: Listing,
    /// The plugins that load alone, together (when some do not).
    pub healthy_together: Option<Listing>,
    pub probes: usize,
}

impl SanityReport {
    pub fn all_ok(&self) -> bool {
        self.together.loads && self.rows.iter().all(|r| r.verdict == PluginVerdict::Ok)
    }
}

fn listing(outcome: &Outcome, tests: usize) -> Listing {
    let loads = outcome.code == 0;
    Listing {
        loads,
        exit_code: outcome.code,
        tests,
        errors: if loads {
            Vec::new()
        } else {
            outcome.error_lines(3)
        },
    }
}

pub fn sanity(prober: &Prober, threads: usize) -> Result<SanityReport> {
    let n = prober.members.len();
    let mut jobs = vec![(Vec::new(), Action::List, None)];
    jobs.extend((0..n).map(|i| (vec![i], Action::List, None)));
    jobs.push(((0..n).collect(), Action::List, None));
    let mut outcomes: Vec<Outcome> = prober
        .batch(&jobs, threads)
        .into_iter()
        .collect::<Result<_>>()?;
    let mut probes = jobs.len();
    let together = outcomes.pop().expect("the together probe");
    let base = outcomes.remove(0);
    let base_ids: BTreeSet<&str> = base.listed.iter().map(String::as_str).collect();
    let own: Vec<BTreeSet<&str>> = outcomes
        .iter()
        .map(|o| {
            o.listed
                .iter()
                .map(String::as_str)
                .filter(|id| !base_ids.contains(id))
                .collect()
        })
        .collect();
    let healthy: Vec<usize> = (0..n).filter(|&i| outcomes[i].code == 0).collect();
    let healthy_outcome = if healthy.len() < n && healthy.len() >= 2 {
        probes += 1;
        Some(prober.probe(&healthy, Action::List, None)?)
    } else {
        None
    };
    let reference = healthy_outcome.as_ref().unwrap_or(&together);
    let reference_ids: BTreeSet<&str> = reference.listed.iter().map(String::as_str).collect();
    let together_ids: BTreeSet<&str> = together.listed.iter().map(String::as_str).collect();
    let rows = (0..n)
        .map(|i| {
            let member = &prober.members[i];
            let alone = listing(&outcomes[i], own[i].len());
            let (ref_outcome, ids) = if alone.loads {
                (reference, &reference_ids)
            } else {
                (&together, &together_ids)
            };
            let kept = own[i].iter().filter(|id| ids.contains(*id)).count();
            let with_others = listing(ref_outcome, kept);
            let verdict = if !alone.loads {
                PluginVerdict::Broken
            } else if alone.tests == 0 {
                PluginVerdict::NoTests
            } else if !with_others.loads {
                PluginVerdict::FailsTogether
            } else if kept < alone.tests {
                PluginVerdict::LosesTests
            } else {
                PluginVerdict::Ok
            };
            Row {
                plugin: member.name.clone(),
                entry_points: member.entry_points.clone(),
                alone,
                together: Listing {
                    errors: Vec::new(),
                    ..with_others
                },
                verdict,
            }
        })
        .collect();
    // Every count is the plugins' own tests, as the table's note says: the
    // base's are not in the together rows either.
    let plugins_own = |o: &Outcome| {
        o.listed
            .iter()
            .filter(|id| !base_ids.contains(id.as_str()))
            .collect::<BTreeSet<_>>()
            .len()
    };
    Ok(SanityReport {
        base: listing(&base, base_ids.len()),
        rows,
        together: listing(&together, plugins_own(&together)),
        healthy_together: healthy_outcome.as_ref().map(|o| listing(o, plugins_own(o))),
        probes,
    })
}
