//! Turn a [`PythonRequest`] into a queried [`Interpreter`].

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Interpreter, InterpreterError, PythonRequest, cache, pyenv};
use crate::home::Home;
use crate::printer::Printer;

/// The directories of `PATH`, in order.
pub fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

pub fn is_executable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn which(name: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// How a candidate executable is run.
enum Resolved {
    /// A real interpreter binary, canonical path.
    Real(PathBuf),
    /// A script that starts an interpreter somewhere else; only running it
    /// tells where.
    Wrapper(PathBuf),
}

fn head(path: &Path) -> Vec<u8> {
    if !fs_err::metadata(path).is_ok_and(|m| m.is_file()) {
        return Vec::new();
    }
    let mut buf = vec![0; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Follow symlinks and pyenv shims to the real executable. `None` when the
/// candidate leads nowhere (a shim for a version pyenv has not selected).
fn resolve(candidate: &Path) -> Option<Resolved> {
    let head = head(candidate);
    if head.starts_with(b"#!") {
        if let Some(root) = pyenv::shim_root(candidate, &head) {
            let command = candidate.file_name()?.to_str()?;
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
            let real = pyenv::resolve(&root, command, &cwd)?;
            return fs_err::canonicalize(real).ok().map(Resolved::Real);
        }
        return Some(Resolved::Wrapper(candidate.to_path_buf()));
    }
    fs_err::canonicalize(candidate).ok().map(Resolved::Real)
}

fn query(resolved: &Resolved, home: &Home, printer: &Printer) -> Result<super::InterpreterInfo> {
    match resolved {
        Resolved::Real(path) => {
            let (info, cached) = cache::query_cached(path, &home.interpreters())?;
            printer.verbose(format!(
                "interpreter {} {}",
                path.display(),
                if cached {
                    "(cached query)"
                } else {
                    "(queried)"
                }
            ));
            Ok(info)
        }
        Resolved::Wrapper(path) => {
            printer.verbose(format!("interpreter wrapper {} (queried)", path.display()));
            cache::query(path)
        }
    }
}

/// The query's answer; an interpreter too old for the query itself (Python
/// 2 has no `-I`) is told apart from a broken one by its `--version`.
fn query_or_too_old(
    resolved: &Resolved,
    home: &Home,
    printer: &Printer,
) -> Result<super::InterpreterInfo> {
    query(resolved, home, printer).map_err(|err| match resolved {
        Resolved::Real(path) => old_version(path).unwrap_or(err),
        Resolved::Wrapper(_) => err,
    })
}

fn pyenv_root() -> Option<PathBuf> {
    std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| Some(directories::BaseDirs::new()?.home_dir().join(".pyenv")))
        .filter(|root| root.join("versions").is_dir())
}

/// Find and query the interpreter `raw` asks for (`None`: `python3` on PATH).
pub fn find(raw: Option<&str>, home: &Home, printer: &Printer) -> Result<Interpreter> {
    let request = PythonRequest::parse(raw);
    let not_found = || InterpreterError::NotFound {
        request: request.to_string(),
        found: describe_found(home),
    };
    let info = match &request {
        PythonRequest::Path(path) => {
            if !path.exists() {
                return Err(not_found().into());
            }
            // A FIFO would block the look at its first line; a device or a
            // directory is no interpreter either.
            crate::input::regular_file(path, "--python")?;
            let resolved = resolve(path).ok_or_else(not_found)?;
            query_or_too_old(&resolved, home, printer)?
        }
        PythonRequest::Default | PythonRequest::Name(_) => {
            let resolved = request
                .executable_names()
                .iter()
                .filter_map(|name| which(name))
                .find_map(|candidate| resolve(&candidate))
                .ok_or_else(not_found)?;
            query_or_too_old(&resolved, home, printer)?
        }
        PythonRequest::Version(_) => match find_version(&request, home, printer) {
            Found::Yes(info) => *info,
            Found::TooOld(err) => return Err(err),
            Found::No => return Err(not_found().into()),
        },
    };
    Ok(Interpreter {
        request: request.to_string(),
        executable: info.executable.clone(),
        info,
    })
}

/// What looking for a version found.
enum Found {
    Yes(Box<super::InterpreterInfo>),
    /// Only interpreters of that version too old for tempest-env: the error
    /// that says so, with the version and path of the first.
    TooOld(anyhow::Error),
    No,
}

/// The first interpreter whose version matches: on PATH first, then among
/// pyenv's installed versions.
fn find_version(request: &PythonRequest, home: &Home, printer: &Printer) -> Found {
    let names = request.executable_names();
    let on_path = names.iter().flat_map(|name| {
        path_dirs()
            .into_iter()
            .map(move |dir| dir.join(name))
            .filter(|c| is_executable(c))
    });
    let prefix = request.to_string();
    let from_pyenv = pyenv_root()
        .map(|root| pyenv::installed(&root, &names, Some(&prefix)))
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut too_old = None;
    for candidate in on_path.chain(from_pyenv) {
        let Some(resolved) = resolve(&candidate) else {
            continue;
        };
        if let Resolved::Real(path) = &resolved
            && !seen.insert(path.clone())
        {
            continue;
        }
        let info = match query_or_too_old(&resolved, home, printer) {
            Ok(info) => info,
            Err(err) => {
                if too_old.is_none() && is_too_old_match(&err, request) {
                    too_old = Some(err);
                }
                continue;
            }
        };
        let (major, minor, micro, ..) = info.version_info;
        if request.matches_version((major, minor, micro)) {
            return Found::Yes(Box::new(info));
        }
    }
    too_old.map_or(Found::No, Found::TooOld)
}

/// `TooOld` for an interpreter whose `--version` names a version below the
/// minimum.
fn old_version(path: &Path) -> Option<anyhow::Error> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    // Python 2 prints its version on stderr.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = text.trim().strip_prefix("Python ")?.to_string();
    let mut parts = version.split('.').filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next()?, parts.next()?);
    ((major, minor) < super::MIN_VERSION).then(|| {
        InterpreterError::TooOld {
            path: path.to_path_buf(),
            version,
        }
        .into()
    })
}

/// Whether `err` says an interpreter of the requested version exists but is
/// too old.
fn is_too_old_match(err: &anyhow::Error, request: &PythonRequest) -> bool {
    let Some(InterpreterError::TooOld { version, .. }) = err.downcast_ref::<InterpreterError>()
    else {
        return false;
    };
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter_map(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [major, minor, rest @ ..] => {
            request.matches_version((*major, *minor, rest.first().copied().unwrap_or(0)))
        }
        _ => false,
    }
}

/// `3.11.7 (/path), 3.12.1 (/path)`: every interpreter that can be found,
/// for the error that says the requested one cannot.
fn describe_found(home: &Home) -> String {
    let mut names: Vec<String> = vec!["python3".into(), "python".into()];
    names.extend((6..=15).map(|minor| format!("python3.{minor}")));
    let mut candidates: Vec<PathBuf> = path_dirs()
        .into_iter()
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .filter(|c| is_executable(c))
        .collect();
    if let Some(root) = pyenv_root() {
        candidates.extend(pyenv::installed(&root, &["python3".to_string()], None));
    }
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for candidate in candidates {
        let Some(Resolved::Real(path)) = resolve(&candidate) else {
            continue;
        };
        if !seen.insert(path.clone()) {
            continue;
        }
        if let Ok((info, _)) = cache::query_cached(&path, &home.interpreters()) {
            found.push(format!("{} ({})", info.version, path.display()));
        }
    }
    if found.is_empty() {
        "none".into()
    } else {
        found.join(", ")
    }
}
