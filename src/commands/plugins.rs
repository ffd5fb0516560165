//! `tempest-env plugins`: what tempest will load, from where, and what is
//! wrong with it, without importing anything; with `--check`, what happens
//! when tempest loads them.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::env::Environment;
use crate::plugins::load_check::{self, CheckReport};
use crate::plugins::{self, Subject, report};

pub struct PluginsSettings {
    pub env: Option<String>,
    pub all_plugin: bool,
    pub python: Option<String>,
    pub user_site: bool,
    /// Load every plugin alone and all together (`--check`).
    pub check: bool,
    pub format: OutputFormat,
}

pub fn run(settings: PluginsSettings, ctx: &Context) -> Result<u8> {
    let env = match &settings.env {
        Some(name) => Some(Environment::open(&ctx.home, name)?),
        None => None,
    };
    let interpreter = match (&env, &settings.python) {
        (Some(env), _) => env.interpreter(&ctx.home, &ctx.printer).ok(),
        (None, python) => Some(crate::interpreter::find(
            python.as_deref(),
            &ctx.home,
            &ctx.printer,
        )?),
    };
    let subject = match (&env, &interpreter) {
        (Some(env), _) => Subject::Env(env),
        (None, Some(i)) if settings.all_plugin => Subject::System(i, settings.user_site),
        (None, Some(i)) => Subject::Interpreter(i),
        (None, None) => unreachable!("an interpreter is found or an error returned"),
    };
    let (scan, known) = plugins::scan_subject(&subject, interpreter.as_ref())?;
    let markers = interpreter
        .as_ref()
        .map(|i| i.info.markers.clone())
        .unwrap_or_default();
    let origin =
        |d: &crate::dist::scan::Distribution| plugins::origin_name(d, env.as_ref(), &known);
    let report = report::report(&scan, &markers, &origin);
    let check = if settings.check && !report.plugins.is_empty() {
        ctx.printer.status(format!(
            "Loading {} plugin(s), each alone and then all together...",
            report.plugins.len()
        ));
        Some(match (&env, &interpreter) {
            (Some(env), _) => load_check::check(env, &report.plugins)?,
            (None, Some(i)) => {
                let user = settings.user_site || !settings.all_plugin;
                let target = load_check::Target::interpreter(&i.info.sys_executable, user);
                load_check::check_with(&target, &report.plugins)?
            }
            (None, None) => unreachable!("an interpreter is found or an error returned"),
        })
    } else {
        None
    };
    match settings.format {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&report)?;
            if let Some(check) = &check {
                value["check"] = serde_json::to_value(check)?;
            }
            ctx.printer.out(serde_json::to_string_pretty(&value)?)
        }
        OutputFormat::Human => {
            print_report(&report, ctx);
            if let Some(check) = &check {
                print_check(check, ctx);
            }
        }
    }
    Ok(match check {
        Some(check) if !check.ok => 1,
        _ => 0,
    })
}

fn print_report(report: &report::Report, ctx: &Context) {
    if report.plugins.is_empty() {
        ctx.printer.status("No tempest plugins are visible.");
    } else {
        let rows: Vec<[String; 6]> = report
            .plugins
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    p.target.clone(),
                    p.dist.clone(),
                    p.version.clone(),
                    p.origin.clone(),
                    p.location.display().to_string(),
                ]
            })
            .collect();
        for line in super::show::table(
            ["PLUGIN", "TARGET", "DIST", "VERSION", "ORIGIN", "LOCATION"],
            &rows,
        ) {
            ctx.printer.out(line);
        }
    }
    for finding in &report.problems {
        ctx.printer
            .warn(format!("[{}] {}", finding.kind, finding.message));
    }
}

/// A table with a one-line verdict per plugin, then the details of what
/// went wrong.
fn print_check(check: &CheckReport, ctx: &Context) {
    let mark = |ok: bool| if ok { "ok" } else { "FAIL" }.to_string();
    let rows: Vec<[String; 4]> = check
        .plugins
        .iter()
        .map(|p| {
            let detail = if !p.alone.ok {
                &p.alone.verdict
            } else {
                &p.together.verdict
            };
            [
                p.name.clone(),
                mark(p.alone.ok),
                mark(p.together.ok),
                detail.clone(),
            ]
        })
        .collect();
    ctx.printer.out("");
    for line in super::show::table(["PLUGIN", "ALONE", "TOGETHER", "DETAIL"], &rows) {
        ctx.printer.out(line);
    }
    for p in &check.plugins {
        for (pass, outcome) in [("alone", &p.alone), ("together", &p.together)] {
            for problem in &outcome.problems {
                // What fails alone fails the same way together: say it once.
                if pass == "together"
                    && p.alone
                        .problems
                        .iter()
                        .any(|a| a.kind == problem.kind && a.message == problem.message)
                {
                    continue;
                }
                ctx.printer.out("");
                ctx.printer.out(format!(
                    "{} ({pass}, {}): {}",
                    p.name,
                    problem.kind,
                    load_check::verdict(problem)
                ));
                if let Some(tb) = problem
                    .traceback
                    .as_ref()
                    .filter(|_| ctx.printer.is_verbose())
                {
                    for line in tb.lines() {
                        ctx.printer.out(format!("    {line}"));
                    }
                }
            }
        }
    }
    let backend = check.config_backend.as_deref().unwrap_or("none");
    if check.ok {
        ctx.printer.status(format!(
            "Every plugin loads alone and together (configuration: {backend})."
        ));
    } else {
        ctx.printer.status(format!(
            "Some plugins do not load alone or together (configuration: {backend})."
        ));
    }
}
