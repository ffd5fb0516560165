//! What Python will see, without running Python: every distribution
//! importlib.metadata (and pip) would find on the effective import path that
//! [`super::site_path`] builds (re-exported here, so callers name one
//! module). Nothing is imported or executed. The per-file formats are parsed
//! by the sibling modules; this one does the directory walking, and only
//! reads the small metadata files, so a scan of a few hundred distributions
//! takes milliseconds.
use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Serialize, Serializer};

use crate::dist::entry_points::{self, EntryPoint};
use crate::dist::metadata::Metadata;
use crate::dist::pth;
use crate::dist::record;
use crate::dist::{egg_info, name};

// The path part lives in its own module; callers name both through this one.
use super::site_path::is_absent;
pub use super::site_path::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MetadataKind {
    DistInfo,
    EggInfo,
    EggLink,
}

#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub name: String,
    pub version: String,
    pub kind: MetadataKind,
    /// The `.dist-info` or `.egg-info` directory (or `.egg-info` file holding
    /// `PKG-INFO`, as Debian sometimes installs), or the `.egg-link` file.
    pub metadata_path: PathBuf,
    /// The `sys.path` entry it was found in.
    pub site_dir: PathBuf,
    pub origin: Origin,
    /// PEP 508 strings: `Requires-Dist`, or `requires.txt` converted.
    pub requires: Vec<String>,
    /// Why `requires.txt` could not be read (pip check then leaves the
    /// distribution out, as if it were not installed).
    pub requires_error: Option<String>,
    #[serde(serialize_with = "serialize_entry_points")]
    pub entry_points: Vec<EntryPoint>,
    /// Files it owns, relative to `site_dir`: `RECORD` (dist-info) or
    /// `installed-files.txt` (egg-info). Empty when unknown or not read.
    pub files: Vec<PathBuf>,
    /// Top-level importable names: `top_level.txt`, else derived from `files`.
    pub top_level: Vec<String>,
    /// For an `.egg-link` or an editable install: where the code lives.
    pub editable_location: Option<PathBuf>,
}

impl Distribution {
    /// The PEP 503 name distributions are told apart by.
    pub fn normalized_name(&self) -> String {
        name::normalize(&self.name)
    }
}

fn serialize_entry_points<S: Serializer>(
    eps: &[EntryPoint],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Row<'a> {
        group: &'a str,
        name: &'a str,
        value: String,
    }
    serializer.collect_seq(eps.iter().map(|ep| Row {
        group: &ep.group,
        name: &ep.name,
        value: ep.value(),
    }))
}

/// What a scan reads besides the metadata every caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Read `RECORD` / `installed-files.txt` into [`Distribution::files`].
    /// Without it, `files` is empty and `top_level` comes from
    /// `top_level.txt` alone.
    pub files: bool,
    /// Read `top_level.txt` and `direct_url.json` only for distributions
    /// that declare `tempest.test_plugins` entry points: a quick look at the
    /// plugins of a base with hundreds of distributions skips two file reads
    /// for each of the others.
    pub plugins_only_details: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            files: true,
            plugins_only_details: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanResult {
    pub dists: Vec<Distribution>,
    /// Metadata that could not be read: (path, why). Never fatal.
    pub problems: Vec<(PathBuf, String)>,
}

impl ScanResult {
    /// The first distribution found per normalized name (what
    /// importlib.metadata's `entry_points()` and pip use), in order.
    pub fn visible(&self) -> Vec<&Distribution> {
        let mut seen = HashSet::new();
        self.dists
            .iter()
            .filter(|dist| seen.insert(dist.normalized_name()))
            .collect()
    }

    /// Distributions hidden behind an earlier one of the same normalized
    /// name, each with the one that wins.
    pub fn shadowed(&self) -> Vec<(&Distribution, &Distribution)> {
        let mut winners: Vec<(String, &Distribution)> = Vec::new();
        let mut out = Vec::new();
        for dist in &self.dists {
            let key = dist.normalized_name();
            match winners.iter().find(|(name, _)| *name == key) {
                Some((_, winner)) => out.push((dist, *winner)),
                None => winners.push((key, dist)),
            }
        }
        out
    }

    /// The visible distribution of `name` (any spelling).
    pub fn get(&self, name: &str) -> Option<&Distribution> {
        let key = name::normalize(name);
        self.dists.iter().find(|dist| dist.normalized_name() == key)
    }

