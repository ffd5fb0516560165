//! `tempest-env run`: compose (or open) an environment, write the workspace,
//! run the runner in it with a clean process environment, record and
//! summarise the results, and remove the per-run environment.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions, Environment};
use crate::lockfile::rebuild;
use crate::runner::environ::Policy;
use crate::runner::pipeline;
use crate::runner::preset::Preset;
use crate::runner::record::{self, Replay, RunRecord};

pub(crate) enum Target {
    /// An existing environment.
    Env(String),
    /// A per-run environment composed from this spec.
    Compose {
        python: Option<String>,
        spec: Box<ComposeSpec>,
    },
    /// A per-run environment rebuilt from a locked run, whose results the
    /// new run is compared with.
    Lock(Box<FromLock>),
}

pub(crate) use super::run_from::FromLock;

/// The environment a run uses, and what is known of how it was made.
struct Opened {
    env: Environment,
    /// Held while a per-run environment exists.
    guard: Option<crate::lock::LockGuard>,
    /// The `create` arguments that compose a per-run environment again.
    composition: Option<Vec<String>>,
    interpreter: Option<crate::interpreter::Interpreter>,
    /// Where an environment rebuilt from a lock differs from it.
    differences: Vec<String>,
}

pub(crate) struct RunSettings {
    pub target: Target,
    pub runner: Preset,
    pub filter: Option<String>,
    pub posargs: Vec<String>,
    pub list: bool,
    pub keep: bool,
    pub policy: Policy,
    pub format: OutputFormat,
}

pub(crate) fn run(settings: RunSettings, ctx: &Context) -> Result<u8> {
    // The run's directory is created exclusively: two runs never share one.
    // A run that records nothing leaves nothing, not even `runs/`.
    let runs_existed = record::runs_dir(&ctx.home).is_dir();
    let (id, run_dir) = record::create_run_dir(&ctx.home)?;
    let forget = |run_dir: &std::path::Path| {
        let _ = fs_err::remove_dir(run_dir);
        if !runs_existed {
            let _ = fs_err::remove_dir(record::runs_dir(&ctx.home));
        }
    };
    // The per-run environment is locked from its creation until it is
    // removed, so `gc` leaves it alone; a killed run frees the lock and `gc`
    // removes what it left.
    let made = open_or_compose(&settings, &id, &run_dir, ctx);
    let Opened {
        env,
        guard,
        composition,
        interpreter,
        differences,
    } = match made {
        Ok(made) => made,
        Err(err) => {
            forget(&run_dir);
            return Err(err);
        }
    };
    let per_run = guard.is_some();
    crate::failpoint::hit("run-after-create");
    let refused = match &settings.target {
        Target::Lock(from) if !differences.is_empty() => {
            super::create::report_differences(&differences, from.allow_differences, ctx);
            !from.allow_differences
        }
        _ => false,
    };
    let replay = Replay {
        runner: settings.runner.as_given().to_string(),
        posargs: settings.posargs.clone(),
        set_env: settings.policy.set.clone(),
        pass_env: settings.policy.pass.clone(),
        isolated_env: settings.policy.isolated,
        user_site: settings.policy.user_site,
        config_file: settings.policy.config_file.clone(),
        composition,
    };
    let outcome = if refused {
        Ok(crate::error::EXIT_FAILURE)
    } else {
        let made = Made {
            env: &env,
            interpreter: interpreter.as_ref(),
            per_run,
        };
        run_in(&made, &settings, replay, &id, &run_dir, ctx)
    };
    if per_run && !settings.keep {
        // Also after a failure or an interrupted runner.
        if let Err(err) = crate::atomic::remove_tree(&env.root) {
            ctx.printer.warn(format!(
                "could not remove the per-run environment {}: {err}",
                env.root.display()
            ));
        }
        let _ = fs_err::remove_file(env::lock_path(&ctx.home, &env.name));
    }
    if settings.list || !run_dir.join(record::RUN_FILE).exists() {
        forget(&run_dir);
    }
    outcome
}

