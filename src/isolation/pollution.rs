//! `pollution`: a test that failed after other tests on its worker, and
//! passes alone, was broken by state one of them left behind. Replay the
//! worker's order in fresh environments of the run's composition, the
//! tests given to the runner as a list in order, one worker: check that
//! the test passes alone and fails after the whole order, then search the
//! earlier tests for the smallest set whose running before it makes it
//! fail ([`super::search`], the search `bisect` makes over plugins), each
//! probe repeated to tell a flaky probe from a failing one.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::probe::{Action, Job, Outcome, Prober};
use super::search::{self, Verdict};
use crate::runner::subunit::Status;

pub struct PollutionOptions {
    /// The test that failed.
    pub test: String,
    /// The tests its worker ran before it, in order.
    pub before: Vec<String>,
    /// Every test's status in the recorded run.
    pub recorded: BTreeMap<String, Status>,
    /// How many workers the recorded run had.
    pub workers: usize,
    /// The recorded run's own runner arguments still in force.
    pub posargs: Vec<String>,
    /// The arguments that give the runner a list (the file follows).
    pub list_flags: Vec<String>,
    pub repeat: usize,
    pub threads: usize,
}

/// One probe of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Why it was probed: alone, replay, search, confirm or without.
    pub stage: &'static str,
    /// One character per earlier test: `#` run before the test, `.` not.
    pub mask: String,
    pub verdict: Verdict,
    /// The test's status in each repetition (`null`: it did not run).
    pub statuses: Vec<Option<Status>>,
    pub exit_codes: Vec<u8>,
    pub seconds: f64,
    /// What went wrong, when it failed.
    pub errors: Vec<String>,
    /// Whether the runner ran the listed tests in another order.
    pub reordered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// The earlier tests that make the test fail were found.
    Polluters,
    /// The test fails alone: its failure is its own.
    FailsAlone,
    /// Repeated runs of the test alone disagreed.
    FlakyAlone,
    /// The test did not run at all in the replayed composition.
    DidNotRun,
    /// The test passes after its worker's whole order: the recorded
    /// failure does not reproduce.
    NotReproduced,
    /// Repeated replays of the whole order disagreed.
    FlakyReplay,
}

#[derive(Debug, Clone, Serialize)]
pub struct PollutionReport {
    pub test: String,
    /// The distribution the test belongs to.
    pub test_plugin: String,
    pub repeat: usize,
    /// The tests that ran before it on its worker, in order.
    pub before: Vec<String>,
    pub workers: usize,
    pub finding: Finding,
    /// The earlier tests that make it fail, in the order they ran.
    pub polluters: Vec<String>,
    /// The distribution of each polluter (same order).
    pub plugins: Vec<String>,
    /// Where each polluter stood in the worker's order (1 is first).
    pub positions: Vec<usize>,
    /// Probes run (alone, replay, search, confirmations).
    pub probes: usize,
    /// 2·k·⌈log2 n⌉ + 2 for k polluters among n earlier tests, besides
    /// the confirmations.
    pub bound: Option<usize>,
    /// The masks of probes whose repetitions disagreed.
    pub flaky: Vec<String>,
    /// Whether the test fails with only the polluters before it.
    pub with_polluters: Option<Verdict>,
    /// Whether it passes after the whole order less the polluters.
    pub without_polluters: Option<Verdict>,
    /// Why a replay may not have done what the recorded run did.
    pub differences: Vec<String>,
    pub trail: Vec<Step>,
    /// The list that reproduces the failure, and one that passes (the
    /// test last in both).
    pub failing_list: Vec<String>,
    pub passing_list: Vec<String>,
}

/// Whether a status of the test counts as passing.
fn passes(status: Option<Status>) -> bool {
    matches!(status, Some(Status::Success | Status::Skip | Status::Xfail))
}

fn status_of(outcome: &Outcome, test: &str) -> Option<Status> {
    outcome
        .results
        .as_ref()
        .and_then(|r| r.tests.iter().find(|t| t.id == test))
        .map(|t| t.status)
        .filter(|s| s.is_final())
}

