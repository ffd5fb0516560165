//! Plans: a search's probes written down so that a CI engine (a GitHub
//! Actions matrix, Zuul jobs) runs them on many machines, and the results
//! come back to one report. Each probe is self-contained: the lock of the
//! environment it runs in (rebuilt anywhere, as `create --from` does),
//! what it does there, and the command that does it.
//!
//! This module is the format, pure functions over text: [`Plan::parse`],
//! [`Plan::render`], [`ProbeResult::parse`]. A plan carries an id, a hash of
//! everything else in it, so an edited or damaged plan is refused and a
//! result from another plan is told apart. [`write`] makes a plan,
//! [`execute`] runs one of its probes, [`collect`] reads the results back.

pub mod collect;
pub mod execute;
pub mod write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::job::Job;
use super::probe::Outcome;
use crate::dist::name;
use crate::lockfile::Lock;
use crate::runner::results::RunResults;

/// The plan and result formats' version (semver): a newer minor adds
/// fields this version ignores; another major is refused.
pub const FORMAT_VERSION: semver::Version = semver::Version::new(1, 0, 0);

/// Which search the probes are for, and what it needs besides them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Search {
    /// Base, every member alone, all together (then, when some members do
    /// not load alone, the others together: run where the results are
    /// collected).
    Sanity,
    /// A filter run with member `target` alone and with the whole set.
    Compare { filter: String, target: usize },
}

impl Search {
    pub fn command(&self) -> &'static str {
        match self {
            Self::Sanity => "sanity",
            Self::Compare { .. } => "compare",
        }
    }
}

/// A member of the set, as the reports name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedMember {
    pub name: String,
    #[serde(default)]
    pub entry_points: Vec<String>,
}

/// What the runner gets besides its command line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlannedPolicy {
    #[serde(default)]
    pub set_env: Vec<(String, String)>,
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default)]
    pub isolated_env: bool,
    #[serde(default)]
    pub user_site: bool,
}

/// One probe: what it does, in which environment, and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedProbe {
    pub index: usize,
    #[serde(flatten)]
    pub job: Job,
    /// `tempest-env probe PLAN --index N --out FILE ...`.
    pub command: String,
    /// The environment the probe runs in.
    pub lock: Lock,
}

/// The probes as a GitHub Actions matrix (`fromJSON`): one entry per probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixEntry {
    pub index: usize,
    pub probe: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: semver::Version,
    pub tempest_env: String,
    /// A hash of the rest of the plan; every result carries it.
    #[serde(default)]
    pub id: String,
    pub search: Search,
    /// The runner as given: a preset name or a custom template.
    pub runner: String,
    #[serde(default)]
    pub policy: PlannedPolicy,
    pub members: Vec<PlannedMember>,
    pub probes: Vec<PlannedProbe>,
    /// `tempest-env sanity|compare --collect DIR --plan PLAN ...`: merges
    /// the results (and runs the one probe a sanity check may still need).
    #[serde(default)]
    pub collect: String,
    /// For `strategy.matrix: ${{ fromJSON(...) }}`.
    #[serde(default)]
    pub matrix: Matrix,
    /// Zuul configuration: a job per probe (children of
    /// `tempest-env-probe`) and a project stanza whose collect job depends
    /// on them all. JSON is YAML, so it can be written to `zuul.d/` as is.
    #[serde(default)]
    pub zuul: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("it is not valid JSON: {0}")]
    Json(String),
    #[error("it has no valid `format` version")]
    NoVersion,
    #[error("it is format {found}; this tempest-env reads format {}.x", FORMAT_VERSION.major)]
    OtherMajor { found: semver::Version },
    #[error("its content does not match its id {0} (edited or damaged)")]
    Tampered(String),
    #[error("it is not a valid plan: {0}")]
    Invalid(String),
}

