//! Run one probe of a plan on this machine: rebuild its environment from
//! its lock (as `create --from` does), check that what was built is what
//! was locked, and run the probe through [`Prober::probe`], the same entry
//! point a local search uses.

use anyhow::Result;

use super::{Plan, ProbeResult};
use crate::home::Home;
use crate::isolation::job::Job;
use crate::isolation::probe::{Outcome, Prober};
use crate::lockfile::Lock;
use crate::lockfile::rebuild::{self, RebuildOptions};
use crate::printer::Printer;
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;

/// How this machine runs a plan's probes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The interpreter; default: the locked one's `major.minor`.
    pub python: Option<String>,
    pub rebuild: RebuildOptions,
    /// Run even where the environment built here differs from the lock.
    pub allow_differences: bool,
}

/// What running a probe came to.
pub enum Executed {
    /// The environment built here differs from the lock, and that was not
    /// allowed: nothing ran.
    Refused(Vec<String>),
    /// It ran; the differences that were allowed.
    Ran(Outcome, Vec<String>),
}

/// Run probe `index` of `plan`.
pub fn probe(
    plan: &Plan,
    index: usize,
    options: &Options,
    home: &Home,
    printer: &Printer,
) -> Result<Option<ProbeResult>> {
    let Some(planned) = plan.probes.get(index) else {
        anyhow::bail!("internal: probe {index} is not in the plan");
    };
    Ok(
        match job(plan, &planned.job, &planned.lock, options, home, printer)? {
            Executed::Refused(_) => None,
            Executed::Ran(outcome, differences) => {
                Some(ProbeResult::new(plan, index, &outcome, differences))
            }
        },
    )
}

/// Run `job` in the environment `lock` records, with the plan's runner and
/// variables; differences from the lock are printed as warnings.
pub fn job(
    plan: &Plan,
    job: &Job,
    lock: &Lock,
    options: &Options,
    home: &Home,
    printer: &Printer,
) -> Result<Executed> {
    let runner = Preset::parse(&plan.runner);
    runner.validate()?;
    let python = options
        .python
        .clone()
        .unwrap_or_else(|| rebuild::python_request(lock));
    let interpreter = crate::interpreter::find(Some(&python), home, printer)?;
    let spec = rebuild::spec(lock, &interpreter, &options.rebuild, home)?;
    let quiet = if printer.is_verbose() {
        printer.clone()
    } else {
        Printer::quiet()
    };
    let built = super::write::lock_composition(home, &interpreter, &spec, &quiet)?;
    let differences = rebuild::differences(lock, &built);
    for line in &differences {
        printer.warn(format!("differs from the probe's lock: {line}"));
    }
    if !differences.is_empty() && !options.allow_differences {
        return Ok(Executed::Refused(differences));
    }
    let policy = Policy {
        set: plan.policy.set_env.clone(),
        pass: plan.policy.pass_env.clone(),
        isolated: plan.policy.isolated_env,
        user_site: plan.policy.user_site,
        config_file: None,
    };
    let common = spec.artifacts.clone();
    let prober = Prober::new(
        home.clone(),
        interpreter,
        spec,
        common,
        Vec::new(),
        runner,
        policy,
        printer,
    )?;
    let outcome = prober.probe(&[], job.action, job.filter.as_deref())?;
    Ok(Executed::Ran(outcome, differences))
}
