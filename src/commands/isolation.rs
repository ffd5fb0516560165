//! `tempest-env sanity`, `bisect` and `compare`: open the plugin set once
//! (interpreter, members, prober), hand it to [`crate::isolation`], and
//! print what it found: a table, a trail, command lines, or JSON.

use std::time::Instant;

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::env::compose::ComposeSpec;
use crate::env::install::Artifact;
use crate::isolation::bisect::{self, BisectOptions, BisectReport, Finding};
use crate::isolation::members::{self, Source};
use crate::isolation::probe::{Action, Interrupted, Prober};
use crate::isolation::sanity::{self, Listing, PluginVerdict};
use crate::isolation::search::Verdict;
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;
use crate::shell::sh_quote;

/// What the plugin set is made of and how to probe it, as the command
/// line resolved it from the flags and the definition.
pub(crate) struct SetSettings {
    /// The interpreter request.
    pub python: Option<String>,
    /// The definition's name, for the command lines printed.
    pub definition: Option<String>,
    /// How many of the spec's artifacts come with the definition.
    pub from_definition: usize,
    pub spec: ComposeSpec,
    pub runner: Preset,
    pub policy: Policy,
    /// Probes at once (at least 1).
    pub threads: usize,
    /// Fork listing probes from a server (else each is fresh).
    pub fork_server: bool,
    pub format: OutputFormat,
}

/// `bisect`'s own settings, beside the set's.
pub(crate) struct BisectSettings {
    pub filter: String,
    pub action: Action,
    pub repeat: usize,
    pub target: Option<String>,
}

/// `compare`'s own settings, beside the set's.
pub(crate) struct CompareSettings {
    pub filter: String,
    pub target: Option<String>,
}

/// The set made ready to probe, and what is needed to write command lines
/// for it.
pub(super) struct Set {
    pub(super) prober: Prober,
    python: Option<String>,
    definition: Option<String>,
    /// Artifacts that come with the definition (not repeated on a command
    /// line that names it).
    from_definition: usize,
    pub(super) threads: usize,
    pub(super) format: OutputFormat,
}

/// Find the interpreter, split the composition into what every probe
/// shares and the members, and make the prober.
pub(super) fn open(settings: SetSettings, ctx: &Context) -> Result<Set> {
    let interpreter =
        crate::interpreter::find(settings.python.as_deref(), &ctx.home, &ctx.printer)?;
    let split = members::split(&settings.spec, &interpreter, &ctx.home, &ctx.printer)?;
    if split.members.is_empty() {
        return Err(crate::error::UserError::new("the set has no tempest plugins")
            .hint("give plugins with --plugin (trees or wheels that declare a tempest.test_plugins entry point), or use --all-plugin")
            .into());
    }
    let mut prober = Prober::new(
        ctx.home.clone(),
        interpreter,
        settings.spec,
        split.common,
        split.members,
        settings.runner,
        settings.policy,
        &ctx.printer,
    )?;
    if !settings.fork_server {
        prober.no_fork_server();
    }
    show_progress(&mut prober, ctx);
    Ok(Set {
        prober,
        python: settings.python,
        definition: settings.definition,
        from_definition: settings.from_definition,
        threads: settings.threads,
        format: settings.format,
    })
}

