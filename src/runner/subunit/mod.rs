//! Reading the subunit v2 stream a test runner writes, and folding its
//! packets into one result per test. Runs crash, pipes get cut, and runners
//! print stray bytes into the stream, so [`parse`] never fails: what it cannot
//! read becomes a warning and it resynchronises on the next good packet.
//!
//! The packet reader is our own. The `subunit` crate (0.3.1) panics on hostile
//! input: `Event::deserialize` slices the CRC out of the packet without a
//! bounds check, so the four bytes `b3 20 00 04` abort the process. Its
//! `Scanner` also drops a whole claimed packet on any error, so one corrupt
//! length byte can swallow the packets behind it. We use the crate only
//! where it is safe: its protocol constants and its `TestStatus` mapping of
//! the flag bits, and (in the tests) its writer, as a third producer of
//! streams to read.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use subunit::types::teststatus::TestStatus;

mod packet;
pub mod workers;

use packet::resync;
pub use packet::{Packet, PacketError, read_packet};

/// The outcome of one test, as subunit names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Fail,
    Skip,
    Xfail,
    Uxsuccess,
    Exists,
    InProgress,
    Undefined,
}

impl Status {
    /// Whether this status ends a test (as opposed to announcing it).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Success | Status::Fail | Status::Skip | Status::Xfail | Status::Uxsuccess
        )
    }

    /// Among statuses that do not end a test, the more advanced one wins.
    fn progress(self) -> u8 {
        match self {
            Status::Undefined => 0,
            Status::Exists => 1,
            _ => 2,
        }
    }
}

impl From<TestStatus> for Status {
    fn from(status: TestStatus) -> Self {
        match status {
            TestStatus::Undefined => Status::Undefined,
            TestStatus::Enumeration => Status::Exists,
            TestStatus::InProgress => Status::InProgress,
            TestStatus::Success => Status::Success,
            TestStatus::UnexpectedSuccess => Status::Uxsuccess,
            TestStatus::Skipped => Status::Skip,
            TestStatus::Failed => Status::Fail,
            TestStatus::ExpectedFailure => Status::Xfail,
        }
    }
}

/// One test as the whole stream reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub id: String,
    pub status: Status,
    /// From the `inprogress` timestamp to the one on the final status.
    pub duration: Option<Duration>,
    /// When it started, since the epoch: the `inprogress` timestamp, else
    /// the first timestamp any of its packets carried.
    pub started: Option<Duration>,
    /// Its tags, `worker-N` among them when a runner ran several workers.
    pub tags: Vec<String>,
    /// Text attachments (traceback, skip reason, output), concatenated.
    pub details: String,
}

/// Everything read from a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// In order of first appearance, one per test id; the last final status wins.
    pub tests: Vec<TestResult>,
    /// Damage found in the stream, in stream order.
    pub warnings: Vec<String>,
}

/// Details beyond this many bytes are cut, so a chatty test cannot fill memory.
pub const DETAILS_CAP: usize = 64 * 1024;
const TRUNCATION_NOTE: &str = "\n[details truncated at 64 KiB]";
const MAX_WARNINGS: usize = 100;

/// Reads a whole stream into per-test results; damage becomes warnings.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut tests = Tests::default();
    let mut warnings = Warnings::default();
    let mut packets = 0usize;
    let mut pos = 0usize;
    while let Some(rest) = bytes.get(pos..).filter(|rest| !rest.is_empty()) {
        match read_packet(rest) {
            Ok((packet, length)) => {
                packets += 1;
                tests.apply(&packet, &mut warnings, pos);
                pos += length;
            }
            Err(error) => {
                let next = resync(rest, 1);
                let skipped = next.unwrap_or(rest.len());
                let resumed = pos + skipped;
                warnings.push(match (&error, next) {
                    (PacketError::Signature, Some(_)) => {
                        format!("{skipped} bytes of non-subunit data at byte {pos}, skipped")
                    }
                    (PacketError::Signature, None) => {
                        format!("{skipped} trailing bytes of non-subunit data at byte {pos}")
                    }
                    (PacketError::Truncated { .. }, None) => {
                        format!("stream truncated after {packets} packets: {error} at byte {pos}")
                    }
                    (PacketError::Crc { .. }, Some(_)) => {
                        format!("bad CRC at byte {pos}, resynchronised at byte {resumed}")
                    }
                    (_, Some(_)) => format!(
                        "invalid packet at byte {pos} ({error}), resynchronised at byte {resumed}"
                    ),
                    (_, None) => format!(
                        "invalid packet at byte {pos} ({error}); the remaining {skipped} bytes are unreadable"
                    ),
                });
                pos = resumed;
            }
        }
    }
    Parsed {
        tests: tests.finish(),
        warnings: warnings.finish(),
    }
}

