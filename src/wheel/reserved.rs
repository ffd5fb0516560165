//! Where a wheel may never place a file, whatever archive path brings it
//! there: another distribution's metadata, the environment's interpreter and
//! activation scripts, and tempest-env's own files. The archive check
//! applies these rules to every file's final place (after `.data` is spread)
//! assuming a venv's layout (`bin/`, `lib*/python*/site-packages/`);
//! linking applies them again with the environment's own scheme, for store
//! entries made before a rule existed. Files that cannot all be placed (two
//! in one place, a file where another needs a directory, a script over a
//! console script) are found here too, before anything is written.

use std::collections::HashSet;

use super::archive::{PlannedFile, Target};
use super::launcher;
use crate::dist::entry_points::EntryPoint;

/// Top-level names of an environment that belong to the venv or to
/// tempest-env: its configuration, its manifest, its views of the system set
/// (`system/`), a run's workspace, and the `lib64` link to `lib`. Every name
/// starting with `.tempest-env` is reserved too (the install journal and the
/// files a replacement set aside).
const ROOT: [&str; 7] = [
    "pyvenv.cfg",
    "tempest-env.json",
    "CACHEDIR.TAG",
    ".gitignore",
    "system",
    "workspace",
    "lib64",
];

/// tempest-env's generated layer file in site-packages.
pub const LAYER_PTH: &str = "_tempest_env.pth";

/// Why `rel`, a path under a library directory (site-packages), is refused.
/// `dist_info` is the wheel's own metadata directory; `own_metadata` says
/// whether the file comes from the archive's top-level `dist_info` (the only
/// place a wheel's metadata may come from).
pub fn check_site(rel: &str, dist_info: &str, own_metadata: bool) -> Result<(), String> {
    let top = rel.split('/').next().unwrap_or(rel);
    if top == dist_info && !own_metadata {
        return Err(format!(
            "would write its own metadata (`{top}`) from outside its .dist-info directory"
        ));
    }
    let foreign = (top.ends_with(".dist-info") && top != dist_info)
        || top.ends_with(".egg-info")
        || top.ends_with(".egg-link")
        || top.ends_with(".data");
    if foreign {
        return Err(format!(
            "would write into another distribution's metadata (`{top}`)"
        ));
    }
    if top == LAYER_PTH {
        return Err(format!(
            "would replace tempest-env's layer file `{LAYER_PTH}`"
        ));
    }
    Ok(())
}

/// Why `rel`, a path relative to the environment's root (where `.data/data`
/// goes in a venv), is refused. `scripts` is the scheme's scripts directory
/// (`bin`) and `libs` its library directories relative to the root, when
/// known; otherwise every `site-packages` or `dist-packages` directory
/// counts as one.
pub fn check_root(rel: &str, dist_info: &str, scripts: &str, libs: &[&str]) -> Result<(), String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let top = parts[0];
    if ROOT.contains(&top) || top.starts_with(".tempest-env") {
        return Err(format!(
            "would write into `{top}`, which belongs to the environment itself"
        ));
    }
    if let [dir, name] = parts.as_slice()
        && *dir == scripts
    {
        launcher::check_name(name).map_err(|why| {
            format!("would place the script `{dir}/{name}`, which is refused: {why}")
        })?;
    }
    for lib in libs {
        if let Some(inside) = rel.strip_prefix(lib).and_then(|r| r.strip_prefix('/')) {
            return check_site(inside, dist_info, false);
        }
    }
    if libs.is_empty()
        && let Some(at) = parts
            .iter()
            .position(|p| *p == "site-packages" || *p == "dist-packages")
        && at + 1 < parts.len()
    {
        return check_site(&parts[at + 1..].join("/"), dist_info, false);
    }
    Ok(())
}

/// Why removing `rel` (relative to the environment's root), which another
/// tool's RECORD lists, is refused: the environment's own files, its
/// interpreter and activation scripts, and tempest-env's layer file.
pub fn check_removal(rel: &str, scripts: &str, libs: &[&str]) -> Result<(), String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let top = parts[0];
    let own = ROOT.contains(&top)
        || top.starts_with(".tempest-env")
        || matches!(parts.as_slice(), [dir, name] if *dir == scripts
            && (name.starts_with("python")
                || name.starts_with("activate")
                || name.starts_with(".tempest-env")
                || *name == "deactivate"))
        || libs
            .iter()
            .any(|lib| rel.strip_prefix(lib).and_then(|r| r.strip_prefix('/')) == Some(LAYER_PTH));
    if own {
        return Err(format!("`{rel}` belongs to the environment itself"));
    }
    Ok(())
}

/// The first pair of paths that cannot both be placed: the same path twice,
/// or a file where another path needs a directory. `paths` are final places
/// (`/`-separated); `generated` are files the installer writes itself, which
/// may coincide with a wheel's file but not sit where it needs a directory.
pub fn conflict<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    generated: &[String],
) -> Option<String> {
    let mut files = HashSet::new();
    let mut all = Vec::new();
    for path in paths {
        if !files.insert(path) {
            return Some(format!("two of its files would both be placed at `{path}`"));
        }
        all.push(path);
    }
    files.extend(generated.iter().map(String::as_str));
    for path in all
        .iter()
        .copied()
        .chain(generated.iter().map(String::as_str))
    {
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            let dir = &path[..slash];
            if files.contains(dir) {
                return Some(format!(
                    "`{dir}` would be both a file and the directory of `{path}`"
                ));
            }
            end = slash;
        }
    }
    None
}

