//! `sanity`: the base alone, every plugin alone and all of them together,
//! each listed in a fresh environment, in parallel. A plugin that does not
//! load alone is broken; one that loads alone but not with the others, or
//! lists fewer tests with them, interferes. When broken plugins keep the
//! whole set from loading, the healthy ones are also tried together, so
//! one bad plugin does not hide the others' problems.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;

use super::job::Job;
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

/// The probes a sanity check starts with: the base alone, every member
/// alone, all of them together (member `i`'s name is `names[i]`).
pub fn jobs(names: &[String]) -> Vec<Job> {
    let n = names.len();
    let mut jobs = vec![Job::new("base", Vec::new(), Action::List)];
    jobs.extend(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| Job::new(format!("alone: {name}"), vec![i], Action::List)),
    );
    jobs.push(Job::new("together", (0..n).collect(), Action::List));
    jobs
}

/// The probe a sanity check needs once the first ones are in, given the
/// outcomes of [`jobs`] in order: the members that load alone, together,
/// when some do not (and at least two do).
pub fn follow_up(names: &[String], outcomes: &[Outcome]) -> Option<Job> {
    let n = names.len();
    let healthy: Vec<usize> = (0..n)
        .filter(|&i| outcomes.get(i + 1).is_some_and(|o| o.code == 0))
        .collect();
    (healthy.len() < n && healthy.len() >= 2)
        .then(|| Job::new("healthy together", healthy, Action::List))
}

pub fn sanity(prober: &Prober, threads: usize) -> Result<SanityReport> {
    let names: Vec<String> = prober.members.iter().map(|m| m.name.clone()).collect();
    let outcomes = super::job::run_all(prober, &jobs(&names), threads)?;
    let healthy = match follow_up(&names, &outcomes) {
        Some(job) => Some(prober.probe(&job.members, job.action, None)?),
        None => None,
    };
    let members: Vec<(String, Vec<String>)> = prober
        .members
        .iter()
        .map(|m| (m.name.clone(), m.entry_points.clone()))
        .collect();
    Ok(evaluate(&members, outcomes, healthy))
}

/// The report from the outcomes of [`jobs`] (in order) and of the
/// [`follow_up`] probe, if one was needed; `members` are each member's
/// name and entry points. Pure: a local check and one collected from a
/// plan's results give the same report for the same outcomes.
pub fn evaluate(
    members: &[(String, Vec<String>)],
    mut outcomes: Vec<Outcome>,
    healthy_outcome: Option<Outcome>,
) -> SanityReport {
    let n = members.len();
    let mut probes = outcomes.len();
    let empty = || Outcome {
        code: 255,
        stdout: String::new(),
        stderr: String::new(),
        listed: Vec::new(),
        results: None,
        runner_time: Default::default(),
        total_time: Default::default(),
    };
    // Callers give n + 2 outcomes; anything less reads as probes that failed.
    outcomes.resize_with(n + 2, empty);
    let together = outcomes.pop().unwrap_or_else(empty);
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
    if healthy_outcome.is_some() {
        probes += 1;
    }
    let reference = healthy_outcome.as_ref().unwrap_or(&together);
    let reference_ids: BTreeSet<&str> = reference.listed.iter().map(String::as_str).collect();
    let together_ids: BTreeSet<&str> = together.listed.iter().map(String::as_str).collect();
    let rows = (0..n)
        .map(|i| {
            let (name, entry_points) = &members[i];
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
                plugin: name.clone(),
                entry_points: entry_points.clone(),
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
    SanityReport {
        base: listing(&base, base_ids.len()),
        rows,
        together: listing(&together, plugins_own(&together)),
        healthy_together: healthy_outcome.as_ref().map(|o| listing(o, plugins_own(o))),
        probes,
    }
}