/// The environment to run in: an existing one, or a per-run environment
/// composed (or rebuilt from a lock) inside the run's directory and locked
/// until it is removed (with the `create` arguments that compose it again).
fn open_or_compose(
    settings: &RunSettings,
    id: &str,
    run_dir: &std::path::Path,
    ctx: &Context,
) -> Result<Opened> {
    let (python, given, lock) = match &settings.target {
        Target::Env(name) => {
            return Ok(Opened {
                env: Environment::open(&ctx.home, name)?,
                guard: None,
                composition: None,
                interpreter: None,
                differences: Vec::new(),
            });
        }
        Target::Compose { python, spec } => (python.clone(), Some(spec.as_ref()), None),
        Target::Lock(from) => (
            from.python
                .clone()
                .or_else(|| Some(rebuild::python_request(&from.lock))),
            None,
            Some(from.as_ref()),
        ),
    };
    let interpreter = crate::interpreter::find(python.as_deref(), &ctx.home, &ctx.printer)?;
    let rebuilt = match lock {
        Some(from) => Some(rebuild::spec(
            &from.lock,
            &interpreter,
            &from.options,
            &ctx.home,
        )?),
        None => None,
    };
    let Some(spec) = given.or(rebuilt.as_ref()) else {
        anyhow::bail!("internal: a per-run environment without a composition");
    };
    let options = CreateOptions {
        name: format!("run-{id}"),
        path: Some(run_dir.join("env")),
        prompt: None,
        clear: false,
        register: settings.keep,
        ephemeral: !settings.keep,
    };
    let (env, guard) = env::create_held(&ctx.home, &options, &interpreter, &ctx.printer, |env| {
        compose::compose(env, &interpreter, spec, &ctx.home, &ctx.printer)
    })?;
    let differences = match lock {
        Some(from) => match rebuild::check(&from.lock, &env, &interpreter, &ctx.home) {
            Ok(differences) => differences,
            Err(err) => {
                let _ = crate::atomic::remove_tree(&env.root);
                return Err(err);
            }
        },
        None => Vec::new(),
    };
    Ok(Opened {
        env,
        guard: Some(guard),
        composition: Some(spec.create_args(&interpreter)),
        interpreter: Some(interpreter),
        differences,
    })
}

/// The environment a run runs in.
struct Made<'a> {
    env: &'a Environment,
    /// Its interpreter, when it was found while composing.
    interpreter: Option<&'a crate::interpreter::Interpreter>,
    per_run: bool,
}

/// The environment's lock, for `lock --run`, made right after the runner
/// (a per-run environment is removed after the run). A per-run
/// environment is exactly what tempest-env composed, so its lock may come
/// from the cache of compositions ([`crate::lockfile::record::composed`]).
/// `None` with a warning when it cannot be made; that is not a failed run.
fn env_lock(made: &Made, ctx: &Context) -> Option<String> {
    let lock = || -> Result<crate::lockfile::Lock> {
        let found;
        let interpreter = match made.interpreter {
            Some(interpreter) => interpreter,
            None => {
                found = made.env.interpreter(&ctx.home, &ctx.printer)?;
                &found
            }
        };
        if made.per_run {
            crate::lockfile::record::composed(made.env, interpreter, &ctx.home)
        } else {
            crate::lockfile::record::environment(made.env, interpreter, &ctx.home)
        }
    };
    match lock() {
        Ok(lock) => Some(lock.render()),
        Err(err) => {
            ctx.printer.warn(format!(
                "the run's environment could not be locked: {err:#}"
            ));
            None
        }
    }
}