/// Warnings, bounded so a stream of pure garbage cannot grow them without end.
#[derive(Default)]
struct Warnings {
    kept: Vec<String>,
    dropped: usize,
}

impl Warnings {
    fn push(&mut self, warning: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(warning);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept
                .push(format!("{} more warnings not shown", self.dropped));
        }
        self.kept
    }
}

/// The state of one test while its packets arrive.
struct Entry {
    id: String,
    status: Status,
    started: Option<Duration>,
    /// The first timestamp seen, for a test with no `inprogress` one.
    first_seen: Option<Duration>,
    duration: Option<Duration>,
    tags: Vec<String>,
    details: Vec<u8>,
    truncated: bool,
    /// The attachment the last appended chunk belonged to.
    last_file: Option<Vec<u8>>,
    /// Whether each named attachment is text, from the first MIME type seen.
    file_is_text: HashMap<Vec<u8>, bool>,
}

#[derive(Default)]
struct Tests {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl Tests {
    fn apply(&mut self, packet: &Packet<'_>, warnings: &mut Warnings, pos: usize) {
        // Packets without a test id carry run-wide output; no test owns them.
        let Some(raw_id) = packet.test_id else {
            return;
        };
        let id = lossy(raw_id, "test id", pos, warnings);
        let slot = match self.index.get(&id) {
            Some(&slot) => slot,
            None => {
                self.index.insert(id.clone(), self.entries.len());
                self.entries.push(Entry {
                    id,
                    status: Status::Undefined,
                    started: None,
                    first_seen: None,
                    duration: None,
                    tags: Vec::new(),
                    details: Vec::new(),
                    truncated: false,
                    last_file: None,
                    file_is_text: HashMap::new(),
                });
                self.entries.len() - 1
            }
        };
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        for raw_tag in &packet.tags {
            let tag = lossy(raw_tag, "tag", pos, warnings);
            if !entry.tags.contains(&tag) {
                entry.tags.push(tag);
            }
        }
        if let Some((name, content)) = packet.file {
            entry.attach(name, packet.mime_type, content);
        }
        let status = packet.status;
        entry.first_seen = entry.first_seen.or(packet.timestamp);
        if status == Status::InProgress {
            entry.started = packet.timestamp.or(entry.started);
        }
        if status.is_final() {
            entry.status = status;
            entry.duration = match (entry.started, packet.timestamp) {
                (Some(start), Some(end)) => end.checked_sub(start),
                _ => None,
            };
        } else if !entry.status.is_final() && status.progress() > entry.status.progress() {
            entry.status = status;
        }
    }

    fn finish(self) -> Vec<TestResult> {
        self.entries.into_iter().map(Entry::finish).collect()
    }
}

impl Entry {
    fn attach(&mut self, name: &[u8], mime_type: Option<&[u8]>, content: &[u8]) {
        let is_text = *self
            .file_is_text
            .entry(name.to_vec())
            .or_insert_with(|| mime_type.is_none_or(is_text_mime));
        if !is_text || content.is_empty() {
            return;
        }
        let continues = self.last_file.as_deref() == Some(name);
        if !continues && !self.details.is_empty() && !self.details.ends_with(b"\n") {
            self.push_details(b"\n");
        }
        self.last_file = Some(name.to_vec());
        self.push_details(content);
    }

    fn push_details(&mut self, bytes: &[u8]) {
        let room = DETAILS_CAP.saturating_sub(self.details.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.details
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }

    fn finish(self) -> TestResult {
        let mut details = String::from_utf8_lossy(&self.details).into_owned();
        // Replacement characters can lengthen the text past the cap.
        if self.truncated || details.len() > DETAILS_CAP {
            let mut cut = DETAILS_CAP - TRUNCATION_NOTE.len();
            while !details.is_char_boundary(cut) {
                cut -= 1;
            }
            details.truncate(cut);
            details.push_str(TRUNCATION_NOTE);
        }
        TestResult {
            id: self.id,
            status: self.status,
            duration: self.duration,
            started: self.started.or(self.first_seen),
            tags: self.tags,
            details,
        }
    }
}

fn is_text_mime(mime: &[u8]) -> bool {
    mime.get(..5)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"text/"))
}

