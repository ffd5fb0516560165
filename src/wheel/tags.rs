//! The platform compatibility tags an interpreter accepts, in priority order,
//! generated the way pip 26.3 (through `packaging.tags.sys_tags`) does on
//! Linux.
//! Installing a wheel natively means deciding, as pip would, whether its file
//! name fits the interpreter and which of several candidate wheels fits best.

use std::collections::HashMap;

use crate::wheel::filename::WheelFilename;

/// glibc minor versions with a legacy manylinux alias (PEP 513, 571, 599).
const LEGACY_MANYLINUX: [(u32, &str); 3] = [
    (17, "manylinux2014"),
    (12, "manylinux2010"),
    (5, "manylinux1"),
];

/// Any glibc minor above this is taken as a garbled version rather than
/// generating thousands of tags for it.
const MAX_LIBC_MINOR: u32 = 999;

/// How many older Python minor versions are listed at most, so a garbled
/// version such as `3.4294967295` cannot produce billions of tags.
const MAX_OLDER_MINORS: u32 = 200;

/// The ordered tags one interpreter supports; index 0 is the most preferred.
#[derive(Debug, Clone)]
pub struct Tags {
    ordered: Vec<(String, String, String)>,
    priority: HashMap<(String, String, String), usize>,
}

impl Tags {
    /// `implementation` is `sys.implementation.name` (`cpython`), `abiflags`
    /// is `sys.abiflags` (`""`, `"d"`, `"t"`), `platform` is
    /// `sysconfig.get_platform()` (`linux-x86_64`) and `libc` is
    /// `platform.libc_ver()`-like (`("glibc", "2.36")`, `("musl", "1.2")`).
    /// An unknown libc or an unreadable libc version yields no manylinux or
    /// musllinux tags, only `linux_<arch>`.
    pub fn new(
        implementation: &str,
        version: (u32, u32),
        abiflags: &str,
        platform: &str,
        libc: (&str, &str),
    ) -> Self {
        let platforms = platform_tags(platform, libc);
        let (major, minor) = version;
        let mut ordered = Vec::new();
        let mut push = |py: &str, abi: &str, plat: &str| {
            ordered.push((py.to_string(), abi.to_string(), plat.to_string()));
        };

        let interpreter = match implementation {
            "cpython" => {
                let interpreter = format!("cp{major}{minor}");
                let threaded = abiflags.contains('t');
                let mut abis = vec![format!("{interpreter}{abiflags}")];
                if (major, minor) >= (3, 8) && abiflags.contains('d') {
                    // A debug build also loads the ordinary extension modules.
                    abis.push(format!("{interpreter}{}", if threaded { "t" } else { "" }));
                }
                // Free-threaded builds have their own stable ABI (PEP 803).
                let stable = if threaded { "abi3t" } else { "abi3" };
                let use_stable = (major, minor) >= (3, 2);
                for abi in &abis {
                    for plat in &platforms {
                        push(&interpreter, abi, plat);
                    }
                }
                if use_stable {
                    for plat in &platforms {
                        push(&interpreter, stable, plat);
                    }
                }
                for plat in &platforms {
                    push(&interpreter, "none", plat);
                }
                if use_stable {
                    for older in (minor.saturating_sub(MAX_OLDER_MINORS).max(2)..minor).rev() {
                        for plat in &platforms {
                            push(&format!("cp{major}{older}"), stable, plat);
                        }
                    }
                }
                interpreter
            }
            other => {
                // Interpreters without a known ABI tag: only `none` wheels of
                // their own interpreter tag, then the generic ones below.
                let interpreter = format!("{}{major}{minor}", short_name(other));
                for plat in &platforms {
                    push(&interpreter, "none", plat);
                }
                interpreter
            }
        };

        let py_versions = py_range(major, minor);
        for py in &py_versions {
            for plat in &platforms {
                push(py, "none", plat);
            }
        }
        push(&interpreter, "none", "any");
        for py in &py_versions {
            push(py, "none", "any");
        }

        let mut priority = HashMap::with_capacity(ordered.len());
        for (index, tag) in ordered.iter().enumerate() {
            priority.entry(tag.clone()).or_insert(index);
        }
        Self { ordered, priority }
    }

    /// The best (lowest) priority index among the wheel's tags, or `None`
    /// when no tag of the wheel is supported.
    pub fn compatibility(&self, wheel: &WheelFilename) -> Option<usize> {
        wheel
            .tags()
            .into_iter()
            .filter_map(|tag| self.priority.get(&tag).copied())
            .min()
    }