/// The id of a plan's JSON value: a hash of everything but the id, keys
/// sorted, so whitespace and key order do not matter but any value does.
fn id_of(value: &serde_json::Value) -> String {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove("id");
    }
    let canonical = serde_json::to_string(&value).unwrap_or_default();
    crate::digest::hex(&Sha256::digest(canonical.as_bytes())[..8])
}

/// The document's `format`, checked against [`FORMAT_VERSION`].
fn check_format(value: &serde_json::Value) -> Result<(), PlanError> {
    let found = value
        .get("format")
        .and_then(|v| v.as_str())
        .and_then(|v| semver::Version::parse(v).ok())
        .ok_or(PlanError::NoVersion)?;
    if found.major != FORMAT_VERSION.major {
        return Err(PlanError::OtherMajor { found });
    }
    Ok(())
}

fn json_value(text: &str) -> Result<serde_json::Value, PlanError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PlanError::Json(e.to_string()))?;
    if !value.is_object() {
        return Err(PlanError::Invalid("it is not a JSON object".into()));
    }
    check_format(&value)?;
    Ok(value)
}

impl Plan {
    /// A plan of `probes` for `search`, with its matrix, Zuul jobs and id.
    pub fn new(
        search: Search,
        runner: String,
        policy: PlannedPolicy,
        members: Vec<PlannedMember>,
        probes: Vec<PlannedProbe>,
        collect: String,
    ) -> Self {
        let matrix = Matrix {
            include: probes
                .iter()
                .map(|p| MatrixEntry {
                    index: p.index,
                    probe: p.job.name.clone(),
                })
                .collect(),
        };
        let mut plan = Self {
            format: FORMAT_VERSION,
            tempest_env: env!("CARGO_PKG_VERSION").to_string(),
            id: String::new(),
            search,
            runner,
            policy,
            members,
            probes,
            collect,
            matrix,
            zuul: Vec::new(),
        };
        plan.zuul = plan.zuul_config();
        plan.id = serde_json::to_value(&plan)
            .map(|v| id_of(&v))
            .unwrap_or_default();
        plan
    }

    /// A job per probe, each a child of `tempest-env-probe` with its index,
    /// and a project stanza: `tempest-env-plan` first, every probe after
    /// it, `tempest-env-collect` after them all. Zuul reads its job graph
    /// from the repository, so this is committed (JSON is YAML) and made
    /// again when the set changes; the plan itself is made by the
    /// `tempest-env-plan` job at run time.
    fn zuul_config(&self) -> Vec<serde_json::Value> {
        const PLAN: &str = "tempest-env-plan";
        let names: Vec<String> = self
            .probes
            .iter()
            .map(|p| format!("tempest-env-probe-{}", p.index))
            .collect();
        let mut config: Vec<serde_json::Value> = self
            .probes
            .iter()
            .zip(&names)
            .map(|(p, name)| {
                serde_json::json!({"job": {
                    "name": name,
                    "parent": "tempest-env-probe",
                    "description": format!("tempest-env {} probe {}: {}", self.search.command(), p.index, p.job.name),
                    "vars": {"tempest_env_probe_index": p.index},
                }})
            })
            .collect();
        let mut jobs: Vec<serde_json::Value> = vec![PLAN.into()];
        jobs.extend(
            names
                .iter()
                .map(|n| serde_json::json!({ n.as_str(): {"dependencies": [PLAN]} })),
        );
        let mut all = vec![PLAN.to_string()];
        all.extend(names);
        jobs.push(serde_json::json!({"tempest-env-collect": {"dependencies": all}}));
        config.push(serde_json::json!({"project": {"check": {"jobs": jobs}}}));
        config
    }

