//! JUnit XML for the CI systems (Jenkins, GitLab, Zuul's reporters) that read
//! test results in no other format. The output follows the schema Jenkins'
//! xUnit plugin validates against (`fixtures/samples/junit/junit-10.xsd`),
//! and whatever a test printed is escaped so that the file stays well-formed
//! XML 1.0.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::UserError;

use super::results::{RunResults, TestRecord};
use super::subunit::Status;

/// Characters of a failure or skip message attribute; the full text goes in
/// the element body.
const MESSAGE_CHARS: usize = 500;

/// Renders `results` as one `<testsuite>` named `suite_name`.
pub fn render(suite_name: &str, results: &RunResults) -> String {
    let summary = results.summary();
    let errors = count(results, |s| {
        matches!(s, Status::InProgress | Status::Undefined)
    });
    let skipped = count(results, |s| matches!(s, Status::Skip | Status::Exists));
    let failures = summary.failed + summary.uxsuccess;
    let tests = summary.total;
    let time = seconds(summary.duration.as_secs_f64());
    let name = attr(suite_name);

    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time}\">"
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\">"
    );
    for test in &results.tests {
        testcase(&mut xml, suite_name, test);
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn count(results: &RunResults, wanted: impl Fn(Status) -> bool) -> usize {
    results.tests.iter().filter(|t| wanted(t.status)).count()
}

fn testcase(xml: &mut String, suite_name: &str, test: &TestRecord) {
    let (classname, name) = split_id(&test.id, suite_name);
    let _ = write!(
        xml,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(classname),
        attr(&name)
    );
    if let Some(duration) = test.duration() {
        let _ = write!(xml, " time=\"{}\"", seconds(duration.as_secs_f64()));
    }
    let details = test.details.as_str();
    let child = match test.status {
        Status::Success => None,
        Status::Fail => Some(("failure", last_line(details).unwrap_or("test failed"))),
        Status::Uxsuccess => Some((
            "failure",
            "unexpected success: the test passed but was expected to fail",
        )),
        Status::Skip => Some(("skipped", first_line(details).unwrap_or("skipped"))),
        Status::Exists => Some(("skipped", "listed but not run")),
        Status::InProgress => Some(("error", "the test started but never finished")),
        Status::Undefined => Some(("error", "the runner reported no status for this test")),
        Status::Xfail => {
            let _ = write!(
                xml,
                ">\n      <system-out>expected failure\n{}</system-out>\n    </testcase>\n",
                text(details)
            );
            return;
        }
    };
    match child {
        None => xml.push_str("/>\n"),
        Some((element, message)) => {
            let _ = write!(
                xml,
                ">\n      <{element} message=\"{}\"",
                attr(&clip(message))
            );
            if details.is_empty() {
                xml.push_str("/>\n");
            } else {
                let _ = writeln!(xml, ">{}</{element}>", text(details));
            }
            xml.push_str("    </testcase>\n");
        }
    }
}

/// Splits a test id into JUnit's class name and test name.
///
/// `pkg.mod.Class.test_x[id-…,smoke]` gives `pkg.mod.Class` and
/// `test_x[id-…,smoke]`: tempest's attribute suffix may hold dots, so it is
/// set aside before the split. `setUpClass (pkg.mod.Class)`, which unittest
/// reports for class fixtures, gives `pkg.mod.Class` and `setUpClass`.
fn split_id<'a>(id: &'a str, suite_name: &'a str) -> (&'a str, String) {
    if let Some(inner) = id.strip_suffix(')')
        && let Some((fixture, class)) = inner.split_once(" (")
    {
        return (class, fixture.to_string());
    }
    let (base, suffix) = match id.find('[') {
        Some(open) if id.ends_with(']') => id.split_at(open),
        _ => (id, ""),
    };
    match base.rsplit_once('.') {
        Some((class, name)) if !class.is_empty() => (class, format!("{name}{suffix}")),
        _ => (suite_name, id.to_string()),
    }
}

fn first_line(details: &str) -> Option<&str> {
    details.lines().map(str::trim).find(|l| !l.is_empty())
}

/// The exception line of a Python traceback is its last line.
fn last_line(details: &str) -> Option<&str> {
    details.lines().map(str::trim).rfind(|l| !l.is_empty())
}

fn clip(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", message.get(..end).unwrap_or(message)),
        None => message.to_string(),
    }
}

fn seconds(secs: f64) -> String {
    format!("{secs:.3}")
}

fn attr(value: &str) -> String {
    escape(value, true)
}

fn text(value: &str) -> String {
    escape(value, false)
}

