//! `tempest-env show` and `tempest-env path`.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::env::Environment;

pub(crate) fn show(name: &str, format: OutputFormat, ctx: &Context) -> Result<u8> {
    let env = Environment::open(&ctx.home, name)?;
    let m = &env.manifest;
    match format {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(m)?;
            value["path"] = env.root.display().to_string().into();
            ctx.printer.out(serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Human => {
            let p = &ctx.printer;
            p.out(format!("name:        {}", m.name));
            p.out(format!("path:        {}", env.root.display()));
            p.out(format!(
                "python:      {} {} ({}, requested as `{}`)",
                m.interpreter.implementation,
                m.interpreter.version,
                m.interpreter.executable.display(),
                m.interpreter.request
            ));
            p.out(format!("created:     {}", m.created));
            p.out(format!("prompt:      {}", m.prompt));
            p.out(format!("format:      {}", m.format_version));
            if m.layers.is_empty() {
                p.out("layers:      none");
            } else {
                p.out("layers:");
                for layer in &m.layers {
                    p.out(format!(
                        "  {:<9} {}",
                        format!("{:?}", layer.kind).to_lowercase(),
                        layer.path.display()
                    ));
                }
            }
            if m.distributions.is_empty() {
                p.out("installed:   nothing");
            } else {
                p.out("installed:");
                let rows: Vec<[String; 4]> = m
                    .distributions
                    .iter()
                    .map(|d| {
                        [
                            d.name.clone(),
                            d.version.clone(),
                            d.mode.as_str().to_string(),
                            d.plugins.join(", "),
                        ]
                    })
                    .collect();
                for line in table(["DIST", "VERSION", "MODE", "PLUGINS"], &rows) {
                    p.out(format!("  {line}"));
                }
            }
        }
    }
    Ok(0)
}

pub(crate) fn path(name: &str, ctx: &Context) -> Result<u8> {
    let env = Environment::open(&ctx.home, name)?;
    ctx.printer.out(env.root.display().to_string());
    Ok(0)
}

/// Left-aligned columns separated by two spaces; the last column is not
/// padded.
pub(crate) fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    lines
}