    /// Parse a plan's text, checking its format, its id and that its parts
    /// agree. Pure, for tests and fuzzing.
    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let value = json_value(text)?;
        let claimed = value
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        if claimed != id_of(&value) {
            return Err(PlanError::Tampered(claimed));
        }
        let plan: Self =
            serde_json::from_value(value).map_err(|e| PlanError::Invalid(e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), PlanError> {
        let n = self.members.len();
        let invalid = |what: String| Err(PlanError::Invalid(what));
        if self.probes.is_empty() {
            return invalid("it has no probes".into());
        }
        for (i, probe) in self.probes.iter().enumerate() {
            if probe.index != i {
                return invalid(format!("probe {i} says it is probe {}", probe.index));
            }
            if let Some(m) = probe.job.members.iter().find(|&&m| m >= n) {
                return invalid(format!("probe {i} names member {m} of {n}"));
            }
            if probe.lock.format.major != crate::lockfile::FORMAT_VERSION.major {
                return invalid(format!(
                    "probe {i}'s lock is format {}; this tempest-env reads format {}.x",
                    probe.lock.format,
                    crate::lockfile::FORMAT_VERSION.major
                ));
            }
        }
        match &self.search {
            Search::Sanity if self.probes.len() != n + 2 => invalid(format!(
                "a sanity plan of {n} members has {} probes, not {}",
                self.probes.len(),
                n + 2
            )),
            Search::Compare { target, .. } if *target >= n => {
                invalid(format!("its target is member {target} of {n}"))
            }
            Search::Compare { .. } if self.probes.len() != 2 => invalid(format!(
                "a comparison has 2 probes, not {}",
                self.probes.len()
            )),
            _ => Ok(()),
        }
    }

    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Each member's name and entry points, as the reports take them.
    pub fn member_names(&self) -> Vec<(String, Vec<String>)> {
        self.members
            .iter()
            .map(|m| (m.name.clone(), m.entry_points.clone()))
            .collect()
    }
}

/// `lock` without the distributions of the members named `names`: the
/// environment those members were left out of. A member's own dependencies
/// stay (harmless to a listing, and the lock does not say whose they are).
pub fn without_members(lock: &Lock, names: &[&str]) -> Lock {
    let gone: Vec<String> = names.iter().map(|n| name::normalize(n)).collect();
    let mut lock = lock.clone();
    lock.distributions
        .retain(|d| !gone.contains(&name::normalize(&d.name)));
    lock
}

/// What one probe gave, written by `tempest-env probe` on whichever machine
/// ran it, for `--collect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub format: semver::Version,
    pub tempest_env: String,
    /// The id of the plan the probe is from.
    pub plan: String,
    pub index: usize,
    pub probe: String,
    pub exit_code: u8,
    #[serde(default)]
    pub listed: Vec<String>,
    #[serde(default)]
    pub results: Option<RunResults>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub runner_secs: f64,
    #[serde(default)]
    pub total_secs: f64,
    /// Where the environment built here differed from the probe's lock
    /// (the probe ran only because they were allowed).
    #[serde(default)]
    pub differences: Vec<String>,
}

impl ProbeResult {
    pub fn new(plan: &Plan, index: usize, outcome: &Outcome, differences: Vec<String>) -> Self {
        Self {
            format: FORMAT_VERSION,
            tempest_env: env!("CARGO_PKG_VERSION").to_string(),
            plan: plan.id.clone(),
            index,
            probe: plan
                .probes
                .get(index)
                .map(|p| p.job.name.clone())
                .unwrap_or_default(),
            exit_code: outcome.code,
            listed: outcome.listed.clone(),
            results: outcome.results.clone(),
            stdout: outcome.stdout.clone(),
            stderr: outcome.stderr.clone(),
            runner_secs: outcome.runner_time.as_secs_f64(),
            total_secs: outcome.total_time.as_secs_f64(),
            differences,
        }
    }

