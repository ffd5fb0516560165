//! Install a source tree in editable mode: a dist-info in the environment's
//! site-packages, the tree as a layer, and launchers for its scripts. Edits
//! to the tree are seen by the next run without reinstalling.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Result;

use super::Environment;
use super::link::Placement;
use crate::dist::entry_points;
use crate::dist::metadata::Metadata;
use crate::dist::name;
use crate::dist::record;
use crate::editable::tree::SourceTree;
use crate::error::UserError;
use crate::layers::{LayerKind, LayerRecord};
use crate::wheel::launcher;

/// A file to write, relative to the environment's root: its bytes, and
/// whether it is executable.
type Files = Vec<(PathBuf, Vec<u8>, bool)>;

/// Write the tree's dist-info and launchers into `env`.
pub fn place(
    env: &Environment,
    tree: &SourceTree,
    replaceable: &HashSet<PathBuf>,
) -> Result<Placement> {
    let mut files = launchers(env, tree)?;
    add_dist_info(env, tree, &mut files);
    refuse(env, tree, &files, replaceable)?;
    let written = write(env, &files, replaceable)?;
    Ok(Placement {
        files: written,
        layer: Some(LayerRecord {
            kind: LayerKind::Editable,
            path: tree.import_root.clone(),
            dist: Some(tree.name.clone()),
            hash: None,
            files: Vec::new(),
            linked: None,
        }),
    })
}

/// Launchers of the tree's console and GUI entry points.
fn launchers(env: &Environment, tree: &SourceTree) -> Result<Files> {
    let scheme = &env.manifest.interpreter.scheme;
    let python = env.dest().join(&scheme.scripts).join("python");
    let mut files = Files::new();
    for ep in &tree.entry_points {
        if ep.group != "console_scripts" && ep.group != "gui_scripts" {
            continue;
        }
        launcher::check_name(&ep.name).map_err(|why| {
            UserError::new(format!(
                "plugin source tree {}: the {} entry point `{}` is refused: {why}",
                tree.root.display(),
                ep.group,
                ep.name
            ))
        })?;
        let text = launcher::script(&python, &ep.module, ep.attr.as_deref());
        files.push((scheme.scripts.join(&ep.name), text.into_bytes(), true));
    }
    Ok(files)
}

/// The dist-info (PEP 660's editable `direct_url.json`), with a RECORD of
/// every file in `files`.
fn add_dist_info(env: &Environment, tree: &SourceTree, files: &mut Files) {
    let scheme = &env.manifest.interpreter.scheme;
    let dist_info = format!("{}-{}.dist-info", name::escape(&tree.name), tree.version);
    let metadata = Metadata {
        metadata_version: "2.1".into(),
        name: tree.name.clone(),
        version: tree.version.clone(),
        summary: tree.summary.clone(),
        requires_dist: tree.requires.clone(),
        requires_python: tree.requires_python.clone(),
        provides_extra: Vec::new(),
    };
    let dir = scheme.purelib.join(&dist_info);
    files.push((dir.join("METADATA"), metadata.render().into_bytes(), false));
    files.push((
        dir.join("entry_points.txt"),
        entry_points::render(&tree.entry_points).into_bytes(),
        false,
    ));
    files.push((dir.join("INSTALLER"), b"tempest-env\n".to_vec(), false));
    files.push((dir.join("REQUESTED"), Vec::new(), false));
    let direct_url = serde_json::json!({
        "url": crate::dist::direct_url::file_url(&tree.root),
        "dir_info": {"editable": true},
    });
    files.push((
        dir.join("direct_url.json"),
        direct_url.to_string().into_bytes(),
        false,
    ));

    let up: PathBuf = scheme.purelib.components().map(|_| "..").collect();
    let mut entries: Vec<record::RecordEntry> = files
        .iter()
        .map(|(target, bytes, _)| record::RecordEntry {
            path: match target.strip_prefix(&scheme.purelib) {
                Ok(inside) => inside.to_string_lossy().into_owned(),
                Err(_) => up.join(target).to_string_lossy().into_owned(),
            },
            hash: Some(record::digest(bytes)),
            size: Some(bytes.len() as u64),
        })
        .collect();
    let record_rel = format!("{dist_info}/RECORD");
    entries.push(record::RecordEntry {
        path: record_rel,
        hash: None,
        size: None,
    });
    files.push((
        dir.join("RECORD"),
        record::render(&entries).into_bytes(),
        false,
    ));
}

/// Refuse before writing: nothing overwriting something else's files,
/// nothing through a symbolic link out of the environment, nor out of it
/// by a version such as `../..` in the dist-info's name.
fn refuse(
    env: &Environment,
    tree: &SourceTree,
    files: &Files,
    replaceable: &HashSet<PathBuf>,
) -> Result<()> {
    for (target, _, _) in files {
        if fs_err::symlink_metadata(env.root.join(target)).is_ok() && !replaceable.contains(target)
        {
            return Err(UserError::new(format!(
                "installing {} would overwrite {}, which belongs to something else in environment `{}`",
                tree.root.display(),
                target.display(),
                env.name
            ))
            .into());
        }
    }
    let mut confinement = crate::env::confine::Confinement::new(&env.root);
    for (target, _, _) in files {
        confinement
            .check(target)
            .map_err(|escape| escape.refusal(&format!("install {}", tree.root.display())))?;
    }
    Ok(())
}

/// Write the files, journalled first; on a failure part-way, what was
/// written is removed. The files written.
fn write(env: &Environment, files: &Files, replaceable: &HashSet<PathBuf>) -> Result<Vec<PathBuf>> {
    let targets: Vec<PathBuf> = files.iter().map(|(t, _, _)| t.clone()).collect();
    crate::env::journal::record(&env.root, &targets)?;
    let mut written = Vec::new();
    for (target, bytes, executable) in files {
        let path = env.root.join(target);
        let result = (|| -> Result<()> {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            if fs_err::symlink_metadata(&path).is_ok() {
                if replaceable.contains(target) {
                    crate::env::journal::set_aside(&env.root, target)?;
                } else {
                    fs_err::remove_file(&path)?;
                }
            }
            fs_err::write(&path, bytes)?;
            use std::os::unix::fs::PermissionsExt;
            let mode = if *executable { 0o755 } else { 0o644 };
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
            Ok(())
        })();
        // The target itself goes too: a write that failed part-way (a full
        // disk) leaves a partial file.
        written.push(target.clone());
        if let Err(err) = result {
            for done in written.iter().rev() {
                let _ = fs_err::remove_file(env.root.join(done));
            }
            return Err(err);
        }
    }
    Ok(written)
}
