//! The composition options of `create`, `run` and the isolation commands,
//! on top of a definition, as a [`ComposeSpec`]: a flag wins over the
//! definition's key, a list adds to it. Every artifact is checked before
//! anything is built.

use anyhow::Result;
use clap::ValueEnum;

use crate::cli::{ComposeArgs, IndexArgs, InstallerArgs};
use crate::definition::Named;
use crate::env::compose::ComposeSpec;
use crate::home::Home;
use crate::layers::installer::IndexOptions;
use crate::layers::system::Selection;
use crate::lockfile::rebuild::RebuildOptions;

fn absolute(p: std::path::PathBuf) -> std::path::PathBuf {
    std::path::absolute(&p).unwrap_or(p)
}

/// Whether any composition option was given (they conflict with `--env`).
pub(crate) fn any_given(args: &ComposeArgs) -> bool {
    args.python.is_some()
        || !args.plugins.is_empty()
        || args.seed
        || args.compile_bytecode
        || args.link_mode.is_some()
        || args.installer.index.installer.is_some()
        || args.installer.index.offline
        || args.strict
        || args.no_deps
        || !args.base.is_empty()
        || args.installer.constraints.is_some()
        || !args.installer.index.find_links.is_empty()
        || args.installer.index.index_url.is_some()
        || args.all_plugin
        || !args.system_site.is_empty()
        || args.user_site
        || !args.system_plugin.is_empty()
        || !args.exclude_plugin.is_empty()
}

