//! `sanity --plan FILE`, `compare --plan FILE`, `probe PLAN --index N --out
//! FILE`, and `sanity|compare --collect DIR --plan FILE`: a search's probes
//! written down for a CI engine to run on many machines, one of them run,
//! and the results merged into the report a local search prints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::OutputFormat;
use super::isolation::{
    CompareSettings, SetSettings, interrupted, open, print_compare, print_sanity,
};
use crate::Context;
use crate::error::UserError;
use crate::isolation::plan::execute::{self, Executed};
use crate::isolation::plan::write::{self, Destination};
use crate::isolation::plan::{self, Plan, Search, collect as gather};
use crate::isolation::{compare, sanity};
use crate::lockfile::rebuild::RebuildOptions;

/// Where the printed commands put the results.
const RESULTS_DIR: &str = "results";

/// `probe PLAN --index N --out FILE`.
pub(crate) struct ProbeSettings {
    pub plan: PathBuf,
    pub index: usize,
    pub out: PathBuf,
    /// The interpreter, where packages come from, and whether to run where
    /// the environment differs from the probe's lock.
    pub options: execute::Options,
}

/// `sanity|compare --collect DIR --plan FILE`.
pub(crate) struct CollectSettings {
    /// The command collecting: `sanity` or `compare`.
    pub command: &'static str,
    pub plan: PathBuf,
    pub dir: PathBuf,
    /// For the one probe collecting may run itself.
    pub python: Option<String>,
    pub rebuild: RebuildOptions,
    pub format: OutputFormat,
}

/// `sanity --plan FILE`: the plan is written to `path` (checked by the
/// command line).
pub(crate) fn write_sanity(path: PathBuf, settings: SetSettings, ctx: &Context) -> Result<u8> {
    interrupted(sanity_plan(&path, settings, ctx), ctx)
}

fn sanity_plan(path: &Path, settings: SetSettings, ctx: &Context) -> Result<u8> {
    let set = open(settings, ctx)?;
    let names: Vec<String> = set.prober.members.iter().map(|m| m.name.clone()).collect();
    let jobs = sanity::jobs(&names);
    let made = write_plan(&set, Search::Sanity, &jobs, path, ctx);
    set.prober.finish_progress();
    announce(&made?, path, set.format, ctx)
}

/// `compare --plan FILE`: the plan is written to `path` (checked by the
/// command line).
pub(crate) fn write_compare(
    path: PathBuf,
    settings: SetSettings,
    compare: CompareSettings,
    ctx: &Context,
) -> Result<u8> {
    interrupted(compare_plan(&path, settings, compare, ctx), ctx)
}

fn compare_plan(
    path: &Path,
    settings: SetSettings,
    args: CompareSettings,
    ctx: &Context,
) -> Result<u8> {
    let filter = args.filter;
    let set = open(settings, ctx)?;
    let found = crate::isolation::bisect::find_target(
        &set.prober,
        &filter,
        args.target.as_deref(),
        set.threads,
    );
    let made = found.and_then(|(target, listings)| {
        if listings > 0 {
            ctx.printer.status(format!(
                "Found the target by listing here ({listings} listing probe(s)); --target-plugin skips that"
            ));
        }
        let name = set.prober.members[target].name.clone();
        let jobs = compare::jobs(target, &name, set.prober.members.len(), &filter);
        let search = Search::Compare {
            filter: filter.clone(),
            target,
        };
        write_plan(&set, search, &jobs, path, ctx)
    });
    set.prober.finish_progress();
    announce(&made?, path, set.format, ctx)
}

fn write_plan(
    set: &super::isolation::Set,
    search: Search,
    jobs: &[crate::isolation::job::Job],
    path: &Path,
    ctx: &Context,
) -> Result<Plan> {
    let shown = path.display().to_string();
    let destination = Destination {
        plan: &shown,
        results: RESULTS_DIR,
    };
    let plan = write::plan(&set.prober, search, jobs, &destination, &ctx.printer)?;
    crate::atomic::write_file(path, plan.render().as_bytes())?;
    Ok(plan)
}

/// Say what was planned, and the commands that run and collect it.
fn announce(plan: &Plan, path: &Path, format: OutputFormat, ctx: &Context) -> Result<u8> {
    let p = &ctx.printer;
    let collect = &plan.collect;
    if format == OutputFormat::Json {
        p.out(serde_json::to_string_pretty(&serde_json::json!({
            "plan": path,
            "id": plan.id,
            "probes": plan.probes.len(),
            "commands": plan.probes.iter().map(|p| &p.command).collect::<Vec<_>>(),
            "collect": collect,
            "matrix": plan.matrix,
        }))?);
        return Ok(0);
    }
    p.out(format!(
        "Planned {} probes in {} (plan {}). Run each on any machine with tempest-env:",
        plan.probes.len(),
        path.display(),
        plan.id
    ));
    for probe in &plan.probes {
        p.out(format!("  {}", probe.command));
    }
    p.out("Then gather the results into one directory and merge them:");
    p.out(format!("  {collect}"));
    p.status("(the plan's `matrix` is a GitHub Actions matrix, its `zuul` a Zuul job list)");
    Ok(0)
}

