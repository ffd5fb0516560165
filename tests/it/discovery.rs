//! Interpreter discovery: requests by version, name and path; the query
//! cache and its invalidation; missing and broken interpreters.

use std::os::unix::fs::PermissionsExt;

use crate::common::{TestContext, manifest, python_version, real_python, stderr};

#[test]
fn each_request_form_finds_the_same_interpreter() {
    let ctx = TestContext::new();
    let version = python_version();
    let python = real_python();
    let requests = [
        version.clone(),
        format!("python{version}"),
        python.to_str().unwrap().to_string(),
    ];
    for (i, request) in requests.iter().enumerate() {
        let name = format!("r{i}");
        ctx.cmd()
            .args(["create", &name, "--python", request])
            .assert()
            .success();
        let m = manifest(&ctx.env_dir(&name));
        assert_eq!(
            m["interpreter"]["executable"],
            python.to_str().unwrap(),
            "{request}"
        );
        assert_eq!(m["interpreter"]["request"], request.as_str());
    }
}

#[test]
fn a_wrapper_script_resolves_to_the_real_executable() {
    let ctx = TestContext::new();
    let wrapper = ctx.work.path().join("mypython");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec {} \"$@\"\n", real_python().display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    ctx.cmd()
        .args(["create", "w", "--python"])
        .arg(&wrapper)
        .assert()
        .success();
    let env = ctx.env_dir("w");
    assert_eq!(
        std::fs::read_link(env.join("bin/python")).unwrap(),
        real_python()
    );
}

#[test]
fn the_query_is_cached_until_the_executable_changes() {
    let ctx = TestContext::new();
    // A copy of the interpreter is a distinct executable with its own cache
    // entry; touching it must invalidate that entry.
    let copy = ctx
        .work
        .path()
        .join("bin")
        .join(format!("python{}", python_version()));
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(real_python(), &copy).unwrap();
    let create = |name: &str| {
        let out = ctx
            .cmd()
            .args(["create", name, "-v", "--python"])
            .arg(&copy)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let canonical = std::fs::canonicalize(&copy).unwrap();
    let first = create("c1");
    assert!(
        first.contains(&format!("interpreter {} (queried)", canonical.display())),
        "{first}"
    );
    let second = create("c2");
    assert!(
        second.contains(&format!(
            "interpreter {} (cached query)",
            canonical.display()
        )),
        "{second}"
    );
    // Same size, new mtime.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let third = create("c3");
    assert!(
        third.contains(&format!("interpreter {} (queried)", canonical.display())),
        "{third}"
    );
    let cache_files = std::fs::read_dir(ctx.home.path().join("cache/interpreters"))
        .unwrap()
        .count();
    assert!(cache_files >= 1);
}

#[test]
fn a_missing_interpreter_lists_what_was_found() {
    let ctx = TestContext::new();
    for request in ["3.99", "python9.9", "/nonexistent/python3"] {
        let out = ctx
            .cmd()
            .args(["create", "m", "--python", request])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{request}");
        let err = stderr(&out);
        let first = err.lines().next().unwrap();
        assert!(
            first.starts_with(&format!(
                "error: no Python interpreter found for `{request}`; found: "
            )),
            "{err}"
        );
        assert!(first.contains(real_python().to_str().unwrap()), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    assert!(!ctx.env_dir("m").exists());
}

#[test]
fn a_broken_interpreter_is_named() {
    let ctx = TestContext::new();
    let broken = ctx.work.path().join("python3");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = ctx
        .cmd()
        .args(["create", "b", "--python"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("is broken"), "{err}");
    assert!(err.contains("init_fs_encoding"), "{err}");
    assert!(!ctx.env_dir("b").exists());
}

/// pyenv's old interpreters on this machine image (CI's too).
const OLD: &[(&str, &str)] = &[
    ("3.6", "/root/.pyenv/versions/3.6.15/bin/python3.6"),
    ("2.7", "/root/.pyenv/versions/2.7.18/bin/python2.7"),
];

#[test]
#[ignore = "needs pyenv's Python 3.6.15 and 2.7.18 (as on CI's machine); run with --ignored"]
fn a_too_old_interpreter_is_found_and_refused_as_too_old() {
    let ctx = TestContext::new();
    for (version, path) in OLD {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is needed by this test"
        );
        // By path, and by version (found among pyenv's versions): both say
        // what was found, its version and why it is refused.
        for request in [*path, *version] {
            let out = ctx
                .cmd()
                .args(["create", "o", "--python", request])
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{request}: {err}");
            assert!(
                err.contains("too old") && err.contains(path) && err.contains(version),
                "{request}: {err}"
            );
            assert!(!ctx.env_dir("o").exists());
        }
    }
}
