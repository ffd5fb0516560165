//! The content-addressed store of unpacked wheels:
//! `<cache>/store/<name>-<version>-<sha256 prefix>/`. Each wheel is unpacked
//! once, checked against its RECORD, made read-only, and shared by every
//! environment.
//!
//! Bytecode: every package directory gets a writable `__pycache__`, so the
//! interpreter that first imports a module compiles it there, once, for
//! everybody after it (and another Python version adds its own files beside
//! it). Compiling eagerly at unpack time costs a cold install about as much
//! again as the unpacking; `--compile-bytecode` asks for it.
//!
//! An entry is built in a temporary sibling and renamed into place under its
//! lock ([`crate::shared::Cache`]): a name under `store/` is always a
//! complete, verified entry.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dist::entry_points::{EntryPoint, TEMPEST_GROUP};
use crate::dist::name;
use crate::dist::record::{self, Digester, RecordEntry};
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;
use crate::shared::{Built, Cache, Reuse};
use crate::wheel::archive::{self, Target};
use crate::wheel::{WheelError, filename::WheelFilename};

/// The description of an entry, written last inside it.
pub const INFO_FILE: &str = "entry.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub wheel: String,
    pub source: PathBuf,
    pub dist_info: String,
    /// `Root-Is-Purelib` from WHEEL: whether a real installation puts the
    /// importable tree in purelib (true) or platlib.
    #[serde(default = "yes")]
    pub root_is_purelib: bool,
    /// Files under `site/`, relative to it (including generated ones).
    pub site_files: Vec<String>,
    pub scripts: Vec<String>,
    pub headers: Vec<String>,
    pub data: Vec<String>,
    pub entry_points: Vec<StoredEntryPoint>,
    /// The bytecode cache tag it was compiled for.
    pub compiled_for: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredEntryPoint {
    pub group: String,
    pub name: String,
    pub module: String,
    pub attr: Option<String>,
}

impl EntryInfo {
    pub fn plugins(&self) -> Vec<String> {
        self.group(TEMPEST_GROUP)
            .map(|ep| ep.name.clone())
            .collect()
    }

    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a StoredEntryPoint> {
        self.entry_points.iter().filter(move |ep| ep.group == group)
    }
}

#[derive(Debug, Clone)]
pub struct StoreEntry {
    pub dir: PathBuf,
    pub info: EntryInfo,
    /// Whether this call unpacked it (false: reused).
    pub fresh: bool,
}

impl StoreEntry {
    /// The importable tree: what a `pth` layer points at.
    pub fn site(&self) -> PathBuf {
        self.dir.join("site")
    }
}

