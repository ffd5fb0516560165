//! Turn `create`/`run` composition options, and definitions, into a
//! [`ComposeSpec`], checking every artifact before anything is built.

use anyhow::Result;

use crate::Context;
use crate::cli::{ComposeArgs, InstallerArg};
use crate::definition::Named;
use crate::env::compose::ComposeSpec;
use crate::layers::installer::{IndexOptions, InstallerChoice};
use crate::layers::system::Selection;

fn absolute(p: std::path::PathBuf) -> std::path::PathBuf {
    std::path::absolute(&p).unwrap_or(p)
}

/// Whether any composition option was given (they conflict with `--env`).
pub fn any_given(args: &ComposeArgs) -> bool {
    args.python.is_some()
        || !args.plugins.is_empty()
        || args.seed
        || !args.base.is_empty()
        || args.constraints.is_some()
        || !args.find_links.is_empty()
        || args.index_url.is_some()
        || args.all_plugin
        || !args.system_site.is_empty()
        || args.user_site
        || !args.system_plugin.is_empty()
        || !args.exclude_plugin.is_empty()
}

pub fn spec(args: ComposeArgs) -> Result<ComposeSpec> {
    spec_with(args, None, None)
}

/// The spec from the command line on top of a definition; `default_base`
/// is used when neither names a base nor a system set.
pub fn spec_with(
    args: ComposeArgs,
    def: Option<&Named>,
    ctx: Option<&Context>,
) -> Result<ComposeSpec> {
    let mut plugins: Vec<String> = Vec::new();
    let mut base = args.base;
    let mut constraints = args.constraints.map(absolute);
    let mut selection = Selection {
        all_plugin: args.all_plugin,
        extra_dirs: args.system_site.into_iter().map(absolute).collect(),
        include: args.system_plugin,
        exclude: args.exclude_plugin,
        user_site: args.user_site,
    };
    if let (Some(def), Some(ctx)) = (def, ctx) {
        let d = &def.definition;
        for raw in &d.plugins {
            plugins.push(def.resolve_path(raw, &ctx.home)?);
        }
        if base.is_empty() {
            base = d.base.clone();
        }
        if constraints.is_none()
            && let Some(c) = &d.constraints
        {
            constraints = Some(absolute(def.resolve_path(c, &ctx.home)?.into()));
        }
        selection.all_plugin |= d.all_plugin;
        selection.user_site |= d.user_site;
        for dir in &d.system_site {
            selection
                .extra_dirs
                .push(absolute(def.resolve_path(dir, &ctx.home)?.into()));
        }
        selection.include.extend(d.system_plugins.iter().cloned());
        selection.exclude.extend(d.exclude_plugins.iter().cloned());
    }
    plugins.extend(args.plugins);
    for dir in &selection.extra_dirs {
        if !dir.is_dir() {
            return Err(crate::error::UserError::new(format!(
                "--system-site {}: no such directory",
                dir.display()
            ))
            .into());
        }
    }
    if let Some(file) = &constraints {
        crate::input::regular_file(file, "the constraints file")?;
    }
    Ok(ComposeSpec {
        artifacts: crate::env::install::resolve_artifacts(&plugins)?,
        link_mode: args.link_mode.into(),
        seed: args.seed,
        compile_bytecode: args.compile_bytecode,
        base,
        constraints,
        index: IndexOptions {
            find_links: args.find_links.into_iter().map(absolute).collect(),
            index_url: args.index_url,
            offline: args.offline,
        },
        installer: match args.installer {
            InstallerArg::Auto => InstallerChoice::Auto,
            InstallerArg::Uv => InstallerChoice::Uv,
            InstallerArg::Pip => InstallerChoice::Pip,
        },
        system: selection,
        strict: args.strict,
    })
}
