//! `tempest-env base list` / `base remove`.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::layers::base;

pub(crate) fn list(format: OutputFormat, ctx: &Context) -> Result<u8> {
    let bases = base::list(&ctx.home)?;
    match format {
        OutputFormat::Json => {
            let mut infos = Vec::new();
            for b in &bases {
                let mut info = serde_json::to_value(&b.info)?;
                info["size_bytes"] = crate::gc::size_of(&b.dir).into();
                infos.push(info);
            }
            ctx.printer.out(serde_json::to_string_pretty(&infos)?);
        }
        OutputFormat::Human if bases.is_empty() => ctx.printer.status("No bases yet."),
        OutputFormat::Human => {
            let rows: Vec<[String; 6]> = bases
                .iter()
                .map(|b| {
                    [
                        b.info.hash.clone(),
                        b.info.python_version.clone(),
                        b.info.installer.clone(),
                        b.info.installed.len().to_string(),
                        crate::printer::human_size(crate::gc::size_of(&b.dir)),
                        b.info.requirements.join(" "),
                    ]
                })
                .collect();
            for line in super::show::table(
                [
                    "HASH",
                    "PYTHON",
                    "INSTALLER",
                    "DISTS",
                    "SIZE",
                    "REQUIREMENTS",
                ],
                &rows,
            ) {
                ctx.printer.out(line);
            }
        }
    }
    Ok(0)
}

pub(crate) fn remove(hash: &str, force: bool, ctx: &Context) -> Result<u8> {
    let (removed, users) = base::remove(
        &ctx.home,
        hash,
        force,
        |dir| crate::env::users_of(&ctx.home, dir),
        &ctx.printer,
    )?;
    if !users.is_empty() {
        ctx.printer.warn(format!(
            "removed a base that {} used; rebuild {} with `tempest-env create NAME --clear`",
            base::describe_users(&users),
            if users.len() == 1 { "it" } else { "them" }
        ));
    }
    ctx.printer
        .status(format!("Removed base {}", removed.display()));
    Ok(0)
}