/// Where a planned file ends up in a venv, for finding conflicts between
/// files that reach one place by different archive paths: the importable
/// tree and `.data/data` files under a `site-packages` directory share
/// `site-packages/`, scripts and `.data/data/bin` files share `bin/`.
fn final_place(target: &Target, dist: &str) -> String {
    match target {
        Target::Site(rel) => format!("site-packages/{rel}"),
        Target::Scripts(name) => format!("bin/{name}"),
        Target::Headers(rel) => format!("include/site/{dist}/{rel}"),
        Target::Data(rel) => {
            let parts: Vec<&str> = rel.split('/').collect();
            match parts
                .iter()
                .position(|p| *p == "site-packages" || *p == "dist-packages")
            {
                Some(at) => format!("site-packages/{}", parts[at + 1..].join("/")),
                None => rel.clone(),
            }
        }
    }
}

/// Refuse, before anything is written, files that cannot all be placed: two
/// reaching one place, a file where another needs a directory, a `.data`
/// script that would replace a console script.
pub fn check_final_places(
    files: &[PlannedFile],
    entry_points: &[EntryPoint],
    dist_info: &str,
    dist: &str,
) -> Result<(), String> {
    let mut launchers = HashSet::new();
    for ep in entry_points
        .iter()
        .filter(|e| e.group == "console_scripts" || e.group == "gui_scripts")
    {
        if !launchers.insert(ep.name.as_str()) {
            return Err(format!("declares the console script `{}` twice", ep.name));
        }
    }
    for file in files {
        let place = final_place(&file.target, dist);
        if let Some(name) = place.strip_prefix("bin/")
            && launchers.contains(name)
        {
            return Err(format!(
                "entry `{}` would replace its console script `{name}`",
                file.archive_path
            ));
        }
    }
    let places: Vec<String> = files.iter().map(|f| final_place(&f.target, dist)).collect();
    let generated: Vec<String> = ["INSTALLER", "REQUESTED", "direct_url.json", "RECORD"]
        .iter()
        .map(|f| format!("site-packages/{dist_info}/{f}"))
        .collect();
    match conflict(places.iter().map(String::as_str), &generated) {
        Some(why) => Err(format!("cannot be installed: {why}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DI: &str = "evil-1.0.dist-info";

    #[test]
    fn site_refuses_foreign_and_displaced_metadata() {
        assert!(check_site("evil/x.py", DI, false).is_ok());
        assert!(check_site("evil-1.0.dist-info/METADATA", DI, true).is_ok());
        assert!(check_site("evil-1.0.dist-info/entry_points.txt", DI, false).is_err());
        assert!(check_site("tempest-99.dist-info/METADATA", DI, true).is_err());
        assert!(check_site("x.egg-info/PKG-INFO", DI, true).is_err());
        assert!(check_site("_tempest_env.pth", DI, true).is_err());
    }

    #[test]
    fn root_refuses_the_environments_own_files() {
        let generic = |rel| check_root(rel, DI, "bin", &[]);
        assert!(generic("share/evil/x.txt").is_ok());
        assert!(generic("lib/python3.11/site-packages/evil_extra.py").is_ok());
        for bad in [
            "system/1/victimpkg/planted.py",
            "pyvenv.cfg",
            "tempest-env.json",
            ".tempest-env-pending",
            "lib64/python3.11/site-packages/x.py",
            "bin/python3.12",
            "bin/activate.csh",
            "bin/-rf",
            "lib/python3.11/site-packages/tempest-99.dist-info/METADATA",
            "lib/python3.12/site-packages/evil-1.0.dist-info/entry_points.txt",
            "local/lib/python3/dist-packages/victim-9.9.dist-info/RECORD",
        ] {
            assert!(generic(bad).is_err(), "{bad}");
        }
        let scheme = |rel| check_root(rel, DI, "bin", &["lib/python3.11/site-packages"]);
        assert!(scheme("lib/python3.11/site-packages/victim-9.dist-info/RECORD").is_err());
        assert!(scheme("lib/python3.11/site-packages/evil/x.py").is_ok());
    }

    #[test]
    fn removal_spares_the_environments_own_files() {
        let libs = ["lib/python3.11/site-packages"];
        for bad in [
            "pyvenv.cfg",
            "tempest-env.json",
            "bin/python",
            "bin/activate",
            "bin/.tempest-env-launcher",
            "system/1/victimpkg/__init__.py",
            "lib/python3.11/site-packages/_tempest_env.pth",
        ] {
            assert!(check_removal(bad, "bin", &libs).is_err(), "{bad}");
        }
        assert!(check_removal("bin/victim-tool", "bin", &libs).is_ok());
        assert!(check_removal("lib/python3.11/site-packages/victim/x.py", "bin", &libs).is_ok());
    }

    #[test]
    fn finds_conflicting_places() {
        assert_eq!(conflict(["a/x", "a/y"], &[]), None);
        assert!(
            conflict(["a/x", "a/x"], &[])
                .unwrap()
                .contains("both be placed")
        );
        assert!(
            conflict(["a/x", "a/x/y.py"], &[])
                .unwrap()
                .contains("both a file")
        );
        assert!(conflict(["a/x/y.py", "a/x"], &[]).is_some());
        let generated = vec!["d/INSTALLER".to_string()];
        assert_eq!(conflict(["d/INSTALLER"], &generated), None);
        assert!(conflict(["d/INSTALLER/x"], &generated).is_some());
    }
}
