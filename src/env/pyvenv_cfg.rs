//! `pyvenv.cfg` (PEP 405): `key = value` lines. Parsing is a pure function
//! over the text, as `site.py` reads it: the first `=` splits, both sides are
//! trimmed, lines without `=` are ignored.

/// Every `key = value` pair, in order.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            (!key.is_empty()).then(|| (key.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The value of `key` (case-insensitive, like `site.py`), last one wins.
pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Why `value` cannot be written as one value of a `pyvenv.cfg` line, an
/// activation script or a manifest: a newline would start a new line (a
/// key of its own: `include-system-site-packages = true`), and other
/// control characters corrupt a terminal or a shell script.
pub fn check_value(value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("it contains the control character {c:?}")),
        None => Ok(()),
    }
}

/// Render pairs in order; a value that is not one clean line is refused.
pub fn render(pairs: &[(&str, String)]) -> Result<String, String> {
    let mut text = String::new();
    for (key, value) in pairs {
        check_value(value).map_err(|why| format!("the {key} `{}`: {why}", value.escape_debug()))?;
        text.push_str(&format!("{key} = {value}\n"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    // As written by CPython 3.11's `venv` module.
    const CPYTHON: &str = "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\nexecutable = /usr/bin/python3.11\ncommand = /usr/bin/python3 -m venv /tmp/v\n";

    #[test]
    fn reads_cpython_venv_cfg() {
        let pairs = parse(CPYTHON);
        assert_eq!(get(&pairs, "home"), Some("/usr/bin"));
        assert_eq!(get(&pairs, "INCLUDE-system-site-packages"), Some("false"));
        assert_eq!(
            get(&pairs, "command"),
            Some("/usr/bin/python3 -m venv /tmp/v")
        );
    }

    #[test]
    fn tolerates_junk() {
        let pairs = parse("no equals here\n = empty key\nhome=/a=b\n\u{0}\n");
        assert_eq!(pairs, vec![("home".to_string(), "/a=b".to_string())]);
    }

    #[test]
    fn round_trips() {
        let text = render(&[("home", "/x".into()), ("prompt", "p q".into())]).unwrap();
        assert_eq!(get(&parse(&text), "prompt"), Some("p q"));
    }

    #[test]
    fn refuses_values_that_would_add_a_line() {
        let injected = "p\ninclude-system-site-packages = true";
        assert!(render(&[("prompt", injected.into())]).is_err());
        assert!(render(&[("prompt", "a\rb".into())]).is_err());
        assert!(render(&[("prompt", "tab\there".into())]).is_err());
        assert!(render(&[("prompt", "(my env) ✓".into())]).is_ok());
    }
}