    /// Parse a result's text. Pure, for tests and fuzzing.
    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let value = json_value(text)?;
        serde_json::from_value(value).map_err(|e| PlanError::Invalid(e.to_string()))
    }

    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The probe's outcome, as if it had run here.
    pub fn outcome(&self) -> Outcome {
        let secs = |s: f64| std::time::Duration::try_from_secs_f64(s).unwrap_or_default();
        Outcome {
            code: self.exit_code,
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            listed: self.listed.clone(),
            results: self.results.clone(),
            runner_time: secs(self.runner_secs),
            total_time: secs(self.total_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isolation::probe::Action;
    use crate::lockfile::{LockedComposition, LockedDistribution, LockedInterpreter, Source};

    fn lock(dists: &[&str]) -> Lock {
        Lock {
            format: crate::lockfile::FORMAT_VERSION,
            tempest_env: "0.1.0".into(),
            environment: "probe".into(),
            interpreter: LockedInterpreter {
                implementation: "cpython".into(),
                version: "3.11.7".into(),
                platform: "linux-x86_64".into(),
                tag: "cp311-cp311-linux_x86_64".into(),
                libc: "glibc 2.36".into(),
            },
            composition: LockedComposition::default(),
            distributions: dists
                .iter()
                .map(|d| LockedDistribution {
                    name: d.to_string(),
                    version: "1.0".into(),
                    source: Source::Editable,
                    sha256: None,
                    origin: Some(format!("/src/{d}")),
                    link_mode: None,
                })
                .collect(),
            run: None,
        }
    }

    fn sample() -> Plan {
        let names = ["alpha-tempest-plugin".to_string(), "bravo".to_string()];
        let probes = crate::isolation::sanity::jobs(&names)
            .into_iter()
            .enumerate()
            .map(|(index, job)| PlannedProbe {
                index,
                command: format!(
                    "tempest-env probe plan.json --index {index} --out r/{index}.json"
                ),
                lock: lock(&["tempest"]),
                job,
            })
            .collect();
        Plan::new(
            Search::Sanity,
            "tempest".into(),
            PlannedPolicy::default(),
            names
                .iter()
                .map(|n| PlannedMember {
                    name: n.clone(),
                    entry_points: vec![format!("{n}_tests")],
                })
                .collect(),
            probes,
            "tempest-env sanity --collect r --plan plan.json".into(),
        )
    }

    #[test]
    fn a_rendered_plan_parses_back_to_itself() {
        let plan = sample();
        let text = plan.render();
        assert_eq!(Plan::parse(&text).unwrap(), plan);
        assert_eq!(plan.id.len(), 16);
        assert_eq!(plan.matrix.include.len(), 4);
        assert_eq!(plan.matrix.include[1].probe, "alone: alpha-tempest-plugin");
        // Five Zuul items: four probe jobs and the project stanza.
        assert_eq!(plan.zuul.len(), 5);
        // Whitespace and key order are not content.
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
                .unwrap();
        assert!(Plan::parse(&compact).is_ok());
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let text = sample().render().replace("--index 1 ", "--index 7 ");
        assert!(matches!(Plan::parse(&text), Err(PlanError::Tampered(_))));
    }

    #[test]
    fn other_versions_and_corrupt_plans_are_refused() {
        let text = sample().render();
        let newer = text.replacen("\"format\": \"1.0.0\"", "\"format\": \"2.0.0\"", 1);
        assert!(matches!(
            Plan::parse(&newer),
            Err(PlanError::OtherMajor { .. })
        ));
        assert!(matches!(
            Plan::parse("{\"probes\": ["),
            Err(PlanError::Json(_))
        ));
        assert_eq!(Plan::parse("{}"), Err(PlanError::NoVersion));
        assert!(matches!(Plan::parse("[1]"), Err(PlanError::Invalid(_))));
    }

    #[test]
    fn inconsistent_plans_are_refused_even_with_a_matching_id() {
        let mut plan = sample();
        plan.probes[2].job.members = vec![5];
        let plan = Plan::new(
            plan.search,
            plan.runner,
            plan.policy,
            plan.members,
            plan.probes,
            plan.collect,
        );
        let err = Plan::parse(&plan.render()).unwrap_err();
        assert!(err.to_string().contains("member 5 of 2"), "{err}");
    }

    #[test]
    fn a_result_round_trips_and_gives_back_the_outcome() {
        let plan = sample();
        let outcome = Outcome {
            code: 100,
            stdout: "x\n".into(),
            stderr: "PluginLoadError: boom\n".into(),
            listed: vec!["a.b".into()],
            results: None,
            runner_time: std::time::Duration::from_millis(1500),
            total_time: std::time::Duration::from_millis(1600),
        };
        let result = ProbeResult::new(&plan, 1, &outcome, Vec::new());
        let parsed = ProbeResult::parse(&result.render()).unwrap();
        assert_eq!(parsed, result);
        assert_eq!(parsed.plan, plan.id);
        let back = parsed.outcome();
        assert_eq!(back.code, 100);
        assert_eq!(back.error_lines(3), outcome.error_lines(3));
        assert_eq!(back.runner_time, outcome.runner_time);
        let mut bad = result.clone();
        bad.runner_secs = -1.0;
        assert_eq!(
            ProbeResult::parse(&bad.render())
                .unwrap()
                .outcome()
                .runner_time,
            std::time::Duration::ZERO
        );
    }

    #[test]
    fn leaving_members_out_of_a_lock_drops_their_distributions() {
        let all = lock(&["tempest", "alpha-tempest-plugin", "Bravo"]);
        let some = without_members(&all, &["alpha_tempest_plugin", "bravo"]);
        let names: Vec<&str> = some.distributions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["tempest"]);
    }

    #[test]
    fn jobs_keep_their_action_and_filter() {
        let plan = sample();
        assert_eq!(plan.probes[3].job.action, Action::List);
        assert_eq!(plan.probes[3].job.members, [0, 1]);
    }

    const SAMPLES: &[&str] = &[
        include_str!("../../../fixtures/samples/plan/sanity-plan.json"),
        include_str!("../../../fixtures/samples/plan/compare-plan.json"),
        include_str!("../../../fixtures/samples/plan/listing-result.json"),
        include_str!("../../../fixtures/samples/plan/run-result.json"),
    ];

    #[test]
    fn real_plans_and_results_parse() {
        let sanity = Plan::parse(SAMPLES[0]).unwrap();
        assert_eq!(sanity.search, Search::Sanity);
        assert_eq!(sanity.probes.len(), sanity.members.len() + 2);
        assert_eq!(sanity.probes[1].lock.distributions.len(), 2);
        let compare = Plan::parse(SAMPLES[1]).unwrap();
        assert!(matches!(compare.search, Search::Compare { .. }));
        let listing = ProbeResult::parse(SAMPLES[2]).unwrap();
        assert_eq!(listing.plan, sanity.id);
        assert!(!listing.listed.is_empty());
        let run = ProbeResult::parse(SAMPLES[3]).unwrap();
        assert_eq!(run.plan, compare.id);
        assert!(run.results.is_some());
    }

    #[test]
    fn damaged_real_samples_never_panic() {
        // Every fifth character of every sample, set to characters that
        // matter to JSON; what still parses keeps its round trip.
        for sample in SAMPLES {
            let bytes = sample.as_bytes();
            for at in (0..bytes.len()).step_by(5) {
                for value in [b'"', b'9'] {
                    let mut damaged = bytes.to_vec();
                    damaged[at] = value;
                    let Ok(text) = String::from_utf8(damaged) else {
                        continue;
                    };
                    if let Ok(plan) = Plan::parse(&text) {
                        assert_eq!(Plan::parse(&plan.render()), Ok(plan));
                    }
                    if let Ok(result) = ProbeResult::parse(&text) {
                        assert_eq!(ProbeResult::parse(&result.render()), Ok(result));
                    }
                }
            }
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "{\"format\": \"1.0.0\", \"id\": 5}",
            "{\"format\": \"1.0.0\", \"probes\": [{\"index\": 18446744073709551615}]}",
            &"[".repeat(100_000),
            "{\"format\": \"1.0.0\", \"exit_code\": 300}",
        ] {
            let _ = Plan::parse(text);
            let _ = ProbeResult::parse(text);
        }
    }
}
