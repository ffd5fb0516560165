//! `bisect`: find the plugin whose tests a filter selects, check that the
//! filter passes with that plugin alone and fails with the whole set, then
//! search for the smallest set of other plugins that makes it fail
//! ([`super::search`]), each probe a fresh environment, repeated to tell a
//! flaky probe from a failing one.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::probe::{Action, Outcome, Prober};
use super::search::{self, Verdict};
use crate::error::UserError;

pub struct BisectOptions {
    pub filter: String,
    pub action: Action,
    pub repeat: usize,
    pub target: Option<String>,
    pub threads: usize,
}

/// One probe of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Why it was probed: alone, whole-set, search or confirm.
    pub stage: &'static str,
    /// The other plugins it had, by name.
    pub plugins: Vec<String>,
    /// One character per candidate: `#` present, `.` absent.
    pub mask: String,
    pub verdict: Verdict,
    /// The runner's exit code of each repetition.
    pub exit_codes: Vec<u8>,
    pub seconds: f64,
    /// What went wrong, when it failed.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// A culprit set was found.
    Culprits,
    /// The filter fails with its own plugin alone: not an isolation problem.
    FailsAlone,
    /// The filter passes with the whole set: nothing to find.
    PassesTogether,
    /// Repeated probes of the plugin alone disagreed.
    FlakyAlone,
    /// Repeated probes of the whole set disagreed; no reproducible failure.
    FlakyTogether,
}

#[derive(Debug, Clone, Serialize)]
pub struct BisectReport {
    pub filter: String,
    pub probe: Action,
    pub repeat: usize,
    pub target: String,
    pub candidates: Vec<String>,
    pub finding: Finding,
    pub culprits: Vec<String>,
    /// Probes of the search (alone, whole set, search, confirmation).
    pub probes: usize,
    /// Listing probes spent finding the target plugin.
    pub target_probes: usize,
    /// 2·k·⌈log2 n⌉ + 2 for the k culprits found among n candidates.
    pub bound: Option<usize>,
    /// The sets of other plugins whose probes disagreed with themselves.
    pub flaky: Vec<Vec<String>>,
    /// The plugins in every flaky set and in no passing one: where the
    /// flakiness comes from.
    pub flaky_suspects: Vec<String>,
    /// Whether the whole set without the culprits passes.
    pub without_culprits: Option<Verdict>,
    pub trail: Vec<Step>,
    /// Member indices of the failing reproduction and of the passing one.
    #[serde(skip)]
    pub failing_set: Vec<usize>,
    #[serde(skip)]
    pub passing_set: Vec<usize>,
}

/// Probe each of `subsets` `repeat` times, all independent, `threads` at
/// once; a verdict and the outcomes for each subset.
fn judge(
    prober: &Prober,
    subsets: &[Vec<usize>],
    options: &BisectOptions,
) -> Result<Vec<(Verdict, Vec<Outcome>)>> {
    let repeat = options.repeat.max(1);
    let jobs: Vec<_> = subsets
        .iter()
        .flat_map(|subset| {
            std::iter::repeat_n(
                (subset.clone(), options.action, Some(options.filter.clone())),
                repeat,
            )
        })
        .collect();
    let mut outcomes = prober.batch(&jobs, options.threads).into_iter();
    let mut judged = Vec::new();
    for _ in subsets {
        let mine: Vec<Outcome> = outcomes.by_ref().take(repeat).collect::<Result<_>>()?;
        let passes = mine.iter().filter(|o| o.passed(options.action)).count();
        let verdict = match passes {
            0 => Verdict::Fail,
            p if p == mine.len() => Verdict::Pass,
            _ => Verdict::Flaky,
        };
        judged.push((verdict, mine));
    }
    Ok(judged)
}

