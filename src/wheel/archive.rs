//! Open a wheel and check everything about it before a byte is written:
//! every entry's path, the dist-info, `WHEEL`, `RECORD`, and the declared
//! sizes. What comes out is a plan of where each file goes.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::io::Read;
use std::path::Path;

use super::WheelError;
use super::filename::WheelFilename;
use super::reserved;
use super::wheel_file::WheelFile;
use crate::dist::entry_points::{self, EntryPoint};
use crate::dist::metadata::Metadata;
use crate::dist::name;
use crate::dist::record::{self, RecordEntry};

/// No single file of a wheel may be larger than this once unpacked.
pub const MAX_FILE_SIZE: u64 = 2 << 30;
/// Nor the whole wheel.
pub const MAX_TOTAL_SIZE: u64 = 4 << 30;
/// A file over 1 MiB that unpacks to over 250 times its compressed size is a
/// compression bomb, not a Python package (source and binaries compress
/// 2 to 20 times; deflate cannot exceed about 1030).
pub const MAX_RATIO: u64 = 250;
const RATIO_MIN_SIZE: u64 = 1 << 20;
/// Metadata files are read into memory; they are never this large.
const MAX_METADATA_SIZE: u64 = 16 << 20;
/// No archive path is longer (the store and environment paths come on top
/// of it, and Linux refuses paths over 4096 bytes).
const MAX_PATH: usize = 1024;

/// Where a wheel file goes, relative to the store entry's directory for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// purelib or platlib: the importable tree.
    Site(String),
    Scripts(String),
    Headers(String),
    Data(String),
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub index: usize,
    /// The path inside the archive, as RECORD lists it.
    pub archive_path: String,
    pub target: Target,
    pub size: u64,
    /// `sha256=...` from RECORD.
    pub hash: String,
    /// Whether any execute bit is set in the entry's Unix mode: pip keeps
    /// such files executable (testtools' `run.py`), and so does the store.
    pub executable: bool,
}

/// A wheel whose every entry has been checked.
#[derive(Debug)]
pub struct CheckedWheel {
    pub filename: WheelFilename,
    pub metadata: Metadata,
    pub wheel_file: WheelFile,
    pub entry_points: Vec<EntryPoint>,
    /// `name-version.dist-info`.
    pub dist_info: String,
    pub files: Vec<PlannedFile>,
    /// Warnings to show (a newer minor `Wheel-Version`, ...).
    pub warnings: Vec<String>,
}

/// A wheel's archive, opened for reading.
pub type Archive = zip::ZipArchive<BufReader<File>>;

/// A refusal's reason made into the wheel's error.
type Bad<'a> = &'a dyn Fn(String) -> WheelError;

/// One file entry of the archive, as pass 1 found it.
struct ArchiveFile {
    index: usize,
    name: String,
    size: u64,
    executable: bool,
}

/// What the dist-info's `WHEEL`, `METADATA`, `RECORD` and
/// `entry_points.txt` say, each parsed and checked.
struct DistInfo {
    wheel_file: WheelFile,
    metadata: Metadata,
    entry_points: Vec<EntryPoint>,
    record: BTreeMap<String, RecordEntry>,
    warnings: Vec<String>,
}

/// Open `path` and check it. Nothing is written.
pub fn check(path: &Path) -> Result<(CheckedWheel, Archive), WheelError> {
    let shown = path.display().to_string();
    let bad = |reason: String| WheelError::Invalid {
        wheel: shown.clone(),
        reason,
    };
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("the file name is not valid UTF-8".into()))?;
    let filename = WheelFilename::parse(file_name).map_err(|e| bad(e.to_string()))?;
    let file = File::open(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| bad(format!("is not a valid zip archive: {e}")))?;

    // The zip reader keeps one entry per name; a second entry of the same
    // name could carry different bytes than the one that was checked.
    if archive.has_duplicate_names() {
        return Err(bad("has an entry that appears twice".into()));
    }
    let names = archive_files(&mut archive, &bad)?;
    let dist_info = dist_info_dir(&names, &filename, &bad)?;
    let meta = read_dist_info(&mut archive, &names, &dist_info, &filename, &shown, &bad)?;
    let files = plan_files(names, &meta.record, &dist_info, &bad)?;
    reserved::check_final_places(&files, &meta.entry_points, &dist_info, &filename.name)
        .map_err(bad)?;
    Ok((
        CheckedWheel {
            filename,
            metadata: meta.metadata,
            wheel_file: meta.wheel_file,
            entry_points: meta.entry_points,
            dist_info,
            files,
            warnings: meta.warnings,
        },
        archive,
    ))
}

