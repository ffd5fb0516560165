//! The activation scripts of an environment, with its path and prompt quoted
//! for each shell.

use std::path::Path;

const BASH: &str = include_str!("activate.sh");
const FISH: &str = include_str!("activate.fish");

/// Quote for POSIX shells: `'…'` with `'` written as `'\''`.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Quote for fish: `'…'` with `\` and `'` escaped.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `(file name, contents)` of each activation script.
pub fn scripts(env_dir: &Path, prompt: &str) -> [(&'static str, String); 2] {
    let dir = env_dir.to_string_lossy();
    let fill = |template: &str, quote: fn(&str) -> String| {
        template
            .replace("@ENV_DIR@", &quote(&dir))
            .replace("@PROMPT@", &quote(prompt))
    };
    [
        ("activate", fill(BASH, sh_quote)),
        ("activate.fish", fill(FISH, fish_quote)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_awkward_paths() {
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(fish_quote(r"a\b'c"), r"'a\\b\'c'");
        let [(_, bash), (_, fish)] = scripts(Path::new("/x y/e"), "e");
        assert!(bash.contains("VIRTUAL_ENV='/x y/e'"));
        assert!(fish.contains("set -gx VIRTUAL_ENV '/x y/e'"));
    }
}
