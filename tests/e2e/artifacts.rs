//! Source trees whose metadata only their build backend knows: the version
//! reported is the one the backend computes (from the package, from a git
//! tag), never a made-up `0.0.0`. The backends come from PyPI (the
//! installer's build isolation), hence end to end.

use std::path::Path;
use std::process::Command;

use crate::common::{TestContext, fixtures, plugins_json, require_tool, stderr};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A copy of `fixtures/dynamic/NAME`, committed and tagged `tag` in a git
/// repository of its own when a tag is given.
fn tree(ctx: &TestContext, name: &str, tag: Option<&str>) -> std::path::PathBuf {
    let dest = ctx.work.path().join(name);
    let out = Command::new("cp")
        .arg("-r")
        .arg(fixtures().join("dynamic").join(name))
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success());
    if let Some(tag) = tag {
        git(&dest, &["init", "-q"]);
        git(&dest, &["add", "."]);
        git(&dest, &["commit", "-q", "-m", "release"]);
        git(&dest, &["tag", tag]);
    }
    dest
}

#[test]
#[ignore = "needs PyPI"]
fn computed_versions_are_the_backends_for_every_kind_of_tree() {
    require_tool("uv");
    let ctx = TestContext::new();
    let cases = [
        ("attr", None, "attr-tempest-plugin", "1.4.2"),
        ("cfg-attr", None, "cfg-attr-tempest-plugin", "2.0.1"),
        ("scm", Some("2.3.0"), "scm-tempest-plugin", "2.3.0"),
        ("hatch", Some("3.1.0"), "hatch-tempest-plugin", "3.1.0"),
        ("flit", None, "flit-tempest-plugin", "0.7.0"),
        // pbr's version is read natively from the tag: no backend runs.
        ("pbr", Some("5.0.0"), "pbr-tempest-plugin", "5.0.0"),
    ];
    for (name, tag, dist, version) in cases {
        let src = tree(&ctx, name, tag);
        let env = format!("dyn-{name}");
        let out = ctx
            .cmd()
            .args(["create", &env, "--plugin"])
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let (report, code) = plugins_json(&ctx, &[env.as_str()]);
        assert_eq!(code, 0, "{name}: {report}");
        let plugin = &report["plugins"][0];
        assert_eq!(plugin["dist"], dist, "{name}: {report}");
        assert_eq!(plugin["version"], version, "{name}: {report}");
    }
}

/// The real sdist of a plugin from PyPI, downloaded by pip.
fn barbican_sdist(ctx: &TestContext) -> std::path::PathBuf {
    let dir = ctx.work.path().join("sdists");
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            ":all:",
        ])
        .args(["barbican-tempest-plugin==4.6.0", "-d"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("barbican_tempest_plugin-4.6.0.tar.gz")
}

#[test]
#[ignore = "needs PyPI"]
fn a_real_sdist_is_built_once_and_lists_the_same_tests_as_its_wheel() {
    require_tool("uv");
    let ctx = TestContext::new();
    let sdist = barbican_sdist(&ctx);
    let list = |plugin: &str| {
        let out = ctx
            .cmd()
            .args([
                "run",
                "--base",
                crate::TEMPEST,
                "--plugin",
                plugin,
                "--list",
                "barbican",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let mut ids: Vec<String> = crate::common::stdout(&out)
            .lines()
            .filter(|l| l.starts_with("barbican_tempest_plugin."))
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    };
    let from_sdist = list(sdist.to_str().unwrap());
    assert!(from_sdist.len() > 100, "{}", from_sdist.len());
    assert_eq!(from_sdist, list("barbican-tempest-plugin==4.6.0"));
    // The second use of the same sdist, by URL this time, builds nothing.
    let url = format!("file://{}", sdist.display());
    let out = ctx
        .cmd()
        .args(["create", "again", "-v", "--plugin", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("reusing the wheel built from"), "{err}");
    assert!(!err.contains("Building a wheel"), "{err}");
    let (report, _) = plugins_json(&ctx, &["again"]);
    assert_eq!(report["plugins"][0]["version"], "4.6.0", "{report}");
}

#[test]
#[ignore = "needs PyPI"]
fn a_git_requirement_at_a_ref_is_resolved_by_the_installer() {
    require_tool("uv");
    let ctx = TestContext::new();
    // A local repository: 1.2.0 tagged v1, then 1.3.0 on top.
    let repo = ctx.work.path().join("alpha-repo");
    let out = Command::new("cp")
        .arg("-r")
        .arg(fixtures().join("plugins/alpha"))
        .arg(&repo)
        .output()
        .unwrap();
    assert!(out.status.success());
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "1.2.0"]);
    git(&repo, &["tag", "v1"]);
    let pyproject = repo.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(&pyproject, text.replace("1.2.0", "1.3.0")).unwrap();
    git(&repo, &["commit", "-q", "-am", "1.3.0"]);
    let url = format!("git+file://{}", repo.display());
    for (requirement, version) in [
        (format!("alpha-tempest-plugin @ {url}@v1"), "1.2.0"),
        (
            format!("alpha-tempest-plugin @ {url} ; python_version >= \"3.8\""),
            "1.3.0",
        ),
    ] {
        let env = format!("git-{version}");
        let out = ctx
            .cmd()
            .args(["create", &env, "--plugin", &requirement])
            .output()
            .unwrap();
        assert!(out.status.success(), "{requirement}: {}", stderr(&out));
        let (report, _) = plugins_json(&ctx, &[env.as_str()]);
        assert_eq!(report["plugins"][0]["name"], "alpha_tests", "{report}");
        assert_eq!(report["plugins"][0]["version"], version, "{report}");
    }
}