/// The member whose tests `filter` selects.
pub fn find_target(
    prober: &Prober,
    filter: &str,
    named: Option<&str>,
    threads: usize,
) -> Result<(usize, usize)> {
    let members = &prober.members;
    if let Some(wanted) = named {
        let prefixed: Vec<usize> = (0..members.len())
            .filter(|&i| members[i].is_prefixed(wanted))
            .collect();
        let found = members
            .iter()
            .position(|m| m.is_named(wanted))
            .or(match prefixed.as_slice() {
                [one] => Some(*one),
                _ => None,
            });
        return found.map(|i| (i, 0)).ok_or_else(|| {
            UserError::new(format!("`{wanted}` is not a plugin of the set"))
                .hint(format!("the set has: {}", names(members.iter())))
                .into()
        });
    }
    let all: Vec<usize> = (0..members.len()).collect();
    let whole = prober.probe(&all, Action::List, Some(filter))?;
    let mut probes = 1;
    let mut owners: Vec<usize> = if whole.code == 0 {
        (0..members.len())
            .filter(|&i| whole.listed.iter().any(|id| members[i].owns(id)))
            .collect()
    } else {
        Vec::new()
    };
    if owners.is_empty() {
        // The whole set does not list (or ids name no known package): list
        // each plugin alone.
        let jobs: Vec<_> = (0..members.len())
            .map(|i| (vec![i], Action::List, Some(filter.to_string())))
            .collect();
        probes += jobs.len();
        let outcomes = prober.batch(&jobs, threads);
        for (i, outcome) in outcomes.into_iter().enumerate() {
            if outcome?.passed(Action::List) {
                owners.push(i);
            }
        }
    }
    match owners.as_slice() {
        [one] => Ok((*one, probes)),
        [] => Err(UserError::new(format!(
            "no plugin of the set lists a test matching `{filter}`"
        ))
        .hint("check the filter with `tempest-env run --list ...`, or name the plugin with --target-plugin")
        .into()),
        many => Err(UserError::new(format!(
            "`{filter}` matches tests of several plugins: {}",
            names(many.iter().map(|&i| &members[i]))
        ))
        .hint("narrow the filter, or name the plugin with --target-plugin")
        .into()),
    }
}

/// Top-level names any plugin's output may hold without being about it.
const GENERIC: &[&str] = &[
    "tempest", "tests", "test", "unittest", "doc", "docs", "examples",
];

/// The candidates a failure's output names: those with a top-level package
/// (`tops[c]`) that is a word of `text` (a dotted module or test id, a file
/// path), in order.
pub fn named_in(text: &str, tops: &[Vec<&str>]) -> Vec<usize> {
    let words: std::collections::HashSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    (0..tops.len())
        .filter(|&c| tops[c].iter().any(|t| words.contains(t)))
        .collect()
}

