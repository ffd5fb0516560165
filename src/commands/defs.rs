//! `tempest-env defs`: the definitions, built-in and the project's.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;

pub(crate) fn run(format: OutputFormat, ctx: &Context) -> Result<u8> {
    let cwd = std::env::current_dir()?;
    let defs = crate::definition::all(&cwd)?;
    match format {
        OutputFormat::Json => {
            let rows: Vec<serde_json::Value> = defs
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "name": d.name,
                        "source": d.source,
                        "description": d.definition.description,
                        "runner": d.definition.runner,
                        "all_plugin": d.definition.all_plugin,
                        "base": d.definition.base,
                        "plugins": d.definition.plugins,
                    })
                })
                .collect();
            ctx.printer.out(serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Human => {
            let rows: Vec<[String; 3]> = defs
                .iter()
                .map(|d| {
                    [
                        d.name.clone(),
                        d.source.clone(),
                        d.definition.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            for line in super::show::table(["NAME", "FROM", "DESCRIPTION"], &rows) {
                ctx.printer.out(line);
            }
        }
    }
    Ok(0)
}
