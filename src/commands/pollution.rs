//! `tempest-env pollution TEST`: find the recorded run in which TEST
//! failed, its worker's order from the run's subunit stream and the run's
//! composition from its record, hand them to [`crate::isolation::pollution`],
//! and print what it found: the worker's order as a strip with each
//! probe's mask, the polluters and their plugins, and two command lines
//! (with list files written beside the run) that show it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};

use super::OutputFormat;
use super::isolation::{interrupted, letter, show_progress, trail_line};
use crate::Context;
use crate::env::compose::ComposeSpec;
use crate::error::UserError;
use crate::home::Home;
use crate::isolation::members;
use crate::isolation::pollution::{self, Finding, PollutionOptions, PollutionReport};
use crate::isolation::probe::Prober;
use crate::isolation::replay_args;
use crate::isolation::search::Verdict;
use crate::runner::environ::Policy;
use crate::runner::preset::Preset;
use crate::runner::record::{self, Replay, RunRecord};
use crate::runner::results::RunResults;
use crate::runner::subunit::{self, Status, workers};
use crate::shell::sh_quote;

/// How recorded `create` arguments become the interpreter request and the
/// composition they make: the command line's own reading, handed down so
/// that a recorded composition is read exactly as `create` reads it.
pub(crate) type ReadComposition = fn(&[String]) -> Result<(Option<String>, ComposeSpec)>;

pub(crate) struct PollutionSettings {
    /// The failed test: its id, or a part of it.
    pub test: String,
    /// The run to replay; default: the newest in which the test failed.
    pub run: Option<String>,
    pub repeat: usize,
    /// Probes at once (at least 1).
    pub threads: usize,
    pub format: OutputFormat,
    pub read_composition: ReadComposition,
}

pub(crate) fn pollution(settings: PollutionSettings, ctx: &Context) -> Result<u8> {
    interrupted(report(settings, ctx), ctx)
}

/// The run to replay, and the failed test's full id in it.
fn find_run(
    home: &Home,
    wanted: Option<&str>,
    test: &str,
) -> Result<(RunRecord, RunResults, PathBuf, String)> {
    let failed_in = |results: &RunResults| -> Result<Option<String>> {
        let failed: Vec<&str> = results.failed().map(|t| t.id.as_str()).collect();
        if failed.contains(&test) {
            return Ok(Some(test.to_string()));
        }
        let matching: Vec<&str> = failed.into_iter().filter(|id| id.contains(test)).collect();
        match matching.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.to_string())),
            many => Err(UserError::new(format!(
                "`{test}` names {} failed tests: {}",
                many.len(),
                many.iter().take(3).copied().collect::<Vec<_>>().join(", ")
            ))
            .hint("give the whole test id")
            .into()),
        }
    };
    if let Some(id) = wanted {
        let (rec, results, dir) = record::load(home, Some(id))?;
        let results = results.unwrap_or_default();
        return match failed_in(&results)? {
            Some(full) => Ok((rec, results, dir, full)),
            None => {
                let ran = results.tests.iter().find(|t| t.id.contains(test));
                Err(UserError::new(match ran {
                    Some(t) => {
                        format!("`{}` did not fail in run {} ({:?})", t.id, rec.id, t.status)
                    }
                    None => format!("run {} has no test `{test}`", rec.id),
                })
                .hint(format!("`tempest-env results {}` shows its tests", rec.id))
                .into())
            }
        };
    }
    for id in record::ids(home).iter().rev() {
        let (rec, results, dir) = record::load(home, Some(id))?;
        let results = results.unwrap_or_default();
        if let Some(full) = failed_in(&results)? {
            return Ok((rec, results, dir, full));
        }
    }
    Err(
        UserError::new(format!("no recorded run in which `{test}` failed"))
            .hint("`tempest-env run ...` records a run; `tempest-env results --list` shows them")
            .into(),
    )
}

/// The composition to replay: the run's per-run environment's `create`
/// arguments, or those of the named environment it ran in.
fn composition(rec: &RunRecord, replay: &Replay, dir: &Path) -> Result<Vec<String>> {
    if let Some(args) = &replay.composition {
        return Ok(args.clone());
    }
    let manifest: crate::env::manifest::Manifest =
        serde_json::from_slice(&fs_err::read(dir.join(record::MANIFEST_FILE))?)
            .with_context(|| format!("{} is corrupt", dir.join(record::MANIFEST_FILE).display()))?;
    if manifest.create_args.is_empty() {
        return Err(UserError::new(format!(
            "run {} ran in the environment `{}`, whose manifest does not say how it was made",
            rec.id, rec.environment
        ))
        .hint("record the run again with the plugins given to `run` (a per-run environment)")
        .into());
    }
    Ok(manifest.create_args)
}

