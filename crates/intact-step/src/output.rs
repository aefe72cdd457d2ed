//! Checks made before anything is hashed or run: a step whose link cannot
//! be written must fail at once, not after a build of an hour (and not
//! after a command with side effects ran unrecorded).

use std::path::{Path, PathBuf};

use intact_model::StepName;

use crate::StepError;

/// Refuse a step name with a control character (C0, DEL, C1: a newline,
/// ESC, ...). Names are only refused when recording: links that others
/// wrote with such names still parse, so that verification can report
/// them.
pub(crate) fn check_step_name(step: &StepName) -> Result<(), StepError> {
    if step.as_str().chars().any(char::is_control) {
        return Err(StepError::ControlCharacter {
            name: step.as_str().to_string(),
        });
    }
    Ok(())
}

/// Check that `file` can be written atomically (as
/// `intact_model::io::AtomicFile` writes: a temporary file in its
/// directory, renamed over it): its directory exists, is a directory and
/// takes a new file, and `file` itself is not a directory. The same
/// check tells that a file there can be removed.
///
/// The probe creates and removes a temporary file, the same call the
/// writer makes later: permission bits alone do not tell (root, read-only
/// mounts, ACLs).
pub(crate) fn check_writable(file: &Path) -> Result<(), StepError> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match dir.try_exists() {
        Ok(true) => {}
        Ok(false) => return Err(no_such_directory(dir)),
        Err(cause) => {
            return Err(StepError::NotWritable {
                path: dir.to_path_buf(),
                cause,
            })
        }
    }
    if !dir.is_dir() {
        return Err(StepError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    if file.is_dir() {
        return Err(StepError::OutputIsDirectory {
            path: file.to_path_buf(),
        });
    }
    let probe = tempfile::Builder::new()
        .prefix(".intact-tmp-")
        .tempfile_in(dir)
        .map_err(|cause| StepError::NotWritable {
            path: dir.to_path_buf(),
            cause,
        })?;
    probe.close().map_err(|cause| StepError::NotWritable {
        path: dir.to_path_buf(),
        cause,
    })
}

fn no_such_directory(dir: &Path) -> StepError {
    StepError::NoSuchDirectory {
        path: PathBuf::from(dir),
    }
}
