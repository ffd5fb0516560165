//! Read a plan's results back: every `*.json` file under a directory (CI
//! engines put each job's artifacts in a directory of their own), each a
//! result of this plan, one for every probe. Anything else is bad input,
//! refused with one line naming the file.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Plan, ProbeResult};
use crate::error::UserError;

/// How deep results may be nested under the directory.
const MAX_DEPTH: usize = 8;

/// The results of `plan`'s probes found under `dir`, in probe order.
/// `plan_file` is skipped if it lies under `dir`.
pub fn results(plan: &Plan, plan_file: &Path, dir: &Path) -> Result<Vec<ProbeResult>> {
    let meta = fs_err::metadata(dir).map_err(|e| {
        UserError::new(format!("--collect {}: {e}", dir.display()))
            .hint("name the directory the probes' results were gathered into")
    })?;
    if !meta.is_dir() {
        return Err(UserError::new(format!("--collect {}: not a directory", dir.display())).into());
    }
    let skip = plan_file.canonicalize().ok();
    let mut files = Vec::new();
    walk(dir, 0, &mut files)?;
    files.sort();
    let mut slots: Vec<Option<(PathBuf, ProbeResult)>> = vec![None; plan.probes.len()];
    for file in files {
        if skip.is_some() && file.canonicalize().ok() == skip {
            continue;
        }
        let result = read(&file)?;
        let bad = |what: String| -> anyhow::Error {
            UserError::new(format!("result {}: {what}", file.display())).into()
        };
        if result.plan != plan.id {
            return Err(bad(format!(
                "it is from another plan ({}; this plan is {})",
                result.plan, plan.id
            )));
        }
        let Some(slot) = slots.get_mut(result.index) else {
            return Err(bad(format!(
                "probe {} is out of range (the plan has {})",
                result.index,
                plan.probes.len()
            )));
        };
        if let Some((other, _)) = slot {
            return Err(bad(format!(
                "probe {} has another result already, {}",
                result.index,
                other.display()
            )));
        }
        *slot = Some((file, result));
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.is_none())
        .map(|(i, _)| format!("{i} ({})", plan.probes[i].job.name))
        .collect();
    if !missing.is_empty() {
        return Err(UserError::new(format!(
            "--collect {}: no result for probe {}",
            dir.display(),
            missing.join(", ")
        ))
        .hint("run each with the plan's command (`tempest-env probe PLAN --index N --out FILE`) and gather the files")
        .into());
    }
    Ok(slots
        .into_iter()
        .flatten()
        .map(|(_, result)| result)
        .collect())
}

/// Every `*.json` regular file under `dir`; links are not followed.
fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, depth + 1, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

fn read(file: &Path) -> Result<ProbeResult> {
    let bytes = fs_err::read(file)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| UserError::new(format!("result {}: not UTF-8 text", file.display())))?;
    ProbeResult::parse(&text).map_err(|e| {
        UserError::new(format!("result {}: {e}", file.display()))
            .hint("a result is what `tempest-env probe PLAN --index N --out FILE` writes")
            .into()
    })
}

/// A plan file, read as any file input: a regular file, UTF-8, a plan this
/// version reads.
pub fn read_plan(path: &Path) -> Result<Plan> {
    let meta = fs_err::metadata(path).map_err(|e| {
        UserError::new(format!("plan {}: {e}", path.display())).hint(
            "name a plan that `tempest-env sanity --plan FILE` or `compare --plan FILE` wrote",
        )
    })?;
    if !meta.is_file() {
        return Err(UserError::new(format!("plan {}: not a regular file", path.display())).into());
    }
    let bytes = fs_err::read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| UserError::new(format!("plan {}: not UTF-8 text", path.display())))?;
    Plan::parse(&text).map_err(|e| {
        UserError::new(format!("plan {}: {e}", path.display()))
            .hint("write the plan again with `--plan FILE`")
            .into()
    })
}
