//! `tempest-env plugins`: what tempest will load, from where, and what is
//! wrong with it, without importing anything; with `--check`, what happens
//! when tempest loads them.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::layers::system::Selection;
use crate::plugins::inspected::{self, Inspected};
use crate::plugins::load_check::{self, CheckReport};
use crate::plugins::{self, Subject, report};

pub(crate) struct PluginsSettings {
    pub env: Option<String>,
    pub python: Option<String>,
    /// The system set, chosen with `create`'s options.
    pub selection: Selection,
    /// Load every plugin alone and all together (`--check`).
    pub check: bool,
    /// Fork the check's probes from a server (else each is fresh).
    pub fork_server: bool,
    pub format: OutputFormat,
}

pub(crate) fn run(settings: PluginsSettings, ctx: &Context) -> Result<u8> {
    let inspected = inspected::resolve(
        &inspected::Request {
            env: settings.env.clone(),
            python: settings.python.clone(),
            selection: settings.selection.clone(),
        },
        ctx,
    )?;
    let (subject, interpreter) = match &inspected {
        Inspected::Env(env, interpreter) => (Subject::Env(env), interpreter.as_ref()),
        Inspected::Composed(composed) => (Subject::Env(&composed.env), Some(&composed.interpreter)),
        Inspected::Interpreter(interpreter) => {
            (Subject::Interpreter(interpreter), Some(interpreter))
        }
    };
    let env = match &subject {
        Subject::Env(env) => Some(*env),
        Subject::Interpreter(_) => None,
    };
    let (scan, known) = plugins::scan_subject(&subject, interpreter)?;
    let markers = interpreter
        .map(|i| i.info.markers.clone())
        .unwrap_or_default();
    let origin = |d: &crate::dist::scan::Distribution| plugins::origin_name(d, env, &known);
    let mut report = report::report(&scan, &markers, &origin);
    let check = if settings.check && !report.plugins.is_empty() {
        ctx.printer.status(format!(
            "Loading {} plugin(s), each alone and then all together...",
            report.plugins.len()
        ));
        let options = load_check::CheckOptions {
            fork_server: settings.fork_server,
            scratch: ctx.home.data(),
            printer: &ctx.printer,
        };
        Some(match &inspected {
            Inspected::Env(env, _) => load_check::check(env, &report.plugins, &options)?,
            Inspected::Composed(composed) => {
                load_check::check(&composed.env, &report.plugins, &options)?
            }
            Inspected::Interpreter(i) => {
                let target = load_check::Target::interpreter(&i.info.sys_executable, true);
                load_check::check_with(&target, &report.plugins, &options)?
            }
        })
    } else {
        None
    };
    if let Inspected::Composed(composed) = &inspected {
        // The throwaway environment's views stand for real directories.
        for row in &mut report.plugins {
            row.location = composed.real_path(&row.location);
        }
        for finding in &mut report.problems {
            finding.message = composed.real_text(&finding.message);
        }
    }
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
    let mark = |o: &load_check::Outcome| {
        match (o.ok, o.warned) {
            (false, _) => "FAIL",
            (true, true) => "warn",
            (true, false) => "ok",
        }
        .to_string()
    };
    let rows: Vec<[String; 4]> = check
        .plugins
        .iter()
        .map(|p| {
            let detail = if !p.alone.ok {
                p.alone.verdict.clone()
            } else if p.together.ok && p.alone.warned && !p.together.warned {
                format!("alone: {}", p.alone.verdict)
            } else {
                p.together.verdict.clone()
            };
            [p.name.clone(), mark(&p.alone), mark(&p.together), detail]
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
                let severity = match problem.severity {
                    load_check::Severity::Warning => "warning, ",
                    load_check::Severity::Error => "",
                };
                ctx.printer.out(format!(
                    "{} ({pass}, {severity}{}): {}",
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
    let warned = check
        .plugins
        .iter()
        .filter(|p| p.alone.warned || p.together.warned)
        .count();
    if check.ok && warned > 0 {
        ctx.printer.status(format!(
            "Every plugin loads alone and together; tempest logs errors for {warned} (configuration: {backend})."
        ));
    } else if check.ok {
        ctx.printer.status(format!(
            "Every plugin loads alone and together (configuration: {backend})."
        ));
    } else {
        ctx.printer.status(format!(
            "Some plugins do not load alone or together (configuration: {backend})."
        ));
    }
}