fn names<'a>(members: impl Iterator<Item = &'a super::members::Member>) -> String {
    members
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn bisect(prober: &Prober, options: &BisectOptions) -> Result<BisectReport> {
    let (target, target_probes) = find_target(
        prober,
        &options.filter,
        options.target.as_deref(),
        options.threads,
    )?;
    let members = &prober.members;
    let others: Vec<usize> = (0..members.len()).filter(|&i| i != target).collect();
    let mut report = BisectReport {
        filter: options.filter.clone(),
        probe: options.action,
        repeat: options.repeat.max(1),
        target: members[target].name.clone(),
        candidates: others.iter().map(|&i| members[i].name.clone()).collect(),
        finding: Finding::Culprits,
        culprits: Vec::new(),
        probes: 0,
        target_probes,
        bound: None,
        flaky: Vec::new(),
        flaky_suspects: Vec::new(),
        without_culprits: None,
        trail: Vec::new(),
        failing_set: Vec::new(),
        passing_set: vec![target],
    };
    let steps = Steps {
        prober,
        options,
        others: &others,
        target,
        tops: own_top_levels(members, &others, target),
    };
    // The target alone and with the whole set do not depend on each other:
    // probed at once.
    let everything: Vec<usize> = (0..others.len()).collect();
    let first = steps.probe(
        &["alone", "whole-set"],
        &[Vec::new(), everything.clone()],
        &mut report,
    )?;
    if let Some(finding) = settled(first[0].0, first[1].0) {
        report.finding = finding;
        match finding {
            Finding::FailsAlone => report.failing_set = vec![target],
            Finding::PassesTogether => report.passing_set = (0..members.len()).collect(),
            _ => {}
        }
        return Ok(report);
    }
    let mut memo = BTreeMap::from([
        (Vec::new(), Verdict::Pass),
        (everything.clone(), Verdict::Fail),
    ]);
    let suspects = first[1].1.clone();
    let guessed = !suspects.is_empty() && suspects.len() < others.len();
    let scope = if guessed {
        narrow_to_suspects(&steps, suspects, &mut memo, &mut report)?
    } else {
        everything.clone()
    };
    let found = search_within(&steps, &scope, &mut memo, &mut report)?;
    report.flaky_suspects = flaky_suspects(&report);
    let rest: Vec<usize> = everything
        .iter()
        .copied()
        .filter(|c| !found.contains(c))
        .collect();
    // The whole set without the culprits, unless the search had it already.
    report.without_culprits = Some(match memo.get(&rest) {
        Some(verdict) => *verdict,
        None => steps.probe(&["confirm"], std::slice::from_ref(&rest), &mut report)?[0].0,
    });
    report.culprits = found
        .iter()
        .map(|&c| members[others[c]].name.clone())
        .collect();
    report.bound = Some(search::bound(found.len(), others.len()) + if guessed { 4 } else { 2 });
    report.failing_set = with_target(&found, &others, target);
    report.passing_set = with_target(&rest, &others, target);
    Ok(report)
}

/// What the target alone and with the whole set already settle, if the
/// search need not run: it fails alone, passes with everything, or either
/// is flaky.
fn settled(alone: Verdict, whole_set: Verdict) -> Option<Finding> {
    match (alone, whole_set) {
        (Verdict::Fail, _) => Some(Finding::FailsAlone),
        (Verdict::Flaky, _) => Some(Finding::FlakyAlone),
        (Verdict::Pass, Verdict::Fail) => None,
        (Verdict::Pass, Verdict::Pass) => Some(Finding::PassesTogether),
        (Verdict::Pass, Verdict::Flaky) => Some(Finding::FlakyTogether),
    }
}

/// Each candidate's own top-level packages, as a failure's output would
/// name them (not the target's, nor names any output may hold).
fn own_top_levels<'a>(
    members: &'a [super::members::Member],
    others: &[usize],
    target: usize,
) -> Vec<Vec<&'a str>> {
    others
        .iter()
        .map(|&i| {
            members[i]
                .top_level
                .iter()
                .map(String::as_str)
                .filter(|t| {
                    !GENERIC.contains(t) && !members[target].top_level.iter().any(|o| o == t)
                })
                .collect()
        })
        .collect()
}

/// The candidates the whole set's failure names (a test module of theirs
/// that failed to import, a frame of their code): probed first, together
/// and left out, at once. The search then runs within whichever of the two
/// fails (a smallest failing set within a failing set is one of the
/// whole's), else within the whole set; both verdicts are the search's to
/// reuse. The candidates the search runs within.
fn narrow_to_suspects(
    steps: &Steps,
    suspects: Vec<usize>,
    memo: &mut BTreeMap<Vec<usize>, Verdict>,
    report: &mut BisectReport,
) -> Result<Vec<usize>> {
    let everything: Vec<usize> = (0..steps.others.len()).collect();
    let without: Vec<usize> = everything
        .iter()
        .copied()
        .filter(|c| !suspects.contains(c))
        .collect();
    steps.prober.grow(2);
    let judged = steps.probe(
        &["suspects", "without-suspects"],
        &[suspects.clone(), without.clone()],
        report,
    )?;
    memo.insert(without.clone(), judged[1].0);
    memo.insert(suspects.clone(), judged[0].0);
    Ok(if judged[0].0 == Verdict::Fail {
        suspects
    } else if judged[1].0 == Verdict::Fail {
        // Innocent: the failure is among the others.
        without
    } else {
        everything
    })
}