fn yes() -> bool {
    true
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        File::open(path).with_context(|| format!("failed to read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::digest::hex(&hasher.finalize()))
}

/// The store: entries under `<cache>/store/`, described by [`INFO_FILE`].
fn cache(home: &Home) -> Cache {
    Cache::new(
        home.store(),
        home.cache().join("locks"),
        "store entry",
        "store",
        INFO_FILE,
    )
}

/// The store entry for `wheel`, unpacking it if no environment has used it
/// yet. The wheel must already have been checked against the interpreter's
/// tags by the caller.
pub fn ensure_wheel(
    home: &Home,
    wheel: &Path,
    filename: &WheelFilename,
    interpreter: &Interpreter,
    compile_bytecode: bool,
    printer: &Printer,
) -> Result<StoreEntry> {
    let sha256 = sha256_file(wheel)?;
    let entry_name = format!(
        "{}-{}-{}",
        name::escape(&filename.name),
        filename.version.replace('-', "_"),
        &sha256[..16]
    );
    let cache = cache(home);
    let dir = cache.dir(&entry_name);
    if let Reuse::Sound(info) = cache.reuse(&entry_name)? {
        let entry = StoreEntry {
            dir,
            info,
            fresh: false,
        };
        printer.verbose(format!("reusing store entry {}", entry.dir.display()));
        if compile_bytecode {
            compile(&entry.site(), &entry.site(), interpreter, printer);
        }
        return Ok(entry);
    }
    // Every refusal comes before anything is written, the store included.
    let (checked, mut zip) = archive::check(wheel)?;
    let built = cache.build(
        &entry_name,
        &format!("store entry {}", dir.display()),
        printer,
        |why| {
            printer.warn(format!(
                "store entry {} {why}; unpacking {} again",
                dir.display(),
                filename
            ))
        },
        |root| {
            for warning in &checked.warnings {
                printer.warn(warning);
            }
            let mut info = EntryInfo::new(&checked, filename, wheel, &sha256);
            for planned in &checked.files {
                unpack_file(&mut zip, planned, root, &mut info, wheel)?;
            }
            let site = root.join("site");
            fs_err::create_dir_all(&site)?;
            write_install_metadata(&site.join(&checked.dist_info), wheel, &sha256)?;
            if compile_bytecode {
                info.compiled_for = compile(&site, &dir.join("site"), interpreter, printer);
            }
            info.site_files = walk(&site)?;
            make_pycache_dirs(&site)?;
            write_record(&site, &checked.dist_info, &info.site_files)?;
            Ok(info)
        },
    )?;
    let (info, fresh) = match built {
        Built::Reused(info) => (info, false),
        Built::Fresh(info) => {
            printer.verbose(format!("unpacked {} into {}", filename, dir.display()));
            (info, true)
        }
    };
    Ok(StoreEntry { dir, info, fresh })
}

impl EntryInfo {
    /// The description of a wheel's entry before its files are listed.
    fn new(
        checked: &archive::CheckedWheel,
        filename: &WheelFilename,
        wheel: &Path,
        sha256: &str,
    ) -> Self {
        EntryInfo {
            name: checked.metadata.name.clone(),
            version: checked.metadata.version.clone(),
            sha256: sha256.to_string(),
            wheel: filename.to_string(),
            source: wheel.to_path_buf(),
            dist_info: checked.dist_info.clone(),
            root_is_purelib: checked.wheel_file.root_is_purelib,
            site_files: Vec::new(),
            scripts: Vec::new(),
            headers: Vec::new(),
            data: Vec::new(),
            entry_points: checked
                .entry_points
                .iter()
                .map(|ep: &EntryPoint| StoredEntryPoint {
                    group: ep.group.clone(),
                    name: ep.name.clone(),
                    module: ep.module.clone(),
                    attr: ep.attr.clone(),
                })
                .collect(),
            compiled_for: None,
        }
    }
}

/// Unpack one checked file of the wheel under `root` (its `site/`,
/// `scripts/`, `headers/` or `data/`), listing it in `info`: never more
/// bytes than it declares, and refused unless it matches its RECORD hash.
fn unpack_file(
    zip: &mut archive::Archive,
    planned: &archive::PlannedFile,
    root: &Path,
    info: &mut EntryInfo,
    wheel: &Path,
) -> Result<()> {
    let invalid = |reason: String| WheelError::Invalid {
        wheel: wheel.display().to_string(),
        reason,
    };
    let (sub, rel, list) = match &planned.target {
        Target::Site(rel) => ("site", rel, None),
        Target::Scripts(rel) => ("scripts", rel, Some(&mut info.scripts)),
        Target::Headers(rel) => ("headers", rel, Some(&mut info.headers)),
        Target::Data(rel) => ("data", rel, Some(&mut info.data)),
    };
    let dest = root.join(sub).join(rel);
    if let Some(list) = list {
        list.push(rel.clone());
    }
    let mut entry = zip
        .by_index(planned.index)
        .map_err(|e| invalid(format!("`{}` is unreadable: {e}", planned.archive_path)))?;
    if let Some(parent) = dest.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let mut out =
        File::create_new(&dest).with_context(|| format!("failed to create {}", dest.display()))?;
    if planned.executable {
        fs_err::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
    }
    let mut digester = Digester::new();
    let mut written: u64 = 0;
    let mut buf = vec![0; 1 << 16];
    // Never trust the declared size: read at most one byte past it.
    let mut limited = (&mut entry).take(planned.size + 1);
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(|e| invalid(format!("`{}` is corrupt: {e}", planned.archive_path)))?;
        if n == 0 {
            break;
        }
        written += n as u64;
        digester.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("failed to write {}", dest.display()))?;
    }
    if written != planned.size {
        return Err(invalid(format!(
            "`{}` holds {written} bytes, not the {} it declares",
            planned.archive_path, planned.size
        ))
        .into());
    }
    let (algorithm, _) = record::parse_hash(&planned.hash).unwrap_or(("sha256", ""));
    let actual = if algorithm == "sha256" {
        digester.finish()
    } else {
        let mut bytes = Vec::new();
        File::open(&dest)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("failed to read {}", dest.display()))?;
        digest_with(algorithm, &bytes)
    };
    if actual != planned.hash {
        return Err(invalid(format!(
            "`{}` does not match its RECORD hash (RECORD: {}, file: {actual})",
            planned.archive_path, planned.hash
        ))
        .into());
    }
    Ok(())
}