/// Whether the runner ran `list`'s tests in another order than given.
fn reordered(outcome: &Outcome, list: &[String]) -> bool {
    let Some(results) = &outcome.results else {
        return false;
    };
    let ran: Vec<&str> = results
        .tests
        .iter()
        .map(|t| t.id.as_str())
        .filter(|id| list.iter().any(|l| l == id))
        .collect();
    let wanted: Vec<&str> = list
        .iter()
        .map(String::as_str)
        .filter(|id| ran.contains(id))
        .collect();
    ran != wanted
}

/// The distribution a test id belongs to: the member whose top-level
/// package it is in, tempest's own, or its top-level name in brackets.
pub fn owner(prober: &Prober, test_id: &str) -> String {
    if let Some(member) = prober.members.iter().find(|m| m.owns(test_id)) {
        return member.name.clone();
    }
    let top = test_id.split(['.', '[']).next().unwrap_or_default();
    if top == "tempest" {
        "tempest".into()
    } else {
        format!("({top})")
    }
}

struct Search<'a> {
    prober: &'a Prober,
    options: &'a PollutionOptions,
    everyone: Vec<usize>,
    report: PollutionReport,
    lists: std::sync::atomic::AtomicUsize,
    /// Every test's status in the first replay of the whole order.
    replayed: Vec<(String, Status)>,
}

impl Search<'_> {
    /// The list of a probe: the chosen earlier tests in order, then the test.
    fn list(&self, chosen: &[usize]) -> Vec<String> {
        let mut list: Vec<String> = chosen
            .iter()
            .map(|&c| self.options.before[c].clone())
            .collect();
        list.push(self.options.test.clone());
        list
    }

    /// Probe each chosen set `repeat` times, in parallel; one step each.
    fn steps(&mut self, stage: &'static str, sets: &[Vec<usize>]) -> Result<Vec<Verdict>> {
        let repeat = self.options.repeat.max(1);
        let mut jobs: Vec<Job> = Vec::new();
        let mut lists = Vec::new();
        for chosen in sets {
            let list = self.list(chosen);
            let n = self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let file = self.prober.scratch_dir().join(format!("list-{n}.txt"));
            fs_err::write(&file, format!("{}\n", list.join("\n")))?;
            let mut posargs = self.options.posargs.clone();
            posargs.extend(self.options.list_flags.iter().cloned());
            posargs.push(file.display().to_string());
            for _ in 0..repeat {
                jobs.push((self.everyone.clone(), Action::Run, None, posargs.clone()));
            }
            lists.push(list);
        }
        let mut outcomes = self
            .prober
            .batch_with(&jobs, self.options.threads)
            .into_iter();
        let mut verdicts = Vec::new();
        for (chosen, list) in sets.iter().zip(&lists) {
            let mine: Vec<Outcome> = outcomes.by_ref().take(repeat).collect::<Result<_>>()?;
            if stage == "replay"
                && let Some(first) = mine.first()
            {
                self.replayed = first.statuses();
            }
            let statuses: Vec<Option<Status>> = mine
                .iter()
                .map(|o| status_of(o, &self.options.test))
                .collect();
            let passed = statuses.iter().filter(|s| passes(**s)).count();
            let verdict = match passed {
                0 => Verdict::Fail,
                p if p == mine.len() => Verdict::Pass,
                _ => Verdict::Flaky,
            };
            let mask: String = (0..self.options.before.len())
                .map(|c| if chosen.contains(&c) { '#' } else { '.' })
                .collect();
            if verdict == Verdict::Flaky {
                self.report.flaky.push(mask.clone());
            }
            self.prober.note(format!("{stage} {verdict:?}"));
            let errors = mine
                .iter()
                .zip(&statuses)
                .find(|(_, s)| !passes(**s))
                .map(|(o, _)| test_error(o, &self.options.test))
                .unwrap_or_default();
            self.report.probes += 1;
            self.report.trail.push(Step {
                stage,
                mask,
                verdict,
                exit_codes: mine.iter().map(|o| o.code).collect(),
                seconds: mine
                    .iter()
                    .map(|o| o.total_time.as_secs_f64())
                    .fold(0.0, f64::max),
                errors,
                reordered: mine.iter().any(|o| reordered(o, list)),
                statuses,
            });
            verdicts.push(verdict);
        }
        Ok(verdicts)
    }
}

