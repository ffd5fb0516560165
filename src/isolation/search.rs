//! The search for the smallest set of plugins that makes a test fail: delta
//! debugging by prefix bisection. Pure: the probe is a function, so the
//! search is tested here against made-up culprits.
//!
//! With the candidates in a fixed order and a test that fails with all of
//! them, a binary search finds the shortest failing prefix; its last
//! element is a culprit. If the culprits found so far fail on their own,
//! they are the answer; otherwise the next culprit lies before the last
//! one, and the search repeats on that shorter prefix with the culprits
//! always included. Each culprit costs at most ⌈log2 n⌉ + 1 probes, so k
//! culprits among n candidates cost at most k·(⌈log2 n⌉ + 1), within
//! 2·k·⌈log2 n⌉ for n ≥ 2. Assuming that adding plugins never makes a
//! failure go away, the result is 1-minimal: without any one culprit the
//! test passes.

use std::collections::BTreeMap;

/// What one probe said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Repeated probes disagreed: not a reproducible failure.
    Flaky,
}

impl Verdict {
    pub fn fails(self) -> bool {
        self == Verdict::Fail
    }
}

/// Find a 1-minimal failing subset of `0..n` (indices into the candidates,
/// ascending), given that all `n` fail and none pass. `probe` gets the
/// subsets to try, up to `width` at once (independent probes, run in
/// parallel by the caller), and returns a verdict for each. `known` holds
/// verdicts already had (the empty set and the whole set, say); every
/// verdict is remembered, so no subset is probed twice. With `width` above
/// one, each round of the binary search probes that many evenly spaced
/// prefixes at once: fewer rounds, a few more probes, never more than
/// [`bound`].
pub fn minimal_failing(
    n: usize,
    width: usize,
    known: BTreeMap<Vec<usize>, Verdict>,
    mut probe: impl FnMut(&[Vec<usize>]) -> Vec<Verdict>,
) -> (Vec<usize>, BTreeMap<Vec<usize>, Verdict>) {
    let mut memo = known;
    let mut ask = |sets: Vec<Vec<usize>>, memo: &mut BTreeMap<Vec<usize>, Verdict>| -> Vec<bool> {
        let mut new: Vec<Vec<usize>> = sets
            .iter()
            .filter(|s| !memo.contains_key(*s))
            .cloned()
            .collect();
        new.dedup();
        if !new.is_empty() {
            let verdicts = probe(&new);
            for (set, verdict) in new.into_iter().zip(verdicts) {
                memo.insert(set, verdict);
            }
        }
        sets.iter()
            .map(|s| memo.get(s).is_some_and(|v| v.fails()))
            .collect()
    };
    let with = |culprits: &[usize], prefix: usize| -> Vec<usize> {
        let mut set: Vec<usize> = (0..prefix).collect();
        set.extend(culprits.iter().copied());
        set.sort_unstable();
        set.dedup();
        set
    };
    let width = width.max(1);
    let mut culprits: Vec<usize> = Vec::new();
    // Known: culprits ∪ 0..hi fails.
    let mut hi = n;
    while hi > 0 {
        // Known: culprits ∪ 0..hi fails; find the shortest failing prefix.
        let mut lo = 0; // culprits ∪ 0..lo passes (checked below, or known)
        if !culprits.is_empty() && ask(vec![with(&culprits, 0)], &mut memo)[0] {
            break;
        }
        while hi - lo > 1 {
            // `m` distinct prefixes strictly between lo and hi.
            let m = width.min(hi - lo - 1);
            let points: Vec<usize> = (1..=m)
                .map(|i| lo + (i * (hi - lo)).div_ceil(m + 1))
                .collect();
            let fails = ask(
                points.iter().map(|&p| with(&culprits, p)).collect(),
                &mut memo,
            );
            // Adding plugins never makes a failure go away: the shortest
            // failing point bounds from above, the longest passing point
            // below it from below.
            let first_fail = points
                .iter()
                .zip(&fails)
                .find(|(_, f)| **f)
                .map(|(p, _)| *p);
            let new_hi = first_fail.unwrap_or(hi);
            let new_lo = points
                .iter()
                .zip(&fails)
                .filter(|(p, f)| !**f && **p < new_hi)
                .map(|(p, _)| *p)
                .max()
                .unwrap_or(lo);
            hi = new_hi;
            lo = new_lo;
        }
        culprits.push(hi - 1);
        hi -= 1;
    }
    culprits.sort_unstable();
    (culprits, memo)
}

