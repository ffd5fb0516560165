//! Compose an environment from layers: the shared base, plugin layers
//! resolved on top of it, installed artifacts, and the system set, in that
//! order after the environment's own site-packages. Then write launchers for
//! every layer's scripts and check every visible distribution's requirements.

use std::path::PathBuf;

use anyhow::Result;

use super::Environment;
use super::install::{self, Artifact};
use super::manifest::{DistRecord, LinkMode};
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::layers::base::{self, Base, BaseSpec};
use crate::layers::installer::{IndexOptions, InstallerChoice};
use crate::layers::launchers::Script;
use crate::layers::system::{self, Selection};
use crate::layers::{LayerKind, LayerRecord};
use crate::printer::Printer;

/// Everything an environment is made of, resolved from the command line or
/// a definition.
#[derive(Debug, Clone, Default)]
pub struct ComposeSpec {
    pub artifacts: Vec<Artifact>,
    pub link_mode: LinkMode,
    pub seed: bool,
    pub compile_bytecode: bool,
    /// Base requirements; empty: no base layer.
    pub base: Vec<String>,
    pub constraints: Option<PathBuf>,
    pub index: IndexOptions,
    pub installer: InstallerChoice,
    pub system: Selection,
    pub strict: bool,
    /// Install wheels without resolving what they need (by default, what a
    /// wheel needs and the base lacks is resolved on top of the base).
    pub no_deps: bool,
}

impl ComposeSpec {
    /// The `create` arguments that compose this spec with `interpreter`.
    pub fn create_args(&self, interpreter: &Interpreter) -> Vec<String> {
        let mut args = vec![
            "--python".to_string(),
            interpreter.executable.display().to_string(),
        ];
        let mut pair = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        for requirement in &self.base {
            pair("--base", requirement.clone());
        }
        if let Some(c) = &self.constraints {
            pair("--constraints", c.display().to_string());
        }
        for dir in &self.index.find_links {
            pair("--find-links", dir.display().to_string());
        }
        if let Some(url) = &self.index.index_url {
            pair("--index-url", url.clone());
        }
        for artifact in &self.artifacts {
            pair(
                "--plugin",
                match artifact {
                    Artifact::Wheel(p) | Artifact::Tree(p) => p.display().to_string(),
                    Artifact::Requirement(r) | Artifact::Sdist(r) => r.clone(),
                },
            );
        }
        if self.link_mode != LinkMode::default() {
            pair("--link-mode", self.link_mode.as_str().to_string());
        }
        match self.installer {
            InstallerChoice::Auto => {}
            InstallerChoice::Uv => pair("--installer", "uv".into()),
            InstallerChoice::Pip => pair("--installer", "pip".into()),
        }
        for dir in &self.system.extra_dirs {
            pair("--system-site", dir.display().to_string());
        }
        for p in &self.system.include {
            pair("--system-plugin", p.clone());
        }
        for p in &self.system.exclude {
            pair("--exclude-plugin", p.clone());
        }
        let flags = [
            (self.system.all_plugin, "--all-plugin"),
            (self.system.user_site, "--user-site"),
            (self.index.offline, "--offline"),
            (self.seed, "--seed"),
            (self.compile_bytecode, "--compile-bytecode"),
            (self.strict, "--strict"),
            (self.no_deps, "--no-deps"),
        ];
        for (on, flag) in flags {
            if on {
                args.push(flag.to_string());
            }
        }
        args
    }

    fn base_spec(&self, requirements: Vec<String>) -> BaseSpec {
        BaseSpec {
            requirements,
            constraints: self.constraints.clone(),
            index: self.index.clone(),
            installer: self.installer,
        }
    }
}

/// Fill `env` (being built, under its lock) per `spec`.
pub fn compose(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    home: &Home,
    printer: &Printer,
) -> Result<()> {
    compose_layers(env, interpreter, spec, home, printer)?;
    check_requirements(env, interpreter, spec.strict, home, printer)
}

/// Layers whose launchers are still to be written: their index in the
/// manifest, and their scripts.
type Pending = Vec<(usize, Vec<Script>)>;

