//! Launchers: the small scripts in an environment's `bin/` that start a
//! console or GUI entry point with the environment's python, and the shebang
//! rewriting of scripts shipped in a wheel's `.data/scripts/`.

use std::path::Path;

/// Linux limits a shebang line; longer interpreter paths (and paths with
/// spaces, which a shebang cannot quote) go through `/bin/sh`.
const MAX_SHEBANG: usize = 127;

/// The first line(s) that make a script run with `python`.
pub fn shebang(python: &Path) -> String {
    let path = python.to_string_lossy();
    if path.len() + 2 > MAX_SHEBANG || path.contains(char::is_whitespace) {
        // `/bin/sh` runs the exec line; Python sees `'''exec' ... '''` as a
        // string literal and skips it.
        format!(
            "#!/bin/sh\n'''exec' {} \"$0\" \"$@\"\n' '''\n",
            crate::shell::sh_quote(&path)
        )
    } else {
        format!("#!{path}\n")
    }
}

/// The longest file name Linux filesystems accept (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// Names a launcher may never take: the environment's own files in `bin/`
/// and beside it.
const RESERVED: [&str; 4] = [
    "deactivate",
    "pyvenv.cfg",
    "tempest-env.json",
    "CACHEDIR.TAG",
];

/// Why a launcher name is refused. A launcher name is a plain file name of
/// letters, digits, `.`, `_`, `+` and `-` that starts with a letter or a
/// digit (so never `-rf` nor a hidden file such as `.tempest-env-launcher`),
/// and that does not replace the environment's python or activation scripts.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
        return Err("it is not a plain file name".into());
    }
    if name.chars().any(char::is_control) {
        return Err("it contains control characters".into());
    }
    if name.starts_with("python") || name.starts_with("activate") || RESERVED.contains(&name) {
        return Err(
            "it would replace the environment's own python, activation scripts or files".into(),
        );
    }
    if name.len() > NAME_MAX {
        return Err(format!("it is longer than {NAME_MAX} bytes"));
    }
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if !first_ok || !rest_ok {
        return Err(
            "a launcher name is letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// A launcher for `module:attr` run by `python`.
pub fn script(python: &Path, module: &str, attr: Option<&str>) -> String {
    let (import, call) = match attr {
        Some(attr) => {
            let head = attr.split('.').next().unwrap_or(attr);
            (format!("from {module} import {head}"), attr.to_string())
        }
        None => (format!("import {module}"), module.to_string()),
    };
    format!(
        "{shebang}# -*- coding: utf-8 -*-\n# Written by tempest-env.\nimport re\nimport sys\n{import}\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit({call}())\n",
        shebang = shebang(python)
    )
}

/// One script for many launchers, each a hard link to it: `entries` are
/// (launcher name, module, attribute path), and the name the script was
/// started by picks the entry point. It does what [`script`] does for each:
/// `from module import head`, then call the attribute path.
pub fn dispatcher<'a>(
    python: &Path,
    entries: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> String {
    let mut table = String::new();
    for (name, module, attr) in entries {
        // A JSON string is a valid Python string literal: hostile names and
        // modules stay data.
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        table.push_str(&format!(
            "    {}: ({}, {}),\n",
            quote(name),
            quote(module),
            quote(attr.unwrap_or(""))
        ));
    }
    format!(
        r#"{shebang}# -*- coding: utf-8 -*-
# Written by tempest-env. The launchers of this environment's layers are
# hard links to this file; the name one is started by picks its entry point.
import re
import sys

SCRIPTS = {{
{table}}}


def _entry_point():
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    name = sys.argv[0].rsplit("/", 1)[-1]
    if name not in SCRIPTS:
        sys.exit("%s: no console script is named %r; start it through one of its links"
                 % (__file__, name))
    module, attrs = SCRIPTS[name]
    import importlib
    target = importlib.import_module(module)
    for i, attr in enumerate(attrs.split(".") if attrs else ()):
        try:
            target = getattr(target, attr)
        except AttributeError:
            if i:
                raise
            # As `from module import attr` does for a submodule.
            target = importlib.import_module(module + "." + attr)
    return target


if __name__ == "__main__":
    sys.exit(_entry_point()())
"#,
        shebang = shebang(python)
    )
}

/// Rewrite a `#!python` (or `#!pythonw`) first line to run `python`; other
/// scripts are returned unchanged.
pub fn rewrite_script(contents: &[u8], python: &Path) -> Vec<u8> {
    let first_end = contents
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(contents.len());
    let first = &contents[..first_end];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first == b"#!python" || first == b"#!pythonw" || first.starts_with(b"#!python ") {
        let rest = contents.get(first_end + 1..).unwrap_or_default();
        let mut out = shebang(python).into_bytes();
        out.extend_from_slice(rest);
        out
    } else {
        contents.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_paths_get_a_plain_shebang() {
        assert_eq!(shebang(Path::new("/e/bin/python")), "#!/e/bin/python\n");
    }

    #[test]
    fn long_or_spaced_paths_go_through_sh() {
        let spaced = shebang(Path::new("/my envs/e/bin/python"));
        assert!(spaced.starts_with("#!/bin/sh\n'''exec' '/my envs/e/bin/python' \"$0\""));
        let long = format!("/{}/bin/python", "x".repeat(130));
        assert!(shebang(Path::new(&long)).starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn refuses_names_that_replace_the_interpreter() {
        for bad in [
            "python",
            "python3",
            "python3.11",
            "activate",
            "",
            "a/b",
            "..",
            "x\u{7}",
            ".tempest-env-launcher",
            "pyvenv.cfg",
            "-rf",
            "has space",
            "tab\tname",
            "semi;colon",
            "deactivate",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in [
            "tempest",
            "subunit-trace",
            "alpha-tool",
            "pip3",
            "pip3.11",
            "oslo_config_gen",
            "g++-wrap",
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn launcher_imports_the_head_and_calls_the_path() {
        let text = script(Path::new("/e/bin/python"), "tempest.cmd.main", Some("main"));
        assert!(text.starts_with("#!/e/bin/python\n"));
        assert!(text.contains("from tempest.cmd.main import main\n"));
        assert!(text.contains("sys.exit(main())"));
        let nested = script(Path::new("/p"), "m", Some("App.run"));
        assert!(nested.contains("from m import App\n") && nested.contains("sys.exit(App.run())"));
    }

    #[test]
    fn dispatcher_quotes_its_table_as_data() {
        let text = dispatcher(
            Path::new("/e/bin/python"),
            [
                ("tempest", "tempest.cmd.main", Some("main")),
                ("odd\"name", "m\n", None),
            ],
        );
        assert!(text.starts_with("#!/e/bin/python\n"));
        assert!(text.contains("    \"tempest\": (\"tempest.cmd.main\", \"main\"),\n"));
        assert!(text.contains("    \"odd\\\"name\": (\"m\\n\", \"\"),\n"));
    }

    #[test]
    fn rewrites_only_python_shebangs() {
        let py = Path::new("/e/bin/python");
        assert_eq!(
            rewrite_script(b"#!python\nprint(1)\n", py),
            b"#!/e/bin/python\nprint(1)\n"
        );
        assert_eq!(rewrite_script(b"#!pythonw\r\nx", py), b"#!/e/bin/python\nx");
        assert_eq!(rewrite_script(b"#!/bin/sh\necho", py), b"#!/bin/sh\necho");
        assert_eq!(rewrite_script(b"", py), b"");
    }
}
