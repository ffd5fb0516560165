//! Reproducing plugin isolation problems: every plugin alone and all
//! together (`sanity`), the smallest set of plugins that breaks a test
//! (`bisect`), per-test status alone against together (`compare`), and the
//! earlier tests on a worker that make a test fail (`pollution`).

pub mod bisect;
pub mod compare;
pub mod job;
pub mod members;
pub mod plan;
pub mod pollution;
pub mod probe;
pub mod replay_args;
pub mod sanity;
pub mod search;
pub mod served;
