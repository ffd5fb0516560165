//! `tempest-env results` and `tempest-env diff`, and the summary `run`
//! prints.

use anyhow::Result;

use super::OutputFormat;
use crate::Context;
use crate::runner::record::{self, RunRecord};
use crate::runner::results::{self, RunResults};

/// The human summary of a run.
pub(crate) fn summary_lines(results: &RunResults, rec: &RunRecord) -> Vec<String> {
    let summary = results.summary();
    let mut lines = vec![String::new()];
    let failed: Vec<_> = results.failed().collect();
    if !failed.is_empty() {
        lines.push("Failed:".into());
        for test in failed {
            lines.push(format!("  {}", test.id));
        }
    }
    if !summary.slowest.is_empty() {
        lines.push("Slowest:".into());
        for (id, duration) in &summary.slowest {
            lines.push(format!("  {:>8.3}s  {id}", duration.as_secs_f64()));
        }
    }
    lines.push(format!(
        "Run {} ({}, {:.2}s, exit {}): {}",
        rec.id,
        rec.environment,
        rec.duration_secs,
        rec.exit_code,
        summary.totals_line()
    ));
    lines
}

pub(crate) fn summary_json(results: &RunResults) -> serde_json::Value {
    let s = results.summary();
    serde_json::json!({
        "total": s.total,
        "passed": s.passed,
        "failed": s.failed,
        "skipped": s.skipped,
        "expected_failures": s.xfail,
        "unexpected_successes": s.uxsuccess,
        "success": s.is_success(),
        "slowest": s.slowest.iter().map(|(id, d)| serde_json::json!({"id": id, "seconds": d.as_secs_f64()})).collect::<Vec<_>>(),
    })
}

pub(crate) fn show(
    run: Option<&str>,
    junit: Option<&std::path::Path>,
    list: bool,
    format: OutputFormat,
    ctx: &Context,
) -> Result<u8> {
    if list {
        let ids = record::ids(&ctx.home);
        let mut rows = Vec::new();
        for id in &ids {
            let (rec, results, _) = record::load(&ctx.home, Some(id))?;
            rows.push((rec, results));
        }
        match format {
            OutputFormat::Json => {
                let values: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(rec, results)| serde_json::json!({"run": rec, "summary": results.as_ref().map(summary_json)}))
                    .collect();
                ctx.printer.out(serde_json::to_string_pretty(&values)?);
            }
            OutputFormat::Human => {
                let table: Vec<[String; 5]> = rows
                    .iter()
                    .map(|(rec, results)| {
                        [
                            rec.id.clone(),
                            rec.started.clone(),
                            rec.environment.clone(),
                            rec.exit_code.to_string(),
                            results
                                .as_ref()
                                .map(|r| r.summary().totals_line())
                                .unwrap_or_else(|| "no results".into()),
                        ]
                    })
                    .collect();
                for line in
                    super::show::table(["RUN", "STARTED", "ENVIRONMENT", "EXIT", "RESULTS"], &table)
                {
                    ctx.printer.out(line);
                }
            }
        }
        return Ok(0);
    }
    let (rec, results, dir) = record::load(&ctx.home, run)?;
    let results = results.ok_or_else(|| {
        crate::error::UserError::new(format!(
            "run {} recorded no subunit results ({} runner)",
            rec.id, rec.runner
        ))
    })?;
    if let Some(path) = junit {
        let parent = std::path::absolute(path)?
            .parent()
            .map(std::path::Path::to_path_buf);
        if parent.as_ref().is_some_and(|p| !p.is_dir()) {
            return Err(crate::error::UserError::new(format!(
                "--junit {}: the directory {} does not exist",
                path.display(),
                parent.unwrap_or_default().display()
            ))
            .into());
        }
        let xml = crate::runner::junit::render(&format!("tempest-env run {}", rec.id), &results);
        crate::runner::junit::write(path, &xml)?;
        ctx.printer
            .status(format!("Wrote JUnit XML to {}", path.display()));
    }
    match format {
        OutputFormat::Json => {
            let value = serde_json::json!({"run": rec, "summary": summary_json(&results), "results": results, "dir": dir});
            ctx.printer.out(serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Human => {
            for test in &results.tests {
                ctx.printer.out(format!(
                    "{:<10} {}",
                    format!("{:?}", test.status).to_lowercase(),
                    test.id
                ));
            }
            for line in summary_lines(&results, &rec) {
                ctx.printer.out(line);
            }
        }
    }
    Ok(0)
}

pub(crate) fn diff(a: &str, b: &str, format: OutputFormat, ctx: &Context) -> Result<u8> {
    let load = |id: &str| -> Result<(RunRecord, RunResults)> {
        let (rec, results, _) = record::load(&ctx.home, Some(id))?;
        let results = results.ok_or_else(|| {
            crate::error::UserError::new(format!("run {} recorded no results", rec.id))
        })?;
        Ok((rec, results))
    };
    let (ra, a) = load(a)?;
    let (rb, b) = load(b)?;
    let changes = results::diff(&a, &b);
    match format {
        OutputFormat::Json => {
            let values: Vec<serde_json::Value> = changes
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "before": c.before, "after": c.after}))
                .collect();
            ctx.printer.out(serde_json::to_string_pretty(
                &serde_json::json!({"a": ra.id, "b": rb.id, "changes": values}),
            )?);
        }
        OutputFormat::Human => {
            let name = |s: &Option<crate::runner::subunit::Status>| {
                s.as_ref()
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_else(|| "absent".into())
            };
            for change in &changes {
                ctx.printer.out(format!(
                    "{:<10} -> {:<10} {}",
                    name(&change.before),
                    name(&change.after),
                    change.id
                ));
            }
            ctx.printer.status(format!(
                "{} test(s) changed between {} and {}",
                changes.len(),
                ra.id,
                rb.id
            ));
        }
    }
    Ok(0)
}