    /// Every entry point of `group` from visible distributions, in order.
    pub fn entry_points(&self, group: &str) -> Vec<(&EntryPoint, &Distribution)> {
        self.visible()
            .into_iter()
            .flat_map(|dist| {
                dist.entry_points
                    .iter()
                    .filter(move |ep| ep.group == group)
                    .map(move |ep| (ep, dist))
            })
            .collect()
    }
}

/// Every distribution visible on `path`, reading file lists too.
pub fn scan(path: &EffectivePath) -> ScanResult {
    scan_with(path, ScanOptions::default())
}

/// Every distribution visible on `path`, in the order importlib.metadata
/// finds them: path entry order, and within a directory `.dist-info` and
/// `.egg-info` (directories, or files in `PKG-INFO` format) sorted by name,
/// then `.egg-link` files (which pip follows after everything else in the
/// directory; importlib.metadata finds their project through the path entry
/// `easy-install.pth` adds, and that copy is not counted twice). Unreadable
/// or unparsable metadata is reported in `problems`.
pub fn scan_with(path: &EffectivePath, options: ScanOptions) -> ScanResult {
    let mut scanner = Scanner {
        options,
        out: ScanResult::default(),
        seen_metadata: HashSet::new(),
        scanned_dirs: HashSet::new(),
    };
    for entry in &path.entries {
        scanner.scan_entry(entry);
    }
    scanner.out
}

struct Scanner {
    options: ScanOptions,
    out: ScanResult,
    /// Metadata directories already counted (reached both through an
    /// `.egg-link` and as a path entry of their own).
    seen_metadata: HashSet<PathBuf>,
    /// Path entries already scanned (`sys.path` can hold one twice).
    scanned_dirs: HashSet<PathBuf>,
}

/// A child of a path entry that holds or points to metadata.
struct Found {
    path: PathBuf,
    is_dir: bool,
}

impl Scanner {
    fn problem(&mut self, path: &Path, err: anyhow::Error) {
        self.out
            .problems
            .push((path.to_path_buf(), format!("{err:#}")));
    }

    fn scan_entry(&mut self, entry: &PathEntry) {
        if !self.scanned_dirs.insert(entry.dir.clone()) {
            return;
        }
        let (infos, links) = match list_metadata(&entry.dir) {
            Ok(found) => found,
            Err(err) => return self.problem(&entry.dir, err),
        };
        for info in infos {
            if !self.seen_metadata.insert(info.path.clone()) {
                continue;
            }
            match read_info(&info, &entry.dir, self.options) {
                Ok(dist) => self.push(dist, entry.origin),
                Err(err) => self.problem(&info.path, err),
            }
        }
        for link in links {
            if let Err(err) = self.follow_egg_link(&link.path, entry) {
                self.problem(&link.path, err);
            }
        }
    }

    fn push(&mut self, (dist, problems): ReadInfo, origin: Origin) {
        self.out.problems.extend(problems);
        self.out.dists.push(Distribution { origin, ..dist });
    }

    fn follow_egg_link(&mut self, link: &Path, entry: &PathEntry) -> Result<()> {
        let text = fs_err::read_to_string(link)
            .with_context(|| format!("failed to read {}", link.display()))?;
        let target = pth::egg_link(&text).ok_or_else(|| anyhow!("the .egg-link is empty"))?;
        let project = normalize(&entry.dir.join(target));
        let (infos, _) = list_metadata(&project)?;
        for info in infos {
            if !self.seen_metadata.insert(info.path.clone()) {
                continue;
            }
            match read_info(
                &info,
                &project,
                ScanOptions {
                    files: false,
                    plugins_only_details: false,
                },
            ) {
                Ok((dist, problems)) => {
                    let dist = Distribution {
                        kind: MetadataKind::EggLink,
                        metadata_path: link.to_path_buf(),
                        site_dir: entry.dir.clone(),
                        editable_location: Some(project.clone()),
                        ..dist
                    };
                    self.push((dist, problems), entry.origin);
                }
                Err(err) => self.problem(&info.path, err),
            }
        }
        Ok(())
    }
}

