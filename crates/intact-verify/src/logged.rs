//! `--require-logged`: after the chain verified, demand that the layout
//! and every link used carry a valid inclusion proof (`FILE.proof`) under
//! a checkpoint signed by the log key, naming the first that does not.

use std::path::Path;

use intact_log::LogKey;

use crate::report::{Failure, FailureKind, Stage, StageResult, Status};
use crate::Report;

/// Check the proofs of `layout_file` and of each link of `report` (files
/// under `link_dir`). A report that already failed is left as it is; on a
/// missing or invalid proof the report fails with
/// [`FailureKind::NotLogged`] naming the file.
pub fn require_logged(report: &mut Report, layout_file: &Path, link_dir: &Path, key: &LogKey) {
    if !report.verified {
        return;
    }
    let mut files = vec![(layout_file.to_path_buf(), "the layout".to_string())];
    for link in &report.links {
        files.push((link_dir.join(&link.file), format!("step {}", link.step)));
    }
    for (path, what) in &files {
        let checked =
            intact_model::io::read_limited(path, intact_model::io::DEFAULT_MAX_METADATA_SIZE)
                .map_err(intact_log::LogError::from)
                .and_then(|bytes| intact_log::check_logged(path, &bytes, key));
        if let Err(e) = checked {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            let message = format!("{what} ({name}) is not proven logged: {e}");
            report.stages.push(StageResult {
                stage: Stage::TransparencyLog,
                status: Status::Failed,
                scope: Some(name.clone()),
                message: message.clone(),
                rules: Vec::new(),
            });
            report.failure = Some(Failure::new(
                FailureKind::NotLogged,
                Some(name.clone()),
                message,
                format!(
                    "log it and keep its proof beside it: `intact log add LOG {name}` then `intact log prove LOG {name}` (or record with --log LOG)"
                ),
            ));
            report.verified = false;
            return;
        }
    }
    report.stages.push(StageResult {
        stage: Stage::TransparencyLog,
        status: Status::Passed,
        scope: None,
        message: format!(
            "the layout and {} link(s) carry inclusion proofs under checkpoints signed by the log key",
            files.len() - 1
        ),
        rules: Vec::new(),
    });
}
