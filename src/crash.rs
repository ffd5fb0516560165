//! What a user sees when tempest-env itself goes wrong: an unexpected panic
//! becomes one `error:` line (what and where) and exit 1, never a Rust
//! backtrace. Code that expects a third-party parser to panic on hostile
//! input runs it through [`quietly`], which catches the panic without a
//! word, so the caller can turn it into an ordinary refusal.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};

thread_local! {
    /// Set while [`quietly`] runs: a panic there is expected and caught.
    static EXPECTED: Cell<bool> = const { Cell::new(false) };
}

/// Replace the default panic hook (message and backtrace) with one line.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        if EXPECTED.with(Cell::get) {
            return;
        }
        let printer = crate::printer::Printer::new(crate::printer::Verbosity::Normal);
        printer.error(&anyhow::anyhow!(describe(info)), false);
    }));
}

/// One line: the panic's message and where it happened.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    let place = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "internal error (a bug in tempest-env, please report it): {}{place}",
        message.replace('\n', " ")
    )
}

/// Run `f`, catching a panic silently: `None` when it panicked.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = EXPECTED.with(|e| e.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTED.with(|e| e.set(was));
    result.ok()
}

/// Run the whole program: a panic that gets this far (after the hook has
/// printed it) exits 1.
/// `TEMPEST_ENV_FAILPOINT=panic` makes the program panic at once, so a
/// test sees what a user would.
pub fn guard(run: impl FnOnce() -> std::process::ExitCode) -> std::process::ExitCode {
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        if std::env::var_os("TEMPEST_ENV_FAILPOINT").is_some_and(|armed| armed == "panic") {
            panic!("the `panic` failpoint is armed");
        }
        run()
    }))
    .unwrap_or(std::process::ExitCode::from(crate::error::EXIT_FAILURE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quietly_turns_a_panic_into_an_error() {
        assert_eq!(quietly(|| 3), Some(3));
        assert_eq!(quietly(|| -> u8 { panic!("expected") }), None);
        assert!(!EXPECTED.with(Cell::get));
    }
}