pub(crate) fn probe(args: ProbeSettings, ctx: &Context) -> Result<u8> {
    interrupted(probe_here(args, ctx), ctx)
}

fn probe_here(args: ProbeSettings, ctx: &Context) -> Result<u8> {
    let plan = gather::read_plan(&args.plan)?;
    let Some(planned) = plan.probes.get(args.index) else {
        return Err(UserError::new(format!(
            "--index {}: the plan has {} probes (0 to {})",
            args.index,
            plan.probes.len(),
            plan.probes.len() - 1
        ))
        .hint("the plan's `matrix` lists its probes")
        .into());
    };
    let name = planned.job.name.clone();
    let clock = Instant::now();
    let Some(result) = execute::probe(&plan, args.index, &args.options, &ctx.home, &ctx.printer)?
    else {
        ctx.printer.status(format!(
            "Probe {} ({name}) did not run: this machine does not build its lock's environment; --allow-differences runs it anyway",
            args.index
        ));
        return Ok(crate::error::EXIT_FAILURE);
    };
    if let Some(parent) = args.out.parent()
        && !parent.as_os_str().is_empty()
    {
        fs_err::create_dir_all(parent)?;
    }
    crate::atomic::write_file(&args.out, result.render().as_bytes())?;
    ctx.printer.status(format!(
        "Probe {} ({name}): the runner exited {}, {} in {:.2}s; result in {}",
        args.index,
        result.exit_code,
        match &result.results {
            Some(results) => format!("{} tests ran", results.tests.len()),
            None => format!("{} tests listed", result.listed.len()),
        },
        clock.elapsed().as_secs_f64(),
        args.out.display()
    ));
    Ok(0)
}

/// `sanity --collect DIR --plan FILE` and `compare --collect DIR --plan
/// FILE`: the set, and the filter, come from the plan.
pub(crate) fn collect(settings: CollectSettings, ctx: &Context) -> Result<u8> {
    interrupted(collect_here(settings, ctx), ctx)
}

fn collect_here(settings: CollectSettings, ctx: &Context) -> Result<u8> {
    let clock = Instant::now();
    let command = settings.command;
    let (path, dir) = (&settings.plan, &settings.dir);
    let plan = gather::read_plan(path)?;
    if plan.search.command() != command {
        return Err(UserError::new(format!(
            "plan {} is a {} plan",
            path.display(),
            plan.search.command()
        ))
        .hint(format!(
            "collect it with `tempest-env {} --collect DIR --plan FILE`",
            plan.search.command()
        ))
        .into());
    }
    let results = gather::results(&plan, path, dir)?;
    for result in &results {
        for line in &result.differences {
            ctx.printer.warn(format!(
                "probe {} ({}) ran in an environment that differs from its lock: {line}",
                result.index, result.probe
            ));
        }
    }
    let outcomes: Vec<_> = results.iter().map(plan::ProbeResult::outcome).collect();
    let format = settings.format;
    let how = format!("collected from {}", dir.display());
    match &plan.search {
        Search::Sanity => {
            let names: Vec<String> = plan.members.iter().map(|m| m.name.clone()).collect();
            let healthy = match sanity::follow_up(&names, &outcomes) {
                Some(job) => Some(follow_up(&plan, &job, &settings, ctx)?),
                None => None,
            };
            let healthy = match healthy {
                Some(None) => return Ok(crate::error::EXIT_FAILURE),
                Some(Some(outcome)) => Some(outcome),
                None => None,
            };
            let report = sanity::evaluate(&plan.member_names(), outcomes, healthy);
            print_sanity(&report, format, clock, &how, ctx)
        }
        Search::Compare { filter, target } => {
            let name = &plan.members[*target].name;
            let (alone, together) = (&outcomes[0], &outcomes[1]);
            let report = compare::evaluate(filter, name, alone, together);
            print_compare(&report, plan.members.len(), format, ctx)
        }
    }
}

/// The one probe a sanity check decides on from the first results (the
/// members that load alone, together): run here, in the together probe's
/// environment without the others. `None`: this machine does not build it.
fn follow_up(
    plan: &Plan,
    job: &crate::isolation::job::Job,
    settings: &CollectSettings,
    ctx: &Context,
) -> Result<Option<crate::isolation::probe::Outcome>> {
    let left_out: Vec<&str> = plan
        .members
        .iter()
        .enumerate()
        .filter(|(i, _)| !job.members.contains(i))
        .map(|(_, m)| m.name.as_str())
        .collect();
    let Some(together) = plan.probes.last() else {
        anyhow::bail!("internal: a sanity plan without probes");
    };
    ctx.printer.status(format!(
        "Listing the {} plugins that load alone together, here (without {})",
        job.members.len(),
        left_out.join(", ")
    ));
    let lock = plan::without_members(&together.lock, &left_out);
    let options = execute::Options {
        python: settings.python.clone(),
        rebuild: settings.rebuild.clone(),
        allow_differences: false,
    };
    Ok(
        match execute::job(plan, job, &lock, &options, &ctx.home, &ctx.printer)? {
            Executed::Ran(outcome, _) => Some(outcome),
            Executed::Refused(_) => None,
        },
    )
}
