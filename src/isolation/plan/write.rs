//! Make a plan: each probe's environment is composed here, locked and
//! removed (composing reuses the store and bases, so this costs
//! milliseconds per probe once the layers exist), and written down with
//! the command that runs the probe on another machine.

use anyhow::{Context, Result};

use super::{Plan, PlannedMember, PlannedPolicy, PlannedProbe, Search};
use crate::env::compose::{self, ComposeSpec};
use crate::env::{self, CreateOptions};
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::isolation::job::Job;
use crate::isolation::probe::Prober;
use crate::lockfile::Lock;
use crate::printer::Printer;
use crate::shell::sh_quote;

/// Where the plan goes and how its probes' commands name things.
pub struct Destination<'a> {
    /// The plan file as the user named it (the probes' commands use it).
    pub plan: &'a str,
    /// The directory the commands write results into.
    pub results: &'a str,
}

/// The plan of `jobs` on `prober`'s set.
pub fn plan(
    prober: &Prober,
    search: Search,
    jobs: &[Job],
    destination: &Destination,
    printer: &Printer,
) -> Result<Plan> {
    let index_args = index_args(&prober.spec);
    // Composing says nothing of its own unless asked to.
    let quiet = if printer.is_verbose() {
        printer.clone()
    } else {
        Printer::quiet()
    };
    let mut probes = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        let spec = prober.spec_for(&job.members);
        let mut lock = lock_composition(&prober.home, &prober.interpreter, &spec, &quiet)
            .with_context(|| format!("failed to compose probe {index} ({})", job.name))?;
        // Named for the probe, not the scratch directory: planning the same
        // set twice gives the same plan.
        lock.environment = format!("probe-{index}");
        let mut command = format!(
            "tempest-env probe {} --index {index} --out {}",
            shell_word(destination.plan),
            shell_word(&format!("{}/probe-{index}.json", destination.results))
        );
        for arg in &index_args {
            command.push(' ');
            command.push_str(&shell_word(arg));
        }
        probes.push(PlannedProbe {
            index,
            job: job.clone(),
            command,
            lock,
        });
    }
    let mut collect = format!(
        "tempest-env {} --collect {} --plan {}",
        search.command(),
        shell_word(destination.results),
        shell_word(destination.plan)
    );
    for arg in &index_args {
        collect.push(' ');
        collect.push_str(&shell_word(arg));
    }
    let policy = &prober.policy;
    Ok(Plan::new(
        search,
        prober.runner.as_given().to_string(),
        PlannedPolicy {
            set_env: policy.set.clone(),
            pass_env: policy.pass.clone(),
            isolated_env: policy.isolated,
            user_site: policy.user_site,
        },
        prober
            .members
            .iter()
            .map(|m| PlannedMember {
                name: m.name.clone(),
                entry_points: m.entry_points.clone(),
            })
            .collect(),
        probes,
        collect,
    ))
}

/// `text` as one shell word: as it is when nothing in it is special to a
/// shell, else quoted.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+-,".contains(c));
    if plain {
        text.to_string()
    } else {
        sh_quote(text)
    }
}

/// Where the probes' packages come from, as `probe` takes it: the same
/// wheel directories and index as here.
fn index_args(spec: &ComposeSpec) -> Vec<String> {
    let mut args = Vec::new();
    for dir in &spec.index.find_links {
        args.push("--find-links".to_string());
        args.push(dir.display().to_string());
    }
    if let Some(url) = &spec.index.index_url {
        args.push("--index-url".to_string());
        args.push(url.clone());
    }
    if spec.index.offline {
        args.push("--offline".to_string());
    }
    args
}

/// Compose `spec` in a throwaway environment, lock it, and remove it.
pub fn lock_composition(
    home: &Home,
    interpreter: &Interpreter,
    spec: &ComposeSpec,
    printer: &Printer,
) -> Result<Lock> {
    // Named like a search's scratch directory, which `gc` removes once its
    // process is gone; leased while in use.
    let scratch = crate::lease::ScratchDir::new(
        home.data(),
        &format!("{}isolation.plan.", crate::atomic::TMP_PREFIX),
    )?;
    let name = format!(
        "plan-{}-{}",
        std::process::id(),
        scratch
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().replace('.', ""))
            .unwrap_or_default()
    );
    let options = CreateOptions {
        name: name.clone(),
        path: Some(scratch.path().join("env")),
        prompt: None,
        clear: false,
        register: false,
        ephemeral: true,
    };
    let made = env::create_held(home, &options, interpreter, printer, |env| {
        compose::compose(env, interpreter, spec, home, printer)
    });
    let locked = made.and_then(|(env, guard)| {
        let lock = crate::lockfile::record::environment(&env, interpreter, home);
        let _ = crate::atomic::remove_tree(&env.root);
        drop(guard);
        lock
    });
    let _ = fs_err::remove_file(env::lock_path(home, &name));
    locked
}