/// [`compose`] without the requirement check, for an environment that is
/// only looked at (`plugins` reports its plugins' requirements itself).
pub fn compose_layers(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    home: &Home,
    printer: &Printer,
) -> Result<()> {
    env.manifest.create_args = spec.create_args(interpreter);
    // Launchers are written once every layer is known (see `write_launchers`).
    let mut pending = Pending::new();
    let base = add_base_and_requirements(env, interpreter, spec, home, printer, &mut pending)?;
    install_artifacts(
        env,
        interpreter,
        spec,
        base.as_ref(),
        home,
        printer,
        &mut pending,
    )?;
    add_system_layers(env, interpreter, spec, home, printer, &mut pending)?;
    if spec.link_mode == LinkMode::Symlink {
        super::expose::link_layers(env)?;
    }
    write_launchers(env, pending)?;
    super::layers::write(env)?;
    if env.root == env.dest {
        // Being built, the environment gets its manifest when `create`
        // finishes it.
        env.save()?;
    }
    Ok(())
}

/// The shared base, and a layer of the requirement artifacts resolved on
/// top of it; when they do not fit it, one joint resolution of both becomes
/// the environment's base instead. The base finally used.
fn add_base_and_requirements(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    home: &Home,
    printer: &Printer,
    pending: &mut Pending,
) -> Result<Option<Base>> {
    let base = if spec.base.is_empty() {
        None
    } else {
        let base = base::ensure(
            home,
            &spec.base_spec(spec.base.clone()),
            interpreter,
            None,
            printer,
        )?;
        let scripts = add_layer(env, LayerKind::Base, &base, None)?;
        pending.push((env.manifest.layers.len() - 1, scripts));
        Some(base)
    };
    let requirements: Vec<String> = spec
        .artifacts
        .iter()
        .filter_map(|a| match a {
            Artifact::Requirement(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    if requirements.is_empty() {
        return Ok(base);
    }
    let layered = add_requirements(
        env,
        interpreter,
        spec,
        &requirements,
        base.as_ref(),
        home,
        printer,
    );
    match (layered, &base) {
        (Ok(scripts), _) => pending.push((env.manifest.layers.len() - 1, scripts)),
        (Err(err), Some(shared)) => {
            // The plugins do not fit the versions the base was resolved
            // to alone: one joint resolution of base and plugins
            // becomes this environment's base instead.
            printer.status(format!(
                "{} do not fit the shared base {} resolved alone; resolving them together",
                requirements.join(" "),
                shared.info.requirements.join(" ")
            ));
            printer.verbose(format!("the layered resolution failed: {err:#}"));
            drop_base_layer(env, pending);
            let mut joint_requirements = spec.base.clone();
            joint_requirements.extend(requirements.iter().cloned());
            let joint = base::ensure(
                home,
                &spec.base_spec(joint_requirements),
                interpreter,
                None,
                printer,
            )?;
            let scripts = add_layer(env, LayerKind::Base, &joint, None)?;
            pending.push((env.manifest.layers.len() - 1, scripts));
            record_requirements(env, &joint, &requirements, None, printer);
        }
        (Err(err), None) => return Err(err),
    }
    Ok(base)
}

/// Take the base layer out of the manifest, and its launchers out of
/// `pending`.
fn drop_base_layer(env: &mut Environment, pending: &mut Pending) {
    let Some(at) = env
        .manifest
        .layers
        .iter()
        .position(|l| l.kind == LayerKind::Base)
    else {
        return;
    };
    env.manifest.layers.remove(at);
    pending.retain(|(index, _)| *index != at);
    for (index, _) in pending.iter_mut() {
        if *index > at {
            *index -= 1;
        }
    }
}

/// Install pip (with `seed`) and the wheel and source-tree artifacts; on a
/// base, their dependencies become a layer of their own.
fn install_artifacts(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    base: Option<&Base>,
    home: &Home,
    printer: &Printer,
    pending: &mut Pending,
) -> Result<()> {
    let mut artifacts: Vec<(Artifact, LinkMode)> = Vec::new();
    if spec.seed {
        // pip manages itself, so it is a real installation.
        artifacts.push((
            Artifact::Wheel(install::ensurepip_wheel(interpreter)?),
            LinkMode::Copy,
        ));
    }
    artifacts.extend(
        spec.artifacts
            .iter()
            .filter(|a| !matches!(a, Artifact::Requirement(_)))
            .cloned()
            .map(|a| (a, spec.link_mode)),
    );
    if artifacts.is_empty() {
        return Ok(());
    }
    let options = install::InstallOptions {
        compile_bytecode: spec.compile_bytecode,
        index: spec.index.clone(),
        installer: spec.installer,
    };
    install::install_into(env, interpreter, &artifacts, &options, home, printer)?;
    if base.is_some()
        && !spec.no_deps
        && let Some(scripts) = add_wheel_dependencies(env, interpreter, spec, base, home, printer)?
    {
        pending.push((env.manifest.layers.len() - 1, scripts));
    }
    Ok(())
}

/// The system-set layers (whole, or views hiding the plugins not
/// selected).
fn add_system_layers(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    home: &Home,
    printer: &Printer,
    pending: &mut Pending,
) -> Result<()> {
    if spec.system.is_empty() {
        return Ok(());
    }
    let root = env.root.clone();
    let dest = env.dest.clone();
    for layer in system::layers(&root, &dest, interpreter, &spec.system, printer)? {
        // Launchers are read from the real directory (a view links to it).
        let source = if layer.path.starts_with(&dest) {
            root.join(layer.path.strip_prefix(&dest).unwrap_or(&layer.path))
        } else {
            layer.path.clone()
        };
        let scripts =
            crate::layers::launchers::scripts_cached(home, &source, layer.hash.as_deref())?;
        printer.verbose(format!("system layer {}", layer.path.display()));
        env.manifest.layers.push(layer);
        pending.push((env.manifest.layers.len() - 1, scripts));
    }
    Ok(())
}

/// Write the launchers of the layers at these indexes of the manifest, in
/// order, and record each layer's files.
pub fn write_launchers(env: &mut Environment, pending: Vec<(usize, Vec<Script>)>) -> Result<()> {
    let (indexes, scripts): (Vec<usize>, Vec<Vec<Script>>) = pending.into_iter().unzip();
    let written = super::launchers::write_layers(env, &scripts)?;
    for (index, files) in indexes.into_iter().zip(written) {
        if let Some(layer) = env.manifest.layers.get_mut(index) {
            layer.files = files;
        }
    }
    Ok(())
}

/// A layer for a base or plugin layer; returns its scripts, for launchers.
fn add_layer(
    env: &mut Environment,
    kind: LayerKind,
    base: &Base,
    dist: Option<String>,
) -> Result<Vec<Script>> {
    // A base records its scripts when it is built: no scan here.
    let scripts = match &base.info.scripts {
        Some(scripts) => scripts.clone(),
        None => crate::layers::launchers::scripts(&base.site())?,
    };
    env.manifest.layers.push(LayerRecord {
        kind,
        path: base.site(),
        dist,
        hash: Some(base.info.hash.clone()),
        files: Vec::new(),
        linked: None,
    });
    Ok(scripts)
}

/// What the wheels installed into `env` need and nothing visible provides,
/// resolved by the installer on top of the base into a plugin layer, as a
/// requirement would be: a wheel given as `--plugin` on a base gets its
/// dependencies. Returns the new layer's scripts, if there is one.
fn add_wheel_dependencies(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    base: Option<&Base>,
    home: &Home,
    printer: &Printer,
) -> Result<Option<Vec<Script>>> {
    let wheels: std::collections::HashSet<String> = env
        .manifest
        .distributions
        .iter()
        .filter(|d| d.sha256.is_some())
        .map(|d| crate::dist::name::normalize(&d.name))
        .collect();
    if wheels.is_empty() {
        return Ok(None);
    }
    // The scan follows the `.pth`: it must name the layers so far.
    super::layers::write(env)?;
    let scanned = super::scan(env)?;
    let mut missing: Vec<String> = Vec::new();
    for problem in crate::dist::check::check(&scanned, &interpreter.info.markers) {
        if wheels.contains(&problem.dist)
            && problem.unmet == crate::dist::check::Unmet::Missing
            && !missing.contains(&problem.requirement)
        {
            missing.push(problem.requirement);
        }
    }
    if missing.is_empty() {
        return Ok(None);
    }
    printer.status(format!(
        "Resolving what the wheels need on top of the base: {}",
        missing.join(", ")
    ));
    add_requirements(env, interpreter, spec, &missing, base, home, printer).map(Some)
}

/// Plugins given as requirements: a layer with only what the base lacks,
/// resolved at versions consistent with the base's. Returns the layer's
/// scripts, for [`write_launchers`].
pub fn add_requirements(
    env: &mut Environment,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    requirements: &[String],
    base: Option<&Base>,
    home: &Home,
    printer: &Printer,
) -> Result<Vec<Script>> {
    let layer = base::ensure(
        home,
        &spec.base_spec(requirements.to_vec()),
        interpreter,
        base,
        printer,
    )?;
    let first = requirement_name(&requirements[0]);
    let scripts = add_layer(env, LayerKind::Plugin, &layer, Some(first))?;
    record_requirements(env, &layer, requirements, base, printer);
    Ok(scripts)
}

/// Record the distributions `requirements` named, found in `layer`, in the
/// manifest, and say what was installed.
fn record_requirements(
    env: &mut Environment,
    layer: &Base,
    requirements: &[String],
    base: Option<&Base>,
    printer: &Printer,
) {
    let Ok(path) = crate::dist::scan::effective_path(&[crate::dist::scan::SiteDir {
        dir: layer.site(),
        origin: crate::dist::scan::Origin::Base,
    }]) else {
        return;
    };
    let scanned = crate::dist::scan::scan_with(
        &path,
        crate::dist::scan::ScanOptions {
            files: false,
            plugins_only_details: false,
        },
    );
    for requirement in requirements {
        let wanted = crate::dist::name::normalize(&requirement_name(requirement));
        if let Some(dist) = scanned
            .dists
            .iter()
            .find(|d| crate::dist::name::normalize(&d.name) == wanted)
        {
            let record = DistRecord {
                name: dist.name.clone(),
                version: dist.version.clone(),
                mode: LinkMode::Pth,
                source: PathBuf::from(requirement),
                sha256: None,
                location: Some(layer.dir.clone()),
                plugins: dist
                    .entry_points
                    .iter()
                    .filter(|ep| ep.group == crate::dist::entry_points::TEMPEST_GROUP)
                    .map(|ep| ep.name.clone())
                    .collect(),
                files: Vec::new(),
            };
            printer.status(format!(
                "Installed {} {} (from {}){}",
                record.name,
                record.version,
                requirement,
                if record.plugins.is_empty() {
                    String::new()
                } else {
                    format!(": plugins {}", record.plugins.join(", "))
                }
            ));
            env.manifest.distributions.push(record);
        } else if base.is_some_and(|b| {
            b.info.installed.iter().any(|pin| {
                crate::dist::name::normalize(pin.split("==").next().unwrap_or("")) == wanted
            })
        }) {
            printer.status(format!("{requirement} is already in the base"));
        }
    }
}

/// The distribution name of a requirement (checked when it was resolved).
pub fn requirement_name(requirement: &str) -> String {
    crate::dist::requirement::name(requirement).unwrap_or_else(|| requirement.to_string())
}

/// When the environment is nothing but layers whose content a key fixes
/// (bases, plugin layers and store entries by hash; system directories and
/// views by the directory's state), the verdicts are fixed by those keys and
/// the interpreter, and are cached.
fn check_cache_key(env: &Environment, interpreter: &Interpreter) -> Option<String> {
    let layers_hashed = env.manifest.layers.iter().all(|l| {
        matches!(
            l.kind,
            LayerKind::Base | LayerKind::Plugin | LayerKind::System
        ) && l.hash.is_some()
    });
    let only_layers = env
        .manifest
        .distributions
        .iter()
        .all(|d| d.mode == LinkMode::Pth);
    if !layers_hashed || !only_layers {
        return None;
    }
    let key = serde_json::json!({
        "format": 1,
        "layers": env.manifest.layers.iter().map(|l| (&l.path, &l.hash)).collect::<Vec<_>>(),
        "markers": interpreter.info.markers,
    });
    Some(crate::digest::short_sha256(key.to_string().as_bytes(), 12))
}

/// Warn about (or with `strict`, fail on) unmet requirements of visible
/// distributions.
pub fn check_requirements(
    env: &Environment,
    interpreter: &Interpreter,
    strict: bool,
    home: &Home,
    printer: &Printer,
) -> Result<()> {
    let cached_file = check_cache_key(env, interpreter)
        .map(|key| home.cache().join("checks").join(format!("{key}.json")));
    let lines: Vec<String> = match cached_file.as_ref().and_then(|f| fs_err::read(f).ok()) {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => {
            let scanned = super::scan(env)?;
            let lines: Vec<String> = crate::dist::check::check(&scanned, &interpreter.info.markers)
                .iter()
                .map(|p| p.to_string())
                .collect();
            if let Some(file) = &cached_file
                && let Some(dir) = file.parent()
                && fs_err::create_dir_all(dir).is_ok()
            {
                let _ = crate::atomic::write_file(file, serde_json::to_string(&lines)?.as_bytes());
            }
            lines
        }
    };
    if lines.is_empty() {
        return Ok(());
    }
    if strict {
        return Err(UserError::new(format!(
            "environment `{}` has unmet requirements: {}",
            env.name,
            lines.join(" ")
        ))
        .hint("install what is missing, or drop --strict to only warn")
        .into());
    }
    for line in &lines {
        printer.warn(line);
    }
    Ok(())
}