/// Escapes markup, and replaces characters XML 1.0 cannot carry at all
/// (most C0 controls, U+FFFE, U+FFFF) with U+FFFD. In attributes, tabs and
/// line breaks become character references, which parsers keep, where they
/// would otherwise turn them into spaces.
fn escape(value: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out
}

/// Write `xml` to `path` (`results --junit`): through a symbolic link to
/// the file it names, which is replaced atomically (the link stays a link);
/// a path that is (or links to) a device, a FIFO, a socket or a directory,
/// or a link to nothing, is refused and left alone.
pub fn write(path: &Path, xml: &str) -> Result<()> {
    let path = std::path::absolute(path)
        .with_context(|| format!("failed to resolve {}", path.display()))?;
    let refuse = |why: String| -> anyhow::Error {
        UserError::new(format!("--junit {}: {why}", path.display()))
            .hint("give --junit the path of a regular file, or of none yet")
            .into()
    };
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(refuse("it names a directory (it ends with `/`)".into()));
    }
    let target = match fs_err::symlink_metadata(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => path.clone(),
        Err(err) => return Err(refuse(format!("cannot be examined: {err}"))),
        Ok(meta) if meta.is_file() => path.clone(),
        Ok(meta) if meta.file_type().is_symlink() => match fs_err::canonicalize(&path) {
            Ok(real) => real,
            Err(_) => {
                return Err(refuse(format!(
                    "it is a symbolic link to {}, which does not exist",
                    fs_err::read_link(&path).unwrap_or_default().display()
                )));
            }
        },
        Ok(meta) => {
            return Err(refuse(format!(
                "it is {}, which JUnit XML would replace",
                crate::input::kind_name(meta.file_type())
            )));
        }
    };
    if let Ok(meta) = fs_err::metadata(&target)
        && !meta.is_file()
    {
        return Err(refuse(format!(
            "it leads to {}, which is {}",
            target.display(),
            crate::input::kind_name(meta.file_type())
        )));
    }
    crate::atomic::write_file(&target, xml.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::subunit::parse;
    use std::path::Path;
    use std::process::Command;

    const FAIL: &[u8] = include_bytes!("../../fixtures/samples/subunit/standin-state-fail.subunit");
    const PYTHON_SUBUNIT: &[u8] =
        include_bytes!("../../fixtures/samples/subunit/python-subunit-run.subunit");

    /// What Python's ElementTree reads back: the suite's attributes, then per
    /// test case its classname, name, and child element tag, message, text.
    const READ_BACK: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1
suite = suites[0]
cases = []
for case in suite.findall("testcase"):
    children = [[c.tag, c.get("message"), c.text] for c in case]
    cases.append([case.get("classname"), case.get("name"), case.get("time"), children])
tests = int(suite.get("tests"))
assert tests == len(cases), (tests, len(cases))
kinds = lambda tag: sum(1 for c in cases for ch in c[3] if ch[0] == tag)
assert int(suite.get("failures")) == kinds("failure")
assert int(suite.get("errors")) == kinds("error")
assert int(suite.get("skipped")) == kinds("skipped")
print(json.dumps({"suite": dict(suite.attrib), "cases": cases}))
"#;

    fn read_back(xml: &str) -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        fs_err::write(&path, xml).unwrap();
        let out = Command::new("python3")
            .args(["-c", READ_BACK])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "ElementTree rejected the XML: {}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        );
        validate_with_xsd(&path);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Validates against Jenkins' schema with xmllint, which `.ci/run`
    /// installs: missing there it fails; elsewhere the structural checks of
    /// `read_back` still run and the schema check is left to CI.
    fn validate_with_xsd(path: &Path) {
        let xsd = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/samples/junit/junit-10.xsd"
        );
        match Command::new("xmllint")
            .args(["--noout", "--schema", xsd])
            .arg(path)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "junit-10.xsd rejects the XML: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("xmllint is missing: .ci/run installs libxml2-utils")
            }
            Err(_) => {}
        }
    }

    fn record(id: &str, status: Status, details: &str) -> TestRecord {
        TestRecord {
            id: id.to_string(),
            status,
            duration_secs: Some(0.25),
            details: details.to_string(),
        }
    }

    #[test]
    fn a_failing_tempest_run() {
        let results = RunResults::from_parsed(&parse(FAIL));
        let parsed = read_back(&render("tempest", &results));
        let suite = &parsed["suite"];
        assert_eq!(suite["name"], "tempest");
        assert_eq!(suite["tests"], "9");
        assert_eq!(suite["failures"], "1");
        assert_eq!(suite["errors"], "0");
        assert_eq!(suite["skipped"], "1");
        let cases = parsed["cases"].as_array().unwrap();
        let victim = cases
            .iter()
            .find(|c| c[1] == "test_waits_for_slow_service")
            .unwrap();
        assert_eq!(
            victim[0],
            "state_victim_tempest_plugin.tests.test_slow_service.SlowServiceTest"
        );
        assert_eq!(victim[3][0][0], "failure");
        assert_eq!(victim[3][0][1], "TimeoutError: timed out");
        assert!(victim[3][0][2].as_str().unwrap().starts_with("Traceback"));
        let skip = cases.iter().find(|c| c[1] == "test_update_group").unwrap();
        assert_eq!(skip[3][0][0], "skipped");
        assert_eq!(
            skip[3][0][1],
            "the fake valet API does not implement group update"
        );
    }

    #[test]
    fn every_outcome_from_python_subunit() {
        let results = RunResults::from_parsed(&parse(PYTHON_SUBUNIT));
        let parsed = read_back(&render("unit", &results));
        assert_eq!(parsed["suite"]["tests"], "5");
        assert_eq!(parsed["suite"]["failures"], "2");
        assert_eq!(parsed["suite"]["skipped"], "1");
        let child = |name: &str| {
            parsed["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[1] == name)
                .unwrap()[3]
                .clone()
        };
        assert_eq!(child("test_pass"), serde_json::json!([]));
        assert_eq!(child("test_unexpected_success")[0][0], "failure");
        let xfail = child("test_expected_failure");
        assert_eq!(xfail[0][0], "system-out");
        assert!(
            xfail[0][2]
                .as_str()
                .unwrap()
                .starts_with("expected failure\nTraceback")
        );
    }

    #[test]
    fn hostile_text_stays_well_formed() {
        let nasty = "<b>&amp; \"quoted\" 'single' ]]> \u{0}\u{1b}[31mred\u{7} \u{FFFE}\r\n\tend";
        let results = RunResults {
            tests: vec![
                record(&format!("pkg.Class.test_{nasty}"), Status::Fail, nasty),
                record("pkg.Class.test_skip", Status::Skip, nasty),
                record("lonely", Status::InProgress, ""),
                record("pkg.Class.test_listed", Status::Exists, ""),
            ],
        };
        let parsed = read_back(&render("suite & <co>", &results));
        assert_eq!(parsed["suite"]["name"], "suite & <co>");
        assert_eq!(parsed["suite"]["errors"], "1");
        assert_eq!(parsed["suite"]["skipped"], "2");
        let kept =
            "<b>&amp; \"quoted\" 'single' ]]> \u{FFFD}\u{FFFD}[31mred\u{FFFD} \u{FFFD}\r\n\tend";
        let cases = parsed["cases"].as_array().unwrap();
        assert_eq!(cases[0][0], "pkg.Class");
        assert_eq!(cases[0][1], format!("test_{kept}"));
        assert_eq!(cases[0][3][0][2], kept);
        assert_eq!(
            cases[1][3][0][1],
            "<b>&amp; \"quoted\" 'single' ]]> \u{FFFD}\u{FFFD}[31mred\u{FFFD} \u{FFFD}"
        );
        assert_eq!(cases[2][0], "suite & <co>");
        assert_eq!(cases[2][1], "lonely");
        assert_eq!(cases[2][3][0][0], "error");
        assert_eq!(cases[3][3][0][1], "listed but not run");
    }

    #[test]
    fn empty_run_is_still_a_document() {
        let parsed = read_back(&render("empty", &RunResults::default()));
        assert_eq!(parsed["suite"]["tests"], "0");
    }

    #[test]
    fn tempest_ids_split_before_their_attribute_suffix() {
        assert_eq!(
            split_id(
                "tempest.api.compute.servers.test_list.ListServersTest.test_list[id-9a438d88-1f8d-4e5b-b6a3-3f1e2c4d5e6f,image.v2,smoke]",
                "s"
            ),
            (
                "tempest.api.compute.servers.test_list.ListServersTest",
                "test_list[id-9a438d88-1f8d-4e5b-b6a3-3f1e2c4d5e6f,image.v2,smoke]".to_string()
            )
        );
        assert_eq!(
            split_id("setUpClass (valet.tests.api.ValetGroupsTest)", "s"),
            ("valet.tests.api.ValetGroupsTest", "setUpClass".to_string())
        );
        assert_eq!(split_id("a.b", "s"), ("a", "b".to_string()));
        assert_eq!(split_id("[x.y]", "s"), ("s", "[x.y]".to_string()));
        assert_eq!(split_id(".x", "s"), ("s", ".x".to_string()));
        assert_eq!(split_id("", "s"), ("s", String::new()));
    }

    #[test]
    fn long_messages_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(MESSAGE_CHARS + 10);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MESSAGE_CHARS + 1);
        assert!(clipped.ends_with('…'));
    }
}
