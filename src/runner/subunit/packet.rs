//! The subunit v2 packet: reading one, checking its fields and CRC, and
//! finding the next good one after damage.

use std::time::Duration;

use subunit::constants::{MAX_PACKET_LENGTH, V2_SIGNATURE, VERSION2};
use subunit::types::teststatus::TestStatus;

use super::Status;

/// Why the bytes at some offset are not a valid packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("no packet signature (0xB3)")]
    Signature,
    #[error("packet needs {needed} bytes, only {available} remain")]
    Truncated { needed: usize, available: usize },
    #[error("unsupported protocol version {0:#x}")]
    Version(u8),
    #[error("reserved flag bit is set")]
    ReservedFlag,
    #[error("packet length {0} is shorter than its own header and CRC")]
    TooShort(usize),
    #[error("packet length {0} exceeds the 4 MiB limit")]
    TooLong(usize),
    #[error("{0} runs past the end of the packet")]
    Overrun(&'static str),
    #[error("{0} unused bytes before the CRC")]
    Trailing(usize),
    #[error("bad CRC (stored {stored:#010x}, computed {computed:#010x})")]
    Crc { stored: u32, computed: u32 },
}

/// One decoded packet; byte fields borrow from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub status: Status,
    /// Time since the Unix epoch.
    pub timestamp: Option<Duration>,
    pub test_id: Option<&'a [u8]>,
    pub tags: Vec<&'a [u8]>,
    pub runnable: bool,
    pub mime_type: Option<&'a [u8]>,
    /// File name and this chunk of its content.
    pub file: Option<(&'a [u8], &'a [u8])>,
    pub eof: bool,
    pub route_code: Option<&'a [u8]>,
}

const FLAG_TEST_ID: u16 = 0x0800;
const FLAG_ROUTE_CODE: u16 = 0x0400;
const FLAG_TIMESTAMP: u16 = 0x0200;
const FLAG_RUNNABLE: u16 = 0x0100;
const FLAG_TAGS: u16 = 0x0080;
const FLAG_FILE_CONTENT: u16 = 0x0040;
const FLAG_MIME_TYPE: u16 = 0x0020;
const FLAG_EOF: u16 = 0x0010;
const FLAG_RESERVED: u16 = 0x0008;

/// Reads the packet at the start of `bytes`; returns it and its length.
///
/// Fields are checked before the CRC, so garbage is usually rejected without
/// hashing the megabytes a corrupt length may claim.
pub fn read_packet(bytes: &[u8]) -> Result<(Packet<'_>, usize), PacketError> {
    let truncated = |needed| PacketError::Truncated {
        needed,
        available: bytes.len(),
    };
    match bytes.first() {
        Some(&b) if b == V2_SIGNATURE => {}
        Some(_) => return Err(PacketError::Signature),
        None => return Err(truncated(1)),
    }
    let flags = match bytes.get(1..3) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => return Err(truncated(3)),
    };
    if flags & 0xF000 != VERSION2 {
        return Err(PacketError::Version((flags >> 12) as u8));
    }
    if flags & FLAG_RESERVED != 0 {
        return Err(PacketError::ReservedFlag);
    }
    let width = match bytes.get(3) {
        Some(&b) => number_width(b),
        None => return Err(truncated(4)),
    };
    let length = match bytes.get(3..3 + width) {
        Some(raw) => decode_number(raw) as usize,
        None => return Err(truncated(3 + width)),
    };
    let header = 3 + width;
    if length > MAX_PACKET_LENGTH as usize {
        return Err(PacketError::TooLong(length));
    }
    if length < header + 4 {
        return Err(PacketError::TooShort(length));
    }
    let Some(packet) = bytes.get(..length) else {
        return Err(truncated(length));
    };
    let (body, crc) = packet.split_at(length - 4);
    let mut fields = Fields {
        bytes: body,
        pos: header,
    };
    let mut decoded = Packet {
        status: Status::from(TestStatus::from(flags)),
        timestamp: None,
        test_id: None,
        tags: Vec::new(),
        runnable: flags & FLAG_RUNNABLE != 0,
        mime_type: None,
        file: None,
        eof: flags & FLAG_EOF != 0,
        route_code: None,
    };
    // The order of these reads is the order of the fields on the wire.
    if flags & FLAG_TIMESTAMP != 0 {
        let seconds = fields.take(4, "timestamp")?;
        let seconds = seconds.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let nanos = fields.number("timestamp")?;
        decoded.timestamp = Some(Duration::from_secs(seconds) + Duration::from_nanos(nanos.into()));
    }
    if flags & FLAG_TEST_ID != 0 {
        decoded.test_id = Some(fields.string("test id")?);
    }
    if flags & FLAG_TAGS != 0 {
        let count = fields.number("tags")?;
        for _ in 0..count {
            // Every tag takes at least one byte, so a bogus count fails fast.
            decoded.tags.push(fields.string("tags")?);
        }
    }
    if flags & FLAG_MIME_TYPE != 0 {
        decoded.mime_type = Some(fields.string("mime type")?);
    }
    if flags & FLAG_FILE_CONTENT != 0 {
        let name = fields.string("file name")?;
        let content = fields.string("file content")?;
        decoded.file = Some((name, content));
    }
    if flags & FLAG_ROUTE_CODE != 0 {
        decoded.route_code = Some(fields.string("route code")?);
    }
    if fields.pos != body.len() {
        return Err(PacketError::Trailing(body.len().saturating_sub(fields.pos)));
    }
    let stored = crc.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
    let computed = crc32(body);
    if stored != computed {
        return Err(PacketError::Crc { stored, computed });
    }
    Ok((decoded, length))
}

/// The offset of the next good packet in `bytes` at or after `from`.
///
/// Candidates are tried byte by byte, because a corrupt length says nothing
/// about where the next packet starts. Field checks come before the CRC, so
/// stray 0xB3 bytes in text cost a few comparisons each.
pub(super) fn resync(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = next_signature(bytes, at) {
        if read_packet(bytes.get(found..)?).is_ok() {
            return Some(found);
        }
        at = found + 1;
    }
    None
}

fn next_signature(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.iter()
        .position(|&b| b == V2_SIGNATURE)
        .map(|i| from + i)
}

/// The width in bytes of a variable-length number, from its first byte.
fn number_width(first: u8) -> usize {
    usize::from(first >> 6) + 1
}

/// The value of a variable-length number whose bytes are all present.
fn decode_number(raw: &[u8]) -> u32 {
    raw.iter().enumerate().fold(0u32, |acc, (i, &b)| {
        acc << 8 | u32::from(if i == 0 { b & 0x3F } else { b })
    })
}

/// A cursor over the fields of one packet, bounded by the CRC.
struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PacketError> {
        let end = self.pos.checked_add(n).ok_or(PacketError::Overrun(field))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(PacketError::Overrun(field))?;
        self.pos = end;
        Ok(slice)
    }

    fn number(&mut self, field: &'static str) -> Result<u32, PacketError> {
        let first = *self
            .bytes
            .get(self.pos)
            .ok_or(PacketError::Overrun(field))?;
        let raw = self.take(number_width(first), field)?;
        Ok(decode_number(raw))
    }

    fn string(&mut self, field: &'static str) -> Result<&'a [u8], PacketError> {
        let length = self.number(field)?;
        self.take(length as usize, field)
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
fn crc32(bytes: &[u8]) -> u32 {
    // A u8 index into a 256-entry table cannot be out of bounds.
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_zlib() {
        // zlib.crc32(b"123456789") == 0xCBF43926
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
