//! How a recorded run's runner is given a list of tests in order, one
//! worker: the arguments each preset takes (`--serial --load-list FILE`
//! for tempest and stestr), and the recorded run's own arguments less those
//! that choose tests or workers, which the list replaces. Pure.

use crate::error::UserError;
use crate::runner::preset::Preset;

/// The arguments that make `runner` run exactly the ids of a file, in the
/// file's order, in one process; the file's path follows them.
pub fn list_flags(runner: &Preset) -> Result<Vec<String>, UserError> {
    match runner {
        // One worker, and only the listed ids; both keep the order of
        // discovery, which is the order a worker ran them in.
        Preset::Tempest | Preset::Stestr => Ok(vec!["--serial".into(), "--load-list".into()]),
        // testr runs one worker unless told --parallel; subunit.run is one
        // process.
        Preset::Testr | Preset::Subunit => Ok(vec!["--load-list".into()]),
        Preset::Custom(_) => Err(UserError::new(
            "pollution replays runs of the tempest, stestr, testr and subunit presets; this run used a custom runner command",
        )
        .hint("record the run again with `--runner tempest` (or stestr), then ask again")),
    }
}

/// Options that take a value and choose tests or workers.
const WITH_VALUE: &[&str] = &[
    "--concurrency",
    "-w",
    "--load-list",
    "--regex",
    "-r",
    "--exclude-regex",
    "--black-regex",
    "--exclude-list",
    "--blacklist-file",
    "--blacklist_file",
    "--include-list",
    "--whitelist-file",
    "--whitelist_file",
    "--worker-file",
    "--group-regex",
    "--group_regex",
    "-g",
];

/// Flags that choose tests or workers.
const FLAGS: &[&str] = &[
    "--serial",
    "-t",
    "--parallel",
    "-p",
    "--smoke",
    "-s",
    "--random",
    "--failing",
    "--until-failure",
    "--analyze-isolation",
    "--isolated",
    "--list-tests",
    "-l",
    "--subunit",
];

/// The recorded arguments that still apply when a list of ids replaces
/// the selection: without the options above (and their values) and
/// without positional filters.
pub fn kept_posargs(posargs: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut words = posargs.iter();
    while let Some(word) = words.next() {
        let name = word.split_once('=').map_or(word.as_str(), |(n, _)| n);
        if WITH_VALUE.contains(&name) {
            if !word.contains('=') {
                words.next();
            }
        } else if FLAGS.contains(&word.as_str()) || !word.starts_with('-') {
            // A flag that selects, or a positional filter.
        } else {
            kept.push(word.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn selection_and_workers_are_dropped_the_rest_kept() {
        let given = strings(&[
            "--concurrency",
            "4",
            "--regex",
            "valet",
            "--debug",
            "-w=2",
            "--exclude-list",
            "skip.txt",
            "--serial",
            "smoke",
            "--config-file=etc/x.conf",
            "--load-list",
            "ids",
        ]);
        assert_eq!(
            kept_posargs(&given),
            strings(&["--debug", "--config-file=etc/x.conf"])
        );
        assert!(kept_posargs(&[]).is_empty());
    }

    #[test]
    fn each_preset_gets_a_list_in_one_worker() {
        assert_eq!(
            list_flags(&Preset::Tempest).unwrap(),
            ["--serial", "--load-list"]
        );
        assert_eq!(
            list_flags(&Preset::Stestr).unwrap(),
            ["--serial", "--load-list"]
        );
        assert_eq!(list_flags(&Preset::Testr).unwrap(), ["--load-list"]);
        assert_eq!(list_flags(&Preset::Subunit).unwrap(), ["--load-list"]);
        assert!(list_flags(&Preset::Custom("make test".into())).is_err());
    }
}
