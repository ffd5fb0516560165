//! The content-addressed store of unpacked wheels (`<cache>/store/`).

use std::path::PathBuf;

use anyhow::Result;

use crate::home::Home;
use crate::printer::Printer;

/// Remove leftovers and entries no environment uses.
pub fn gc(_home: &Home, _dry_run: bool, _printer: &Printer) -> Result<Vec<PathBuf>> {
    Ok(Vec::new())
}
