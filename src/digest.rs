//! Hex digests: the names tempest-env derives from content (store entries,
//! bases, cache files, state keys).

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex of the first `len` bytes of the sha256 of `data`.
pub fn short_sha256(data: &[u8], len: usize) -> String {
    let digest = Sha256::digest(data);
    hex(&digest[..len.min(digest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_prefixes() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(short_sha256(b"", 4), "e3b0c442");
    }
}
