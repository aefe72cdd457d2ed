//! Unsigned links from recorded artifacts and a command run; the caller
//! signs them (see `intact-crypto`).

use intact_model::{Link, StepName};
use serde_json::{Map, Value};

use crate::hash::{record_artifacts, HashError, HashOptions};
use crate::run::{run_command, RunError, RunOptions, RunResult};

/// Why recording a step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Recording materials or products failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Running the command failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Record materials, run `command` (if any), record products.
/// Without a command the link has `command: []` and `byproducts: {}`, like
/// `in-toto-run --no-command`.
pub fn record_run(
    step: StepName,
    materials: &[String],
    products: &[String],
    command: Option<&[String]>,
    hash: &HashOptions,
    run: &RunOptions,
) -> Result<(Link, Option<RunResult>), RecordError> {
    let mut link = Link::new(step);
    link.materials = record_artifacts(materials, hash)?;
    let result = match command {
        Some(argv) => {
            let r = run_command(argv, run)?;
            link.command = argv.to_vec();
            link.byproducts = r.byproducts();
            Some(r)
        }
        None => None,
    };
    link.products = record_artifacts(products, hash)?;
    Ok((link, result))
}

/// `record start`: materials only.
pub fn record_start(
    step: StepName,
    materials: &[String],
    hash: &HashOptions,
) -> Result<Link, RecordError> {
    let mut link = Link::new(step);
    link.materials = record_artifacts(materials, hash)?;
    Ok(link)
}

/// `record stop`: add products to the link `record start` made.
pub fn record_stop(
    mut start: Link,
    products: &[String],
    hash: &HashOptions,
) -> Result<Link, RecordError> {
    start.products = record_artifacts(products, hash)?;
    Ok(start)
}

/// CI identifiers recorded when present: they say which pipeline run made
/// the link, and are not secret.
pub const CI_VARIABLES: [&str; 9] = [
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKFLOW",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "CI_COMMIT_SHA",
    "CI_PROJECT_PATH",
    "BUILDKITE_BUILD_ID",
];

/// The opt-in `environment` of a link: the working directory, the
/// recorder's version, CI identifiers when present, and the values of the
/// variables the user named (only those: no secrets by default).
pub fn environment(record_env: &[String]) -> Map<String, Value> {
    let mut env = Map::new();
    if let Ok(dir) = std::env::current_dir() {
        env.insert(
            "workdir".into(),
            Value::String(dir.display().to_string().replace('\\', "/")),
        );
    }
    env.insert(
        "recorder".into(),
        Value::String(format!("intact {}", env!("CARGO_PKG_VERSION"))),
    );
    let ci: Map<String, Value> = CI_VARIABLES
        .iter()
        .filter_map(|v| {
            std::env::var(v)
                .ok()
                .map(|val| ((*v).to_string(), Value::String(val)))
        })
        .collect();
    if !ci.is_empty() {
        env.insert("ci".into(), Value::Object(ci));
    }
    let vars: Map<String, Value> = record_env
        .iter()
        .map(|v| {
            (
                v.clone(),
                std::env::var(v).map_or(Value::Null, Value::String),
            )
        })
        .collect();
    if !vars.is_empty() {
        env.insert("variables".into(), Value::Object(vars));
    }
    env
}
