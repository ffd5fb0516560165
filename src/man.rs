//! Man pages generated from the clap definition: `tempest-env.1` and one page
//! per subcommand. They are committed under `man/`; a test fails when they
//! are stale, and `tempest-env generate-man --dir man` rewrites them.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

/// `(file name, contents)` of every page.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let root = Cli::command();
    let mut pages = Vec::new();
    let mut buf = Vec::new();
    clap_mangen::Man::new(root.clone()).render(&mut buf)?;
    pages.push(("tempest-env.1".to_string(), buf));
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("tempest-env-{}", sub.get_name());
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub.clone().name(name.clone())).render(&mut buf)?;
        pages.push((format!("{name}.1"), buf));
    }
    Ok(pages)
}

/// Write every page into `dir`.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>> {
    fs_err::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, bytes) in pages()? {
        let path = dir.join(file);
        crate::atomic::write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}
