//! `--format json` writes only JSON to stdout, for every command that has
//! it, with a real runner that prints (the stand-in prints every test it
//! runs): a script can always parse what it gets.

use crate::common::{TestContext, stderr, stdout};

/// Every subcommand (and `base list`) that takes `--format`, from the clap
/// definition, so a new one cannot be missed.
fn commands_with_json() -> Vec<String> {
    let mut names = Vec::new();
    let root = tempest_env::command();
    let has_format = |cmd: &clap::Command| cmd.get_arguments().any(|a| a.get_id() == "format");
    for sub in root.get_subcommands() {
        if has_format(sub) {
            names.push(sub.get_name().to_string());
        }
        for nested in sub.get_subcommands() {
            if has_format(nested) {
                names.push(format!("{} {}", sub.get_name(), nested.get_name()));
            }
        }
    }
    names.sort();
    names
}

fn parse(ctx: &TestContext, args: &[&str]) -> serde_json::Value {
    let out = ctx
        .cmd()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let text = stdout(&out);
    serde_json::from_str(&text).unwrap_or_else(|err| {
        panic!(
            "{args:?}: stdout is not JSON ({err}); exit {:?}\nstdout: {text}\nstderr: {}",
            out.status.code(),
            stderr(&out)
        )
    })
}

#[test]
fn every_json_mode_writes_only_json_to_stdout() {
    let ctx = TestContext::new();
    ctx.create("plain");
    let demo = ["--def", "demo"];
    let run = parse(&ctx, &["run", "--def", "demo"]);
    let first = run["run"]["id"].as_str().unwrap().to_string();
    assert!(run["summary"].is_object(), "{run}");
    let listed = parse(&ctx, &["run", "--def", "demo", "--list"]);
    assert_eq!(
        listed["count"].as_u64().unwrap() as usize,
        listed["tests"].as_array().unwrap().len()
    );
    assert!(listed["count"].as_u64().unwrap() > 0, "{listed}");
    let second = parse(&ctx, &["run", "--def", "demo", "valet"])["run"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A run in which a victim of a leak fails, for `pollution`.
    let leaky = crate::common::fixtures().join("plugins/leaky");
    let victims = crate::common::fixtures().join("plugins/victims");
    let polluted = parse(
        &ctx,
        &[
            "run",
            "--def",
            "demo",
            "--plugin",
            leaky.to_str().unwrap(),
            "--plugin",
            victims.to_str().unwrap(),
        ],
    );
    assert_eq!(polluted["run"]["exit_code"], 1, "{polluted}");
    let cases: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["show", "plain"],
        vec!["results"],
        vec!["results", "--list"],
        vec!["diff", &first, &second],
        vec!["defs"],
        vec!["plugins", "plain"],
        vec!["doctor", "plain"],
        vec!["base", "list"],
        [&["sanity"][..], &demo[..]].concat(),
        [&["bisect", "valet"][..], &demo[..]].concat(),
        [&["compare", "valet"][..], &demo[..]].concat(),
        vec!["pollution", "test_default_endpoint"],
    ];
    let mut covered: Vec<String> = vec!["run".into()];
    for case in &cases {
        parse(&ctx, case);
        covered.push(if case[0] == "base" {
            "base list".into()
        } else {
            case[0].to_string()
        });
    }
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        commands_with_json(),
        "a command with --format json is not tried here"
    );
}
