//! Files a user names as input (a wheel, a constraints file, a definition
//! file): each must be a regular file. A FIFO would block the read forever,
//! a device such as `/dev/zero` never ends, a directory is no file at all;
//! all are refused before anything is read or written.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use anyhow::Result;

use crate::error::UserError;

/// Refuse `path` unless it is a regular file (links followed). `what` names
/// the input in the message (`--constraints`, `the wheel`).
pub fn regular_file(path: &Path, what: &str) -> Result<(), UserError> {
    let meta = fs_err::metadata(path).map_err(|err| {
        UserError::new(format!("{what} {} cannot be read: {err}", path.display()))
    })?;
    if meta.is_file() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "{what} {} is {}, not a regular file",
        path.display(),
        kind_name(meta.file_type())
    ))
    .hint("give the path of an ordinary file"))
}

/// What a file that is not a regular one is, for a message.
pub fn kind_name(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The text of a regular file, refused (exit 2) when it is not UTF-8.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    regular_file(path, what)?;
    let bytes = fs_err::read(path)?;
    String::from_utf8(bytes).map_err(|err| {
        UserError::new(format!(
            "{what} {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            err.utf8_error().valid_up_to()
        ))
        .hint("save it as UTF-8")
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_everything_but_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs_err::write(&file, "x").unwrap();
        assert!(regular_file(&file, "it").is_ok());
        assert!(regular_file(dir.path(), "it").is_err());
        assert!(regular_file(&dir.path().join("missing"), "it").is_err());
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = regular_file(&fifo, "the wheel").unwrap_err();
        assert!(err.message.contains("a FIFO"), "{}", err.message);
        fs_err::write(&file, b"a\xff").unwrap();
        assert!(read_text(&file, "it").is_err());
    }
}
