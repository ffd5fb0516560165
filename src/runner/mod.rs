//! Running the test runner inside an environment, and what it reports.

pub mod environ;
pub mod fork;
pub mod junit;
pub mod pipeline;
pub mod preset;
pub mod record;
pub mod replay;
pub mod results;
pub mod subunit;
pub mod workspace;