fn run_in(
    made: &Made,
    settings: &RunSettings,
    replay: Replay,
    id: &str,
    run_dir: &std::path::Path,
    ctx: &Context,
) -> Result<u8> {
    let (env, per_run) = (made.env, made.per_run);
    let p = &ctx.printer;
    let json = matches!(settings.format, OutputFormat::Json);
    let request = pipeline::Request {
        env,
        runner: &settings.runner,
        filter: settings.filter.as_deref(),
        posargs: &settings.posargs,
        list: settings.list,
        policy: &settings.policy,
        fresh: per_run,
        scratch: run_dir,
        // A listing for a script is captured and given as JSON; anything
        // else the runner prints goes to stderr, so stdout is only JSON.
        capture: json && settings.list,
        stdout_to_stderr: json,
    };
    let finished = pipeline::run(&request, p)?;
    // A listing is not recorded, so it needs no lock.
    let lock = (!settings.list).then(|| env_lock(made, ctx)).flatten();
    for warning in &finished.stream_warnings {
        p.warn(format!("subunit stream: {warning}"));
    }
    let code = finished.code;
    let interrupted = finished.interrupted;
    if settings.list {
        if json {
            print_listing(&finished, ctx)?;
        }
        return Ok(code);
    }
    let results = finished.results;
    let stream = finished.stream;
    let started = finished.started.unwrap_or_else(std::time::SystemTime::now);
    let duration = finished.runner_time;
    let kept = (per_run && settings.keep).then(|| env.root.clone());
    let rec = RunRecord {
        id: id.to_string(),
        environment: env.name.clone(),
        runner: settings.runner.name().to_string(),
        command: finished.command,
        filter: settings.filter.clone(),
        exit_code: code,
        started: humantime::format_rfc3339_millis(started).to_string(),
        duration_secs: duration.as_secs_f64(),
        kept: kept.clone(),
        interrupted_by: interrupted,
        replay: Some(replay),
    };
    if let Some(lock) = lock {
        fs_err::write(run_dir.join(record::LOCK_FILE), lock)?;
    }
    record::write(
        run_dir,
        &rec,
        results.as_ref(),
        stream.as_deref(),
        &env.manifest.to_json(),
    )?;
    // A run from a lock is judged by whether it gave the locked results.
    let replayed = match &settings.target {
        Target::Lock(from) => from
            .lock
            .run
            .as_ref()
            .map(|locked| crate::runner::replay::differences(locked, code, results.as_ref())),
        _ => None,
    };
    print_run(&rec, results.as_ref(), replayed.as_deref(), settings, ctx)?;
    if let Some(signal) = interrupted {
        p.status(format!(
            "Run {id} was interrupted (signal {signal} forwarded to the runner)"
        ));
    }
    if let Some(path) = kept {
        p.status(format!(
            "Kept the environment `{}` at {}",
            env.name,
            path.display()
        ));
    }
    match replayed {
        None => Ok(code),
        Some(differences) => Ok(super::run_from::judge(&differences, code, settings, ctx)),
    }
}

/// A listing for a script: what the runner said on stderr, the ids as JSON.
fn print_listing(finished: &pipeline::Finished, ctx: &Context) -> Result<()> {
    let p = &ctx.printer;
    for line in finished.stderr.lines() {
        p.status(line);
    }
    p.out(serde_json::to_string_pretty(&serde_json::json!({
        "exit_code": finished.code,
        "count": finished.listed.len(),
        "tests": finished.listed,
    }))?);
    Ok(())
}

/// A recorded run, summarised (with how it compares to its lock, when it
/// ran from one).
fn print_run(
    rec: &RunRecord,
    results: Option<&crate::runner::results::RunResults>,
    replayed: Option<&[String]>,
    settings: &RunSettings,
    ctx: &Context,
) -> Result<()> {
    let p = &ctx.printer;
    match settings.format {
        OutputFormat::Json => {
            let mut value = serde_json::json!({
                "run": rec,
                "summary": results.map(super::results::summary_json),
                "results": results,
            });
            if let Some(differences) = replayed {
                value["lock"] = serde_json::json!({
                    "matches": differences.is_empty(),
                    "differences": differences,
                });
            }
            p.out(serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Human => match results {
            Some(results) => {
                for line in super::results::summary_lines(results, rec) {
                    p.out(line);
                }
            }
            None => p.status(format!(
                "Run {}: {} exited with {} (no subunit stream to summarise)",
                rec.id,
                settings.runner.name(),
                rec.exit_code
            )),
        },
    }
    Ok(())
}