/// The `run` arguments that compose like `composition`: `run` adds a
/// tempest base when nothing brings one, `create` does not.
fn run_composition(composition: &[String]) -> Vec<String> {
    let mut words = composition.to_vec();
    let brings = ["--base", "--all-plugin", "--system-site", "--system-plugin"];
    if !composition.iter().any(|w| brings.contains(&w.as_str())) {
        words.push("--no-base".into());
    }
    words
}

fn report(args: PollutionSettings, ctx: &Context) -> Result<u8> {
    let clock = Instant::now();
    let (rec, results, dir, test) = find_run(&ctx.home, args.run.as_deref(), &args.test)?;
    let (replay, order) = replayable(&rec, &dir, &test)?;
    let runner = Preset::parse(&replay.runner);
    let list_flags = replay_args::list_flags(&runner)?;
    let composition = composition(&rec, &replay, &dir)?;
    let (python, spec) = (args.read_composition)(&composition)?;
    let interpreter = crate::interpreter::find(python.as_deref(), &ctx.home, &ctx.printer)?;
    let split = members::split(&spec, &interpreter, &ctx.home, &ctx.printer)?;
    let policy = policy_of(&replay);
    let mut prober = Prober::new(
        ctx.home.clone(),
        interpreter,
        spec,
        split.common,
        split.members,
        runner.clone(),
        policy,
        &ctx.printer,
    )?;
    show_progress(&mut prober, ctx);
    let threads = args.threads;
    let recorded: BTreeMap<String, Status> = results
        .tests
        .iter()
        .map(|t| (t.id.clone(), t.status))
        .collect();
    let options = PollutionOptions {
        test: test.clone(),
        before: order.before.clone(),
        recorded,
        workers: order.workers,
        posargs: replay_args::kept_posargs(&replay.posargs),
        list_flags,
        repeat: args.repeat,
        threads,
    };
    prober.grow(2);
    let report = pollution::pollution(&prober, &options);
    prober.finish_progress();
    let mut report = report?;
    if !order.timed {
        report.differences.push(
            "the stream has no timestamps: the worker's order is the order the stream reported tests in"
                .into(),
        );
    }
    if replay.composition.is_none() {
        report.differences.push(format!(
            "the run ran in the environment `{}`; probes compose it again from the options it was created with",
            rec.environment
        ));
    }
    let elapsed = clock.elapsed();
    // The list files of the two command lines live beside the run.
    let lists = dir.join("pollution");
    fs_err::create_dir_all(&lists)?;
    let slug = slug(&test);
    let line = |list: &[String], kind: &str| -> Result<String> {
        let file = lists.join(format!("{slug}.{kind}.txt"));
        crate::atomic::write_file(&file, format!("{}\n", list.join("\n")).as_bytes())?;
        Ok(command(&rec, &replay, &composition, &options, &file))
    };
    let fails = match report.finding {
        Finding::Polluters | Finding::FailsAlone => Some(line(&report.failing_list, "fails")?),
        _ => None,
    };
    let passes = match report.finding {
        Finding::Polluters | Finding::NotReproduced => Some(line(&report.passing_list, "passes")?),
        _ => None,
    };
    let code = match report.finding {
        Finding::Polluters => 0,
        _ => 1,
    };
    let p = &ctx.printer;
    if args.format == OutputFormat::Json {
        let mut value = serde_json::to_value(&report)?;
        value["run"] = serde_json::json!(rec.id);
        value["worker"] = serde_json::json!(order.worker);
        value["commands"] = serde_json::json!({"fails": fails, "passes": passes});
        value["elapsed_ms"] = serde_json::json!(elapsed.as_secs_f64() * 1e3);
        p.out(serde_json::to_string_pretty(&value)?);
        return Ok(code);
    }
    print_trail(&report, &rec, order.worker.as_deref(), ctx);
    print_finding(
        &report,
        &test,
        elapsed,
        fails.as_deref(),
        passes.as_deref(),
        ctx,
    );
    Ok(code)
}

