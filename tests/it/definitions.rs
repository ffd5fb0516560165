//! Definitions can say everything the command line can: every composition
//! option of `create` and `run` has a key, and each key takes effect.

use std::collections::BTreeSet;

use clap::Args;

use crate::common::{TestContext, fixture_wheel, manifest, stderr, stdout, wheelhouse};

/// The definition key of a composition option: repeatable options that name
/// one thing per use are plural in a definition, as in `envs/*.toml`.
fn key_of(option: &str) -> String {
    match option {
        "plugin" | "system-plugin" | "exclude-plugin" => format!("{option}s"),
        other => other.to_string(),
    }
}

#[test]
fn every_composition_option_has_a_definition_key() {
    let compose = tempest_env::cli::ComposeArgs::augment_args(clap::Command::new("x"));
    let options: BTreeSet<String> = compose
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .map(key_of)
        .collect();
    let definition = serde_json::to_value(tempest_env::definition::Definition::default()).unwrap();
    let keys: BTreeSet<String> = definition.as_object().unwrap().keys().cloned().collect();
    let missing: Vec<&String> = options.difference(&keys).collect();
    assert!(
        missing.is_empty(),
        "options without a definition key: {missing:?}"
    );
    assert!(options.len() >= 17, "{options:?}");
}

#[test]
fn installer_and_link_options_come_from_the_definition() {
    let ctx = TestContext::new();
    let links = wheelhouse(&ctx);
    let valet = fixture_wheel("valet");
    std::fs::write(
        ctx.work.path().join("tempest-env.toml"),
        format!(
            r#"[env.offline]
base = ["tempest"]
find-links = ["{links}"]
offline = true
installer = "pip"
plugins = ["{valet}"]
link-mode = "copy"
seed = true
runner = "true"
"#,
            links = links.display(),
            valet = valet.display()
        ),
    )
    .unwrap();
    let out = ctx
        .cmd()
        .args(["run", "--def", "offline", "--keep"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = ctx
        .envs_dir()
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest = manifest(&kept);
    let text = manifest.to_string();
    assert!(
        text.contains("\"copy\""),
        "link-mode = copy not applied: {text}"
    );
    assert!(kept.join("bin/pip").exists(), "seed = true not applied");
    let bases = ctx
        .cmd()
        .args(["base", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        stdout(&bases).contains("\"pip\""),
        "installer = pip not applied: {}",
        stdout(&bases)
    );
}

#[test]
fn a_bad_definition_value_names_the_definition_and_the_key() {
    let ctx = TestContext::new();
    std::fs::write(
        ctx.work.path().join("tempest-env.toml"),
        "[env.odd]\nlink-mode = \"sideways\"\nrunner = \"true\"\n",
    )
    .unwrap();
    let out = ctx.cmd().args(["run", "--def", "odd"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("odd") && err.contains("link-mode") && err.contains("sideways"),
        "{err}"
    );
    assert!(ctx.envs_dir().read_dir().map_or(0, |d| d.count()) == 0);
}
