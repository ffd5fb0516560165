//! Source distributions (`.tar.gz`, `.zip`, by path or URL): built into a
//! wheel once by the installer backend, the wheel kept under
//! `<cache>/built/<sdist sha256>/`, then installed natively like any wheel.
//! A second install of the same sdist costs what a wheel install costs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::installer::{IndexOptions, Installer, InstallerChoice};
use crate::error::UserError;
use crate::home::Home;
use crate::interpreter::Interpreter;
use crate::printer::Printer;

/// Whether `name` (a file name or URL) names a source distribution.
pub fn is_sdist(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".tar.gz") || lower.ends_with(".zip")
}

/// Whether `raw` is a URL tempest-env downloads itself.
pub fn is_url(raw: &str) -> bool {
    raw.starts_with("https://") || raw.starts_with("http://") || raw.starts_with("file://")
}

fn built_dir(home: &Home) -> PathBuf {
    home.cache().join("built")
}

/// The wheel built from `source` (a path, or a URL downloaded first).
pub fn wheel_for(
    home: &Home,
    interpreter: &Interpreter,
    choice: InstallerChoice,
    source: &str,
    index: &IndexOptions,
    printer: &Printer,
) -> Result<PathBuf> {
    let path = if is_url(source) {
        download(home, interpreter, source, printer)?
    } else {
        PathBuf::from(source)
    };
    let sha256 = crate::store::sha256_file(&path)?;
    let dir = built_dir(home).join(&sha256);
    if let Some(wheel) = the_wheel(&dir)? {
        printer.verbose(format!(
            "reusing the wheel built from {}: {}",
            path.display(),
            wheel.display()
        ));
        return Ok(wheel);
    }
    fs_err::create_dir_all(built_dir(home))?;
    let _lock = crate::lock::acquire(
        &home
            .cache()
            .join("locks")
            .join(format!("built-{sha256}.lock")),
        &format!("the build of {}", path.display()),
        printer,
    )?;
    if let Some(wheel) = the_wheel(&dir)? {
        return Ok(wheel);
    }
    let installer = Installer::choose(choice, interpreter)?;
    installer.check()?;
    let tmp = crate::atomic::temp_sibling(&dir)?;
    printer.status(format!(
        "Building a wheel from {} with {}",
        path.display(),
        installer.name()
    ));
    // Not bad input as such (the index may be unreachable): exit 1, with
    // the backend's last lines as the cause.
    installer
        .build_wheel(interpreter, &path, tmp.path(), index, printer)
        .with_context(|| format!("building the sdist {} failed", path.display()))?;
    let wheels = wheels_in(tmp.path())?;
    let [_] = wheels.as_slice() else {
        anyhow::bail!(
            "building {} left {} wheels (expected one)",
            path.display(),
            wheels.len()
        );
    };
    fs_err::rename(tmp.keep(), &dir)?;
    the_wheel(&dir)?.context("the built wheel went missing")
}

fn wheels_in(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(fs_err::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect())
}

/// The one wheel in a complete build directory.
fn the_wheel(dir: &Path) -> Result<Option<PathBuf>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    Ok(wheels_in(dir)?.into_iter().next())
}

/// Download `url` into `<cache>/downloads/<sha256 of the url>/<file>` with
/// the interpreter's own urllib (no other client needed), once.
fn download(
    home: &Home,
    interpreter: &Interpreter,
    url: &str,
    printer: &Printer,
) -> Result<PathBuf> {
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| is_sdist(n) && !n.contains(['?', '#']))
        .ok_or_else(|| {
            UserError::new(format!("`{url}` does not end in an sdist file name"))
                .hint("give the URL of a .tar.gz or .zip file")
        })?;
    let dir = home
        .cache()
        .join("downloads")
        .join(crate::digest::short_sha256(url.as_bytes(), 32));
    let file = dir.join(name);
    if file.is_file() {
        return Ok(file);
    }
    fs_err::create_dir_all(home.cache().join("downloads"))?;
    let tmp = crate::atomic::temp_sibling(&dir)?;
    printer.status(format!("Downloading {url}"));
    let out = std::process::Command::new(&interpreter.executable)
        .args([
            "-I",
            "-c",
            "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])",
            url,
        ])
        .arg(tmp.path().join(name))
        .stdin(std::process::Stdio::null())
        .output()
        .context("failed to start the interpreter to download")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        return Err(UserError::new(format!("downloading {url} failed: {last}")).into());
    }
    fs_err::rename(tmp.keep(), &dir)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdists_and_urls_are_told_apart() {
        assert!(is_sdist("barbican_tempest_plugin-4.6.0.tar.gz"));
        assert!(is_sdist("x-1.0.ZIP"));
        assert!(!is_sdist("x-1.0-py3-none-any.whl"));
        assert!(!is_sdist("x-1.0.tar"));
        assert!(is_url("https://example.org/x-1.0.tar.gz"));
        assert!(is_url("file:///tmp/x-1.0.tar.gz"));
        assert!(!is_url("./x-1.0.tar.gz"));
    }
}