/// The smallest failing set of candidates within `scope`, found by the
/// search; every verdict it learns goes into `memo`.
fn search_within(
    steps: &Steps,
    scope: &[usize],
    memo: &mut BTreeMap<Vec<usize>, Verdict>,
    report: &mut BisectReport,
) -> Result<Vec<usize>> {
    steps.prober.grow(search::bound(1, scope.len()));
    let mut failure = None;
    // The search runs over positions in `scope`; sets are translated both
    // ways, so what is known is not probed again.
    let to_scope = |set: &Vec<usize>| -> Option<Vec<usize>> {
        set.iter()
            .map(|c| scope.iter().position(|s| s == c))
            .collect()
    };
    let known: BTreeMap<Vec<usize>, Verdict> = memo
        .iter()
        .filter_map(|(set, v)| Some((to_scope(set)?, *v)))
        .collect();
    let threads = steps.options.threads;
    let (local, searched) = search::minimal_failing(scope.len(), threads, known, |sets| {
        if failure.is_some() {
            return vec![Verdict::Pass; sets.len()];
        }
        let sets: Vec<Vec<usize>> = sets
            .iter()
            .map(|set| set.iter().map(|&i| scope[i]).collect())
            .collect();
        match steps.probe(&vec!["search"; sets.len()], &sets, report) {
            Ok(v) => v.into_iter().map(|(verdict, _)| verdict).collect(),
            Err(err) => {
                failure = Some(err);
                vec![Verdict::Pass; sets.len()]
            }
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    for (set, verdict) in searched {
        memo.insert(set.iter().map(|&i| scope[i]).collect(), verdict);
    }
    Ok(local.iter().map(|&i| scope[i]).collect())
}

/// The plugins in every flaky set and in no passing one.
fn flaky_suspects(report: &BisectReport) -> Vec<String> {
    let Some(first) = report.flaky.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|p| report.flaky.iter().all(|set| set.contains(p)))
        .filter(|p| {
            !report
                .trail
                .iter()
                .any(|s| s.verdict == Verdict::Pass && s.plugins.contains(p))
        })
        .cloned()
        .collect()
}

/// The members at candidate indices `chosen`, and the target, sorted.
fn with_target(chosen: &[usize], others: &[usize], target: usize) -> Vec<usize> {
    let mut set: Vec<usize> = chosen.iter().map(|&c| others[c]).collect();
    set.push(target);
    set.sort_unstable();
    set
}

/// Probes of the target with sets of candidates.
struct Steps<'a> {
    prober: &'a Prober,
    options: &'a BisectOptions,
    /// The candidates' member indices.
    others: &'a [usize],
    target: usize,
    /// Each candidate's own top-level names ([`own_top_levels`]).
    tops: Vec<Vec<&'a str>>,
}

impl Steps<'_> {
    /// Sets of candidate indices -> probes of the target with them, in
    /// parallel; each becomes a line of the trail, with its stage. Each
    /// verdict comes with the candidates its failing output names.
    fn probe(
        &self,
        stages: &[&'static str],
        sets: &[Vec<usize>],
        report: &mut BisectReport,
    ) -> Result<Vec<(Verdict, Vec<usize>)>> {
        let (options, others) = (self.options, self.others);
        let subsets: Vec<Vec<usize>> = sets
            .iter()
            .map(|chosen| with_target(chosen, others, self.target))
            .collect();
        let judged = judge(self.prober, &subsets, options)?;
        let mut verdicts = Vec::new();
        for ((chosen, (verdict, outcomes)), &stage) in sets.iter().zip(judged).zip(stages) {
            let failed = outcomes.iter().find(|o| !o.passed(options.action));
            let errors = failed.map(|o| o.error_lines(3)).unwrap_or_default();
            let named = failed.map_or_else(Vec::new, |o| {
                let text = format!(
                    "{}\n{}\n{}",
                    o.stdout,
                    o.stderr,
                    o.error_lines(usize::MAX).join("\n")
                );
                named_in(&text, &self.tops)
            });
            let plugins: Vec<String> = chosen
                .iter()
                .map(|&c| self.prober.members[others[c]].name.clone())
                .collect();
            if verdict == Verdict::Flaky {
                report.flaky.push(plugins.clone());
            }
            report.probes += 1;
            let mask: String = (0..others.len())
                .map(|c| if chosen.contains(&c) { '#' } else { '.' })
                .collect();
            self.prober.note(format!("{stage} {mask} {verdict:?}"));
            report.trail.push(Step {
                stage,
                plugins,
                mask,
                verdict,
                exit_codes: outcomes.iter().map(|o| o.code).collect(),
                seconds: outcomes
                    .iter()
                    .map(|o| o.total_time.as_secs_f64())
                    .fold(0.0, f64::max),
                errors,
            });
            verdicts.push((verdict, named));
        }
        Ok(verdicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `tempest run --list-tests` printed with tempest 47,
    /// barbican-tempest-plugin and vmware-nsx-tempest-plugin 1.0.0 (its
    /// first 33 lines).
    const VMWARE_LISTING: &str = r#"/tmp/p18/home/cache/bases/efef46d3ce5eed5c/site/vmware_nsx_tempest_plugin/services/utils.py:20: SyntaxWarning: "is" with a literal. Did you mean "=="?
  mod = 0 if a % b is 0 else 1

=========================
Failures during discovery
=========================
--- import errors ---
Failed to import test module: vmware_nsx_tempest_plugin.tests.nsxv.scenario.test_admin_policy_basic_ops
Traceback (most recent call last):
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/unittest/loader.py", line 419, in _find_test_path
    module = self._get_module_from_name(name)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/unittest/loader.py", line 362, in _get_module_from_name
    __import__(name)
  File "/tmp/p18/home/cache/bases/efef46d3ce5eed5c/site/vmware_nsx_tempest_plugin/tests/nsxv/scenario/test_admin_policy_basic_ops.py", line 26, in <module>
    from vmware_nsx_tempest_plugin.tests.nsxv.scenario import (
  File "/tmp/p18/home/cache/bases/efef46d3ce5eed5c/site/vmware_nsx_tempest_plugin/tests/nsxv/scenario/manager_topo_deployment.py", line 50, in <module>
    DNS_SERVERS_IPV4 = CONF.network.dns_servers
                       ^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/p18/home/cache/bases/c1de8050b0290caa/site/oslo_config/cfg.py", line 4211, in __getattr__
    return self._conf._get(name, self._group)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/p18/home/cache/bases/c1de8050b0290caa/site/oslo_config/cfg.py", line 3613, in _get
    value, loc = self._do_get(name, group, namespace)
                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/p18/home/cache/bases/c1de8050b0290caa/site/oslo_config/cfg.py", line 3636, in _do_get
    info = self._get_opt_info(name, group)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/p18/home/cache/bases/c1de8050b0290caa/site/oslo_config/cfg.py", line 3887, in _get_opt_info
    raise NoSuchOptError(opt_name, group)
oslo_config.cfg.NoSuchOptError: no such option dns_servers in group [network]

Failed to import test module: vmware_nsx_tempest_plugin.tests.nsxv.scenario.test_deployments
"#;

    #[test]
    fn names_the_plugins_whose_modules_a_failure_mentions() {
        let tops = vec![
            vec!["cinder_tempest_plugin"],
            vec!["vmware_nsx_tempest_plugin"],
            vec!["oslo_config_plugin"],
            vec!["designate_tempest_plugin", "vmware"],
        ];
        assert_eq!(named_in(VMWARE_LISTING, &tops), [1]);
        // A word, not a part of one: `oslo_config` is not `oslo_config_plugin`.
        assert_eq!(
            named_in("oslo_config.cfg.NoSuchOptError", &tops),
            Vec::<usize>::new()
        );
        // Test ids and paths name their package too.
        assert_eq!(
            named_in(
                "designate_tempest_plugin.tests.api.v2.test_zones.ZonesTest.test_x [id-1]\n\
                 cinder_tempest_plugin/api/volume/test_x.py",
                &tops
            ),
            [0, 3]
        );
        assert!(named_in("", &tops).is_empty());
    }
}
