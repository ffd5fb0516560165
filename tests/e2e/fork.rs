//! The fork server with real tempest 47 and real PyPI plugins: the real sets
//! of the end-to-end suite, probed served and with `--no-fork-server`, give
//! the same reports (`sanity` over current plugins and two old releases
//! that break discovery, `bisect --probe list` among 8 plugins, `plugins
//! --check` of the 33 current plugins), and every probe was served.

use super::TEMPEST;
use super::isolation::{CONGRESS_OLD, CURRENT, VMWARE_OLD, fixture, plugins, shared_home};
use crate::common::{TestContext, require_tool};
use crate::served::{both_ways, served_counts};

/// `tempest-env` in the suite's shared home.
fn shared(ctx: &TestContext) -> assert_cmd::Command {
    let mut cmd = ctx.cmd();
    cmd.env("TEMPEST_ENV_HOME", shared_home());
    cmd
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs PyPI"]
fn served_probes_agree_with_fresh_ones_on_the_real_sets() {
    require_tool("uv");
    let ctx = TestContext::new();

    // sanity: current plugins and two old releases that break discovery.
    let mut args = strings(&["sanity", "-j", "2", "--base", TEMPEST]);
    args.extend(plugins(
        &[
            "barbican-tempest-plugin",
            "manila-tempest-plugin",
            "neutron-tempest-plugin",
            CONGRESS_OLD,
            VMWARE_OLD,
        ]
        .map(String::from),
    ));
    let (served, fresh, said) = both_ways(|| shared(&ctx), &args);
    assert_eq!(served, fresh, "{said}");
    assert_eq!(served.0["together"]["loads"], false, "{:#}", served.0);
    let probes = served.0["probes"].as_u64().unwrap() as usize;
    assert_eq!(served_counts(&said), (probes, 0), "{said}");

    // bisect --probe list: the old release that breaks discovery, among
    // fixtures and current plugins.
    let mut set = vec![fixture("state-victim"), fixture("alpha")];
    set.extend(CURRENT.iter().take(3).map(|s| s.to_string()));
    set.push(CONGRESS_OLD.into());
    set.extend(CURRENT.iter().skip(3).map(|s| s.to_string()));
    set.push(fixture("filler-1"));
    let mut args = strings(&[
        "bisect",
        "state_victim",
        "--probe",
        "list",
        "-j",
        "2",
        "--base",
        TEMPEST,
    ]);
    args.extend(plugins(&set));
    let (served, fresh, said) = both_ways(|| shared(&ctx), &args);
    assert_eq!(served, fresh, "{said}");
    assert_eq!(
        served.0["culprits"],
        serde_json::json!(["congress-tempest-plugin"]),
        "{:#}",
        served.0
    );
    let report = &served.0;
    let probes = report["probes"].as_u64().unwrap() + report["target_probes"].as_u64().unwrap();
    assert_eq!(served_counts(&said), (probes as usize, 0), "{said}");

    // plugins --check: the 33 current plugins, in a venv made by uv.
    let mut packages = vec![TEMPEST, "setuptools<81", "pytz"];
    packages.extend(crate::plugins::CURRENT);
    let venv = crate::plugins::uv_venv(&ctx, "current", &packages);
    let python = venv.join("bin/python").display().to_string();
    let args = strings(&["plugins", "--python", &python, "--check"]);
    let (served, fresh, said) = both_ways(|| shared(&ctx), &args);
    assert_eq!(served, fresh, "{said}");
    assert_eq!(served.0["check"]["ok"], true, "{:#}", served.0);
    let rows = served.0["check"]["plugins"].as_array().unwrap().len();
    assert_eq!(served_counts(&said), (rows + 1, 0), "{said}");
    assert!(said.contains("peak memory"), "{said}");
}