/// The last line of the test's traceback, or what the probe said.
fn test_error(outcome: &Outcome, test: &str) -> Vec<String> {
    let own = outcome
        .results
        .as_ref()
        .and_then(|r| r.tests.iter().find(|t| t.id == test))
        .and_then(|t| {
            t.details
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        });
    let lines = match own {
        Some(line) => vec![line],
        None => outcome.error_lines(3),
    };
    lines.into_iter().map(|l| clip(&l, 200)).collect()
}

/// At most `max` characters, with `…` for the rest.
fn clip(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

pub fn pollution(prober: &Prober, options: &PollutionOptions) -> Result<PollutionReport> {
    let n = options.before.len();
    let mut search = Search {
        prober,
        options,
        everyone: (0..prober.members.len()).collect(),
        report: PollutionReport {
            test: options.test.clone(),
            test_plugin: owner(prober, &options.test),
            repeat: options.repeat.max(1),
            before: options.before.clone(),
            workers: options.workers,
            finding: Finding::Polluters,
            polluters: Vec::new(),
            plugins: Vec::new(),
            positions: Vec::new(),
            probes: 0,
            bound: None,
            flaky: Vec::new(),
            with_polluters: None,
            without_polluters: None,
            differences: Vec::new(),
            trail: Vec::new(),
            failing_list: Vec::new(),
            passing_list: vec![options.test.clone()],
        },
        lists: Default::default(),
        replayed: Vec::new(),
    };
    if settled(&mut search)? {
        return Ok(search.report);
    }
    let everything: Vec<usize> = (0..n).collect();
    prober.grow(search::bound(1, n));
    let known = BTreeMap::from([
        (Vec::new(), Verdict::Pass),
        (everything.clone(), Verdict::Fail),
    ]);
    let mut failure = None;
    let (found, memo) = search::minimal_failing(n, options.threads, known, |sets| {
        if failure.is_some() {
            return vec![Verdict::Pass; sets.len()];
        }
        match search.steps("search", sets) {
            Ok(verdicts) => verdicts,
            Err(err) => {
                failure = Some(err);
                vec![Verdict::Pass; sets.len()]
            }
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    finish(search, &found, memo)
}

/// Probes the test alone and after everything that ran before it on its
/// worker: whether those settle the search (the report says how), so that
/// no search runs.
fn settled(search: &mut Search) -> Result<bool> {
    let options = search.options;
    let n = options.before.len();
    let alone = search.steps("alone", &[Vec::new()])?[0];
    let ran_alone = search.report.trail[0].statuses.iter().any(Option::is_some);
    match alone {
        Verdict::Pass => {}
        Verdict::Fail if !ran_alone => {
            search.report.finding = Finding::DidNotRun;
            return Ok(true);
        }
        Verdict::Fail => {
            search.report.finding = Finding::FailsAlone;
            search.report.failing_list = vec![options.test.clone()];
            return Ok(true);
        }
        Verdict::Flaky => {
            search.report.finding = Finding::FlakyAlone;
            return Ok(true);
        }
    }
    let everything: Vec<usize> = (0..n).collect();
    if n == 0 {
        search.report.finding = Finding::NotReproduced;
        search
            .report
            .differences
            .push("nothing ran before it on its worker".into());
        search.report.differences.extend(other_workers(options));
        return Ok(true);
    }
    match search.steps("replay", std::slice::from_ref(&everything))?[0] {
        Verdict::Fail => {}
        Verdict::Pass => {
            search.report.finding = Finding::NotReproduced;
            search.report.passing_list = search.list(&everything);
            let step = search.report.trail.last().cloned();
            search.report.differences = differences(options, step.as_ref(), &search.replayed);
            return Ok(true);
        }
        Verdict::Flaky => {
            search.report.finding = Finding::FlakyReplay;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Confirm the polluters found, and the order without them, unless the
/// search probed them; the report of what was found.
fn finish(
    mut search: Search,
    found: &[usize],
    memo: BTreeMap<Vec<usize>, Verdict>,
) -> Result<PollutionReport> {
    let (options, prober) = (search.options, search.prober);
    let n = options.before.len();
    let rest: Vec<usize> = (0..n).filter(|c| !found.contains(c)).collect();
    // Confirm both command lines' lists, unless the search probed them.
    let mut unknown: Vec<(Vec<usize>, &'static str)> = Vec::new();
    for (set, stage) in [(found, "confirm"), (rest.as_slice(), "without")] {
        if !memo.contains_key(set) {
            unknown.push((set.to_vec(), stage));
        }
    }
    let mut verdicts = memo;
    for (set, stage) in unknown {
        let verdict = search.steps(stage, std::slice::from_ref(&set))?[0];
        verdicts.insert(set, verdict);
    }
    let report = &mut search.report;
    report.with_polluters = verdicts.get(found).copied();
    report.without_polluters = verdicts.get(&rest).copied();
    report.bound = Some(search::bound(found.len(), n) + 2);
    report.polluters = found.iter().map(|&c| options.before[c].clone()).collect();
    report.plugins = report
        .polluters
        .iter()
        .map(|id| owner(prober, id))
        .collect();
    report.positions = found.iter().map(|&c| c + 1).collect();
    let mut report = search.report;
    report.failing_list = search_list(options, found);
    report.passing_list = if report.without_polluters == Some(Verdict::Pass) {
        search_list(options, &rest)
    } else {
        vec![options.test.clone()]
    };
    Ok(report)
}

fn search_list(options: &PollutionOptions, chosen: &[usize]) -> Vec<String> {
    let mut list: Vec<String> = chosen.iter().map(|&c| options.before[c].clone()).collect();
    list.push(options.test.clone());
    list
}

fn other_workers(options: &PollutionOptions) -> Option<String> {
    (options.workers > 1).then(|| {
        format!(
            "the run had {} workers: tests on the others ran at the same time in other processes, sharing the workspace (tempest_lock, files) and the cloud; the replay runs only this test's worker",
            options.workers
        )
    })
}

/// What differed between the recorded run and a replay in which the test
/// passed.
fn differences(
    options: &PollutionOptions,
    replay: Option<&Step>,
    replayed: &[(String, Status)],
) -> Vec<String> {
    let mut out: Vec<String> = other_workers(options).into_iter().collect();
    if replay.is_some_and(|s| s.reordered) {
        out.push("the runner ran the listed tests in another order than the worker did".into());
    }
    let missing: Vec<&String> = options
        .before
        .iter()
        .filter(|id| !replayed.iter().any(|(r, _)| r == *id))
        .collect();
    if !missing.is_empty() {
        out.push(format!(
            "{} of the {} earlier tests did not run in the replay (first: {})",
            missing.len(),
            options.before.len(),
            missing[0]
        ));
    }
    let changed = changed_statuses(&options.recorded, replayed);
    if !changed.is_empty() {
        out.push(format!(
            "{} test(s) ended otherwise than in the run: {}",
            changed.len(),
            changed
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    out.push(
        "the replay composes the environment again and gives the runner a fresh workspace; state outside them (the cloud, files elsewhere, your shell's variables) may differ"
            .into(),
    );
    out
}

/// Earlier tests whose status in a replay differs from the recorded one.
fn changed_statuses(
    recorded: &BTreeMap<String, Status>,
    replayed: &[(String, Status)],
) -> Vec<String> {
    let mut out = Vec::new();
    for (id, now) in replayed {
        if let Some(then) = recorded.get(id)
            && then != now
        {
            out.push(format!("{id}: {then:?} in the run, {now:?} in the replay"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_that_changed_are_named() {
        let recorded = BTreeMap::from([
            ("a.T.one".to_string(), Status::Success),
            ("a.T.two".to_string(), Status::Fail),
        ]);
        let replayed = vec![
            ("a.T.one".to_string(), Status::Success),
            ("a.T.two".to_string(), Status::Success),
            ("a.T.new".to_string(), Status::Success),
        ];
        assert_eq!(
            changed_statuses(&recorded, &replayed),
            ["a.T.two: Fail in the run, Success in the replay"]
        );
    }

    #[test]
    fn long_error_lines_are_clipped() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 3), "ééé…");
    }

    #[test]
    fn a_test_passes_when_it_succeeds_or_is_skipped() {
        assert!(passes(Some(Status::Success)));
        assert!(passes(Some(Status::Skip)));
        assert!(passes(Some(Status::Xfail)));
        assert!(!passes(Some(Status::Fail)));
        assert!(!passes(Some(Status::Uxsuccess)));
        assert!(!passes(None));
    }
}