/// The metadata children of `dir`, sorted: (`.dist-info`/`.egg-info`,
/// `.egg-link`). A missing directory has none.
fn list_metadata(dir: &Path) -> Result<(Vec<Found>, Vec<Found>)> {
    let read = match fs_err::read_dir(dir) {
        Ok(read) => read,
        Err(err) if is_absent(&err) => return Ok((Vec::new(), Vec::new())),
        Err(err) => return Err(anyhow!(err).context(format!("failed to list {}", dir.display()))),
    };
    let mut infos = Vec::new();
    let mut links = Vec::new();
    for child in read {
        let child = child.with_context(|| format!("failed to list {}", dir.display()))?;
        let file_name = child.file_name();
        let Some(text) = file_name.to_str() else {
            continue;
        };
        let lower = text.to_ascii_lowercase();
        let is_info = lower.ends_with(".dist-info") || lower.ends_with(".egg-info");
        if !is_info && !lower.ends_with(".egg-link") {
            continue;
        }
        let path = child.path();
        let is_dir = match child.file_type() {
            Ok(kind) if kind.is_symlink() => path.is_dir(),
            Ok(kind) => kind.is_dir(),
            Err(_) => path.is_dir(),
        };
        let found = (lower, Found { path, is_dir });
        if is_info {
            infos.push(found)
        } else {
            links.push(found)
        }
    }
    // By project name; of one project's records in one directory the
    // `.dist-info` comes before the `.egg-info`, whatever their versions,
    // as importlib.metadata yields them.
    let key = |lower: &str| (name::metadata_project(lower), lower.ends_with(".egg-info"));
    let sorted = |mut found: Vec<(String, Found)>| {
        found.sort_by(|(a, fa), (b, fb)| {
            key(a)
                .cmp(&key(b))
                .then_with(|| a.cmp(b))
                .then_with(|| fa.path.cmp(&fb.path))
        });
        found
            .into_iter()
            .map(|(_, found)| found)
            .collect::<Vec<_>>()
    };
    Ok((sorted(infos), sorted(links)))
}

type ReadInfo = (Distribution, Vec<(PathBuf, String)>);

/// Reads one `.dist-info` / `.egg-info`: the distribution, and the problems
/// with its optional files (which do not stop it from being found).
fn read_info(info: &Found, site_dir: &Path, options: ScanOptions) -> Result<ReadInfo> {
    let file_name = info.path.file_name().unwrap_or_default().to_string_lossy();
    let is_dist_info = file_name.to_ascii_lowercase().ends_with(".dist-info");
    let mut dist = read_metadata(info, site_dir, is_dist_info)?;
    let mut problems = Vec::new();
    if !info.is_dir {
        return Ok((dist, problems));
    }
    let files = OptionalFiles::read(info, is_dist_info, options, &mut problems);
    let mut bad = |file: &str, message: String| problems.push((info.path.join(file), message));
    if let Some(text) = files.entry_points {
        match entry_points::parse(&text) {
            Ok(eps) => dist.entry_points = eps,
            Err(err) => bad(
                "entry_points.txt",
                format!("invalid entry_points.txt: {err}"),
            ),
        }
    }
    if let Some(text) = files.requires {
        match egg_info::requires(&text) {
            Ok(requires) => dist.requires = requires,
            Err(err) => {
                bad("requires.txt", err.to_string());
                dist.requires_error = Some(err.to_string());
            }
        }
    }
    if let Some(text) = files.listing {
        if is_dist_info {
            match record_paths(&text) {
                Ok(files) => dist.files = files,
                Err(err) => bad("RECORD", err.to_string()),
            }
        } else {
            // installed-files.txt is relative to the .egg-info directory.
            let base = Path::new(file_name.as_ref());
            dist.files = egg_info::installed_files(&text)
                .iter()
                .map(|file| normalize(&base.join(file)))
                .collect();
        }
    }
    dist.top_level = match files.top_level {
        Some(text) => egg_info::top_level(&text),
        None => derive_top_level(&dist.files),
    };
    if let Some(text) = files.direct_url {
        dist.editable_location = editable_location(&text);
    }
    Ok((dist, problems))
}

