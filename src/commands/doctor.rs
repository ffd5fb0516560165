//! `tempest-env doctor [NAME] [PLUGIN]`.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::doctor;
use crate::env::Environment;

pub(crate) fn run(
    name: Option<&str>,
    plugin: Option<&str>,
    format: OutputFormat,
    ctx: &Context,
) -> Result<u8> {
    let mut findings = doctor::caller(std::env::vars());
    if let Some(name) = name {
        let env = Environment::open(&ctx.home, name)?;
        let interpreter = env.interpreter(&ctx.home, &ctx.printer).ok();
        findings.extend(doctor::environment(&env, interpreter.as_ref(), plugin)?);
    }
    let problems = findings
        .iter()
        .filter(|f| f.level == doctor::Level::Problem)
        .count();
    match format {
        OutputFormat::Json => {
            let value = serde_json::json!({"healthy": problems == 0, "findings": findings});
            ctx.printer.out(serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Human => {
            if problems == 0 {
                ctx.printer.out("No problems found.");
            }
            for f in &findings {
                ctx.printer.out("");
                let mark = match f.level {
                    doctor::Level::Problem => "",
                    doctor::Level::Info => "info: ",
                };
                ctx.printer.out(format!("[{}] {mark}{}", f.id, f.problem));
                ctx.printer.out(format!("  why: {}", f.why));
                if !f.fix.is_empty() {
                    ctx.printer.out(format!("  fix: {}", f.fix));
                }
                if let Some(see) = &f.see {
                    ctx.printer.out(format!("  see: {see}"));
                }
            }
        }
    }
    Ok(if problems == 0 { 0 } else { 1 })
}
