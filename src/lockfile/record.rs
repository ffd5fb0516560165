//! Make a lock from an environment: its interpreter, every distribution its
//! python sees in order (with where each comes from and, for wheels, their
//! sha256), and the composition choices the distributions do not imply.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{
    FORMAT_VERSION, Lock, LockedComposition, LockedDistribution, LockedInterpreter, Source,
};
use crate::dist::name;
use crate::dist::scan::Distribution;
use crate::env::Environment;
use crate::env::manifest::{DistRecord, LinkMode};
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::layers::LayerKind;
use crate::layers::base;

/// The lock of `env`, whose python is `interpreter`; `home` says where
/// tempest-env's own bundled fixtures are, which the lock names
/// relatively.
pub fn environment(env: &Environment, interpreter: &Interpreter, home: &Home) -> Result<Lock> {
    let bundled = crate::bundled::dir(home);
    let scanned = crate::env::scan(env)?;
    let system_dirs = system_dirs(env);
    let mut composition = composition(env)?;
    composition.system_dirs = system_dirs
        .iter()
        .map(|(_, original)| original.display().to_string())
        .collect();
    // Which base and plugin layers were resolved on top of a base (plugin
    // layers from requirements): read once per layer, not per distribution.
    let on_top: Vec<PathBuf> = env
        .manifest
        .layers
        .iter()
        .filter(|layer| matches!(layer.kind, LayerKind::Base | LayerKind::Plugin))
        .filter(|layer| {
            layer
                .path
                .parent()
                .and_then(|dir| base::open(dir).ok().flatten())
                .is_some_and(|b| b.info.on_top_of.is_some())
        })
        .map(|layer| layer.path.clone())
        .collect();
    let mut distributions = Vec::new();
    for dist in scanned.visible() {
        let mut locked = distribution(env, dist, &system_dirs, &on_top);
        if locked.source == Source::Editable
            && let Some(origin) = &locked.origin
        {
            locked.origin = Some(bundled_name(Path::new(origin), &bundled));
        }
        // pip in the environment itself comes from `--seed`.
        if matches!(locked.source, Source::Env | Source::Wheel)
            && locked.name.eq_ignore_ascii_case("pip")
        {
            composition.seed = true;
        }
        distributions.push(locked);
    }
    Ok(Lock {
        format: FORMAT_VERSION,
        tempest_env: env!("CARGO_PKG_VERSION").to_string(),
        environment: env.name.clone(),
        interpreter: interpreter_of(interpreter),
        composition,
        distributions,
        run: None,
    })
}

/// A source tree inside the bundled fixtures as `@fixtures/...`; any
/// other path as it is.
fn bundled_name(tree: &Path, bundled: &Path) -> String {
    let real = bundled.canonicalize().ok();
    let rest = tree.strip_prefix(bundled).ok().or_else(|| {
        real.as_deref()
            .and_then(|real| tree.strip_prefix(real).ok())
    });
    match rest {
        Some(rest) if !rest.as_os_str().is_empty() => {
            format!("{}{}", super::BUNDLED_PREFIX, rest.display())
        }
        _ => tree.display().to_string(),
    }
}

/// The lock of `env`, which tempest-env composed just now and nothing else
/// has changed (a per-run environment): from the cache of compositions
/// when one of the same layers, distributions and interpreter was locked
/// before, else made and cached. An environment with a source tree or the
/// user site among its layers is always scanned: those change unseen.
pub fn composed(env: &Environment, interpreter: &Interpreter, home: &Home) -> Result<Lock> {
    let Some(key) = composition_key(env, interpreter, home) else {
        return environment(env, interpreter, home);
    };
    let file = home.cache().join("locked").join(format!("{key}.toml"));
    if let Ok(text) = fs_err::read_to_string(&file)
        && let Ok(mut lock) = Lock::parse(&text)
    {
        lock.environment = env.name.clone();
        return Ok(lock);
    }
    let lock = environment(env, interpreter, home)?;
    // Best effort: a cache that cannot be written is only slower.
    if let Some(dir) = file.parent()
        && fs_err::create_dir_all(dir).is_ok()
    {
        let _ = crate::atomic::write_file(&file, lock.render().as_bytes());
    }
    Ok(lock)
}

/// What fixes a composed environment's lock: its layers (content-addressed
/// bases and store entries, system directories by their state), what
/// tempest-env installed into it, the interpreter and this tempest-env.
/// `None` when a layer's content is not fixed by a key.
fn composition_key(env: &Environment, interpreter: &Interpreter, home: &Home) -> Option<String> {
    let fixed = env.manifest.layers.iter().all(|layer| {
        matches!(
            layer.kind,
            LayerKind::Base | LayerKind::Plugin | LayerKind::System
        ) && layer.hash.is_some()
    });
    if !fixed {
        return None;
    }
    let key = serde_json::json!({
        "format": FORMAT_VERSION.to_string(),
        "tempest_env": env!("CARGO_PKG_VERSION"),
        "layers": env.manifest.layers.iter().map(|l| (&l.path, &l.hash)).collect::<Vec<_>>(),
        "distributions": env.manifest.distributions.iter().map(|d| {
            (&d.name, &d.version, d.mode.as_str(), &d.sha256, &d.source, &d.location)
        }).collect::<Vec<_>>(),
        "interpreter": (&interpreter.executable, &interpreter.info.version, &interpreter.info.markers),
        "bundled": crate::bundled::dir(home),
    });
    Some(crate::digest::short_sha256(key.to_string().as_bytes(), 16))
}

