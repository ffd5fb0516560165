//! POSIX shell words: quoting a value as one word, and reading back a
//! command line that needs no shell to run. Pure functions, used wherever a
//! command line is printed for a user or run by `sh`.

/// Quote for POSIX shells: `'…'` with `'` written as `'\''`.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Quote a word only when the shell needs it, so commands stay readable.
pub fn quote_if_needed(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        sh_quote(word)
    }
}

/// `args` quoted and joined by spaces: one shell word each.
pub fn quoted(args: &[String]) -> String {
    args.iter()
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of `command` when running it needs no shell, so it can be
/// executed directly (as tox does): plain words and single- or double-quoted
/// strings, and nothing a shell would expand or interpret (`$`, backquotes,
/// backslashes, globs, `~`, redirections, pipes, separators, comments,
/// braces, a leading assignment). `None`: run it with `sh -c`. Starting
/// `sh` costs a process image per run; a preset like `tempest run --regex
/// 'valet'` needs none.
pub fn argv(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' | '\\' | '!' => return None,
                        c => word.push(c),
                    }
                }
            }
            '$' | '`' | '\\' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '[' | ']'
            | '~' | '#' | '{' | '}' | '!' => return None,
            // `NAME=value cmd` sets a variable for the command: the shell's.
            '=' if words.is_empty() => return None,
            c if c.is_control() => return None,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    (!words.is_empty()).then_some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splits_what_needs_no_shell() {
        let words = |c: &str| argv(c).map(|w| w.join("|"));
        assert_eq!(
            words("tempest run --regex 'valet'").as_deref(),
            Some("tempest|run|--regex|valet")
        );
        assert_eq!(
            words("echo 'a b'  \"c d\"").as_deref(),
            Some("echo|a b|c d")
        );
        assert_eq!(words("a\"b c\"d ''").as_deref(), Some("ab cd|"));
        assert_eq!(
            words("stestr run --serial x=1").as_deref(),
            Some("stestr|run|--serial|x=1")
        );
        for shell in [
            "a | b",
            "a && b",
            "a; b",
            "a > f",
            "echo $HOME",
            "echo \"$HOME\"",
            "echo `date`",
            "ls *.py",
            "cd ~",
            "FOO=1 cmd",
            "echo 'it'\\''s'",
            "a # comment",
            "echo 'unterminated",
            "echo \"unterminated",
            "a\nb",
            "",
            "   ",
        ] {
            assert_eq!(argv(shell), None, "{shell:?}");
        }
    }

    #[test]
    fn argv_reads_back_what_sh_quote_writes() {
        for args in [
            vec!["tempest", "run", "--regex", "valet.tests.api (x)"],
            vec!["echo", "", "a  b", "ü"],
        ] {
            let line = args
                .iter()
                .map(|a| sh_quote(a))
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(argv(&line).unwrap(), args, "{line}");
        }
    }
}
