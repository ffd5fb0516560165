//! `tempest-env plugins`: what tempest will load, from where, and what is
//! wrong with it, without importing anything.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::env::Environment;
use crate::plugins::{self, Subject, report};

pub struct PluginsSettings {
    pub env: Option<String>,
    pub all_plugin: bool,
    pub python: Option<String>,
    pub user_site: bool,
    pub format: OutputFormat,
}

pub fn run(settings: PluginsSettings, ctx: &Context) -> Result<u8> {
    let env = match &settings.env {
        Some(name) => Some(Environment::open(&ctx.home, name)?),
        None => None,
    };
    let interpreter = match (&env, &settings.python) {
        (Some(env), _) => {
            let exe = env
                .manifest
                .interpreter
                .executable
                .to_string_lossy()
                .into_owned();
            crate::interpreter::find(Some(&exe), &ctx.home, &ctx.printer).ok()
        }
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
    match settings.format {
        OutputFormat::Json => ctx.printer.out(serde_json::to_string_pretty(&report)?),
        OutputFormat::Human => {
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
    }
    Ok(0)
}