/// A RECORD-style digest with a stronger algorithm than sha256.
fn digest_with(algorithm: &str, bytes: &[u8]) -> String {
    use base64::Engine;
    let raw = match algorithm {
        "sha384" => sha2::Sha384::digest(bytes).to_vec(),
        _ => sha2::Sha512::digest(bytes).to_vec(),
    };
    format!(
        "{algorithm}={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    )
}

/// INSTALLER, REQUESTED and `direct_url.json` (PEP 610) in a dist-info.
pub fn write_install_metadata(dist_info: &Path, wheel: &Path, sha256: &str) -> Result<()> {
    fs_err::create_dir_all(dist_info)?;
    fs_err::write(dist_info.join("INSTALLER"), "tempest-env\n")?;
    fs_err::write(dist_info.join("REQUESTED"), "")?;
    let direct_url = serde_json::json!({
        "url": crate::dist::direct_url::file_url(wheel),
        "archive_info": {
            "hash": format!("sha256={sha256}"),
            "hashes": {"sha256": sha256},
        },
    });
    fs_err::write(dist_info.join("direct_url.json"), direct_url.to_string())?;
    Ok(())
}

/// Rewrite `RECORD` to list every file under `site` with its hash and size.
fn write_record(site: &Path, dist_info: &str, files: &[String]) -> Result<()> {
    let record_rel = format!("{dist_info}/RECORD");
    let mut entries = Vec::with_capacity(files.len() + 1);
    for rel in files {
        if *rel == record_rel {
            continue;
        }
        let path = site.join(rel);
        let bytes = fs_err::read(&path)?;
        entries.push(RecordEntry {
            path: rel.clone(),
            hash: Some(record::digest(&bytes)),
            size: Some(bytes.len() as u64),
        });
    }
    entries.push(RecordEntry {
        path: record_rel.clone(),
        hash: None,
        size: None,
    });
    fs_err::write(site.join(&record_rel), record::render(&entries))?;
    Ok(())
}

/// Every file under `dir`, relative, sorted, `/`-separated. fs_extra's walk
/// follows links to directories; an entry being built has none (a wheel's
/// links are refused, and only files and directories are written).
pub fn walk(dir: &Path) -> Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let content = fs_extra::dir::get_dir_content(dir)
        .with_context(|| format!("failed to list {}", dir.display()))?;
    let mut out: Vec<String> = content
        .files
        .iter()
        .filter_map(|file| Path::new(file).strip_prefix(dir).ok())
        .map(|rel| rel.to_string_lossy().into_owned())
        .collect();
    out.sort();
    Ok(out)
}

/// Compile the entry's Python files for `interpreter`, recording the final
/// path in the bytecode. A failure (a file for another Python version) only
/// costs speed, as with pip.
fn compile(
    site: &Path,
    final_site: &Path,
    interpreter: &Interpreter,
    printer: &Printer,
) -> Option<String> {
    let mut cmd = Command::new(&interpreter.executable);
    cmd.args(["-I", "-m", "compileall", "-q", "-j", "0", "-d"])
        .arg(final_site)
        .arg(site)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // compileall's worker processes die with tempest-env too.
    crate::process::die_with_parent(&mut cmd);
    let status = cmd.status();
    match status {
        Ok(status) if status.success() => interpreter.info.cache_tag.clone(),
        Ok(_) | Err(_) => {
            printer.verbose(format!(
                "bytecode compilation of {} was incomplete",
                site.display()
            ));
            interpreter.info.cache_tag.clone()
        }
    }
}

/// A `__pycache__` in every directory that holds Python source, for the
/// bytecode the first importing interpreter writes.
pub fn prepare_read_only(dir: &Path) -> Result<()> {
    make_pycache_dirs(dir)
}

fn make_pycache_dirs(dir: &Path) -> Result<()> {
    let mut has_source = false;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() != PYCACHE {
                make_pycache_dirs(&path)?;
            }
        } else if path.extension().is_some_and(|e| e == "py") {
            has_source = true;
        }
    }
    if has_source {
        fs_err::create_dir_all(dir.join(PYCACHE))?;
    }
    Ok(())
}

const PYCACHE: &str = "__pycache__";

/// Files 0444 (0555 if executable), directories 0555; `__pycache__`
/// directories stay writable (see the module documentation).
pub fn make_read_only(dir: &Path) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = fs_err::symlink_metadata(&path)?;
        if meta.is_dir() && entry.file_name() == PYCACHE {
            continue;
        }
        if meta.is_dir() {
            make_read_only(&path)?;
        } else if meta.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o555
            } else {
                0o444
            };
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o555))?;
    Ok(())
}

/// Remove leftovers, and entries none of the `used` paths is inside of and
/// no live process leases. Each goes aside (renamed) before it is deleted.
pub fn gc(home: &Home, used: &[PathBuf], dry_run: bool) -> Result<Vec<PathBuf>> {
    cache(home).gc(used, dry_run)
}
