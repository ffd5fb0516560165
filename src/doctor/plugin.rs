//! Doctor's answers about plugins: where a plugin comes from when it is
//! visible (distribution, version, layer, path, entry point, which copy
//! wins), what hides it when it is not (a view's option, a system set or
//! user site left out), the system plugins an environment leaves out on
//! purpose (one line of information), and entry points naming a module
//! their distribution does not contain.

use std::path::PathBuf;

use anyhow::Result;

use super::{Finding, Rebuild, finding, plugin_names, site_scan};
use crate::dist::name::normalize;
use crate::dist::scan::{Origin, ScanResult};
use crate::env::Environment;
use crate::interpreter::Interpreter;
use crate::layers::LayerKind;
use crate::layers::system;
use crate::plugins::report::{self, PluginRow, Report};
use crate::plugins::{self, Subject};

pub(super) fn visibility(
    env: &Environment,
    interpreter: Option<&Interpreter>,
    plugin: Option<&str>,
    rebuild: &Rebuild,
) -> Result<Vec<Finding>> {
    let (scan, known) = plugins::scan_subject(&Subject::Env(env), interpreter)?;
    let markers = interpreter
        .map(|i| i.info.markers.clone())
        .unwrap_or_default();
    let origin = |d: &crate::dist::scan::Distribution| plugins::origin_name(d, Some(env), &known);
    let report = report::report(&scan, &markers, &origin);
    let mut out = missing_modules(env, &report, plugin, rebuild);
    match plugin {
        Some(wanted) => {
            let rows: Vec<&PluginRow> = report
                .plugins
                .iter()
                .filter(|r| r.name == wanted || normalize(&r.dist) == normalize(wanted))
                .collect();
            if rows.is_empty() {
                out.push(invisible(env, interpreter, wanted, rebuild)?);
            } else {
                out.push(origin_of(env, wanted, &rows, &scan));
            }
        }
        None => out.extend(left_out(env, interpreter, &report, rebuild)?),
    }
    Ok(out)
}

/// An entry point naming a module its distribution does not contain: the
/// plugin fails to load, and tempest stops loading every plugin.
fn missing_modules(
    env: &Environment,
    report: &Report,
    plugin: Option<&str>,
    rebuild: &Rebuild,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for problem in report
        .problems
        .iter()
        .filter(|f| f.kind == "missing-module")
    {
        let Some(row) = report.plugins.iter().find(|r| r.name == problem.subject) else {
            continue;
        };
        if plugin.is_some_and(|p| p != row.name && normalize(p) != normalize(&row.dist)) {
            continue;
        }
        let f = finding(
            "entry-point-missing-module",
            problem.message.clone(),
            "stevedore cannot import it, and tempest stops loading plugins at the first one it cannot load: `tempest list-plugins` fails and no test of any plugin is found",
            String::new(),
        )
        .see(format!("tempest-env plugins {} --check", env.name));
        let installed = env
            .manifest
            .distributions
            .iter()
            .any(|d| normalize(&d.name) == normalize(&row.dist));
        out.push(match row.origin.as_str() {
            _ if installed => f.run(format!(
                "tempest-env uninstall {} {}",
                env.name, row.dist
            )),
            "system" if rebuild.names("--system-plugin", &[&row.name, &row.dist]) => {
                f.run(rebuild.clone().without("--system-plugin", &[&row.name, &row.dist]).command())
            }
            "system" => f.run(rebuild.clone().with("--exclude-plugin", Some(&row.name)).command()),
            _ => {
                let mut f = f;
                f.fix = format!(
                    "install a release of {} whose entry point matches its code, or remove it from where it is installed ({})",
                    row.dist,
                    row.location.display()
                );
                f
            }
        });
    }
    out
}

