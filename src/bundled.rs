//! The fixtures bundled into the binary for the offline demo, extracted once
//! into `<cache>/bundled/<hash>/` (atomically, like everything else).

use std::path::PathBuf;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::home::Home;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The directory holding the bundled fixtures (`tempest-standin/`,
/// `plugins/valet/`).
pub fn extract(home: &Home) -> Result<PathBuf> {
    let mut hasher = Sha256::new();
    for (path, bytes) in FILES {
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let hash = crate::digest::hex(&hasher.finalize()[..8]);
    let dir = home.cache().join("bundled").join(hash);
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
