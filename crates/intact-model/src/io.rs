//! File access with the two guarantees every writer in intact relies on:
//! errors name the file, and outputs appear whole or not at all.

use std::io::Write;
use std::path::Path;

use crate::ModelError;

fn io_error(path: &Path, cause: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Read a whole file; the error names it.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|e| io_error(path, e))
}

/// Write `bytes` to `path` via a temporary file in the same directory and
/// an atomic rename. `mode` sets the Unix permissions (0o600 for secrets).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ModelError> {
    write_atomic_parts(path, &[bytes], mode)
}

/// [`write_atomic`] of the concatenation of `parts`, without building it.
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]], mode: u32) -> Result<(), ModelError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".intact-tmp-")
        .tempfile_in(dir)
        .map_err(|e| io_error(path, e))?;
    for bytes in parts {
        tmp.write_all(bytes).map_err(|e| io_error(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| io_error(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_error(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path).map_err(|e| io_error(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_with_mode_and_names_missing_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.link");
        write_atomic(&p, b"abc", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        let missing = dir.path().join("nope/out.link");
        let err = write_atomic(&missing, b"x", 0o644).unwrap_err().to_string();
        assert!(err.contains("nope/out.link"), "{err}");
    }
}
