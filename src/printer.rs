//! All output goes through one [`Printer`]: results on stdout, status on
//! stderr, `-q`/`-v` honoured, colour only on a terminal and never with
//! `NO_COLOR`. Operations never print on their own.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
}

impl Printer {
    pub fn new(verbosity: Verbosity) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            verbosity,
            color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// A printer that prints nothing but errors; for library callers.
    pub fn quiet() -> Self {
        Self {
            verbosity: Verbosity::Quiet,
            color: false,
        }
    }

    pub fn is_verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    /// True when progress bars may be drawn: stderr is a terminal and we are
    /// not quiet.
    pub fn progress_enabled(&self) -> bool {
        self.verbosity >= Verbosity::Normal && std::io::stderr().is_terminal()
    }

    /// A result line on stdout. A closed pipe ends output quietly.
    pub fn out(&self, line: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", line.as_ref());
    }

    /// A status line on stderr, hidden by `-q`.
    pub fn status(&self, line: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            emit(line.as_ref());
        }
    }

    /// A detail line on stderr, shown only with `-v`.
    pub fn verbose(&self, line: impl AsRef<str>) {
        if self.is_verbose() {
            emit(&self.paint("2", line.as_ref()));
        }
    }

    /// `warning: ...` on one line, whatever the message holds.
    pub fn warn(&self, line: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            let text = line.as_ref().trim_end().replace('\n', "; ");
            emit(&format!("{} {text}", self.paint("1;33", "warning:")));
        }
    }

    /// `error: ...`, each cause as `Caused by: ...`, then `hint: ...`. Bad
    /// input (`bad_input`) is one line: its causes are joined to it.
    pub fn error(&self, err: &anyhow::Error, bad_input: bool) {
        if bad_input {
            let mut parts: Vec<String> = Vec::new();
            for cause in err.chain() {
                let text = cause.to_string();
                // A context that repeats its cause adds nothing.
                if !parts.last().is_some_and(|p| p.contains(&text)) {
                    parts.push(text.replace('\n', " "));
                }
            }
            emit(&format!(
                "{} {}",
                self.paint("1;31", "error:"),
                parts.join(": ")
            ));
            if let Some(hint) = crate::error::hint(err) {
                emit(&format!("{} {hint}", self.paint("1;36", "hint:")));
            }
            return;
        }
        let mut causes = err.chain();
        if let Some(top) = causes.next() {
            emit(&format!("{} {top}", self.paint("1;31", "error:")));
        }
        for cause in causes {
            emit(&format!("  {} {cause}", self.paint("1", "Caused by:")));
        }
        if let Some(hint) = crate::error::hint(err) {
            emit(&format!("{} {hint}", self.paint("1;36", "hint:")));
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// One line on stderr in one write: stderr is unbuffered, and a line written
/// in pieces can interleave with a child's output on the same terminal.
fn emit(line: &str) {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    let _ = std::io::stderr().lock().write_all(buf.as_bytes());
}

/// `12.3 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