    /// The first `n` tags as `python-abi-platform`, for error messages.
    pub fn sample(&self, n: usize) -> Vec<String> {
        self.ordered
            .iter()
            .take(n)
            .map(|(py, abi, plat)| format!("{py}-{abi}-{plat}"))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

/// `packaging.tags.interpreter_name`: the short form of an implementation.
fn short_name(implementation: &str) -> String {
    match implementation {
        "cpython" => "cp".to_string(),
        "pypy" => "pp".to_string(),
        "ironpython" => "ip".to_string(),
        "jython" => "jy".to_string(),
        other => other.to_string(),
    }
}

/// `pyXY`, `pyX`, then `pyX(Y-1)` down to `pyX0`.
fn py_range(major: u32, minor: u32) -> Vec<String> {
    let mut out = vec![format!("py{major}{minor}"), format!("py{major}")];
    out.extend(
        (minor.saturating_sub(MAX_OLDER_MINORS)..minor)
            .rev()
            .map(|m| format!("py{major}{m}")),
    );
    out
}

/// The platform tags, best first: for Linux `linux_<arch>` (a wheel built on
/// this very system; packaging 26.3 ranks it first), then the manylinux or
/// musllinux tags the libc allows, newest first; elsewhere the normalized
/// platform alone.
fn platform_tags(platform: &str, libc: (&str, &str)) -> Vec<String> {
    let normalized: String = platform
        .chars()
        .map(|c| if c == '-' || c == '.' { '_' } else { c })
        .collect();
    let Some(arch) = normalized.strip_prefix("linux_") else {
        return vec![normalized];
    };
    let archs: Vec<&str> = if arch == "armv8l" {
        vec!["armv8l", "armv7l"]
    } else {
        vec![arch]
    };
    let mut out: Vec<String> = archs.iter().map(|arch| format!("linux_{arch}")).collect();
    let libc_version = parse_libc_version(libc.1);
    match (libc.0, libc_version) {
        ("glibc", Some((2, libc_minor))) => {
            for arch in &archs {
                // x86 wheels go back to manylinux1 (glibc 2.5); other
                // architectures were first defined by manylinux2014 (2.17).
                let oldest = if matches!(*arch, "x86_64" | "i686") {
                    5
                } else {
                    17
                };
                for minor in (oldest..=libc_minor).rev() {
                    out.push(format!("manylinux_2_{minor}_{arch}"));
                    if let Some((_, legacy)) = LEGACY_MANYLINUX.iter().find(|(m, _)| *m == minor) {
                        out.push(format!("{legacy}_{arch}"));
                    }
                }
            }
        }
        ("musl", Some((major, libc_minor))) => {
            for arch in &archs {
                for minor in (0..=libc_minor).rev() {
                    out.push(format!("musllinux_{major}_{minor}_{arch}"));
                }
            }
        }
        _ => {}
    }
    out
}

/// `"2.36"` → `(2, 36)`; trailing parts (`"2.36.1"`) are ignored.
fn parse_libc_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    (minor <= MAX_LIBC_MINOR).then_some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../../fixtures/samples/dist-info/wheel-filenames.txt");
    /// `packaging.tags.sys_tags()` (pip 26.3) on CPython 3.11.7, glibc 2.36.
    const PIP_SYS_TAGS: &str =
        include_str!("../../fixtures/samples/tags/cpython-3.11.7-linux-x86_64-glibc-2.36.txt");

    fn cp311() -> Tags {
        Tags::new("cpython", (3, 11), "", "linux-x86_64", ("glibc", "2.36"))
    }

    fn check(tags: &Tags, file: &str) -> Option<usize> {
        tags.compatibility(&WheelFilename::parse(file).unwrap())
    }

    #[test]
    fn cpython_311_glibc_236_accepts() {
        let tags = cp311();
        for file in [
            "x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "x-1-cp37-abi3-manylinux2014_x86_64.whl",
            "x-1-py3-none-any.whl",
            "x-1-py2.py3-none-any.whl",
            "x-1-cp311-none-any.whl",
            "x-1-py311-none-linux_x86_64.whl",
            "x-1-cp311-cp311-manylinux1_x86_64.whl",
            "x-1-cp311-cp311-manylinux_2_36_x86_64.whl",
        ] {
            assert!(check(&tags, file).is_some(), "{file} refused");
        }
    }

    #[test]
    fn cpython_311_glibc_236_refuses() {
        let tags = cp311();
        for file in [
            "x-1-cp312-cp312-manylinux_2_17_x86_64.whl",
            "x-1-cp311-cp311-win_amd64.whl",
            "x-1-cp311-cp311-manylinux_2_39_x86_64.whl",
            "x-1-cp311-cp311-musllinux_1_2_x86_64.whl",
            "x-1-cp311-cp311-manylinux_2_17_aarch64.whl",
            "x-1-cp312-abi3-manylinux_2_17_x86_64.whl",
            "x-1-py4-none-any.whl",
        ] {
            assert_eq!(check(&tags, file), None, "{file} accepted");
        }
    }

    #[test]
    fn real_wheels_against_cpython_311() {
        let tags = cp311();
        let accepted: Vec<&str> = REAL.lines().filter(|l| check(&tags, l).is_some()).collect();
        assert_eq!(accepted.len(), REAL.lines().count() - 2, "{accepted:#?}");
        assert!(check(&tags, "markupsafe-3.0.4-cp312-cp312-win_amd64.whl").is_none());
        assert!(
            check(
                &tags,
                "markupsafe-3.0.4-cp311-cp311-musllinux_1_2_x86_64.whl"
            )
            .is_none()
        );
    }

    #[test]
    fn priorities_prefer_specific_wheels() {
        let tags = cp311();
        let native = check(&tags, "x-1-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap();
        let abi3 = check(&tags, "x-1-cp37-abi3-manylinux2014_x86_64.whl").unwrap();
        let pure = check(&tags, "x-1-py3-none-any.whl").unwrap();
        let newer = check(&tags, "x-1-cp311-cp311-manylinux_2_28_x86_64.whl").unwrap();
        assert!(newer < native && native < abi3 && abi3 < pure);
        assert_eq!(
            tags.sample(3),
            vec![
                "cp311-cp311-linux_x86_64",
                "cp311-cp311-manylinux_2_36_x86_64",
                "cp311-cp311-manylinux_2_35_x86_64",
            ]
        );
    }

    #[test]
    fn same_list_as_pip() {
        let expected: Vec<&str> = PIP_SYS_TAGS.lines().collect();
        let tags = cp311();
        assert_eq!(tags.sample(usize::MAX), expected);
        assert_eq!(tags.len(), 914);
    }

    #[test]
    fn musl_and_other_archs() {
        let musl = Tags::new("cpython", (3, 11), "", "linux-x86_64", ("musl", "1.2"));
        assert!(check(&musl, "x-1-cp311-cp311-musllinux_1_2_x86_64.whl").is_some());
        assert!(check(&musl, "x-1-cp311-cp311-musllinux_1_1_x86_64.whl").is_some());
        assert!(check(&musl, "x-1-cp311-cp311-manylinux2014_x86_64.whl").is_none());
        let arm = Tags::new("cpython", (3, 12), "", "linux-aarch64", ("glibc", "2.31"));
        assert!(check(&arm, "x-1-cp312-cp312-manylinux2014_aarch64.whl").is_some());
        assert!(check(&arm, "x-1-cp312-cp312-manylinux_2_12_aarch64.whl").is_none());
        assert!(check(&arm, "x-1-cp312-cp312-linux_aarch64.whl").is_some());
    }

    #[test]
    fn free_threaded_has_abi3t_not_abi3() {
        let tags = Tags::new("cpython", (3, 13), "t", "linux-x86_64", ("glibc", "2.36"));
        assert!(check(&tags, "x-1-cp313-cp313t-manylinux_2_17_x86_64.whl").is_some());
        assert!(check(&tags, "x-1-cp312-abi3t-manylinux_2_17_x86_64.whl").is_some());
        assert!(check(&tags, "x-1-cp313-abi3-manylinux_2_17_x86_64.whl").is_none());
        assert!(check(&tags, "x-1-cp313-cp313-manylinux_2_17_x86_64.whl").is_none());
    }

    #[test]
    fn debug_build_also_loads_release_extensions() {
        let tags = Tags::new("cpython", (3, 12), "d", "linux-x86_64", ("glibc", "2.36"));
        let debug = check(&tags, "x-1-cp312-cp312d-linux_x86_64.whl").unwrap();
        let release = check(&tags, "x-1-cp312-cp312-linux_x86_64.whl").unwrap();
        assert!(debug < release);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for (imp, version, libc) in [
            ("cpython", (3, 0), ("glibc", "")),
            ("cpython", (0, 0), ("glibc", "2")),
            ("pypy", (3, 10), ("glibc", "2.4294967295")),
            ("", (u32::MAX, 0), ("musl", "x.y")),
            ("cpython", (2, 7), ("", "")),
            ("cpython", (3, u32::MAX), ("glibc", "2.17")),
        ] {
            let tags = Tags::new(imp, version, "", "linux-x86_64", libc);
            assert!(!tags.is_empty());
        }
        let mac = Tags::new("cpython", (3, 11), "", "macosx-11.0-arm64", ("", ""));
        assert_eq!(mac.sample(1), vec!["cp311-cp311-macosx_11_0_arm64"]);
        let unknown = Tags::new("cpython", (3, 11), "", "linux-x86_64", ("glibc", "2.x"));
        assert_eq!(unknown.sample(1), vec!["cp311-cp311-linux_x86_64"]);
    }
}
