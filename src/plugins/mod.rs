//! Seeing the plugins: what tempest will load and from where
//! ([`report`]), found natively from a scan of the effective import path
//! of what [`inspected`] resolves; what happens when tempest loads them
//! ([`load_check`]).

pub mod check_server;
pub mod inspected;
pub mod load_check;
pub mod report;

use std::path::PathBuf;

use anyhow::Result;

use crate::dist::scan::{self, Distribution, Origin, PathOptions, ScanResult, SiteDir};
use crate::env::Environment;
use crate::env::manifest::LinkMode;
use crate::interpreter::Interpreter;
use crate::layers::LayerKind;

/// What to look at.
pub enum Subject<'a> {
    /// An environment, through its site-packages and layers.
    Env(&'a Environment),
    /// An interpreter as it is: its site-packages and user site.
    Interpreter(&'a Interpreter),
}

fn skip_hidden(interpreter: Option<&Interpreter>) -> bool {
    interpreter.is_none_or(|i| {
        let (major, minor, micro, ..) = i.info.version_info;
        scan::skips_hidden_pth(major, minor, micro)
    })
}

/// The scan of `subject`, and a function naming each distribution's origin.
pub fn scan_subject(
    subject: &Subject,
    interpreter: Option<&Interpreter>,
) -> Result<(ScanResult, Vec<SiteDir>)> {
    let (sites, known): (Vec<SiteDir>, Vec<SiteDir>) = match subject {
        Subject::Env(env) => {
            let known = env
                .manifest
                .layers
                .iter()
                .map(|l| SiteDir {
                    dir: l.path.clone(),
                    origin: layer_kind_origin(l.kind),
                })
                .collect();
            (
                vec![SiteDir {
                    dir: env.site_packages(),
                    origin: Origin::Env,
                }],
                known,
            )
        }
        Subject::Interpreter(interpreter) => {
            // As the interpreter starts outside any environment: the user
            // site first (it precedes site-packages), when it exists.
            let mut sites = Vec::new();
            if let Some(u) = &interpreter.info.user_site
                && u.is_dir()
            {
                sites.push(SiteDir {
                    dir: u.clone(),
                    origin: Origin::User,
                });
            }
            sites.extend(interpreter.info.site_packages.iter().map(|d| SiteDir {
                dir: d.clone(),
                origin: Origin::System,
            }));
            (sites, Vec::new())
        }
    };
    let options = PathOptions {
        known: &known,
        skip_hidden_pth: skip_hidden(interpreter),
    };
    let path = scan::effective_path_with(&sites, &options)?;
    Ok((
        scan::scan_with(
            &path,
            scan::ScanOptions {
                files: false,
                plugins_only_details: true,
            },
        ),
        known,
    ))
}

/// The origin of a distribution, as the report names it.
pub fn origin_name(dist: &Distribution, env: Option<&Environment>, known: &[SiteDir]) -> String {
    if let Some(env) = env
        && dist.site_dir == env.site_packages()
    {
        if let Some(layer) = env.manifest.linked_layer(&dist.metadata_path) {
            return layer_origin(layer.kind).into();
        }
        let editable = env.manifest.distributions.iter().any(|d| {
            d.mode == LinkMode::Editable
                && crate::dist::name::normalize(&d.name) == dist.normalized_name()
        });
        return if editable { "editable" } else { "env" }.into();
    }
    let origin = known
        .iter()
        .filter(|k| dist.site_dir.starts_with(&k.dir))
        .map(|k| k.origin)
        .next()
        .unwrap_or(dist.origin);
    layer_origin_name(origin).into()
}

fn layer_kind_origin(kind: LayerKind) -> Origin {
    match kind {
        LayerKind::Base => Origin::Base,
        LayerKind::Plugin => Origin::Store,
        LayerKind::Editable => Origin::Editable,
        LayerKind::System => Origin::System,
        LayerKind::User => Origin::User,
    }
}

fn layer_origin(kind: LayerKind) -> &'static str {
    layer_origin_name(layer_kind_origin(kind))
}

fn layer_origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Env => "env",
        Origin::Base => "base",
        Origin::Store => "store",
        Origin::Editable => "editable",
        Origin::System => "system",
        Origin::User => "user",
        Origin::Other => "other",
    }
}

/// Locations, for callers that need the path of a site dir.
pub fn site_dirs(scan: &ScanResult) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for d in &scan.dists {
        if !dirs.contains(&d.site_dir) {
            dirs.push(d.site_dir.clone());
        }
    }
    dirs
}