/// Pass 1: the names, kinds and sizes of every entry, from the central
/// directory only (no entry is decompressed): refuses unsafe paths,
/// symbolic links, duplicates, and sizes over the limits.
fn archive_files(archive: &mut Archive, bad: Bad) -> Result<Vec<ArchiveFile>, WheelError> {
    let mut names = Vec::with_capacity(archive.len());
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| bad(format!("entry {index} is unreadable: {e}")))?;
        let raw = entry.name_raw();
        let entry_name = std::str::from_utf8(raw)
            .map_err(|_| {
                bad(format!(
                    "entry {index} has a name that is not UTF-8: {raw:?}"
                ))
            })?
            .to_string();
        check_path(&entry_name)
            .map_err(|why| bad(format!("entry `{}` {why}", entry_name.escape_debug())))?;
        if entry.is_symlink()
            || entry
                .unix_mode()
                .is_some_and(|mode| mode & 0o170000 == 0o120000)
        {
            return Err(bad(format!("entry `{entry_name}` is a symbolic link")));
        }
        if entry.is_dir() {
            continue;
        }
        if !seen.insert(entry_name.clone()) {
            return Err(bad(format!("entry `{entry_name}` appears twice")));
        }
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        if size > MAX_FILE_SIZE {
            return Err(bad(format!(
                "entry `{entry_name}` declares {size} bytes unpacked, over the limit of {MAX_FILE_SIZE}"
            )));
        }
        if size > RATIO_MIN_SIZE && size / compressed > MAX_RATIO {
            return Err(bad(format!(
                "entry `{entry_name}` unpacks to {} times its compressed size (a compression bomb)",
                size / compressed
            )));
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL_SIZE {
            return Err(bad(format!("unpacks to over {MAX_TOTAL_SIZE} bytes")));
        }
        let executable = entry.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        names.push(ArchiveFile {
            index,
            name: entry_name,
            size,
            executable,
        });
    }
    Ok(names)
}

