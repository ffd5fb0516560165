//! `tempest-env doctor [NAME] [PLUGIN]`.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::doctor;
use crate::env::Environment;

pub fn run(
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
    match format {
        OutputFormat::Json => {
            let value = serde_json::json!({"healthy": findings.is_empty(), "findings": findings});
            ctx.printer.out(serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Human => {
            if findings.is_empty() {
                ctx.printer.out("No problems found.");
            }
            for (i, f) in findings.iter().enumerate() {
                if i > 0 {
                    ctx.printer.out("");
                }
                ctx.printer.out(format!("[{}] {}", f.id, f.problem));
                ctx.printer.out(format!("  why: {}", f.why));
                ctx.printer.out(format!("  fix: {}", f.fix));
            }
        }
    }
    Ok(if findings.is_empty() { 0 } else { 1 })
}