/// Where a visible plugin comes from, and which copy tempest uses.
fn origin_of(env: &Environment, wanted: &str, rows: &[&PluginRow], scan: &ScanResult) -> Finding {
    let mut lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "entry point {} = {} of {} {}, in the {} layer at {}",
                r.name,
                r.target,
                r.dist,
                r.version,
                r.origin,
                r.location.display()
            )
        })
        .collect();
    let winner = rows[rows.len() - 1];
    if rows.len() > 1 {
        lines.push(format!(
            "tempest loads every copy but keys plugins by name: the tests of the last loaded, {} {}, are the ones found",
            winner.dist, winner.version
        ));
    } else {
        lines.push("tempest loads this copy".to_string());
    }
    for (hidden, shown) in scan.shadowed() {
        if rows
            .iter()
            .any(|r| normalize(&r.dist) == hidden.normalized_name())
        {
            lines.push(format!(
                "another copy: {}",
                report::shadowing(hidden, shown)
            ));
        }
    }
    finding(
        "plugin-origin",
        format!("{wanted}: {}", lines.join("; ")),
        "tempest finds plugins through the `tempest.test_plugins` entry points of the distributions on its path, in path order",
        String::new(),
    )
    .info()
    .see(format!("tempest-env plugins {}", env.name))
}

/// The environment's views: each view directory with the directory it
/// shows.
fn views(env: &Environment) -> Vec<(PathBuf, PathBuf)> {
    env.manifest
        .layers
        .iter()
        .filter(|l| l.kind == LayerKind::System && l.path.starts_with(&env.dest))
        .filter_map(|l| {
            let here = env.root.join(l.path.strip_prefix(&env.dest).ok()?);
            system::view_source(&here).map(|source| (here, source))
        })
        .collect()
}

/// Why `wanted` is not visible, and the command that makes it visible with
/// every other option kept.
fn invisible(
    env: &Environment,
    interpreter: Option<&Interpreter>,
    wanted: &str,
    rebuild: &Rebuild,
) -> Result<Finding> {
    if let Some(hidden) = hidden_by_view(env, wanted, rebuild)? {
        return Ok(hidden);
    }
    if let Some(interpreter) = interpreter
        && let Some(outside) = outside(env, interpreter, wanted, rebuild)?
    {
        return Ok(outside);
    }
    let name = &env.name;
    Ok(finding(
        "plugin-not-installed",
        format!("no distribution visible in `{name}` declares the tempest plugin `{wanted}`, and none was found in its system set, system-wide or in the user site"),
        "tempest finds plugins only through `tempest.test_plugins` entry points of installed distributions",
        format!("tempest-env install {name} <the plugin's wheel, source tree or requirement>"),
    )
    .see(format!("tempest-env plugins {name}")))
}

/// Whether a plugin `(entry point, distribution)` is the one `wanted` names.
fn named(wanted: &str, (ep, dist): &(String, String)) -> bool {
    ep == wanted || normalize(dist) == normalize(wanted)
}

/// `wanted` is in a system set the environment sees through a view that
/// hides it (`--system-plugin`, `--exclude-plugin`).
fn hidden_by_view(env: &Environment, wanted: &str, rebuild: &Rebuild) -> Result<Option<Finding>> {
    let name = &env.name;
    for (view, source) in views(env) {
        let whole = site_scan(std::slice::from_ref(&source), Origin::System)?;
        let Some((ep, dist)) = plugin_names(&whole).into_iter().find(|p| named(wanted, p)) else {
            continue;
        };
        let metadata = whole
            .dists
            .iter()
            .find(|d| d.name == dist)
            .and_then(|d| d.metadata_path.file_name().map(|n| view.join(n)));
        if metadata.is_some_and(|m| m.symlink_metadata().is_ok()) {
            continue;
        }
        let names = [ep.as_str(), dist.as_str(), wanted];
        let (option, command) =
            if let Some(value) = rebuild.value_naming("--exclude-plugin", &names) {
                (
                    format!("--exclude-plugin {value}"),
                    Some(
                        rebuild
                            .clone()
                            .without("--exclude-plugin", &names)
                            .command(),
                    ),
                )
            } else if rebuild.has("--system-plugin") {
                (
                    "--system-plugin (it is not among the plugins selected)".to_string(),
                    Some(rebuild.clone().with("--system-plugin", Some(&ep)).command()),
                )
            } else {
                (
                    "the environment's --system-plugin or --exclude-plugin".to_string(),
                    None,
                )
            };
        let f = finding(
            "plugin-hidden",
            format!(
                "plugin {ep} ({dist}) is in the system set ({}) but hidden in `{name}` by {option}",
                source.display()
            ),
            "the environment sees the system set through a view that leaves out the plugins not selected",
            format!("rebuild `{name}` without that selection"),
        )
        .see(rebuild.show_system_set());
        return Ok(Some(match command {
            Some(command) => f.run(command),
            None => f,
        }));
    }
    Ok(None)
}