fn lossy(raw: &[u8], what: &str, pos: usize, warnings: &mut Warnings) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) => text.to_string(),
        Err(_) => {
            warnings.push(format!("{what} in packet at byte {pos} is not UTF-8"));
            String::from_utf8_lossy(raw).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subunit::serialize::Serializable;
    use subunit::types::event::Event;
    use subunit::types::number::SubunitNumber;
    use subunit::types::timestamp::Timestamp;

    const ALL_PASS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/standin-all-pass.subunit"
    ));
    const SKIP: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/standin-valet-skip.subunit"
    ));
    const FAIL: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/standin-state-fail.subunit"
    ));
    const PYTHON_SUBUNIT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/python-subunit-run.subunit"
    ));
    const STESTR: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/samples/subunit/stestr-run.subunit"
    ));
    const SAMPLES: [&[u8]; 5] = [ALL_PASS, SKIP, FAIL, PYTHON_SUBUNIT, STESTR];

    const VALET: &str = "valet.tests.tempest.tests.api.test_groups.ValetGroupsTest.";
    const VICTIM: &str = "state_victim_tempest_plugin.tests.test_slow_service.SlowServiceTest.test_waits_for_slow_service";

    fn find<'a>(parsed: &'a Parsed, id: &str) -> &'a TestResult {
        parsed
            .tests
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("{id} not in {:?}", parsed.tests))
    }

    /// The byte ranges of the packets of a clean stream.
    fn packets(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut ranges = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let (_, len) = read_packet(&bytes[pos..]).unwrap();
            ranges.push(pos..pos + len);
            pos += len;
        }
        ranges
    }

    fn event(status: TestStatus, id: &str, seconds: u32, nanos: u32) -> Event {
        let mut event = Event::new(status).test_id(id).runnable().build();
        event.timestamp = Some(Timestamp {
            seconds,
            nanoseconds: SubunitNumber::new(nanos).unwrap(),
        });
        event
    }

    fn write(events: &[Event]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in events {
            e.serialize(&mut out).unwrap();
        }
        out
    }

    #[test]
    fn reads_the_spec_example_packet() {
        let bytes = b"\xb3\x29\x01\x0c\x03foo\x08\x55\x5f\x1b";
        let (packet, len) = read_packet(bytes).unwrap();
        assert_eq!(len, 12);
        assert_eq!(packet.status, Status::Exists);
        assert_eq!(packet.test_id, Some(&b"foo"[..]));
        assert!(packet.runnable);
    }

    #[test]
    fn standin_all_passing() {
        let parsed = parse(ALL_PASS);
        assert_eq!(parsed.warnings, Vec::<String>::new());
        assert_eq!(parsed.tests.len(), 6);
        assert_eq!(
            parsed.tests[0].id,
            "tempest.tests.test_standin.TestStandin.test_config_defaults"
        );
        for test in &parsed.tests {
            assert_eq!(test.status, Status::Success, "{}", test.id);
            assert!(test.duration.is_some(), "{}", test.id);
            assert_eq!(test.tags, ["worker-0"]);
            assert_eq!(test.details, "");
        }
    }

    #[test]
    fn standin_skip_keeps_the_reason() {
        let parsed = parse(SKIP);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let ids: Vec<&str> = parsed.tests.iter().map(|t| t.id.as_str()).collect();
        let expected: Vec<String> = [
            "create_group",
            "delete_group",
            "list_groups",
            "timeout_option",
            "update_group",
        ]
        .iter()
        .map(|t| format!("{VALET}test_{t}"))
        .collect();
        assert_eq!(ids, expected);
        let skipped = find(&parsed, &format!("{VALET}test_update_group"));
        assert_eq!(skipped.status, Status::Skip);
        assert_eq!(
            skipped.details,
            "the fake valet API does not implement group update"
        );
    }

    #[test]
    fn standin_failure_carries_the_traceback() {
        let parsed = parse(FAIL);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.tests.len(), 9);
        let victim = find(&parsed, VICTIM);
        assert_eq!(victim.status, Status::Fail);
        assert!(
            victim
                .details
                .starts_with("Traceback (most recent call last):\n")
        );
        assert!(victim.details.contains("TimeoutError: timed out"));
        assert!(
            victim
                .duration
                .is_some_and(|d| d > Duration::from_micros(100))
        );
        let statuses: Vec<Status> = parsed.tests.iter().map(|t| t.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == Status::Success).count(),
            7
        );
        assert_eq!(statuses.iter().filter(|s| **s == Status::Skip).count(), 1);
    }

    fn assert_sample_cases(parsed: &Parsed) {
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let status = |name: &str| find(parsed, &format!("test_sample.SampleCases.{name}")).status;
        assert_eq!(status("test_pass"), Status::Success);
        assert_eq!(status("test_fail"), Status::Fail);
        assert_eq!(status("test_skip"), Status::Skip);
        assert_eq!(status("test_expected_failure"), Status::Xfail);
        assert_eq!(status("test_unexpected_success"), Status::Uxsuccess);
        assert_eq!(parsed.tests.len(), 5);
        assert!(parsed.tests.iter().all(|t| t.duration.is_some()));
        let fail = find(parsed, "test_sample.SampleCases.test_fail");
        assert!(
            fail.details
                .starts_with("Traceback (most recent call last):\n")
        );
        assert!(
            fail.details
                .contains("AssertionError: 'expected' != 'actual'")
        );
        let skip = find(parsed, "test_sample.SampleCases.test_skip");
        assert_eq!(skip.details, "not applicable here");
    }

    #[test]
    fn python_subunit_stream() {
        assert_sample_cases(&parse(PYTHON_SUBUNIT));
    }

    #[test]
    fn stestr_stream_with_two_workers_and_chunked_tracebacks() {
        let parsed = parse(STESTR);
        assert_sample_cases(&parsed);
        let workers: Vec<&str> = parsed
            .tests
            .iter()
            .flat_map(|t| &t.tags)
            .map(String::as_str)
            .collect();
        assert!(workers.contains(&"worker-0") && workers.contains(&"worker-1"));
        // The traceback is split over several chunks; no separator sneaks in.
        let xfail = find(&parsed, "test_sample.SampleCases.test_expected_failure");
        assert!(
            xfail
                .details
                .contains("line 18, in test_expected_failure\n    self.assertTrue(False)\n")
        );
    }

    #[test]
    fn stream_from_the_rust_writer() {
        let mut traceback = Event::new(TestStatus::Undefined)
            .test_id("pkg.T.test_b")
            .mime_type("text/plain;charset=utf8")
            .file_content("traceback", b"Traceback: boom\n")
            .end_of_file()
            .build();
        traceback.tags = Some(vec!["worker-3".into()]);
        let stream = write(&[
            event(TestStatus::Enumeration, "pkg.T.test_a", 10, 0),
            event(TestStatus::InProgress, "pkg.T.test_a", 10, 0),
            event(TestStatus::Success, "pkg.T.test_a", 11, 500_000_000),
            event(TestStatus::InProgress, "pkg.T.test_b", 12, 0),
            traceback,
            event(TestStatus::Failed, "pkg.T.test_b", 12, 250),
            Event::new(TestStatus::Undefined)
                .file_content("stdout", b"run-wide")
                .build(),
        ]);
        let parsed = parse(&stream);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.tests.len(), 2);
        assert_eq!(parsed.tests[0].status, Status::Success);
        assert_eq!(parsed.tests[0].duration, Some(Duration::from_millis(1500)));
        assert_eq!(parsed.tests[1].status, Status::Fail);
        assert_eq!(parsed.tests[1].duration, Some(Duration::from_nanos(250)));
        assert_eq!(parsed.tests[1].tags, ["worker-3"]);
        assert_eq!(parsed.tests[1].details, "Traceback: boom\n");
    }

    #[test]
    fn the_last_final_status_wins_and_progress_does_not_undo_it() {
        let stream = write(&[
            event(TestStatus::InProgress, "t", 1, 0),
            event(TestStatus::Success, "t", 2, 0),
            event(TestStatus::InProgress, "t", 3, 0),
            event(TestStatus::Failed, "t", 5, 0),
            event(TestStatus::InProgress, "t", 6, 0),
            event(TestStatus::Enumeration, "u", 6, 0),
            event(TestStatus::InProgress, "v", 6, 0),
            event(TestStatus::Enumeration, "v", 7, 0),
        ]);
        let parsed = parse(&stream);
        assert_eq!(parsed.tests[0].status, Status::Fail);
        assert_eq!(parsed.tests[0].duration, Some(Duration::from_secs(2)));
        assert_eq!(parsed.tests[1].status, Status::Exists);
        assert_eq!(parsed.tests[1].duration, None);
        assert_eq!(parsed.tests[2].status, Status::InProgress);
    }

    #[test]
    fn details_are_joined_across_chunks_and_capped() {
        let chunk = |bytes: &[u8], name: &str| {
            Event::new(TestStatus::Undefined)
                .test_id("t")
                .file_content(name, bytes)
                .build()
        };
        // "é" split between two chunks of one attachment is still "é".
        let parsed = parse(&write(&[
            chunk(b"caf\xc3", "reason"),
            chunk(b"\xa9", "reason"),
            chunk(b"second", "stdout"),
            Event::new(TestStatus::Undefined)
                .test_id("t")
                .mime_type("application/octet-stream")
                .file_content("core", b"\x00\x01binary")
                .build(),
        ]));
        assert_eq!(parsed.tests[0].details, "café\nsecond");

        let big = vec![b'x'; 60 * 1024];
        let parsed = parse(&write(&[chunk(&big, "log"), chunk(&big, "log")]));
        let details = &parsed.tests[0].details;
        assert_eq!(details.len(), DETAILS_CAP);
        assert!(details.ends_with(TRUNCATION_NOTE));

        // Invalid UTF-8 becomes replacement characters and the cap still holds.
        let parsed = parse(&write(&[
            chunk(&vec![0xff; 60 * 1024], "log"),
            chunk(&big, "log"),
        ]));
        assert!(parsed.tests[0].details.len() <= DETAILS_CAP);
        assert!(parsed.tests[0].details.starts_with('\u{FFFD}'));
    }

    #[test]
    fn truncated_streams_keep_the_finished_tests() {
        let ranges = packets(FAIL);
        let victim_fail = ranges
            .iter()
            .position(|r| {
                let (p, _) = read_packet(&FAIL[r.clone()]).unwrap();
                p.status == Status::Fail
            })
            .unwrap();
        let cut = ranges[victim_fail].start + 5;
        let parsed = parse(&FAIL[..cut]);
        assert_eq!(
            parsed.warnings,
            [format!(
                "stream truncated after {victim_fail} packets: packet needs {} bytes, only 5 remain at byte {}",
                ranges[victim_fail].len(),
                ranges[victim_fail].start
            )]
        );
        assert_eq!(find(&parsed, VICTIM).status, Status::InProgress);
        assert!(find(&parsed, VICTIM).details.contains("timed out"));
        assert_eq!(parsed.tests.len(), 4);

        // Every prefix of every sample parses without panicking, and a cut on
        // a packet boundary is no damage at all.
        for sample in SAMPLES {
            let bounds: Vec<usize> = packets(sample).iter().map(|r| r.end).collect();
            for end in 0..=sample.len() {
                let parsed = parse(&sample[..end]);
                assert_eq!(
                    parsed.warnings.is_empty(),
                    end == 0 || bounds.contains(&end),
                    "cut at {end}: {:?}",
                    parsed.warnings
                );
            }
        }
    }

    #[test]
    fn garbage_between_packets_is_skipped() {
        for sample in SAMPLES {
            let ranges = packets(sample);
            let middle = ranges[ranges.len() / 2].start;
            let noise: &[u8] = b"Traceback printed to stdout \xb3\x2f oops\n\xb3";
            let mut damaged = sample[..middle].to_vec();
            damaged.extend_from_slice(noise);
            damaged.extend_from_slice(&sample[middle..]);
            damaged.extend_from_slice(b"trailing noise");
            let parsed = parse(&damaged);
            assert_eq!(parsed.tests, parse(sample).tests);
            assert_eq!(
                parsed.warnings,
                [
                    format!(
                        "{} bytes of non-subunit data at byte {middle}, skipped",
                        noise.len()
                    ),
                    format!(
                        "14 trailing bytes of non-subunit data at byte {}",
                        sample.len() + noise.len()
                    ),
                ]
            );
        }
    }

    #[test]
    fn a_bad_crc_loses_one_packet_only() {
        let ranges = packets(FAIL);
        let (index, range) = ranges
            .iter()
            .enumerate()
            .find(|(_, r)| read_packet(&FAIL[(*r).clone()]).unwrap().0.status == Status::Fail)
            .unwrap();
        let mut damaged = FAIL.to_vec();
        damaged[range.start + 10] ^= 0x20; // a letter of the test id
        let parsed = parse(&damaged);
        assert_eq!(
            parsed.warnings,
            [format!(
                "bad CRC at byte {}, resynchronised at byte {}",
                range.start, range.end
            )]
        );
        assert_eq!(find(&parsed, VICTIM).status, Status::InProgress);
        assert_eq!(parsed.tests.len(), 9);
        assert!(index > 0);

        // A corrupt length byte: resynchronisation finds the next packet.
        let mut damaged = FAIL.to_vec();
        damaged[range.start + 3] = 0x05;
        let parsed = parse(&damaged);
        assert!(parsed.warnings[0].starts_with(&format!("invalid packet at byte {}", range.start)));
        assert!(parsed.warnings[0].ends_with(&format!("resynchronised at byte {}", range.end)));
        assert_eq!(parsed.tests.len(), 9);
    }

    #[test]
    fn hostile_packets_are_errors_not_panics() {
        // This one panics inside the subunit crate.
        assert_eq!(
            read_packet(b"\xb3\x20\x00\x04"),
            Err(PacketError::TooShort(4))
        );
        assert_eq!(
            read_packet(b"\xb3\x20\x00\xff\xff\xff\xff"),
            Err(PacketError::TooLong(0x3fff_ffff))
        );
        assert_eq!(
            read_packet(b"\xb3\x20\x00\xc0\x3f\xff\xff"),
            Err(PacketError::Truncated {
                needed: 0x3fffff,
                available: 7
            })
        );
        assert_eq!(
            read_packet(b"\xb3\x30\x00\x08\0\0\0\0"),
            Err(PacketError::Version(3))
        );
        assert_eq!(
            read_packet(b"\xb3\x20\x08\x08\0\0\0\0"),
            Err(PacketError::ReservedFlag)
        );
        // Test id claims 63 bytes in a packet that has none.
        assert_eq!(
            read_packet(b"\xb3\x28\x00\x09\x3f\0\0\0\0"),
            Err(PacketError::Overrun("test id"))
        );
        assert_eq!(
            read_packet(b"\xb3\x20\x00\x09\x00\0\0\0\0"),
            Err(PacketError::Trailing(1))
        );
        assert!(matches!(
            read_packet(b"\xb3\x20\x00\x08\0\0\0\0"),
            Err(PacketError::Crc { stored: 0, .. })
        ));
        // A tag count of a billion in a small packet.
        assert_eq!(
            read_packet(b"\xb3\x20\x80\x0e\xff\xff\xff\xff\x01a\0\0\0\0"),
            Err(PacketError::Overrun("tags"))
        );
        let parsed = parse(b"\xb3\x20\x00\x04");
        assert!(parsed.tests.is_empty());
        assert_eq!(parsed.warnings.len(), 1);
    }

    #[test]
    fn mutated_and_random_input_never_panics() {
        // Every byte of every sample, set to values that matter to the reader.
        for sample in SAMPLES {
            for at in 0..sample.len() {
                for value in [0x00, 0x40, 0xb3, 0xff] {
                    let mut damaged = sample.to_vec();
                    damaged[at] = value;
                    let parsed = parse(&damaged);
                    assert!(parsed.tests.len() <= 16);
                }
            }
        }
        // Pseudo-random bytes, rich in signatures.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let len = (state % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state.is_multiple_of(5) {
                        0xb3
                    } else {
                        (state >> 32) as u8
                    }
                })
                .collect();
            let parsed = parse(&bytes);
            assert!(parsed.warnings.len() <= MAX_WARNINGS + 1);
        }
    }

    #[test]
    fn status_serialises_lowercase() {
        let json =
            serde_json::to_string(&[Status::InProgress, Status::Uxsuccess, Status::Xfail]).unwrap();
        assert_eq!(json, r#"["inprogress","uxsuccess","xfail"]"#);
    }
}