/// The one dist-info directory, named after the file name.
fn dist_info_dir(
    names: &[ArchiveFile],
    filename: &WheelFilename,
    bad: Bad,
) -> Result<String, WheelError> {
    let dist_infos: std::collections::BTreeSet<&str> = names
        .iter()
        .filter_map(|file| file.name.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .collect();
    let dist_info = match dist_infos.iter().collect::<Vec<_>>().as_slice() {
        [one] => one.to_string(),
        [] => return Err(bad("has no .dist-info directory".into())),
        many => {
            return Err(bad(format!(
                "has more than one .dist-info directory: {}",
                many.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let stem = dist_info.trim_end_matches(".dist-info");
    let (di_name, di_version) = stem
        .rsplit_once('-')
        .ok_or_else(|| bad(format!("`{dist_info}` is not named NAME-VERSION.dist-info")))?;
    if name::normalize(di_name) != name::normalize(&filename.name)
        || !same_version(di_version, &filename.version)
    {
        return Err(bad(format!(
            "its metadata directory `{dist_info}` does not match the file name ({} {})",
            filename.name, filename.version
        )));
    }
    Ok(dist_info)
}

/// Read and check the dist-info's metadata files: `WHEEL`'s version,
/// `METADATA`'s name and version against the file name, the launchers'
/// names, and `RECORD`.
fn read_dist_info(
    archive: &mut Archive,
    names: &[ArchiveFile],
    dist_info: &str,
    filename: &WheelFilename,
    shown: &str,
    bad: Bad,
) -> Result<DistInfo, WheelError> {
    let mut read_meta = |file: &str| -> Result<Option<String>, WheelError> {
        let path = format!("{dist_info}/{file}");
        let Some(found) = names.iter().find(|f| f.name == path) else {
            return Ok(None);
        };
        if found.size > MAX_METADATA_SIZE {
            return Err(bad(format!("`{path}` is too large ({} bytes)", found.size)));
        }
        let mut entry = archive
            .by_index(found.index)
            .map_err(|e| bad(format!("`{path}` is unreadable: {e}")))?;
        let mut text = String::new();
        entry
            .by_ref()
            .take(MAX_METADATA_SIZE)
            .read_to_string(&mut text)
            .map_err(|e| bad(format!("`{path}` is unreadable: {e}")))?;
        Ok(Some(text))
    };
    let wheel_text =
        read_meta("WHEEL")?.ok_or_else(|| bad(format!("has no `{dist_info}/WHEEL`")))?;
    let metadata_text =
        read_meta("METADATA")?.ok_or_else(|| bad(format!("has no `{dist_info}/METADATA`")))?;
    let record_text =
        read_meta("RECORD")?.ok_or_else(|| bad(format!("has no `{dist_info}/RECORD`")))?;
    let entry_points_text = read_meta("entry_points.txt")?;

    let wheel_file =
        WheelFile::parse(&wheel_text).map_err(|e| bad(format!("`{dist_info}/WHEEL`: {e}")))?;
    let mut warnings = Vec::new();
    match wheel_file.version {
        (1, 0) => {}
        (1, minor) => warnings.push(format!(
            "{shown}: Wheel-Version 1.{minor} is newer than the 1.0 this installer knows; installing anyway"
        )),
        (major, minor) => {
            return Err(bad(format!(
                "Wheel-Version {major}.{minor} is not supported (only 1.x is)"
            )));
        }
    }
    let metadata =
        Metadata::parse(&metadata_text).map_err(|e| bad(format!("`{dist_info}/METADATA`: {e}")))?;
    if name::normalize(&metadata.name) != name::normalize(&filename.name)
        || !same_version(&metadata.version, &filename.version)
    {
        return Err(bad(format!(
            "its METADATA says {} {}, but the file name says {} {}",
            metadata.name, metadata.version, filename.name, filename.version
        )));
    }
    let entry_points = match entry_points_text {
        Some(text) => entry_points::parse(&text)
            .map_err(|e| bad(format!("`{dist_info}/entry_points.txt`: {e}")))?,
        None => Vec::new(),
    };
    for ep in &entry_points {
        if ep.group == "console_scripts" || ep.group == "gui_scripts" {
            super::launcher::check_name(&ep.name).map_err(|why| {
                bad(format!(
                    "its {} entry point `{}` is refused: {why}",
                    ep.group, ep.name
                ))
            })?;
        }
    }
    let record =
        record::parse(&record_text).map_err(|e| bad(format!("`{dist_info}/RECORD`: {e}")))?;
    Ok(DistInfo {
        wheel_file,
        metadata,
        entry_points,
        record: record.into_iter().map(|e| (e.path.clone(), e)).collect(),
        warnings,
    })
}

/// Pass 2: every file is listed in RECORD with a hash of sha256 or
/// stronger and its size, and has a place.
fn plan_files(
    names: Vec<ArchiveFile>,
    record: &BTreeMap<String, RecordEntry>,
    dist_info: &str,
    bad: Bad,
) -> Result<Vec<PlannedFile>, WheelError> {
    let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));
    let record_path = format!("{dist_info}/RECORD");
    let mut files = Vec::with_capacity(names.len());
    for ArchiveFile {
        index,
        name: archive_path,
        size,
        executable,
    } in names
    {
        if archive_path == record_path
            || archive_path == format!("{record_path}.jws")
            || archive_path == format!("{record_path}.p7s")
        {
            continue;
        }
        let entry = record
            .get(&archive_path)
            .ok_or_else(|| bad(format!("`{archive_path}` is not listed in RECORD")))?;
        let hash = entry
            .hash
            .clone()
            .ok_or_else(|| bad(format!("RECORD lists `{archive_path}` without a hash")))?;
        match record::parse_hash(&hash) {
            Some(("sha256" | "sha384" | "sha512", _)) => {}
            _ => {
                return Err(bad(format!(
                    "RECORD's hash for `{archive_path}` is not sha256 or stronger: {hash}"
                )));
            }
        }
        if let Some(listed) = entry.size
            && listed != size
        {
            return Err(bad(format!(
                "`{archive_path}` is {size} bytes but RECORD says {listed}"
            )));
        }
        let target = place(&archive_path, dist_info, &data_dir)
            .map_err(|why| bad(format!("entry `{archive_path}` {why}")))?;
        files.push(PlannedFile {
            index,
            archive_path,
            target,
            size,
            hash,
            executable,
        });
    }
    Ok(files)
}

/// Versions compare equal after the file-name escaping (`-` written as `_`)
/// and PEP 440 normalisation.
fn same_version(a: &str, b: &str) -> bool {
    if a == b || a.replace('-', "_") == b.replace('-', "_") {
        return true;
    }
    match (
        a.parse::<pep440_rs::Version>(),
        b.parse::<pep440_rs::Version>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Refuse any path that could land outside its target: absolute paths, `..`
/// components, NUL bytes, backslashes, empty components.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("has an empty name");
    }
    if path.contains('\0') {
        return Err("has a NUL byte in its name");
    }
    // A newline would split the line that names it in the install journal.
    if path.chars().any(char::is_control) {
        return Err("has a control character in its name");
    }
    if path.starts_with('/') || path.contains('\\') || path.as_bytes().get(1) == Some(&b':') {
        return Err("has an absolute path");
    }
    if path.len() > MAX_PATH {
        return Err("has a path longer than 1024 bytes");
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    for component in trimmed.split('/') {
        match component {
            ".." => return Err("climbs out of its directory with `..`"),
            "" | "." => return Err("has an empty or `.` path component"),
            long if long.len() > super::launcher::NAME_MAX => {
                return Err(
                    "has a path component longer than 255 bytes, over the filesystem's limit",
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where an archive path goes: `.data/<key>/` entries are spread by key;
/// nothing may land in another distribution's metadata, nor in the
/// environment's own files (see [`super::reserved`]).
fn place(archive_path: &str, dist_info: &str, data_dir: &str) -> Result<Target, String> {
    if archive_path.rsplit('/').next() == Some("__pycache__") {
        return Err("is a file named `__pycache__`, where bytecode caches are directories".into());
    }
    let (top, rest) = archive_path.split_once('/').unwrap_or((archive_path, ""));
    if top == data_dir {
        let (key, inner) = rest
            .split_once('/')
            .ok_or_else(|| "is directly inside the .data directory".to_string())?;
        return match key {
            "purelib" | "platlib" => {
                reserved::check_site(inner, dist_info, false)?;
                Ok(Target::Site(inner.to_string()))
            }
            "scripts" => {
                if inner.contains('/') {
                    return Err("is a script in a subdirectory".into());
                }
                super::launcher::check_name(inner)
                    .map_err(|why| format!("is a script that is refused: {why}"))?;
                Ok(Target::Scripts(inner.to_string()))
            }
            "headers" => Ok(Target::Headers(inner.to_string())),
            "data" => {
                reserved::check_root(inner, dist_info, "bin", &[])?;
                Ok(Target::Data(inner.to_string()))
            }
            other => Err(format!("uses an unknown .data directory `{other}`")),
        };
    }
    reserved::check_site(archive_path, dist_info, top == dist_info)?;
    Ok(Target::Site(archive_path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_paths() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a\\b",
            "C:/x",
            "a\0b",
            "a\nb.py",
            "",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a/b.py", "pkg/", "x-1.0.dist-info/RECORD"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn places_data_by_key() {
        let di = "x-1.dist-info";
        let data = "x-1.data";
        assert_eq!(place("x/a.py", di, data), Ok(Target::Site("x/a.py".into())));
        assert_eq!(
            place("x-1.data/scripts/run", di, data),
            Ok(Target::Scripts("run".into()))
        );
        assert_eq!(
            place("x-1.data/purelib/y.py", di, data),
            Ok(Target::Site("y.py".into()))
        );
        assert_eq!(
            place("x-1.data/data/share/f", di, data),
            Ok(Target::Data("share/f".into()))
        );
        assert!(place("x-1.data/evil/f", di, data).is_err());
        assert!(place("x-1.data/scripts/sub/f", di, data).is_err());
        assert!(place("other-2.dist-info/RECORD", di, data).is_err());
        assert!(place("x-1.data/purelib/other-2.dist-info/METADATA", di, data).is_err());
        assert!(place("y.egg-info/PKG-INFO", di, data).is_err());
        assert!(place("x/__pycache__", di, data).is_err());
        assert!(place("x-1.data/purelib/x-1.dist-info/entry_points.txt", di, data).is_err());
        assert!(place("x-1.data/data/system/1/victimpkg/planted.py", di, data).is_err());
        assert!(place("x-1.data/data/bin/activate.csh", di, data).is_err());
    }

    #[test]
    fn compares_versions_like_the_spec() {
        assert!(same_version("1.0", "1.0"));
        assert!(same_version("1.0.0", "1.0"));
        assert!(same_version("47.0.0+standin", "47.0.0+standin"));
        assert!(!same_version("1.0", "1.1"));
    }
}
