//! The `subunit` target rarely gets past the CRC, so it barely reaches the
//! code that turns packets into test results. This one writes the right CRC
//! into every packet-shaped run of the input before `parse` reads it, so the
//! fuzzer explores statuses, file chunks, tags and ids instead of checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tempest_env::runner::subunit;

fuzz_target!(|data: &[u8]| {
    let mut stream = data.to_vec();
    let mut pos = 0;
    while pos < stream.len() {
        pos += match packet_length(&stream[pos..]) {
            Some(length) => {
                let (body, crc) = stream[pos..pos + length].split_at_mut(length - 4);
                crc.copy_from_slice(&crc32(body).to_be_bytes());
                length
            }
            None => 1,
        };
    }
    let _ = subunit::parse(&stream);
});

/// The length a packet starting here claims, when it fits in `bytes`.
fn packet_length(bytes: &[u8]) -> Option<usize> {
    if *bytes.first()? != 0xB3 {
        return None;
    }
    let first = *bytes.get(3)?;
    let width = usize::from(first >> 6) + 1;
    let raw = bytes.get(3..3 + width)?;
    let length = raw.iter().enumerate().fold(0usize, |acc, (i, &b)| {
        acc << 8 | usize::from(if i == 0 { b & 0x3F } else { b })
    });
    (length >= 3 + width + 4 && length <= bytes.len()).then_some(length)
}

/// CRC-32 as zlib computes it (the subunit v2 checksum).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            }
        })
    })
}
