//! The generated `.pth` file that makes an environment's layers visible.
//!
//! Each layer becomes one `import site; site.addsitedir(...)` line rather
//! than a plain path line, so `.pth` files inside a layer (editable installs,
//! namespace packages) are processed too. Python reads `.pth` files after the
//! environment's own site-packages is on `sys.path`, so that always comes
//! first, and layers follow in manifest order.

use anyhow::Result;

use super::Environment;

pub const PTH_FILE: &str = "_tempest_env.pth";

/// A Python string literal for `text`.
pub fn py_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Python 3.13 splits a `.pth` file with `str.splitlines()`,
            // which also breaks lines at U+2028 and U+2029: a path holding
            // one must not end the line and start an `import` of its own.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\U{:08x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The `.pth` text for the environment's layers (empty when there are none).
pub fn render(env: &Environment) -> String {
    let mut text = String::new();
    // Linked into site-packages instead (`--link-mode symlink`).
    let listed = || env.manifest.layers.iter().filter(|l| l.linked.is_none());
    if listed().next().is_none() {
        return text;
    }
    text.push_str("# Written by tempest-env: the layers of this environment, in order.\n");
    for layer in listed() {
        text.push_str(&format!(
            "import site; site.addsitedir({})\n",
            py_literal(&layer.path.to_string_lossy())
        ));
    }
    text
}

/// Write (or remove) the `.pth` file to match the manifest.
pub fn write(env: &Environment) -> Result<()> {
    let path = env.site_packages().join(PTH_FILE);
    let text = render(env);
    if text.is_empty() {
        match fs_err::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => {
                Err(anyhow::Error::new(err).context(format!("failed to remove {}", path.display())))
            }
        }
    } else if fs_err::read(&path).is_ok_and(|existing| existing == text.as_bytes()) {
        Ok(())
    } else {
        env.write_file(&path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_controls() {
        assert_eq!(py_literal("/a/b"), "'/a/b'");
        assert_eq!(py_literal("/it's\\x"), "'/it\\'s\\\\x'");
        assert_eq!(py_literal("a\nb"), "'a\\nb'");
        assert_eq!(py_literal("\u{1}"), "'\\U00000001'");
        assert_eq!(
            py_literal("/a\u{2028}import os"),
            "'/a\\U00002028import os'"
        );
    }
}