/// The distribution as its `METADATA` (or `PKG-INFO`) describes it, before
/// its optional files are read.
fn read_metadata(info: &Found, site_dir: &Path, is_dist_info: bool) -> Result<Distribution> {
    let metadata_file = match (is_dist_info, info.is_dir) {
        (true, true) => info.path.join("METADATA"),
        (false, true) => info.path.join("PKG-INFO"),
        (false, false) => info.path.clone(),
        (true, false) => return Err(anyhow!("a .dist-info that is not a directory")),
    };
    let text = read_headers(&metadata_file)
        .with_context(|| format!("failed to read {}", metadata_file.display()))?;
    let metadata =
        Metadata::parse(&text).with_context(|| format!("invalid {}", metadata_file.display()))?;
    Ok(Distribution {
        name: metadata.name,
        version: metadata.version,
        kind: if is_dist_info {
            MetadataKind::DistInfo
        } else {
            MetadataKind::EggInfo
        },
        metadata_path: info.path.clone(),
        site_dir: site_dir.to_path_buf(),
        origin: Origin::Other,
        requires: metadata.requires_dist,
        requires_error: None,
        entry_points: Vec::new(),
        files: Vec::new(),
        top_level: Vec::new(),
        editable_location: None,
    })
}

/// The optional files of a metadata directory that the scan reads, as text.
struct OptionalFiles {
    entry_points: Option<String>,
    top_level: Option<String>,
    /// `requires.txt` (egg-info; a dist-info's are in METADATA).
    requires: Option<String>,
    /// `RECORD` or `installed-files.txt`.
    listing: Option<String>,
    direct_url: Option<String>,
}

impl OptionalFiles {
    /// Read what `options` asks for: the listing only with `files`, and
    /// `top_level.txt` and `direct_url.json` only of plugins with
    /// `plugins_only_details`. A file that is there but unreadable is a
    /// problem.
    fn read(
        info: &Found,
        is_dist_info: bool,
        options: ScanOptions,
        problems: &mut Vec<(PathBuf, String)>,
    ) -> Self {
        let mut optional = |file: &str| -> Option<String> {
            let path = info.path.join(file);
            match fs_err::read(&path) {
                Ok(bytes) => Some(text_of(bytes)),
                Err(err) if is_absent(&err) => None,
                Err(err) => {
                    problems.push((path, format!("failed to read: {err}")));
                    None
                }
            }
        };
        let entry_points = optional("entry_points.txt");
        let details = !options.plugins_only_details
            || entry_points
                .as_deref()
                .is_some_and(|t| t.contains(crate::dist::entry_points::TEMPEST_GROUP));
        let top_level = if details {
            optional("top_level.txt")
        } else {
            None
        };
        let (requires, listing, direct_url) = if is_dist_info {
            let record = options.files.then(|| optional("RECORD")).flatten();
            let direct_url = if details {
                optional("direct_url.json")
            } else {
                None
            };
            (None, record, direct_url)
        } else {
            let installed = options
                .files
                .then(|| optional("installed-files.txt"))
                .flatten();
            (optional("requires.txt"), installed, None)
        };
        OptionalFiles {
            entry_points,
            top_level,
            requires,
            listing,
            direct_url,
        }
    }
}

/// The paths of `RECORD`, normalized. Most rows are `path,hash,size` with
/// a plain path, read by splitting at the first comma; a file with a quoted
/// row goes through the CSV parser.
fn record_paths(text: &str) -> Result<Vec<PathBuf>, record::RecordError> {
    if text.contains('"') {
        return Ok(record::parse(text)?
            .iter()
            .map(|row| normalize(Path::new(&row.path)))
            .collect());
    }
    Ok(text
        .lines()
        .filter_map(|line| line.split(',').next().filter(|path| !path.is_empty()))
        .map(|path| {
            let plain = !path.split('/').any(|part| matches!(part, "" | "." | ".."));
            if plain {
                PathBuf::from(path)
            } else {
                normalize(Path::new(path))
            }
        })
        .collect())
}

/// The header block of a `METADATA` / `PKG-INFO` file: read up to the first
/// empty line, since the long description after it can be large.
fn read_headers(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        let searched = buf.len().saturating_sub(2);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = blank_line(&buf[searched..]) {
            buf.truncate(searched + end);
            break;
        }
    }
    Ok(text_of(buf))
}

/// The bytes as text, copied only when they are not UTF-8.
fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// The offset just past the first `\n` that ends an empty line.
fn blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|at| at + 2)
        .or_else(|| {
            bytes
                .windows(3)
                .position(|w| w == b"\n\r\n")
                .map(|at| at + 3)
        })
}