/// The probe bound promised for k culprits among n candidates, besides the
/// two probes that frame the search (alone, whole set).
pub fn bound(k: usize, n: usize) -> usize {
    let log = if n <= 1 {
        1
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    };
    2 * k * log
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when every set in `any` of the groups is included.
    fn run(n: usize, groups: &[&[usize]]) -> (Vec<usize>, usize) {
        run_wide(n, 1, groups)
    }

    fn run_wide(n: usize, width: usize, groups: &[&[usize]]) -> (Vec<usize>, usize) {
        let mut probes = 0;
        let mut seen = std::collections::BTreeSet::new();
        let (found, _) = minimal_failing(n, width, BTreeMap::new(), |sets| {
            assert!(sets.len() <= width);
            sets.iter()
                .map(|set| {
                    probes += 1;
                    assert!(seen.insert(set.clone()), "{set:?} probed twice");
                    let fails = groups.iter().any(|g| g.iter().all(|c| set.contains(c)));
                    if fails { Verdict::Fail } else { Verdict::Pass }
                })
                .collect()
        });
        (found, probes)
    }

    #[test]
    fn wider_rounds_find_the_same_culprits_within_the_bound() {
        for width in [2, 3, 4] {
            for n in 1..=24 {
                for c in 0..n {
                    let (found, probes) = run_wide(n, width, &[&[c]]);
                    assert_eq!(found, [c], "n={n} width={width}");
                    assert!(probes <= bound(1, n), "n={n} c={c} width={width}: {probes}");
                }
                for a in 0..n {
                    for b in a + 1..n {
                        let (found, probes) = run_wide(n, width, &[&[a, b]]);
                        assert_eq!(found, [a, b], "n={n} width={width}");
                        assert!(
                            probes <= bound(2, n),
                            "n={n} {a} {b} width={width}: {probes}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn known_verdicts_are_not_probed_again() {
        let mut known = BTreeMap::new();
        known.insert(vec![0, 1, 2], Verdict::Pass);
        let mut asked = Vec::new();
        let (found, memo) = minimal_failing(4, 1, known, |sets| {
            asked.extend(sets.iter().cloned());
            sets.iter()
                .map(|s| {
                    if s.contains(&3) {
                        Verdict::Fail
                    } else {
                        Verdict::Pass
                    }
                })
                .collect()
        });
        assert_eq!(found, [3]);
        assert!(!asked.contains(&vec![0, 1, 2]), "{asked:?}");
        assert_eq!(memo[&vec![0, 1, 2]], Verdict::Pass);
    }

    #[test]
    fn one_culprit_anywhere() {
        for n in 1..=33 {
            for c in 0..n {
                let (found, probes) = run(n, &[&[c]]);
                assert_eq!(found, [c], "n={n}");
                assert!(probes <= bound(1, n), "n={n} c={c}: {probes}");
            }
        }
    }

    #[test]
    fn pairs_that_fail_only_together() {
        for n in 2..=20 {
            for a in 0..n {
                for b in a + 1..n {
                    let (found, probes) = run(n, &[&[a, b]]);
                    assert_eq!(found, [a, b], "n={n}");
                    assert!(probes <= bound(2, n), "n={n} {a} {b}: {probes}");
                }
            }
        }
    }

    #[test]
    fn three_culprits() {
        let (found, probes) = run(16, &[&[1, 7, 12]]);
        assert_eq!(found, [1, 7, 12]);
        assert!(probes <= bound(3, 16));
    }

    #[test]
    fn of_two_independent_culprits_one_is_enough() {
        let (found, _) = run(10, &[&[2], &[8]]);
        assert!(found == [2] || found == [8], "{found:?}");
    }

    #[test]
    fn flaky_sets_are_not_culprits() {
        // 6 is a real culprit; 1 only makes the probe flaky.
        let (found, memo) = minimal_failing(8, 1, BTreeMap::new(), |sets| {
            sets.iter()
                .map(|set| {
                    if set.contains(&6) {
                        Verdict::Fail
                    } else if set.contains(&1) {
                        Verdict::Flaky
                    } else {
                        Verdict::Pass
                    }
                })
                .collect()
        });
        assert_eq!(found, [6]);
        assert!(memo.values().any(|v| *v == Verdict::Flaky));
    }

    #[test]
    fn bounds() {
        assert_eq!(bound(1, 8), 6);
        assert_eq!(bound(1, 9), 8);
        assert_eq!(bound(2, 16), 16);
        assert_eq!(bound(1, 1), 2);
    }
}
