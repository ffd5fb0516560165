//! The human-readable output of the main commands, whole, as snapshots
//! (`tests/it/snapshots/`), with what differs between machines and runs
//! (temporary paths, run ids, hashes, times, the interpreter) filtered to
//! placeholders. A change in what a user reads shows up as a snapshot diff
//! to review (`INSTA_UPDATE=always` rewrites them; CI never does).

use crate::common::{TestContext, fixture_wheel, python_version, real_python, stdout, wheelhouse};

/// Run `args`, and return its stdout and stderr as one text with machine-
/// and run-specific values replaced.
fn shown(ctx: &TestContext, args: &[&str]) -> String {
    let out = ctx.cmd().env("NO_COLOR", "1").args(args).output().unwrap();
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    normalize(ctx, &text)
}

fn normalize(ctx: &TestContext, text: &str) -> String {
    let mut text = text
        .replace(&ctx.home.path().display().to_string(), "[HOME]")
        .replace(&ctx.work.path().display().to_string(), "[WORK]")
        .replace(&real_python().display().to_string(), "[PYTHON]");
    let version = python_version();
    let replacements: &[(&str, &str)] = &[
        // Run ids (ULIDs), base and store hashes, sha256s.
        (r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "[RUN]"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"\b[0-9a-f]{16}\b", "[HASH]"),
        // Interpreter paths and full versions.
        (r"/[^\s'`]*/bin/python3(\.\d+)?", "[PYTHON]"),
        (r"\b3\.\d+\.\d+\b", "[PYVERSION]"),
        // Times and dates.
        (r"\d+\.\d+s\b", "[T]s"),
        (r"\d+(\.\d+)? ?ms\b", "[T]ms"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[DATE]"),
        // Sizes.
        (r"\d+(\.\d+)? (B|KiB|MiB|GiB)\b", "[SIZE]"),
    ];
    for (pattern, with) in replacements {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, *with)
            .into_owned();
    }
    let text = text.replace(&format!("python{version}"), "python[V]");
    // Column widths follow the values replaced above; the lines of the
    // slowest-tests list come in the order of their (replaced) times.
    let spaces = regex::Regex::new(r"(\S)  +").unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| spaces.replace_all(line, "$1  ").into_owned())
        .collect();
    // Which tests are the slowest is up to the machine: their lines are
    // counted, not named.
    let timed = |line: &String| line.trim_start().starts_with("[T]s  ");
    let mut kept: Vec<String> = Vec::new();
    let mut run = 0;
    for line in lines.drain(..) {
        if timed(&line) {
            run += 1;
            continue;
        }
        if run > 0 {
            kept.push(format!("     [{run} timed lines]"));
            run = 0;
        }
        kept.push(line);
    }
    if run > 0 {
        kept.push(format!("     [{run} timed lines]"));
    }
    let lines = kept;
    lines.join("\n") + "\n"
}

/// An environment of the stand-in tempest as a base and the valet plugin.
fn demo_env(ctx: &TestContext) -> String {
    let links = wheelhouse(ctx);
    let links = links.display().to_string();
    let valet = fixture_wheel("valet").display().to_string();
    shown(
        ctx,
        &[
            "create",
            "snap",
            "--base",
            "tempest",
            "--offline",
            "--installer",
            "pip",
            "--find-links",
            &links,
            "--plugin",
            &valet,
        ],
    )
}

#[test]
fn the_main_commands_read_as_they_did() {
    let ctx = TestContext::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("create", demo_env(&ctx));
        insta::assert_snapshot!("list", shown(&ctx, &["list"]));
        insta::assert_snapshot!("show", shown(&ctx, &["show", "snap"]));
        insta::assert_snapshot!("plugins", shown(&ctx, &["plugins", "snap"]));
        insta::assert_snapshot!("doctor", shown(&ctx, &["doctor", "snap"]));
        insta::assert_snapshot!("defs", shown(&ctx, &["defs"]));
        insta::assert_snapshot!("run", shown(&ctx, &["run", "--env", "snap"]));
        insta::assert_snapshot!("results", shown(&ctx, &["results"]));
        insta::assert_snapshot!("base-list", shown(&ctx, &["base", "list"]));
        insta::assert_snapshot!("remove", shown(&ctx, &["remove", "snap"]));
        insta::assert_snapshot!("gc-dry-run", shown(&ctx, &["gc", "--dry-run"]));
        insta::assert_snapshot!("bad-input", shown(&ctx, &["create", "bad/name"]));
    });
}
