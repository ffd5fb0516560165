//! The Python scripts the binary embeds live in `src/python/`, each with the
//! oldest Python it promises to run on (pinned for the linter in
//! `src/python/ruff.toml`). Here each is compiled by that very interpreter
//! (pyenv's, on CI's machine image) and by every newer one found, and
//! `query.py`, which is cheap to run, is run by the oldest ones: Python 2.7
//! must be told "too old", 3.6 must describe itself completely.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every embedded script, and the oldest Python it promises: `query.py`
/// runs in any interpreter tempest-env is pointed at (it must at least
/// compile on 2.7 to say "too old"); the others run in environments, whose
/// Python is at least `interpreter::MIN_VERSION`.
const SCRIPTS: &[(&str, (u32, u32))] = &[
    ("query.py", (2, 7)),
    ("load_check.py", (3, 8)),
    ("fork_server.py", (3, 8)),
];

/// pyenv's interpreters on this machine image (CI's too), oldest first.
const PYENV: &[((u32, u32), &str)] = &[
    ((2, 7), "/root/.pyenv/versions/2.7.18/bin/python2.7"),
    ((3, 6), "/root/.pyenv/versions/3.6.15/bin/python3.6"),
    ((3, 7), "/root/.pyenv/versions/3.7.16/bin/python3.7"),
    ((3, 8), "/root/.pyenv/versions/3.8.18/bin/python3.8"),
    ((3, 9), "/root/.pyenv/versions/3.9.18/bin/python3.9"),
    ((3, 10), "/root/.pyenv/versions/3.10.13/bin/python3.10"),
    ((3, 11), "/root/.pyenv/versions/3.11.7/bin/python3.11"),
    ((3, 12), "/root/.pyenv/versions/3.12.1/bin/python3.12"),
    ((3, 13), "/root/.pyenv/versions/3.13.0/bin/python3.13"),
];

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/python")
}

fn pyenv(version: (u32, u32)) -> &'static str {
    PYENV.iter().find(|(v, _)| *v == version).unwrap().1
}

/// Compile `script` with `python` (nothing written: `compile()`, not
/// `py_compile`); its error output if it does not compile.
fn compiles(python: &str, script: &Path) -> Result<(), String> {
    let out = Command::new(python)
        .args([
            "-E",
            "-s",
            "-c",
            "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')",
        ])
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Run `query.py` as tempest-env does (`python -I -B -c SCRIPT`; Python 2,
/// which has no `-I` and so is told apart by its `--version` there, with
/// `-E -s`); its JSON.
fn query(python: &str, version: (u32, u32)) -> serde_json::Value {
    let script = std::fs::read_to_string(scripts_dir().join("query.py")).unwrap();
    let isolated: &[&str] = if version.0 < 3 {
        &["-E", "-s"]
    } else {
        &["-I"]
    };
    let out = Command::new(python)
        .args(isolated)
        .args(["-B", "-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "{python}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{python}: the answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn every_embedded_script_is_in_src_python_with_its_oldest_python() {
    let mut found: Vec<String> = std::fs::read_dir(scripts_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "src/python/ and SCRIPTS differ");
    // Nothing embeds a script from elsewhere.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for path in crate::common::files_under(&src) {
        if path.extension().is_some_and(|e| e == "py") {
            assert!(
                path.starts_with(scripts_dir()),
                "{} is outside src/python/",
                path.display()
            );
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("include_str!(\"") {
                let arg = &text[at + "include_str!(\"".len()..];
                let arg = &arg[..arg.find('"').unwrap()];
                if arg.ends_with(".py") {
                    let target = path.parent().unwrap().join(arg);
                    assert!(
                        target.canonicalize().unwrap().starts_with(scripts_dir()),
                        "{} embeds {arg}, outside src/python/",
                        path.display()
                    );
                }
            }
        }
    }
    // The linter is pinned to the same versions.
    let ruff = std::fs::read_to_string(scripts_dir().join("ruff.toml")).unwrap();
    assert!(ruff.contains("target-version = \"py38\""), "{ruff}");
    assert!(ruff.contains("\"query.py\" = \"py37\""), "{ruff}");
}

#[test]
#[ignore = "needs pyenv's Python 2.7.18, 3.6.15 and 3.8.18 to 3.13.0 (as on CI's machine); run with --ignored"]
fn every_embedded_script_compiles_on_its_oldest_python_and_every_newer_one() {
    for (name, oldest) in SCRIPTS {
        let script = scripts_dir().join(name);
        assert!(
            Path::new(pyenv(*oldest)).exists(),
            "{} is needed by this test",
            pyenv(*oldest)
        );
        for (version, python) in PYENV.iter().filter(|(v, _)| v >= oldest) {
            if *version != *oldest && !Path::new(python).exists() {
                continue;
            }
            if let Err(err) = compiles(python, &script) {
                panic!("{name} does not compile on Python {version:?} ({python}):\n{err}");
            }
        }
    }
}

#[test]
#[ignore = "needs pyenv's Python 2.7.18, 3.6.15 and 3.8.18 (as on CI's machine); run with --ignored"]
fn the_query_says_too_old_on_python_2_and_describes_python_3_6_and_3_8() {
    let old = query(pyenv((2, 7)), (2, 7));
    assert_eq!(old["too_old"], "2.7.18", "{old}");
    assert!(
        old["executable"]
            .as_str()
            .is_some_and(|e| e.ends_with("python2.7")),
        "{old}"
    );
    for (version, full) in [((3, 6), "3.6.15"), ((3, 8), "3.8.18")] {
        let answer = query(pyenv(version), version);
        assert!(answer.get("too_old").is_none(), "{answer}");
        let info: tempest_env::interpreter::InterpreterInfo =
            serde_json::from_value(answer.clone())
                .unwrap_or_else(|e| panic!("{full}: the answer is incomplete ({e}): {answer}"));
        assert_eq!(info.version, full);
        assert_eq!((info.version_info.0, info.version_info.1), version);
        assert_eq!(info.markers["python_full_version"], full);
        assert!(
            info.executable
                .ends_with(format!("python{}.{}", version.0, version.1))
        );
    }
}