/// Top-level importable names from a file list: the first component of
/// every path that is a top-level module (`six.py`, an extension module) or
/// lies in a package directory, leaving out metadata directories,
/// `__pycache__` and paths outside the site dir.
pub fn derive_top_level(files: &[PathBuf]) -> Vec<String> {
    let mut names = BTreeSet::new();
    for file in files {
        let mut components = file.components();
        let Some(Component::Normal(first)) = components.next() else {
            continue;
        };
        let Some(first) = first.to_str() else {
            continue;
        };
        if components.next().is_some() {
            let lower = first.to_ascii_lowercase();
            let is_metadata = [".dist-info", ".egg-info", ".data"]
                .iter()
                .any(|suffix| lower.ends_with(suffix));
            if !is_metadata && first != "__pycache__" {
                names.insert(first.to_string());
            }
        } else if let Some(module) = first.strip_suffix(".py") {
            names.insert(module.to_string());
        } else if first.ends_with(".so") || first.ends_with(".pyd") {
            let module = first.split('.').next().unwrap_or_default();
            names.insert(module.to_string());
        }
    }
    names.into_iter().filter(|name| !name.is_empty()).collect()
}

/// The source tree of a PEP 660 editable install, from `direct_url.json`.
fn editable_location(text: &str) -> Option<PathBuf> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value.pointer("/dir_info/editable")?.as_bool() != Some(true) {
        return None;
    }
    let url = value.get("url")?.as_str()?;
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    Some(PathBuf::from(percent_decode(rest)?))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::entry_points::TEMPEST_GROUP;

    use crate::dist::site_path::tests::{SAMPLES, dirs, sample, site, write};

    /// env: tempest, stevedore, stestr, barbican 4.6.0, six 1.17.0 (dist-info),
    /// oslo.config 9.0.0 (Debian egg-info dir); system: barbican 1.7.0,
    /// six 1.16.0 as an egg-info file, legacy six egg-info.
    fn two_sites(root: &Path) -> EffectivePath {
        let env = root.join("env");
        let system = root.join("system");
        for name in [
            "tempest-47.0.0.dist-info",
            "stevedore-5.10.0.dist-info",
            "stestr-4.2.1.dist-info",
            "barbican_tempest_plugin-4.6.0.dist-info",
            "six-1.17.0.dist-info",
        ] {
            sample(&env, "dist-info", name);
        }
        sample(&env, "egg-info", "oslo.config-9.0.0.egg-info");
        sample(
            &system,
            "egg-info",
            "barbican_tempest_plugin-1.7.0.egg-info",
        );
        sample(&system, "egg-info", "six-1.17.0-py3.11.egg-info");
        fs_err::copy(
            Path::new(SAMPLES).join("egg-info/six-1.16.0.egg-info/PKG-INFO"),
            system.join("six-1.16.0.egg-info"),
        )
        .unwrap();
        effective_path(&[site(&env, Origin::Env), site(&system, Origin::System)]).unwrap()
    }

    /// Debian installs some packages with both records in one directory;
    /// importlib.metadata reads the `.dist-info`, whichever version sorts
    /// first.
    #[test]
    fn in_one_directory_the_dist_info_comes_before_the_egg_info() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dist-packages");
        write(
            &dir.join("cryptography-1.0.egg-info/PKG-INFO"),
            "Metadata-Version: 2.1\nName: cryptography\nVersion: 1.0\n",
        );
        write(
            &dir.join("Cryptography-2.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: Cryptography\nVersion: 2.0\n",
        );
        let result = scan(&effective_path(&[site(&dir, Origin::System)]).unwrap());
        assert_eq!(result.get("cryptography").unwrap().version, "2.0");
        let shadowed = result.shadowed();
        assert_eq!(shadowed.len(), 1);
        let (hidden, winner) = shadowed[0];
        assert_eq!(
            (hidden.version.as_str(), winner.version.as_str()),
            ("1.0", "2.0")
        );
        let message = crate::plugins::report::shadowing(hidden, winner);
        assert!(
            message.contains("Python reads Cryptography-2.0.dist-info (2.0) and ignores cryptography-1.0.egg-info (1.0)"),
            "{message}"
        );
    }

    #[test]
    fn scan_finds_every_form_in_path_order() {
        let tmp = tempfile::tempdir().unwrap();
        let path = two_sites(tmp.path());
        let result = scan(&path);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let found: Vec<(String, &str, MetadataKind, Origin)> = result
            .dists
            .iter()
            .map(|d| {
                (
                    d.normalized_name(),
                    d.version.as_str(),
                    d.kind.clone(),
                    d.origin,
                )
            })
            .collect();
        use MetadataKind::*;
        use Origin::*;
        assert_eq!(
            found,
            [
                ("barbican-tempest-plugin".into(), "4.6.0", DistInfo, Env),
                ("oslo-config".into(), "9.0.0", EggInfo, Env),
                ("six".into(), "1.17.0", DistInfo, Env),
                ("stestr".into(), "4.2.1", DistInfo, Env),
                ("stevedore".into(), "5.10.0", DistInfo, Env),
                ("tempest".into(), "47.0.0", DistInfo, Env),
                ("barbican-tempest-plugin".into(), "1.7.0", EggInfo, System),
                ("six".into(), "1.16.0", EggInfo, System),
                ("six".into(), "1.17.0", EggInfo, System),
            ]
        );
        let visible: Vec<String> = result
            .visible()
            .iter()
            .map(|d| d.normalized_name())
            .collect();
        assert_eq!(visible.len(), 6);
        let shadowed: Vec<(&str, &str)> = result
            .shadowed()
            .iter()
            .map(|(hidden, winner)| (hidden.version.as_str(), winner.version.as_str()))
            .collect();
        assert_eq!(
            shadowed,
            [
                ("1.7.0", "4.6.0"),
                ("1.16.0", "1.17.0"),
                ("1.17.0", "1.17.0")
            ]
        );
        assert_eq!(
            result.get("Barbican_Tempest.Plugin").unwrap().version,
            "4.6.0"
        );
        let plugins: Vec<(&str, &str)> = result
            .entry_points(TEMPEST_GROUP)
            .iter()
            .map(|(ep, dist)| (ep.name.as_str(), dist.version.as_str()))
            .collect();
        assert_eq!(plugins, [("barbican_tests", "4.6.0")]);
        // Requirements: Requires-Dist, and requires.txt converted.
        let barbican = &result.dists[0];
        assert!(barbican.requires.contains(&"tempest>=27.0.0".to_string()));
        let oslo = &result.dists[1];
        assert!(
            oslo.requires
                .contains(&"stestr>=2.1.0; extra == \"test\"".to_string())
        );
        assert_eq!(oslo.top_level, ["oslo_config"]);
        assert!(!oslo.entry_points.is_empty());
        // The egg-info file form has metadata only.
        let six_file = &result.dists[7];
        assert!(six_file.metadata_path.is_file());
        assert!(six_file.entry_points.is_empty() && six_file.files.is_empty());
    }

    #[test]
    fn files_and_top_level() {
        let tmp = tempfile::tempdir().unwrap();
        let result = scan(&two_sites(tmp.path()));
        let by = |name: &str| {
            result
                .visible()
                .into_iter()
                .find(|d| d.name == name)
                .unwrap()
        };
        // stestr ships no top_level.txt: derived from RECORD.
        let stestr = by("stestr");
        assert_eq!(stestr.files.len(), 70);
        assert!(stestr.files.contains(&PathBuf::from("stestr/cli.py")));
        assert_eq!(stestr.top_level, ["stestr"]);
        assert_eq!(by("tempest").top_level, ["tempest"]);
        // installed-files.txt is relative to the .egg-info directory.
        let legacy = result
            .dists
            .iter()
            .find(|d| d.metadata_path.ends_with("six-1.17.0-py3.11.egg-info"))
            .unwrap();
        assert_eq!(
            legacy.files[..3],
            [
                PathBuf::from("__pycache__/six.cpython-311.pyc"),
                PathBuf::from("six.py"),
                PathBuf::from("six-1.17.0-py3.11.egg-info/PKG-INFO"),
            ]
        );
        assert_eq!(derive_top_level(&legacy.files), ["six"]);
        let derived = derive_top_level(
            &[
                "pkg/__init__.py",
                "pkg/sub/x.py",
                "mod.py",
                "_speedups.cpython-311-x86_64-linux-gnu.so",
                "../../../bin/tool",
                "x-1.0.dist-info/RECORD",
                "x-1.0.data/scripts/y",
                "__pycache__/mod.cpython-311.pyc",
                "README",
                "x.pth",
            ]
            .map(PathBuf::from),
        );
        assert_eq!(derived, ["_speedups", "mod", "pkg"]);
        // Without file lists, nothing but top_level.txt is read.
        let light = scan_with(
            &two_sites(&tmp.path().join("again")),
            ScanOptions {
                files: false,
                plugins_only_details: false,
            },
        );
        assert!(light.dists.iter().all(|d| d.files.is_empty()));
        let stestr = light.dists.iter().find(|d| d.name == "stestr").unwrap();
        assert!(stestr.top_level.is_empty());
    }

    #[test]
    fn egg_links_are_followed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let site_dir = tmp.path().join("site");
        let project = tmp.path().join("proj3");
        sample(
            &project,
            "egg-info",
            "barbican_tempest_plugin-1.7.0.egg-info",
        );
        // As `setup.py develop` writes them, pointed at this project.
        let link =
            fs_err::read_to_string(Path::new(SAMPLES).join("pth/legacy-demo.egg-link")).unwrap();
        let link = link.replace("/tmp/proj3", &project.to_string_lossy());
        write(&site_dir.join("barbican-tempest-plugin.egg-link"), &link);
        let easy = fs_err::read_to_string(Path::new(SAMPLES).join("pth/easy-install.pth")).unwrap();
        write(
            &site_dir.join("easy-install.pth"),
            &easy.replace("/tmp/proj3", &project.to_string_lossy()),
        );
        sample(&site_dir, "dist-info", "six-1.17.0.dist-info");
        let path = effective_path(&[site(&site_dir, Origin::Env)]).unwrap();
        assert_eq!(dirs(&path), [site_dir.clone(), project.clone()]);
        let result = scan(&path);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        assert_eq!(result.dists.len(), 2, "{:?}", result.dists);
        let (six, linked) = (&result.dists[0], &result.dists[1]);
        assert_eq!(six.name, "six");
        assert_eq!(linked.kind, MetadataKind::EggLink);
        assert_eq!(
            linked.metadata_path,
            site_dir.join("barbican-tempest-plugin.egg-link")
        );
        assert_eq!(linked.site_dir, site_dir);
        assert_eq!(linked.editable_location.as_ref(), Some(&project));
        assert_eq!(result.entry_points(TEMPEST_GROUP).len(), 1);
        // A link to nowhere finds nothing and is no error.
        write(&site_dir.join("gone.egg-link"), "/nonexistent/project\n.");
        assert_eq!(scan(&path).dists.len(), 2);
    }

    #[test]
    fn editable_dist_info_names_its_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let site_dir = tmp.path().join("site");
        sample(&site_dir, "dist-info", "six-1.17.0.dist-info");
        write(
            &site_dir.join("six-1.17.0.dist-info/direct_url.json"),
            r#"{"url": "file:///src/my%20six", "dir_info": {"editable": true}}"#,
        );
        let result = scan(&effective_path(&[site(&site_dir, Origin::Env)]).unwrap());
        assert_eq!(
            result.dists[0].editable_location,
            Some(PathBuf::from("/src/my six"))
        );
        assert_eq!(
            editable_location(r#"{"url": "file:///x", "dir_info": {}}"#),
            None
        );
        assert_eq!(editable_location("not json"), None);
    }

    #[test]
    fn broken_metadata_is_reported_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let site_dir = tmp.path().join("site");
        sample(&site_dir, "dist-info", "six-1.17.0.dist-info");
        fs_err::create_dir_all(site_dir.join("nometa-1.0.dist-info")).unwrap();
        write(
            &site_dir.join("bad-1.0.dist-info/METADATA"),
            "Name: -bad\nVersion: 1\n",
        );
        write(
            &site_dir.join("file-1.0.dist-info"),
            "Name: file\nVersion: 1\n",
        );
        write(
            &site_dir.join("eps-1.0.dist-info/METADATA"),
            "Name: eps\nVersion: 1\n",
        );
        write(
            &site_dir.join("eps-1.0.dist-info/entry_points.txt"),
            "[g]\nno equals\n",
        );
        write(
            &site_dir.join("req-1.0.egg-info/PKG-INFO"),
            "Name: req\nVersion: 1\n",
        );
        write(
            &site_dir.join("req-1.0.egg-info/requires.txt"),
            "ok\nnot valid!\n",
        );
        write(
            &site_dir.join("rec-1.0.dist-info/METADATA"),
            "Name: rec\nVersion: 1\n",
        );
        write(&site_dir.join("rec-1.0.dist-info/RECORD"), "\"a\",b\n");
        let result = scan(&effective_path(&[site(&site_dir, Origin::Env)]).unwrap());
        let names: Vec<&str> = result.dists.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["eps", "rec", "req", "six"]);
        let problems: Vec<String> = result
            .problems
            .iter()
            .map(|(path, why)| {
                format!("{}: {why}", path.strip_prefix(&site_dir).unwrap().display())
            })
            .collect();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(
            problems[0].starts_with("bad-1.0.dist-info: invalid "),
            "{}",
            problems[0]
        );
        assert!(problems[0].ends_with("invalid distribution name \"-bad\""));
        assert!(
            problems[1].starts_with(
                "eps-1.0.dist-info/entry_points.txt: invalid entry_points.txt: line 2"
            )
        );
        assert_eq!(
            problems[2],
            "file-1.0.dist-info: a .dist-info that is not a directory"
        );
        assert!(
            problems[3].starts_with("nometa-1.0.dist-info: failed to read "),
            "{}",
            problems[3]
        );
        assert!(
            problems[4].starts_with("rec-1.0.dist-info/RECORD: RECORD line 1"),
            "{}",
            problems[4]
        );
        assert!(problems[5].starts_with("req-1.0.egg-info/requires.txt: requires.txt line 2"));
        let req = result.get("req").unwrap();
        assert!(req.requires_error.is_some());
    }

    #[test]
    fn record_paths_fast_and_quoted() {
        let plain = "a/b.py,sha256=x,1\n\n../../../bin/t,,\nc/./d.py,,\r\nx-1.dist-info/RECORD,,\n";
        assert_eq!(
            record_paths(plain).unwrap(),
            ["a/b.py", "../../../bin/t", "c/d.py", "x-1.dist-info/RECORD"].map(PathBuf::from)
        );
        let quoted = "\"a,b/c.py\",sha256=x,1\nd.py,,\n";
        assert_eq!(
            record_paths(quoted).unwrap(),
            ["a,b/c.py", "d.py"].map(PathBuf::from)
        );
        let real = fs_err::read_to_string(
            Path::new(SAMPLES).join("dist-info/tempest-47.0.0.dist-info/RECORD"),
        )
        .unwrap();
        let rows = crate::dist::record::parse(&real).unwrap();
        let expected: Vec<PathBuf> = rows.iter().map(|r| normalize(Path::new(&r.path))).collect();
        assert_eq!(record_paths(&real).unwrap(), expected);
    }

    #[test]
    fn headers_stop_at_the_body() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("METADATA");
        let body = "x".repeat(100_000);
        fs_err::write(
            &file,
            format!("Name: a\r\nVersion: 1\r\n\r\nBody: {body}\n"),
        )
        .unwrap();
        assert_eq!(
            read_headers(&file).unwrap(),
            "Name: a\r\nVersion: 1\r\n\r\n"
        );
        fs_err::write(&file, "Name: a\nVersion: 1").unwrap();
        assert_eq!(read_headers(&file).unwrap(), "Name: a\nVersion: 1");
        let long = format!(
            "Name: a\nSummary: {}\nVersion: 1\n\nbody",
            "y".repeat(20_000)
        );
        fs_err::write(&file, &long).unwrap();
        assert_eq!(read_headers(&file).unwrap(), long[..long.len() - 4]);
    }

    #[test]
    fn serializes_entry_points_as_values() {
        let tmp = tempfile::tempdir().unwrap();
        let result = scan(&two_sites(tmp.path()));
        let json = serde_json::to_value(&result.dists[0]).unwrap();
        let plugin = json["entry_points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ep| ep["group"] == TEMPEST_GROUP)
            .unwrap();
        assert_eq!(
            plugin["value"],
            "barbican_tempest_plugin.plugin:BarbicanTempestPlugin"
        );
        assert_eq!(json["kind"], "DistInfo");
        assert_eq!(json["origin"], "Env");
    }
}
