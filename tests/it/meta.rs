//! The man pages, completions and help.

use crate::common::{TestContext, require_tool, stderr, stdout};

#[test]
fn man_pages_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = tempest_env::cli::man::pages().unwrap();
    let mut stale = Vec::new();
    for (file, bytes) in &pages {
        if std::fs::read(root.join(file)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(file.clone());
        }
    }
    let committed = std::fs::read_dir(&root).map(|d| d.count()).unwrap_or(0);
    assert!(
        stale.is_empty() && committed == pages.len(),
        "man pages are stale ({stale:?}); run `cargo run -- generate-man --dir man`"
    );
    assert!(pages.iter().any(|(f, _)| f == "tempest-env-create.1"));
}

#[test]
fn man_pages_name_commands_as_typed_and_carry_globals_and_exit_codes() {
    let pages = tempest_env::cli::man::pages().unwrap();
    let (_, run) = pages
        .iter()
        .find(|(f, _)| f == "tempest-env-run.1")
        .unwrap();
    let run = String::from_utf8_lossy(run);
    let synopsis = run.split(".SH SYNOPSIS").nth(1).unwrap();
    assert!(
        synopsis.starts_with("\n\\fBtempest\\-env run\\fR"),
        "{synopsis}"
    );
    for needle in [
        "\\-\\-home",
        "TEMPEST_ENV_HOME",
        ".SH \"EXIT STATUS\"",
        ".SH \"EXAMPLES\"",
    ] {
        assert!(run.contains(needle), "{needle} missing from the run page");
    }
    // Every subcommand page has examples.
    for (file, bytes) in &pages {
        if file != "tempest-env.1" {
            assert!(
                String::from_utf8_lossy(bytes).contains(".SH \"EXAMPLES\""),
                "{file}"
            );
        }
    }
}

#[test]
fn every_man_page_example_is_a_valid_command_line() {
    use clap::Parser;
    for (sub, examples) in tempest_env::cli::man::EXAMPLES {
        for (line, _) in *examples {
            // The tempest-env words of the line (a shell wrapper around it,
            // like `source <(...)` or `"$(...)"`, is stripped).
            let start = line.find("tempest-env ").unwrap();
            let words: Vec<&str> = line[start..]
                .split([')', '|'])
                .next()
                .unwrap()
                .split_whitespace()
                .collect();
            assert_eq!(words[1], *sub, "{line}");
            if let Err(err) = tempest_env::cli::Cli::try_parse_from(&words) {
                panic!("`{line}` does not parse: {err}");
            }
        }
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    let ctx = TestContext::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = ctx.cmd().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("tempest-env") && text.contains("TEMPEST_ENV_COMPLETE"),
            "{shell}: {text}"
        );
    }
    let out = ctx.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A context with one environment, `alpha-env`, and a directory holding the
/// binary as `tempest-env`, so the registration scripts can call it back by
/// the name a user types.
fn completion_context() -> (TestContext, String) {
    let ctx = TestContext::new();
    ctx.create("alpha-env");
    let bin = assert_cmd::cargo::cargo_bin("tempest-env");
    let dir = bin.parent().unwrap().to_path_buf();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    (ctx, path)
}

/// Run `script` in `shell` with the context's home and the binary on PATH.
fn in_shell(ctx: &TestContext, path: &str, shell: &str, script: &str) -> Vec<String> {
    let out = std::process::Command::new(shell)
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("TEMPEST_ENV_HOME", ctx.home.path())
        .current_dir(ctx.work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{shell}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|line| line.split(['\t', ':']).next().unwrap().to_string())
        .collect()
}

/// What bash offers for the words, the last one being completed.
fn bash_completes(ctx: &TestContext, path: &str, words: &str) -> Vec<String> {
    let script = format!(
        r#"source <(tempest-env completions bash)
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_TYPE=9
_clap_complete_tempest_env tempest-env "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    in_shell(ctx, path, "bash", &script)
}

#[test]
fn bash_completes_options_and_environment_names() {
    let (ctx, path) = completion_context();
    let offered = bash_completes(&ctx, &path, "tempest-env run --all-");
    assert_eq!(offered, ["--all-plugin"]);
    let offered = bash_completes(&ctx, &path, "tempest-env run --env ''");
    assert_eq!(offered, ["alpha-env"]);
    let offered = bash_completes(&ctx, &path, "tempest-env exec al");
    assert_eq!(offered, ["alpha-env"]);
    let offered = bash_completes(&ctx, &path, "tempest-env run --def de");
    assert_eq!(offered, ["demo"]);
    let offered = bash_completes(&ctx, &path, "tempest-env install alpha-env --link-mode sym");
    assert_eq!(offered, ["symlink"]);
    let offered = bash_completes(&ctx, &path, "tempest-env run --runner st");
    assert_eq!(offered, ["stestr"]);
}

#[test]
#[ignore = "needs zsh on PATH (.ci/run installs it); run with --ignored"]
fn zsh_completes_options_and_environment_names() {
    require_tool("zsh");
    let (ctx, path) = completion_context();
    // The generated function, run by real zsh; only the completion system's
    // display builtins are replaced by ones that print what they are given.
    let complete = |words: &str, current: usize| {
        let script = format!(
            r#"compdef() {{ : }}
_describe() {{ local name=${{@[-1]}}; print -l -- ${{(P)name}} }}
source <(tempest-env completions zsh)
words=({words}); CURRENT={current}
_clap_dynamic_completer_tempest_env"#
        );
        in_shell(&ctx, &path, "zsh", &script)
    };
    assert_eq!(complete("tempest-env run --all-", 3), ["--all-plugin"]);
    assert_eq!(complete("tempest-env run --env ''", 4), ["alpha-env"]);
}

#[test]
#[ignore = "needs fish on PATH (.ci/run installs it); run with --ignored"]
fn fish_completes_options_and_environment_names() {
    require_tool("fish");
    let (ctx, path) = completion_context();
    let complete = |line: &str| {
        let script =
            format!("tempest-env completions fish | source; complete --do-complete '{line}'");
        in_shell(&ctx, &path, "fish", &script)
    };
    assert_eq!(complete("tempest-env run --all-"), ["--all-plugin"]);
    assert_eq!(complete("tempest-env run --env "), ["alpha-env"]);
    assert_eq!(complete("tempest-env show al"), ["alpha-env"]);
}

#[test]
fn usage_errors_exit_2() {
    let ctx = TestContext::new();
    let out = ctx.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ctx.cmd().args(["exec", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ctx.cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}