/// Refuse composition options beside `option` (which brings its own
/// composition); the interpreter and where packages come from may be given.
pub(crate) fn only_index_options(args: &ComposeArgs, option: &str) -> Result<()> {
    let given: Vec<&str> = [
        (!args.plugins.is_empty(), "--plugin"),
        (!args.base.is_empty(), "--base"),
        (args.installer.constraints.is_some(), "--constraints"),
        (args.all_plugin, "--all-plugin"),
        (!args.system_site.is_empty(), "--system-site"),
        (args.user_site, "--user-site"),
        (!args.system_plugin.is_empty(), "--system-plugin"),
        (!args.exclude_plugin.is_empty(), "--exclude-plugin"),
        (args.seed, "--seed"),
        (args.link_mode.is_some(), "--link-mode"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(crate::error::UserError::new(format!(
        "{option} brings the whole composition; {} cannot be added to it",
        given.join(", ")
    ))
    .hint("only --python, --find-links, --index-url, --offline and --installer go with it")
    .into())
}

/// The spec of the command line alone.
pub(crate) fn spec(args: ComposeArgs) -> Result<ComposeSpec> {
    spec_with(args, None)
}

/// The spec from the command line on top of a definition (whose relative
/// paths are resolved against its file, or `home` for a built-in one).
pub(crate) fn spec_with(args: ComposeArgs, def: Option<(&Named, &Home)>) -> Result<ComposeSpec> {
    let mut plugins: Vec<String> = Vec::new();
    let mut base = args.base;
    let mut link_mode = args.link_mode;
    let mut installer = args.installer.index.installer;
    let mut seed = args.seed;
    let mut compile_bytecode = args.compile_bytecode;
    let mut strict = args.strict;
    let mut no_deps = args.no_deps;
    let mut find_links: Vec<std::path::PathBuf> = args
        .installer
        .index
        .find_links
        .into_iter()
        .map(absolute)
        .collect();
    let mut index_url = args.installer.index.index_url;
    let mut offline = args.installer.index.offline;
    let mut constraints = args.installer.constraints.map(absolute);
    let mut selection = Selection {
        all_plugin: args.all_plugin,
        extra_dirs: args.system_site.into_iter().map(absolute).collect(),
        include: args.system_plugin,
        exclude: args.exclude_plugin,
        user_site: args.user_site,
    };
    if let Some((def, home)) = def {
        let d = &def.definition;
        for raw in &d.plugins {
            plugins.push(def.resolve_path(raw, home)?);
        }
        if base.is_empty() {
            base = d.base.clone();
        }
        if constraints.is_none()
            && let Some(c) = &d.constraints
        {
            constraints = Some(absolute(def.resolve_path(c, home)?.into()));
        }
        selection.all_plugin |= d.all_plugin;
        selection.user_site |= d.user_site;
        for dir in &d.system_site {
            selection
                .extra_dirs
                .push(absolute(def.resolve_path(dir, home)?.into()));
        }
        selection.include.extend(d.system_plugins.iter().cloned());
        selection.exclude.extend(d.exclude_plugins.iter().cloned());
        if link_mode.is_none()
            && let Some(raw) = &d.link_mode
        {
            link_mode = Some(definition_value(def, "link-mode", raw)?);
        }
        if installer.is_none()
            && let Some(raw) = &d.installer
        {
            installer = Some(definition_value(def, "installer", raw)?);
        }
        seed |= d.seed;
        compile_bytecode |= d.compile_bytecode;
        strict |= d.strict;
        no_deps |= d.no_deps;
        offline |= d.offline;
        for dir in &d.find_links {
            find_links.push(absolute(def.resolve_path(dir, home)?.into()));
        }
        if index_url.is_none() {
            index_url = d.index_url.clone();
        }
    }
    plugins.extend(args.plugins);
    check_paths(&selection, constraints.as_deref())?;
    Ok(ComposeSpec {
        artifacts: crate::env::install::resolve_artifacts(&plugins)?,
        link_mode: link_mode.unwrap_or_default().into(),
        seed,
        compile_bytecode,
        base,
        constraints,
        index: IndexOptions {
            find_links,
            index_url,
            offline,
        },
        installer: installer.unwrap_or_default().into(),
        system: selection,
        strict,
        no_deps,
    })
}

/// The directories and files a composition names exist, before anything is
/// built.
fn check_paths(selection: &Selection, constraints: Option<&std::path::Path>) -> Result<()> {
    for dir in &selection.extra_dirs {
        if !dir.is_dir() {
            return Err(crate::error::UserError::new(format!(
                "--system-site {}: no such directory",
                dir.display()
            ))
            .into());
        }
    }
    if let Some(file) = constraints {
        crate::input::regular_file(file, "the constraints file")?;
    }
    Ok(())
}

/// `install`'s installer options: the parts of a composition that say
/// where packages come from (no base, no system set).
pub(crate) fn installing(args: InstallerArgs) -> Result<ComposeSpec> {
    let source = rebuild(&args.index);
    let constraints = args.constraints.map(absolute);
    if let Some(file) = &constraints
        && !file.is_file()
    {
        return Err(crate::error::UserError::new(format!(
            "--constraints {}: no such file",
            file.display()
        ))
        .into());
    }
    Ok(ComposeSpec {
        constraints,
        index: source.index,
        installer: source.installer,
        ..ComposeSpec::default()
    })
}

/// Where packages come from and which installer, as rebuilding a lock
/// takes them (`create --from`, `run --from`, `probe`, `--collect`).
pub(crate) fn rebuild(args: &IndexArgs) -> RebuildOptions {
    RebuildOptions {
        index: IndexOptions {
            find_links: args.find_links.iter().cloned().map(absolute).collect(),
            index_url: args.index_url.clone(),
            offline: args.offline,
        },
        installer: args.installer.unwrap_or_default().into(),
    }
}

/// A definition's value for an option that takes one of a set of words,
/// read as the option would read it.
fn definition_value<T: ValueEnum>(def: &Named, key: &str, raw: &str) -> Result<T> {
    T::from_str(raw, false).map_err(|_| {
        let words: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        crate::error::UserError::new(format!(
            "definition `{}` ({}): `{key} = \"{raw}\"` is not one of {}",
            def.name,
            def.source,
            words.join(", ")
        ))
        .hint(format!("`{key}` takes the values `--{key}` takes"))
        .into()
    })
}
