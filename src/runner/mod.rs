//! Running the test runner inside an environment, and what it reports.

pub mod junit;
pub mod results;
pub mod subunit;