/// Count probes on a terminal.
pub(super) fn show_progress(prober: &mut Prober, ctx: &Context) {
    if ctx.printer.progress_enabled() {
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template("{spinner} probe {pos} of {len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        prober.show_progress(bar, 0);
    }
}

impl Set {
    /// `tempest-env run ...` with the members at `subset`.
    fn command(&self, subset: &[usize], filter: &str, list: bool) -> String {
        let p = &self.prober;
        let spec = &p.spec;
        let mut parts: Vec<String> = vec!["tempest-env".into(), "run".into()];
        let mut push = |flag: &str, value: Option<String>| {
            parts.push(flag.to_string());
            if let Some(v) = value {
                parts.push(sh_quote(&v));
            }
        };
        if let Some(python) = &self.python {
            push("--python", Some(python.clone()));
        }
        // A definition's plugins always come with it (so a member it names
        // cannot be left out of the command line).
        let use_def = self.definition.is_some();
        if let (true, Some(def)) = (use_def, &self.definition) {
            push("--def", Some(def.clone()));
        }
        if !use_def {
            for base in &spec.base {
                push("--base", Some(base.clone()));
            }
        }
        if let Some(c) = &spec.constraints {
            push("--constraints", Some(c.display().to_string()));
        }
        for dir in &spec.index.find_links {
            push("--find-links", Some(dir.display().to_string()));
        }
        if let Some(url) = &spec.index.index_url {
            push("--index-url", Some(url.clone()));
        }
        if spec.index.offline {
            push("--offline", None);
        }
        let system = p.spec_for(subset).system;
        if system.all_plugin && !use_def {
            push("--all-plugin", None);
        }
        for dir in &system.extra_dirs {
            push("--system-site", Some(dir.display().to_string()));
        }
        for name in &system.include {
            push("--system-plugin", Some(name.clone()));
        }
        for name in &system.exclude {
            push("--exclude-plugin", Some(name.clone()));
        }
        let artifact = |a: &Artifact| match a {
            Artifact::Tree(path) | Artifact::Wheel(path) => path.display().to_string(),
            Artifact::Requirement(r) | Artifact::Sdist(r) => r.clone(),
        };
        let skip = if use_def { self.from_definition } else { 0 };
        for a in p.common.iter().skip(skip.min(p.common.len())) {
            push("--plugin", Some(artifact(a)));
        }
        for (i, member) in p.members.iter().enumerate() {
            if let Source::Artifact(a) = &member.source
                && subset.contains(&i)
                && !(use_def && self.is_from_definition(i))
            {
                push("--plugin", Some(artifact(a)));
            }
        }
        if p.runner != Preset::Tempest {
            let runner = match &p.runner {
                Preset::Custom(cmd) => cmd.clone(),
                other => other.name().to_string(),
            };
            push("--runner", Some(runner));
        }
        for (k, v) in &p.policy.set {
            push("--set-env", Some(format!("{k}={v}")));
        }
        if list {
            push("--list", None);
        }
        parts.push(sh_quote(filter));
        parts.join(" ")
    }

    /// Whether member `i` came with the definition. Definitions list their
    /// plugins first, so their artifacts are the spec's first ones.
    fn is_from_definition(&self, i: usize) -> bool {
        let Source::Artifact(a) = &self.prober.members[i].source else {
            return false;
        };
        let key = |a: &Artifact| format!("{a:?}");
        self.prober
            .spec
            .artifacts
            .iter()
            .take(self.from_definition)
            .any(|d| key(d) == key(a))
    }
}

/// An interrupted probe ends the command as a shell would report it
/// (128+N), after the probes' environments are removed.
pub(super) fn interrupted(result: Result<u8>, ctx: &Context) -> Result<u8> {
    match result {
        Err(err) => match err.downcast_ref::<Interrupted>() {
            Some(Interrupted(signal)) => {
                ctx.printer.status(format!(
                    "Interrupted (signal {signal} forwarded to the runner)"
                ));
                Ok(u8::try_from(128 + signal).unwrap_or(255))
            }
            None => Err(err),
        },
        ok => ok,
    }
}

pub(crate) fn sanity(set: SetSettings, ctx: &Context) -> Result<u8> {
    interrupted(sanity_report(set, ctx), ctx)
}

pub(crate) fn bisect(set: SetSettings, bisect: BisectSettings, ctx: &Context) -> Result<u8> {
    interrupted(bisect_report(set, bisect, ctx), ctx)
}

pub(crate) fn compare(set: SetSettings, compare: CompareSettings, ctx: &Context) -> Result<u8> {
    interrupted(compare_report(set, compare, ctx), ctx)
}

fn sanity_report(settings: SetSettings, ctx: &Context) -> Result<u8> {
    let clock = Instant::now();
    let set = open(settings, ctx)?;
    set.prober.grow(set.prober.members.len() + 2);
    let report = sanity::sanity(&set.prober, set.threads);
    set.prober.finish_progress();
    let report = report?;
    let how = format!("({} at a time)", set.threads);
    print_sanity(&report, set.format, clock, &how, ctx)
}

/// Print a sanity report: a table, or JSON. `clock` started with the
/// command; `how` says how the probes ran.
pub(super) fn print_sanity(
    report: &sanity::SanityReport,
    format: OutputFormat,
    clock: Instant,
    how: &str,
    ctx: &Context,
) -> Result<u8> {
    let p = &ctx.printer;
    let code = if report.all_ok() { 0 } else { 1 };
    if format == OutputFormat::Json {
        let mut value = serde_json::to_value(report)?;
        value["elapsed_ms"] = serde_json::json!(clock.elapsed().as_secs_f64() * 1e3);
        p.out(serde_json::to_string_pretty(&value)?);
        return Ok(code);
    }
    let cell = |l: &Listing| {
        if l.loads {
            format!("ok  {:>4} tests", l.tests)
        } else {
            format!("FAIL (exit {})", l.exit_code)
        }
    };
    let width = report
        .rows
        .iter()
        .map(|r| r.plugin.len())
        .max()
        .unwrap_or(6)
        .max(6);
    p.out(format!(
        "{:<width$}  {:<15}  {:<15}  verdict",
        "plugin", "alone", "together"
    ));
    for row in &report.rows {
        let verdict = match row.verdict {
            PluginVerdict::Ok => "ok".to_string(),
            PluginVerdict::Broken => "BROKEN: does not load alone".into(),
            PluginVerdict::FailsTogether => "fails together (try `bisect`)".into(),
            PluginVerdict::LosesTests => format!(
                "LOSES {} of {} tests together",
                row.alone.tests - row.together.tests,
                row.alone.tests
            ),
            PluginVerdict::NoTests => "lists no tests".into(),
        };
        let together = if row.together.loads || row.alone.loads {
            cell(&row.together)
        } else {
            "-".into()
        };
        p.out(format!(
            "{:<width$}  {:<15}  {:<15}  {verdict}",
            row.plugin,
            cell(&row.alone),
            together
        ));
        for line in &row.alone.errors {
            p.out(format!("{:<width$}    {line}", ""));
        }
    }
    let n = report.rows.len();
    p.out(format!(
        "{:<width$}  {}",
        format!("all {n} together"),
        cell(&report.together)
    ));
    for line in &report.together.errors {
        p.out(format!("{:<width$}    {line}", ""));
    }
    if let Some(healthy) = &report.healthy_together {
        p.out(format!(
            "{:<width$}  {}",
            "without the broken",
            cell(healthy)
        ));
        for line in &healthy.errors {
            p.out(format!("{:<width$}    {line}", ""));
        }
    }
    if report.base.loads && report.base.tests > 0 {
        p.status(format!(
            "(tests counted without the base's own {})",
            report.base.tests
        ));
    }
    p.status(format!(
        "{} probes in {:.2}s {how}",
        report.probes,
        clock.elapsed().as_secs_f64(),
    ));
    Ok(code)
}

fn bisect_report(settings: SetSettings, args: BisectSettings, ctx: &Context) -> Result<u8> {
    let clock = Instant::now();
    let set = open(settings, ctx)?;
    let options = BisectOptions {
        filter: args.filter.clone(),
        action: args.action,
        repeat: args.repeat,
        target: args.target,
        threads: set.threads,
    };
    set.prober.grow(2);
    let report = bisect::bisect(&set.prober, &options);
    set.prober.finish_progress();
    let report = report?;
    let elapsed = clock.elapsed();
    let (runner_time, runs) = set.prober.runner_totals();
    // Each probe's wall time less its runner's: composing, removing and
    // reading results, whatever ran in parallel.
    let (own_time, probes) = set.prober.own_totals();
    let overhead_ms = if probes == 0 {
        0.0
    } else {
        own_time.as_secs_f64() * 1e3 / probes as f64
    };
    let list = options.action == Action::List;
    let fails = set.command(&report.failing_set, &args.filter, list);
    let passes = set.command(&report.passing_set, &args.filter, list);
    let code = match report.finding {
        Finding::Culprits | Finding::PassesTogether => 0,
        _ => 1,
    };
    let p = &ctx.printer;
    if set.format == OutputFormat::Json {
        let mut value = serde_json::to_value(&report)?;
        value["commands"] = serde_json::json!({"fails": fails, "passes": passes});
        value["elapsed_ms"] = serde_json::json!(elapsed.as_secs_f64() * 1e3);
        value["runner_ms"] = serde_json::json!(runner_time.as_secs_f64() * 1e3);
        value["runner_runs"] = serde_json::json!(runs);
        value["probe_overhead_ms"] = serde_json::json!(overhead_ms);
        p.out(serde_json::to_string_pretty(&value)?);
        return Ok(code);
    }
    print_trail(&report, ctx);
    print_finding(&report, elapsed, &fails, &passes, ctx);
    p.status(format!(
        "{runs} runner runs took {:.2}s in all ({} at a time); tempest-env's own time {overhead_ms:.1} ms per probe",
        runner_time.as_secs_f64(),
        set.threads,
    ));
    Ok(code)
}

/// What a bisect found, with the commands that show it, and its flaky
/// probes.
fn print_finding(
    report: &bisect::BisectReport,
    elapsed: std::time::Duration,
    fails: &str,
    passes: &str,
    ctx: &Context,
) {
    let p = &ctx.printer;
    match report.finding {
        Finding::Culprits => {
            let what = if report.culprits.len() == 1 {
                "Culprit"
            } else {
                "Culprits (all needed)"
            };
            p.out(format!("{what}: {}", report.culprits.join(" + ")));
            p.out(format!(
                "{} probes (bound {}), {:.2}s",
                report.probes,
                report.bound.unwrap_or(0),
                elapsed.as_secs_f64()
            ));
            p.out(format!("fails:  {fails}"));
            match report.without_culprits {
                Some(Verdict::Pass) => p.out(format!("passes: {passes}")),
                Some(Verdict::Fail) => p.out(format!(
                    "still fails without them (other culprits remain; bisect again with the whole set minus these): {passes}"
                )),
                _ => p.out(format!("flaky without them: {passes}")),
            }
        }
        Finding::FailsAlone => {
            p.out(format!(
                "`{}` fails with {} alone: not an isolation problem",
                report.filter, report.target
            ));
            p.out(format!("fails:  {fails}"));
        }
        Finding::PassesTogether => {
            p.out(format!(
                "`{}` passes with the whole set: nothing to find",
                report.filter
            ));
            p.out(format!("passes: {passes}"));
        }
        Finding::FlakyAlone => p.out(format!(
            "`{}` is flaky with {} alone (runs disagreed): not an isolation problem",
            report.filter, report.target
        )),
        Finding::FlakyTogether => p.out(format!(
            "`{}` is flaky with the whole set but never failed every time: no reproducible culprit (try a larger --repeat)",
            report.filter
        )),
    }
    if !report.flaky.is_empty() {
        if !report.flaky_suspects.is_empty() {
            p.out(format!(
                "flaky: {} probe(s) disagreed with themselves (not counted as failures); in every one of them: {}",
                report.flaky.len(),
                report.flaky_suspects.join(", ")
            ));
        }
        p.verbose(format!(
            "flaky probes: {}",
            report
                .flaky
                .iter()
                .map(|s| format!("{{{}}}", s.join(", ")))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
}

/// The letter that stands for candidate `i` in a trail's masks (`0`-`9`,
/// then `a`-`z`, then again).
pub(super) fn letter(i: usize) -> char {
    char::from_digit((i % 36) as u32, 36).unwrap_or('?')
}

/// One probe's line of a trail: its number, mask, verdict, time and stage.
pub(super) fn trail_line(
    n: usize,
    mask: &str,
    verdict: Verdict,
    seconds: f64,
    stage: &str,
) -> String {
    let result = match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Flaky => "flaky",
    };
    format!("  {n:>3}  {mask}  {result:<6}  {seconds:.2}s  {stage}")
}

/// The candidates as letters, then one line per probe.
fn print_trail(report: &BisectReport, ctx: &Context) {
    let p = &ctx.printer;
    p.out(format!(
        "Bisecting `{}` (target: {}, {}; probe: {}, repeat: {})",
        report.filter,
        report.target,
        if report.target_probes > 0 {
            "found by listing"
        } else {
            "given"
        },
        match report.probe {
            Action::Run => "run",
            Action::List => "list",
        },
        report.repeat
    ));
    let legend: Vec<String> = report
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}={c}", letter(i)))
        .collect();
    p.out(format!("  other plugins: {}", legend.join("  ")));
    let header: String = (0..report.candidates.len()).map(letter).collect();
    p.out(format!("  {:>3}  {header}  result  time", "#"));
    for (n, step) in report.trail.iter().enumerate() {
        p.out(trail_line(
            n + 1,
            &step.mask,
            step.verdict,
            step.seconds,
            step.stage,
        ));
        if step.verdict == Verdict::Fail && (step.stage == "alone" || step.stage == "whole-set") {
            for line in &step.errors {
                p.out(format!("         {line}"));
            }
        }
    }
}

fn compare_report(settings: SetSettings, args: CompareSettings, ctx: &Context) -> Result<u8> {
    let set = open(settings, ctx)?;
    set.prober.grow(2);
    let report = crate::isolation::compare::compare(
        &set.prober,
        &args.filter,
        args.target.as_deref(),
        set.threads,
    );
    set.prober.finish_progress();
    let report = report?;
    print_compare(&report, set.prober.members.len(), set.format, ctx)
}

/// Print a comparison over a set of `members` plugins: a table, or JSON.
pub(super) fn print_compare(
    report: &crate::isolation::compare::CompareReport,
    members: usize,
    format: OutputFormat,
    ctx: &Context,
) -> Result<u8> {
    let code = if report.regressed() { 1 } else { 0 };
    let p = &ctx.printer;
    if format == OutputFormat::Json {
        p.out(serde_json::to_string_pretty(report)?);
        return Ok(code);
    }
    let status = |s: Option<crate::runner::subunit::Status>| match s {
        Some(s) => serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{s:?}")),
        None => "-".into(),
    };
    p.out(format!(
        "`{}`: {} alone (exit {}) against the whole set of {} (exit {})",
        report.filter, report.target, report.alone_exit_code, members, report.together_exit_code
    ));
    p.out(format!("  {:<10} {:<10} test", "alone", "together"));
    for t in &report.tests {
        p.out(format!(
            "{} {:<10} {:<10} {}",
            if t.changed { "*" } else { " " },
            status(t.alone),
            status(t.together),
            t.id
        ));
    }
    for (side, errors) in [
        ("alone", &report.alone_errors),
        ("together", &report.together_errors),
    ] {
        for line in errors {
            p.out(format!("  {side}: {line}"));
        }
    }
    let changed = report.tests.iter().filter(|t| t.changed).count();
    p.status(format!("{changed} test(s) changed status"));
    Ok(code)
}
