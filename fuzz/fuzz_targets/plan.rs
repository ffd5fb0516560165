//! A plan or a probe's result from another machine, possibly damaged or
//! hostile: `Plan::parse` and `ProbeResult::parse` must not panic; a plan
//! they accept, made again from its parts, renders to text that parses
//! back equal, and so does an accepted result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::isolation::plan::{Plan, ProbeResult};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(plan) = Plan::parse(text) {
        let made = Plan::new(
            plan.search,
            plan.runner,
            plan.policy,
            plan.members,
            plan.probes,
            plan.collect,
        );
        let rendered = made.render();
        let again = Plan::parse(&rendered)
            .unwrap_or_else(|err| panic!("rendered plan {rendered:?} does not parse: {err}"));
        assert_eq!(again, made, "rendered plan {rendered:?} parses differently");
    }
    if let Ok(result) = ProbeResult::parse(text) {
        let rendered = result.render();
        let again = ProbeResult::parse(&rendered)
            .unwrap_or_else(|err| panic!("rendered result {rendered:?} does not parse: {err}"));
        assert_eq!(
            again, result,
            "rendered result {rendered:?} parses differently"
        );
        let _ = again.outcome().error_lines(3);
    }
});
