//! Reproducing plugin isolation problems: every plugin alone and all
//! together (`sanity`), the smallest set of plugins that breaks a test
//! (`bisect`), and per-test status alone against together (`compare`).

pub mod bisect;
pub mod compare;
pub mod job;
pub mod members;
pub mod plan;
pub mod probe;
pub mod sanity;
pub mod search;
