//! The fixtures bundled into the binary for the offline demo, extracted once
//! into `<cache>/bundled/<hash>/` (atomically, like everything else).

use std::path::PathBuf;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::home::Home;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Where this binary's fixtures are (or would be) extracted: named by a
/// hash of their content, so another build's fixtures go elsewhere.
pub fn dir(home: &Home) -> PathBuf {
    let mut hasher = Sha256::new();
    for (path, bytes) in FILES {
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let hash = crate::digest::hex(&hasher.finalize()[..8]);
    home.cache().join("bundled").join(hash)
}

/// The directory holding the bundled fixtures (`tempest-standin/`,
/// `plugins/valet/`).
pub fn extract(home: &Home) -> Result<PathBuf> {
    let dir = dir(home);
    if dir.is_dir() {
        return Ok(dir);
    }
    let tmp = crate::atomic::temp_sibling(&dir)?;
    for (path, bytes) in FILES {
        let dest = tmp.path().join(path);
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&dest, bytes)?;
    }
    let built = tmp.keep();
    match fs_err::rename(&built, &dir) {
        Ok(()) => Ok(dir),
        // Another process extracted the same files first.
        Err(_) if dir.is_dir() => {
            let _ = crate::atomic::remove_tree(&built);
            Ok(dir)
        }
        Err(err) => {
            Err(anyhow::Error::new(err)
                .context(format!("failed to extract into {}", dir.display())))
        }
    }
}
