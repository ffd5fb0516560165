//! Interim requirement check with the agreed API (reports nothing); the full
//! check replaces this file.

use std::collections::BTreeMap;

use serde::Serialize;

use super::scan::ScanResult;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Unmet {
    Missing,
    Conflict { installed: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub dist: String,
    pub version: String,
    pub requirement: String,
    pub requirement_name: String,
    pub unmet: Unmet,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} requires {}",
            self.dist, self.version, self.requirement
        )
    }
}

pub fn check(_scan: &ScanResult, _markers: &BTreeMap<String, String>) -> Vec<Problem> {
    Vec::new()
}
