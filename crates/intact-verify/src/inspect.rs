//! Inspections: commands the verifier runs itself, recorded like the
//! reference does (materials and products `.` of the work directory,
//! default excludes, streams not kept, return value must be 0).

use intact_model::{io::write_atomic, Container, Inspection, Link, Metadata};
use intact_record::{record_run, HashOptions, RunOptions};
use serde_json::Value;

use crate::report::{FailureKind, Stage};
use crate::workflow::{fail, Ctx, Flow, Scope};

pub(crate) fn run(ctx: &mut Ctx<'_>, insp: &Inspection, scope: &Scope) -> Flow<Link> {
    let here = scope.of(insp.name.as_str());
    if insp.run.is_empty() {
        return Err(fail(
            FailureKind::InspectionNoCommand,
            here,
            "the inspection has no command to run".into(),
            "give the inspection a `run` command in the layout",
        )
        .into());
    }
    let hash = HashOptions {
        base_path: Some(ctx.opts.workdir.clone()),
        ..HashOptions::default()
    };
    let run = RunOptions {
        timeout: ctx.opts.inspection_timeout,
        passthrough: false,
        cwd: Some(ctx.opts.workdir.clone()),
        ..RunOptions::default()
    };
    let dot = [".".to_string()];
    let (mut link, result) =
        record_run(insp.name.clone(), &dot, &dot, Some(&insp.run), &hash, &run).map_err(|e| {
            fail(
                FailureKind::InspectionNotRun,
                here.clone(),
                format!("inspection {:?} could not run: {e}", insp.run.join(" ")),
                "make the inspection's command available in the work directory (--workdir)",
            )
        })?;
    let rv = result.as_ref().map_or(0, |r| r.return_value);
    let stderr_tail = result
        .as_ref()
        .map(|r| tail(&r.stderr, STDERR_LINES))
        .unwrap_or_default();
    // The reference keeps no streams for inspections.
    link.byproducts
        .insert("stdout".into(), Value::String(String::new()));
    link.byproducts
        .insert("stderr".into(), Value::String(String::new()));
    if ctx.opts.persist_inspection_links {
        let path = ctx.opts.workdir.join(format!("{}.link", insp.name));
        let md = Metadata::new(link.clone().into(), Container::Metablock)
            .and_then(|m| m.to_bytes())
            .and_then(|b| write_atomic(&path, &b, 0o644));
        if let Err(e) = md {
            ctx.warn(
                Stage::Inspections,
                here.clone(),
                format!("could not write the inspection link: {e}"),
            );
        }
    }
    if rv != 0 {
        let mut failure = fail(
            FailureKind::InspectionFailed,
            here,
            format!("inspection {:?} returned {rv}", insp.run.join(" ")),
            "the final product did not pass the owner's inspection; do not use it",
        );
        failure.stderr = stderr_tail;
        return Err(failure.into());
    }
    ctx.pass(
        Stage::Inspections,
        here,
        format!("`{}` returned 0", insp.run.join(" ")),
    );
    Ok(link)
}

/// Lines of a failing inspection's standard error shown in the report:
/// enough to see why, not a log.
const STDERR_LINES: usize = 10;

/// The last `n` lines of `text`, without a trailing empty one.
fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|l| (*l).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tail_keeps_the_last_lines() {
        assert_eq!(super::tail("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(super::tail("a", 5), ["a"]);
        assert!(super::tail("", 5).is_empty());
    }
}
