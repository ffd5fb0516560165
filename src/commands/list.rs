//! `tempest-env list`.

use anyhow::Result;
use serde::Serialize;

use super::OutputFormat;
use crate::Context;
use crate::env::{self, Environment};

#[derive(Serialize)]
struct Row {
    name: String,
    python: Option<String>,
    plugins: Option<usize>,
    created: Option<String>,
    path: String,
    /// Why the environment cannot be read, if it cannot.
    error: Option<String>,
}

pub(crate) fn run(format: OutputFormat, ctx: &Context) -> Result<u8> {
    let rows: Vec<Row> = env::names(&ctx.home)?
        .into_iter()
        .map(|name| match Environment::open(&ctx.home, &name) {
            Ok(env) => Row {
                python: Some(env.manifest.interpreter.version.clone()),
                plugins: Some(env.manifest.plugin_count()),
                created: Some(env.manifest.created.clone()),
                path: env.root.display().to_string(),
                name,
                error: None,
            },
            Err(err) => Row {
                path: env::registry_entry(&ctx.home, &name).display().to_string(),
                name,
                python: None,
                plugins: None,
                created: None,
                error: Some(err.to_string()),
            },
        })
        .collect();
    match format {
        OutputFormat::Json => ctx.printer.out(serde_json::to_string_pretty(&rows)?),
        OutputFormat::Human if rows.is_empty() => ctx
            .printer
            .status("No environments yet: `tempest-env create NAME` makes one."),
        OutputFormat::Human => {
            let table: Vec<[String; 5]> = rows
                .iter()
                .map(|r| {
                    [
                        r.name.clone(),
                        r.python.clone().unwrap_or_else(|| "?".into()),
                        r.plugins.map_or_else(|| "?".into(), |n| n.to_string()),
                        r.created.clone().unwrap_or_else(|| "broken".into()),
                        r.path.clone(),
                    ]
                })
                .collect();
            for line in crate::commands::show::table(
                ["NAME", "PYTHON", "PLUGINS", "CREATED", "PATH"],
                &table,
            ) {
                ctx.printer.out(line);
            }
        }
    }
    Ok(0)
}