/// `wanted` is installed for the interpreter, system-wide or in the user
/// site, which the environment does not include.
fn outside(
    env: &Environment,
    interpreter: &Interpreter,
    wanted: &str,
    rebuild: &Rebuild,
) -> Result<Option<Finding>> {
    let name = &env.name;
    let system = site_scan(&interpreter.info.site_packages, Origin::System)?;
    if let Some((ep, dist)) = plugin_names(&system).into_iter().find(|p| named(wanted, p)) {
        // The interpreter's set is not a layer here (a view would have
        // answered above, and a whole layer would show it).
        let command = if rebuild.has("--system-site") {
            rebuild.clone().with("--all-plugin", None).command()
        } else {
            rebuild.clone().with("--system-plugin", Some(&ep)).command()
        };
        return Ok(Some(
            finding(
                "system-plugin-invisible",
                format!("plugin {ep} ({dist}) is installed system-wide, but environment `{name}` does not include the interpreter's system set"),
                "a plain virtual environment hides system-wide site-packages, as tox without sitepackages does",
                String::new(),
            )
            .run(command)
            .see(rebuild.show_system_set()),
        ));
    }
    let has_user = env
        .manifest
        .layers
        .iter()
        .any(|l| l.kind == LayerKind::User);
    let Some(user) = interpreter.info.user_site.as_ref().filter(|_| !has_user) else {
        return Ok(None);
    };
    let user_scan = site_scan(std::slice::from_ref(user), Origin::User)?;
    let Some((ep, dist)) = plugin_names(&user_scan)
        .into_iter()
        .find(|p| named(wanted, p))
    else {
        return Ok(None);
    };
    Ok(Some(
        finding(
            "user-plugin-invisible",
            format!(
                "plugin {ep} ({dist}) is only in the user site-packages ({})",
                user.display()
            ),
            "environments never include the user site unless asked",
            String::new(),
        )
        .run(rebuild.clone().with("--user-site", None).command()),
    ))
}

/// Without PLUGIN: the system plugins the environment leaves out, as one
/// line of information (leaving them out is what a plain environment is
/// for).
fn left_out(
    env: &Environment,
    interpreter: Option<&Interpreter>,
    report: &Report,
    rebuild: &Rebuild,
) -> Result<Vec<Finding>> {
    let Some(interpreter) = interpreter else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let not_here = |scan: &ScanResult| -> Vec<String> {
        let mut names: Vec<String> = plugin_names(scan)
            .into_iter()
            .map(|(ep, _)| ep)
            .filter(|ep| !report.plugins.iter().any(|r| r.name == *ep))
            .collect();
        names.dedup();
        names
    };
    let has = |kind: LayerKind| env.manifest.layers.iter().any(|l| l.kind == kind);
    if !has(LayerKind::System) {
        let names = not_here(&site_scan(&interpreter.info.site_packages, Origin::System)?);
        if !names.is_empty() {
            out.push(
                finding(
                    "system-plugins-left-out",
                    format!(
                        "{} tempest plugin(s) installed system-wide are not in `{}`, which does not include the system set: {}",
                        names.len(),
                        env.name,
                        names.join(", ")
                    ),
                    "a plain virtual environment hides system-wide site-packages, as tox without sitepackages does; to include them:",
                    String::new(),
                )
                .info()
                .run(rebuild.clone().with("--all-plugin", None).command())
                .see(rebuild.show_system_set()),
            );
        }
    }
    if !has(LayerKind::User)
        && let Some(user) = &interpreter.info.user_site
    {
        let names = not_here(&site_scan(std::slice::from_ref(user), Origin::User)?);
        if !names.is_empty() {
            out.push(
                finding(
                    "user-plugins-left-out",
                    format!(
                        "{} tempest plugin(s) in the user site-packages ({}) are not in `{}`: {}",
                        names.len(),
                        user.display(),
                        env.name,
                        names.join(", ")
                    ),
                    "environments never include the user site unless asked; to include it:",
                    String::new(),
                )
                .info()
                .run(rebuild.clone().with("--user-site", None).command()),
            );
        }
    }
    Ok(out)
}