/// What the search found, with the commands that show it.
fn print_finding(
    report: &PollutionReport,
    test: &str,
    elapsed: std::time::Duration,
    fails: Option<&str>,
    passes: Option<&str>,
    ctx: &Context,
) {
    let p = &ctx.printer;
    let nth = |pos: usize| format!("{pos} of {}", report.before.len());
    match report.finding {
        Finding::Polluters => {
            let what = if report.polluters.len() == 1 {
                "Polluter"
            } else {
                "Polluters (all needed)"
            };
            p.out(format!("{what}:"));
            for ((id, plugin), pos) in report
                .polluters
                .iter()
                .zip(&report.plugins)
                .zip(&report.positions)
            {
                p.out(format!("  {id}  ({plugin}, {})", nth(*pos)));
            }
            p.out(format!(
                "{} probes (bound {} + confirmations), {:.2}s",
                report.probes,
                report.bound.unwrap_or(0),
                elapsed.as_secs_f64()
            ));
        }
        Finding::FailsAlone => p.out(format!(
            "`{test}` fails alone in the run's composition: not a pollution problem"
        )),
        Finding::FlakyAlone => p.out(format!(
            "`{test}` is flaky alone (runs disagreed): not a pollution problem"
        )),
        Finding::DidNotRun => p.out(format!(
            "`{test}` did not run in the run's composition replayed: {}",
            report
                .trail
                .first()
                .map(|s| s.errors.join("; "))
                .unwrap_or_default()
        )),
        Finding::NotReproduced => {
            p.out(format!(
                "`{test}` passes after its worker's {} earlier tests: the recorded failure does not reproduce",
                report.before.len()
            ));
            for d in &report.differences {
                p.out(format!("  differs: {d}"));
            }
        }
        Finding::FlakyReplay => p.out(format!(
            "`{test}` is flaky after its worker's order but never failed every time: no reproducible polluter (try a larger --repeat)"
        )),
    }
    if let Some(fails) = fails {
        p.out(format!("fails:  {fails}"));
    }
    if let Some(passes) = passes {
        match report.without_polluters {
            Some(Verdict::Fail) => p.out(format!(
                "still fails after the order less the polluters (others remain); passes alone: {passes}"
            )),
            Some(Verdict::Flaky) => p.out(format!(
                "flaky after the order less the polluters; passes alone: {passes}"
            )),
            _ => p.out(format!("passes: {passes}")),
        }
    }
    if !report.flaky.is_empty() {
        p.out(format!(
            "flaky: {} probe(s) disagreed with themselves (not counted as failures)",
            report.flaky.len()
        ));
    }
    if report.trail.iter().any(|s| s.reordered) {
        p.warn("the runner ran listed tests in another order than given; the search assumes it keeps the order");
    }
}

/// How a recorded run can be replayed, and the order its worker ran the
/// tests before `test` in (from the run's subunit stream).
fn replayable(rec: &RunRecord, dir: &Path, test: &str) -> Result<(Replay, workers::WorkerOrder)> {
    let replay = rec.replay.clone().ok_or_else(|| {
        UserError::new(format!(
            "run {} was recorded before tempest-env kept how to replay a run",
            rec.id
        ))
        .hint("run the tests again, then ask again")
    })?;
    let stream = fs_err::read(dir.join(record::STREAM_FILE)).map_err(|_| {
        UserError::new(format!(
            "run {} kept no subunit stream: the order its workers ran tests in is unknown",
            rec.id
        ))
    })?;
    let parsed = subunit::parse(&stream);
    let order = workers::order_before(&parsed, test).ok_or_else(|| {
        UserError::new(format!(
            "`{test}` is not in run {}'s subunit stream",
            rec.id
        ))
    })?;
    Ok((replay, order))
}

/// The runner's environment policy a run recorded.
fn policy_of(replay: &Replay) -> Policy {
    Policy {
        set: replay.set_env.clone(),
        pass: replay.pass_env.clone(),
        isolated: replay.isolated_env,
        user_site: replay.user_site,
        config_file: replay.config_file.clone(),
    }
}

/// A file name for a test id: its last part, safe characters only.
fn slug(test: &str) -> String {
    let last = test
        .split('[')
        .next()
        .unwrap_or(test)
        .rsplit('.')
        .next()
        .unwrap_or(test);
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let hash = crate::digest::short_sha256(test.as_bytes(), 8);
    format!("{safe}-{hash}")
}