pub fn interpreter_of(interpreter: &Interpreter) -> LockedInterpreter {
    let info = &interpreter.info;
    let tags = crate::env::install::tags_for(interpreter);
    LockedInterpreter {
        implementation: info.implementation.clone(),
        version: info.version.clone(),
        platform: info.platform.clone(),
        tag: tags.sample(1).into_iter().next().unwrap_or_default(),
        libc: format!("{} {}", info.libc.0, info.libc.1)
            .trim()
            .to_string(),
    }
}

/// The base layer's inputs, and whether the system set and user site are
/// layers.
fn composition(env: &Environment) -> Result<LockedComposition> {
    let mut composition = LockedComposition::default();
    for layer in &env.manifest.layers {
        match layer.kind {
            LayerKind::Base => {
                if let Some(parent) = layer.path.parent()
                    && let Some(base) = base::open(parent)?
                    && base.info.on_top_of.is_none()
                {
                    composition.base = base.info.requirements.clone();
                    composition.constraints_sha256 = base.info.constraints_sha256.clone();
                    composition.installer = Some(base.info.installer.clone());
                    composition.index_url = base.info.index.index_url.clone();
                }
            }
            LayerKind::System => composition.system_set = true,
            LayerKind::User => composition.user_site = true,
            LayerKind::Plugin | LayerKind::Editable => {}
        }
    }
    Ok(composition)
}

/// Each system layer's directory in the environment, with the directory it
/// shows: itself, or for a view (links hiding some plugins) the directory
/// its links point into.
fn system_dirs(env: &Environment) -> Vec<(PathBuf, PathBuf)> {
    env.manifest
        .layers
        .iter()
        .filter(|layer| layer.kind == LayerKind::System)
        .map(|layer| {
            let original = view_target(&env.root, &layer.path).unwrap_or(layer.path.clone());
            (layer.path.clone(), original)
        })
        .collect()
}

fn view_target(root: &Path, layer: &Path) -> Option<PathBuf> {
    // A view lives inside the environment; a whole system directory does not.
    let relative = layer
        .strip_prefix(&root.canonicalize().ok()?)
        .ok()
        .or_else(|| layer.strip_prefix(root).ok())?;
    let view = root.join(relative);
    fs_err::read_dir(view)
        .ok()?
        .flatten()
        .find_map(|entry| fs_err::read_link(entry.path()).ok())
        .and_then(|target| target.parent().map(Path::to_path_buf))
}

fn distribution(
    env: &Environment,
    dist: &Distribution,
    system_dirs: &[(PathBuf, PathBuf)],
    on_top: &[PathBuf],
) -> LockedDistribution {
    let mut locked = LockedDistribution {
        name: dist.name.clone(),
        version: dist.version.clone(),
        source: Source::Env,
        sha256: None,
        origin: None,
        link_mode: None,
    };
    // The layer it was found in decides its source; what tempest-env itself
    // installed (into the environment or as a store layer) has a record.
    let layer = env
        .manifest
        .layers
        .iter()
        .filter(|layer| dist.site_dir.starts_with(&layer.path))
        .max_by_key(|layer| layer.path.as_os_str().len())
        .or_else(|| env.manifest.linked_layer(&dist.metadata_path));
    // A requirement resolved by the installer has a record too, without a
    // wheel hash: its layer says what it is.
    let record = installed_record(env, dist)
        .filter(|record| record.mode == LinkMode::Editable || record.sha256.is_some());
    match (layer.map(|l| l.kind), record) {
        (None | Some(LayerKind::Plugin | LayerKind::Editable), Some(record)) => {
            if record.mode == LinkMode::Editable {
                locked.source = Source::Editable;
                locked.origin = Some(record.source.display().to_string());
            } else {
                locked.source = Source::Wheel;
                locked.sha256 = record.sha256.clone();
                locked.origin = record
                    .source
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                locked.link_mode = Some(record.mode.as_str().to_string());
            }
        }
        (Some(LayerKind::Base | LayerKind::Plugin), _) => {
            let is_on_top = layer.is_some_and(|l| on_top.contains(&l.path));
            locked.source = if is_on_top {
                Source::PluginLayer
            } else {
                Source::Base
            };
        }
        (Some(LayerKind::System), _) => {
            locked.source = Source::System;
            let shown = system_dirs
                .iter()
                .find(|(layer, _)| dist.site_dir.starts_with(layer))
                .map_or(dist.site_dir.clone(), |(_, original)| original.clone());
            locked.origin = Some(shown.display().to_string());
        }
        (Some(LayerKind::User), _) => locked.source = Source::User,
        _ => {}
    }
    locked
}

/// The record tempest-env keeps of an artifact it installed, if `dist` is
/// one.
fn installed_record<'a>(env: &'a Environment, dist: &Distribution) -> Option<&'a DistRecord> {
    let wanted = dist.normalized_name();
    env.manifest
        .distributions
        .iter()
        .find(|record| name::normalize(&record.name) == wanted && record.version == dist.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_trees_are_named_relative_to_the_fixtures() {
        let bundled = Path::new("/h/cache/bundled/0123abcd");
        assert_eq!(
            bundled_name(&bundled.join("plugins/valet"), bundled),
            "@fixtures/plugins/valet"
        );
        assert_eq!(bundled_name(Path::new("/src/valet"), bundled), "/src/valet");
        assert_eq!(bundled_name(bundled, bundled), "/h/cache/bundled/0123abcd");
    }
}
