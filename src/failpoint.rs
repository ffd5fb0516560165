//! Fault injection for the crash-recovery tests: when
//! `TEMPEST_ENV_FAILPOINT` names a point, the process stops there (sleeps
//! until killed), so a test can SIGKILL it at exactly that step rather than
//! at a lucky moment.

/// Stop here if the failpoint `name` is armed.
pub fn hit(name: &str) {
    if std::env::var_os("TEMPEST_ENV_FAILPOINT").is_some_and(|armed| armed == name) {
        // Before any printer exists, and for the test reading stderr only.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("failpoint {name}: waiting to be killed");
        }
        std::thread::sleep(std::time::Duration::from_secs(600));
    }
}