/// `tempest-env run` with the run's composition, runner and variables,
/// the tests of `list` given in order to one worker.
fn command(
    rec: &RunRecord,
    replay: &Replay,
    composition: &[String],
    options: &PollutionOptions,
    list: &Path,
) -> String {
    let mut words: Vec<String> = vec!["tempest-env".into(), "run".into()];
    match &replay.composition {
        Some(_) => words.extend(run_composition(composition)),
        None => words.extend(["--env".to_string(), rec.environment.clone()]),
    }
    if Preset::parse(&replay.runner) != Preset::Tempest {
        words.extend(["--runner".to_string(), replay.runner.clone()]);
    }
    for (k, v) in &replay.set_env {
        words.extend(["--set-env".to_string(), format!("{k}={v}")]);
    }
    for pattern in &replay.pass_env {
        words.extend(["--pass-env".to_string(), pattern.clone()]);
    }
    if replay.isolated_env {
        words.push("--isolated-env".into());
    }
    if let Some(file) = &replay.config_file {
        words.extend(["--config-file".to_string(), file.display().to_string()]);
    }
    words.push("--".into());
    words.extend(options.posargs.iter().cloned());
    words.extend(options.list_flags.iter().cloned());
    words.push(list.display().to_string());
    words
        .iter()
        .map(|w| {
            if w.starts_with("--") && !w.contains('=') || w == "tempest-env" || w == "run" {
                w.clone()
            } else {
                sh_quote(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A mask of up to `width` characters: beyond that, each character stands
/// for several tests: `#` all run, `.` none, `:` some.
pub(super) fn strip(mask: &str, width: usize) -> String {
    let cells: Vec<char> = mask.chars().collect();
    if cells.len() <= width || width == 0 {
        return mask.to_string();
    }
    cells
        .chunks(cells.len().div_ceil(width))
        .map(|chunk| {
            let on = chunk.iter().filter(|c| **c == '#').count();
            match on {
                0 => '.',
                n if n == chunk.len() => '#',
                _ => ':',
            }
        })
        .collect()
}

const STRIP: usize = 64;

/// The id without the part every earlier test and the test share.
fn short<'a>(id: &'a str, prefix: &str) -> &'a str {
    id.strip_prefix(prefix).unwrap_or(id)
}

/// The longest common prefix of the ids, up to a dot.
fn common_prefix(ids: &[&str]) -> String {
    let Some(first) = ids.first() else {
        return String::new();
    };
    let mut end = first.len();
    for id in ids {
        end = end.min(
            first
                .bytes()
                .zip(id.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first[..end]
        .rfind('.')
        .map_or(String::new(), |dot| first[..=dot].to_string())
}

fn print_trail(report: &PollutionReport, rec: &RunRecord, worker: Option<&str>, ctx: &Context) {
    let p = &ctx.printer;
    let n = report.before.len();
    p.out(format!(
        "Pollution of `{}` ({}): run {}, {} of {} worker(s), {n} test(s) before it; repeat {}",
        report.test,
        report.test_plugin,
        rec.id,
        worker.unwrap_or("its only worker"),
        report.workers,
        report.repeat
    ));
    let mut ids: Vec<&str> = report.before.iter().map(String::as_str).collect();
    ids.push(&report.test);
    let prefix = common_prefix(&ids);
    if n <= 36 {
        for (i, id) in report.before.iter().enumerate() {
            p.out(format!("  {} {}", letter(i), short(id, &prefix)));
        }
    }
    let header: String = if n <= 36 {
        (0..n).map(letter).collect()
    } else {
        format!("{:<width$}", format!("{n} tests"), width = n.min(STRIP))
    };
    p.out(format!("  {:>3}  {header}  result  time", "#"));
    for (i, step) in report.trail.iter().enumerate() {
        p.out(trail_line(
            i + 1,
            &strip(&step.mask, STRIP),
            step.verdict,
            step.seconds,
            step.stage,
        ));
        if step.verdict != Verdict::Pass && (step.stage == "alone" || step.stage == "replay") {
            for line in &step.errors {
                p.out(format!("         {line}"));
            }
        }
    }
    if !report.polluters.is_empty() {
        let mask: String = (1..=n)
            .map(|i| {
                if report.positions.contains(&i) {
                    '^'
                } else {
                    ' '
                }
            })
            .collect();
        let shown = if n <= STRIP {
            mask
        } else {
            strip(&mask.replace('^', "#").replace(' ', "."), STRIP)
                .replace(['#', ':'], "^")
                .replace('.', " ")
        };
        p.out(format!("  {:>3}  {}", "", shown.trim_end()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_fold_long_masks() {
        assert_eq!(strip("#.#", 64), "#.#");
        let long: String = "#".repeat(100) + &".".repeat(100);
        let folded = strip(&long, 50);
        assert!(folded.len() <= 50, "{folded}");
        assert!(folded.starts_with("####"));
        assert!(folded.ends_with("...."));
        let mixed = strip(&"#.".repeat(100), 50);
        assert!(mixed.chars().all(|c| c == ':'), "{mixed}");
    }

    #[test]
    fn ids_are_shortened_by_their_common_module() {
        let ids = ["a.b.T.test_1", "a.b.T.test_2", "a.c.U.test_3"];
        assert_eq!(common_prefix(&ids), "a.");
        assert_eq!(common_prefix(&ids[..2]), "a.b.T.");
        assert_eq!(short("a.b.T.test_1", "a.b.T."), "test_1");
    }

    #[test]
    fn a_composition_without_a_base_gets_no_default_one() {
        let plain = vec!["--python".to_string(), "/usr/bin/python3".into()];
        assert!(run_composition(&plain).contains(&"--no-base".to_string()));
        let based = vec!["--base".to_string(), "tempest==47.0.0".into()];
        assert!(!run_composition(&based).contains(&"--no-base".to_string()));
    }

    #[test]
    fn slugs_are_file_names() {
        let s = slug("a.b.T.test_x[id-1,smoke](v4/6)");
        assert!(s.starts_with("test_x-"), "{s}");
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }
}
