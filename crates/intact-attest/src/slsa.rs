//! Attestations generated from a recorded link: SLSA Provenance v1 (the
//! step's products built from its materials and git commit) and the link
//! predicate v0.3 (the link itself as a Statement).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use intact_model::{ArtifactName, Artifacts, Digest, DigestSet, Link, StepName};
use serde_json::{json, Map, Value};

use crate::predicate::{
    BuildDefinition, BuildMetadata, Builder, LinkPredicate, Provenance, RunDetails,
};
use crate::{AttestError, Predicate, ResourceDescriptor, Statement};

/// intact's SLSA build type: one step recorded by `intact run`
/// (docs/attestations.md describes its parameters).
pub const BUILD_TYPE: &str = "https://intact.invalid/attestations/step/v1";

/// The builder id used when none is given and no CI is detected.
pub const LOCAL_BUILDER_ID: &str = "https://intact.invalid/builder/local";

/// What the run itself knows beside the link.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// `runDetails.builder.id`; else detected from CI, else [`LOCAL_BUILDER_ID`].
    pub builder_id: Option<String>,
    /// `runDetails.metadata.invocationId`; else the CI run id.
    pub invocation_id: Option<String>,
    /// RFC 3339.
    pub started_on: Option<String>,
    /// RFC 3339.
    pub finished_on: Option<String>,
    /// Tool name to its `--version` output (`intact` itself is added).
    pub tools: BTreeMap<String, String>,
}

/// The builder and run of a CI job, from its environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiRun {
    /// The builder id (the workflow or the runner).
    pub builder_id: String,
    /// The run's id, as a URL where the CI has one.
    pub invocation_id: Option<String>,
}

/// Detect GitHub Actions (`GITHUB_ACTIONS=true`: builder = the workflow
/// ref, invocation = the run attempt's URL) or GitLab CI
/// (`GITLAB_CI=true`: builder = the project's runner, invocation = the
/// job URL) from environment variables looked up by `var`.
pub fn detect_ci(var: impl Fn(&str) -> Option<String>) -> Option<CiRun> {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    if get("GITHUB_ACTIONS").as_deref() == Some("true") {
        let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let builder_id = match get("GITHUB_WORKFLOW_REF") {
            Some(w) => format!("{server}/{w}"),
            None => format!("{server}/{}", get("GITHUB_REPOSITORY")?),
        };
        let invocation_id = match (get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")) {
            (Some(repo), Some(run)) => Some(format!(
                "{server}/{repo}/actions/runs/{run}/attempts/{}",
                get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into())
            )),
            _ => None,
        };
        return Some(CiRun {
            builder_id,
            invocation_id,
        });
    }
    if get("GITLAB_CI").as_deref() == Some("true") {
        let server = get("CI_SERVER_URL").unwrap_or_else(|| "https://gitlab.com".into());
        let project = get("CI_PROJECT_PATH")?;
        let builder_id = match get("CI_RUNNER_ID") {
            Some(r) => format!("{server}/{project}/-/runners/{r}"),
            None => format!("{server}/{project}"),
        };
        return Some(CiRun {
            builder_id,
            invocation_id: get("CI_JOB_URL").or_else(|| get("CI_JOB_ID")),
        });
    }
    None
}

fn descriptors(artifacts: &Artifacts) -> Vec<ResourceDescriptor> {
    artifacts
        .iter()
        .filter(|(name, _)| {
            !name
                .as_str()
                .starts_with(intact_model::git::GIT_MATERIAL_PREFIX)
        })
        .map(|(name, digests)| ResourceDescriptor {
            name: Some(name.as_str().to_string()),
            digest: digests
                .iter()
                .map(|(alg, d)| (alg.to_string(), d.to_string()))
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// The git facts intact-git records in `environment.git`.
struct GitFacts {
    commit: String,
    reference: Option<String>,
    remote: Option<String>,
}

fn git_facts(link: &Link) -> Option<GitFacts> {
    let git = link.environment.get("git")?.as_object()?;
    let s = |k: &str| git.get(k).and_then(Value::as_str).map(str::to_string);
    Some(GitFacts {
        commit: s("commit")?,
        reference: s("ref"),
        remote: s("remote"),
    })
}

/// The subjects of a link's products; a step without products has
/// nothing to attest.
fn product_subjects(link: &Link) -> Result<Vec<ResourceDescriptor>, AttestError> {
    let subjects = descriptors(&link.products);
    if subjects.is_empty() {
        return Err(no_products(link));
    }
    Ok(subjects)
}

/// SLSA Provenance v1 of a recorded step: the products are the subjects,
/// the materials and the git commit (`git+URI@SHA`, `gitCommit` digest)
/// the resolved dependencies.
pub fn provenance_statement(link: &Link, run: &RunContext) -> Result<Statement, AttestError> {
    let subject = product_subjects(link)?;
    let st = Statement::new(subject, provenance_predicate(link, run));
    st.validate()?;
    Ok(st)
}

/// The payload of [`provenance_statement`], byte for byte, written with
/// the subjects taken straight from the link's products: `intact run
/// --attest slsa` on 100,000 products spent more time copying them into
/// descriptors than signing them.
pub fn provenance_payload(link: &Link, run: &RunContext) -> Result<Vec<u8>, AttestError> {
    let mut out = Vec::new();
    provenance_payload_into(link, run, &mut out)?;
    Ok(out)
}

/// [`provenance_payload`] appended to `out` (a signer's buffer with room
/// for the DSSE header in front: no copy of 12 MB to sign it). On error
/// `out` is as it was.
pub fn provenance_payload_into(
    link: &Link,
    run: &RunContext,
    out: &mut Vec<u8>,
) -> Result<(), AttestError> {
    payload_of(link, &provenance_predicate(link, run), out)
}

/// The payload of [`link_statement`], byte for byte, as
/// [`provenance_payload`] writes it.
pub fn link_payload(link: &Link) -> Result<Vec<u8>, AttestError> {
    let mut out = Vec::new();
    link_payload_into(link, &mut out)?;
    Ok(out)
}

/// [`link_payload`] appended to `out`, as [`provenance_payload_into`].
pub fn link_payload_into(link: &Link, out: &mut Vec<u8>) -> Result<(), AttestError> {
    payload_of(link, &link_predicate(link), out)
}

/// A link's products as a sequence of subject descriptors, serialised in
/// place (the git source, were it a product, is left out as
/// [`product_subjects`] leaves it out).
struct ProductSubjects<'a>(&'a Artifacts);

/// One product as a descriptor: `{"digest": {...}, "name": ...}`.
#[derive(serde::Serialize)]
struct ProductSubject<'a> {
    digest: &'a DigestSet,
    name: &'a str,
}

impl ProductSubjects<'_> {
    fn iter(&self) -> impl Iterator<Item = (&ArtifactName, &DigestSet)> {
        self.0.iter().filter(|(name, _)| {
            !name
                .as_str()
                .starts_with(intact_model::git::GIT_MATERIAL_PREFIX)
        })
    }
}

impl serde::Serialize for ProductSubjects<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|(name, digest)| ProductSubject {
            digest,
            name: name.as_str(),
        }))
    }
}

/// The statement's rules for subjects made from products (at least one,
/// each digest valid as a descriptor's), checked on the link itself,
/// then the predicate's, then the bytes.
fn payload_of(link: &Link, predicate: &Predicate, out: &mut Vec<u8>) -> Result<(), AttestError> {
    let subjects = ProductSubjects(&link.products);
    let mut count = 0usize;
    // The list's size, reserved once: 12 MB for 100,000 products.
    let mut size = 2usize;
    for (i, (name, digests)) in subjects.iter().enumerate() {
        size += name.as_str().len() + 24;
        if digests.is_empty() {
            return Err(AttestError::Statement(format!(
                "subject[{i}]: a subject needs a digest"
            )));
        }
        for (alg, d) in digests.iter() {
            size += alg.len() + d.hex_len() + 6;
            crate::statement::check_model_digest(alg, d)
                .map_err(|e| AttestError::Statement(format!("subject[{i}]{e}")))?;
        }
        count += 1;
    }
    if count == 0 {
        return Err(no_products(link));
    }
    predicate.validate()?;
    // "subject" sorts last: the statement is written with no subjects and
    // the products' descriptors spliced in before its closing brace.
    let empty: [ResourceDescriptor; 0] = [];
    let head = crate::statement::payload_bytes(&empty[..], predicate)?;
    match head.strip_suffix(b"[]}") {
        Some(head) if head.ends_with(b",\"subject\":") => {
            out.reserve(head.len() + size + 1);
            out.extend_from_slice(head);
            intact_model::json::compact_descriptor_list(
                subjects
                    .iter()
                    .map(|(name, digests)| (name.as_str(), digests)),
                out,
            );
            out.push(b'}');
        }
        _ => out.extend_from_slice(&crate::statement::payload_bytes(&subjects, predicate)?),
    }
    Ok(())
}

fn no_products(link: &Link) -> AttestError {
    AttestError::Statement(format!(
        "step {:?} recorded no products: a statement needs at least one subject",
        link.name.as_str()
    ))
}

/// The SLSA Provenance v1 predicate of a recorded step.
fn provenance_predicate(link: &Link, run: &RunContext) -> Predicate {
    let mut external = Map::new();
    external.insert("step".into(), json!(link.name.as_str()));
    external.insert("command".into(), json!(link.command));
    let mut deps = descriptors(&link.materials);
    if let Some(git) = git_facts(link) {
        let mut source = Map::new();
        if let Some(r) = &git.remote {
            source.insert("repository".into(), json!(r));
        }
        if let Some(r) = &git.reference {
            source.insert("ref".into(), json!(r));
        }
        source.insert("commit".into(), json!(git.commit));
        external.insert("source".into(), Value::Object(source));
        deps.insert(
            0,
            ResourceDescriptor {
                uri: git
                    .remote
                    .as_ref()
                    .map(|r| format!("git+{r}@{}", git.commit)),
                name: git.remote.is_none().then(|| "source".to_string()),
                digest: BTreeMap::from([("gitCommit".to_string(), git.commit.clone())]),
                ..Default::default()
            },
        );
    }
    let ci = detect_ci(|k| std::env::var(k).ok());
    let builder_id = run
        .builder_id
        .clone()
        .or_else(|| ci.as_ref().map(|c| c.builder_id.clone()))
        .unwrap_or_else(|| LOCAL_BUILDER_ID.to_string());
    let invocation_id = run
        .invocation_id
        .clone()
        .or_else(|| ci.and_then(|c| c.invocation_id));
    let mut version = run.tools.clone();
    version.insert("intact".into(), env!("CARGO_PKG_VERSION").into());
    let metadata = BuildMetadata {
        invocation_id,
        started_on: run.started_on.clone(),
        finished_on: run.finished_on.clone(),
    };
    let byproducts = match link.return_value() {
        Some(code) => vec![ResourceDescriptor {
            name: Some("exit-code".into()),
            content: Some(STANDARD.encode(code.to_string())),
            media_type: Some("text/plain".into()),
            ..Default::default()
        }],
        None => Vec::new(),
    };
    let p = Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.into(),
            external_parameters: external,
            internal_parameters: Map::new(),
            resolved_dependencies: deps,
        },
        run_details: RunDetails {
            builder: Builder {
                id: builder_id,
                version,
                builder_dependencies: Vec::new(),
            },
            metadata: (metadata != BuildMetadata::default()).then_some(metadata),
            byproducts,
        },
    };
    Predicate::Provenance(Box::new(p))
}

/// Every artifact as a descriptor (the git source material included).
fn all_descriptors(artifacts: &Artifacts) -> Vec<ResourceDescriptor> {
    artifacts
        .iter()
        .map(|(name, digests)| ResourceDescriptor {
            name: Some(name.as_str().to_string()),
            digest: digests
                .iter()
                .map(|(alg, d)| (alg.to_string(), d.to_string()))
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// The link as a Statement with the link predicate v0.3: the products
/// are the subjects, everything else the predicate. Every material is
/// kept (the git source's `git+URI@REF` too), so that
/// [`link_of_statement`] gives back the link a verifier would have read.
pub fn link_statement(link: &Link) -> Result<Statement, AttestError> {
    let subject = product_subjects(link)?;
    let st = Statement::new(subject, link_predicate(link));
    st.validate()?;
    Ok(st)
}

/// The link predicate v0.3 of a link.
fn link_predicate(link: &Link) -> Predicate {
    Predicate::Link(LinkPredicate {
        name: link.name.as_str().to_string(),
        command: link.command.clone(),
        materials: all_descriptors(&link.materials),
        byproducts: link.byproducts.clone(),
        environment: link.environment.clone(),
    })
}

/// Artifacts from descriptors: each must have a name (a valid artifact
/// name, used once) and a digest of valid hex.
fn artifacts_of(list: &[ResourceDescriptor], at: &str) -> Result<Artifacts, AttestError> {
    let mut out = Artifacts::new();
    for (i, d) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = d.name.as_deref().ok_or_else(|| {
            AttestError::Statement(format!("{here}: an artifact of a link needs a name"))
        })?;
        let name = ArtifactName::new(name)
            .map_err(|e| AttestError::Statement(format!("{here}.name: {e}")))?;
        if d.digest.is_empty() {
            return Err(AttestError::Statement(format!(
                "{here}: an artifact of a link needs a digest"
            )));
        }
        let mut set = DigestSet::new();
        for (alg, hex) in &d.digest {
            let digest = Digest::new(hex)
                .map_err(|e| AttestError::Statement(format!("{here}.digest.{alg}: {e}")))?;
            set.insert(alg, digest);
        }
        if out.insert(name.clone(), set).is_some() {
            return Err(AttestError::Statement(format!(
                "{here}: {:?} is listed twice",
                name.as_str()
            )));
        }
    }
    Ok(out)
}

/// The link a link attestation (predicate v0.3) stands for: the step
/// name, command, byproducts and environment from the predicate, the
/// materials from its descriptors, the products from the subjects. A
/// statement of another predicate type is refused.
pub fn link_of_statement(st: &Statement) -> Result<Link, AttestError> {
    let Predicate::Link(p) = &st.predicate else {
        return Err(AttestError::Statement(format!(
            "predicate type {} is not a link ({})",
            st.predicate_type(),
            crate::LINK_PREDICATE_TYPE
        )));
    };
    let name = StepName::new(&p.name)
        .map_err(|e| AttestError::Statement(format!("predicate.name: {e}")))?;
    let mut link = Link::new(name);
    link.command = p.command.clone();
    link.materials = artifacts_of(&p.materials, "predicate.materials")?;
    link.products = artifacts_of(&st.subject, "subject")?;
    link.byproducts = p.byproducts.clone();
    link.environment = p.environment.clone();
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intact_model::{ArtifactName, Digest, DigestSet, StepName};

    fn link() -> Link {
        let mut l = Link::new(StepName::new("build").unwrap());
        l.command = vec!["make".into()];
        let d =
            |c: char| DigestSet::single("sha256", Digest::new(c.to_string().repeat(64)).unwrap());
        l.materials
            .insert(ArtifactName::new("src/a.c").unwrap(), d('a'));
        l.products.insert(ArtifactName::new("app").unwrap(), d('b'));
        l.byproducts.insert("return-value".into(), json!(0));
        l.environment.insert(
            "git".into(),
            json!({"commit": "c".repeat(40), "ref": "refs/heads/main", "remote": "https://git.example/app"}),
        );
        l
    }

    #[test]
    fn provenance_from_a_link() {
        let run = RunContext {
            builder_id: Some("https://ci.example/b".into()),
            ..Default::default()
        };
        let st = provenance_statement(&link(), &run).unwrap();
        let v: Value = serde_json::from_slice(&st.to_bytes().unwrap()).unwrap();
        assert_eq!(v["subject"][0]["name"], "app");
        let deps = &v["predicate"]["buildDefinition"]["resolvedDependencies"];
        assert_eq!(
            deps[0]["uri"],
            format!("git+https://git.example/app@{}", "c".repeat(40))
        );
        assert_eq!(deps[0]["digest"]["gitCommit"], "c".repeat(40));
        assert_eq!(deps[1]["name"], "src/a.c");
        assert_eq!(
            v["predicate"]["buildDefinition"]["externalParameters"]["source"]["ref"],
            "refs/heads/main"
        );
        assert_eq!(
            v["predicate"]["runDetails"]["builder"]["id"],
            "https://ci.example/b"
        );
        assert_eq!(
            v["predicate"]["runDetails"]["byproducts"][0]["content"],
            "MA=="
        );
        assert_eq!(Statement::from_slice(&st.to_bytes().unwrap()).unwrap(), st);
    }

    /// The streamed payloads are the statements' bytes, and refuse what
    /// the statements refuse.
    #[test]
    fn payloads_are_the_statements_bytes() {
        let run = RunContext {
            builder_id: Some("https://ci.example/b".into()),
            tools: BTreeMap::from([("cc".into(), "cc 1.0 \u{e9}".into())]),
            ..Default::default()
        };
        let mut l = link();
        l.products.insert(
            ArtifactName::new("caf\u{e9}/\"q\"").unwrap(),
            DigestSet::single("sha512", Digest::new("d".repeat(128)).unwrap()),
        );
        l.products.insert(
            ArtifactName::new("git+https://git.example/app@refs/heads/main").unwrap(),
            DigestSet::single("gitCommit", Digest::new("c".repeat(40)).unwrap()),
        );
        let prov = provenance_statement(&l, &run).unwrap().to_bytes().unwrap();
        assert_eq!(provenance_payload(&l, &run).unwrap(), prov);
        let st = link_statement(&l).unwrap().to_bytes().unwrap();
        assert_eq!(link_payload(&l).unwrap(), st);

        let mut upper = link();
        upper.products.insert(
            ArtifactName::new("b").unwrap(),
            DigestSet::single("sha256", Digest::new("B".repeat(64)).unwrap()),
        );
        assert!(provenance_statement(&upper, &run).is_err());
        let err = provenance_payload(&upper, &run).unwrap_err().to_string();
        assert!(err.contains("subject[1].digest.sha256"), "{err}");
        let mut empty = link();
        empty.products.clear();
        assert!(link_payload(&empty).is_err());
        assert!(provenance_payload(&empty, &run).is_err());
    }

    #[test]
    fn link_predicate_from_a_link() {
        let st = link_statement(&link()).unwrap();
        assert_eq!(st.predicate_type(), crate::LINK_PREDICATE_TYPE);
        assert_eq!(Statement::from_slice(&st.to_bytes().unwrap()).unwrap(), st);
        let mut empty = link();
        empty.products.clear();
        assert!(link_statement(&empty).is_err());
    }

    #[test]
    fn a_link_round_trips_through_its_statement() {
        let mut l = link();
        l.materials.insert(
            ArtifactName::new("git+https://git.example/app@refs/heads/main").unwrap(),
            DigestSet::single("gitCommit", Digest::new("c".repeat(40)).unwrap()),
        );
        let st = link_statement(&l).unwrap();
        assert_eq!(link_of_statement(&st).unwrap(), l);
        let prov = provenance_statement(&l, &RunContext::default()).unwrap();
        assert!(link_of_statement(&prov).is_err());
        let mut nameless = st.clone();
        if let Predicate::Link(p) = &mut nameless.predicate {
            p.materials[0].name = None;
        }
        assert!(link_of_statement(&nameless).is_err());
        let mut twice = st;
        twice.subject.push(twice.subject[0].clone());
        assert!(link_of_statement(&twice).is_err());
    }

    #[test]
    fn ci_detection() {
        let gh = |k: &str| {
            Some(
                match k {
                    "GITHUB_ACTIONS" => "true",
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_WORKFLOW_REF" => "o/r/.github/workflows/rel.yml@refs/tags/v1",
                    "GITHUB_REPOSITORY" => "o/r",
                    "GITHUB_RUN_ID" => "7",
                    "GITHUB_RUN_ATTEMPT" => "2",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let ci = detect_ci(gh).unwrap();
        assert_eq!(
            ci.builder_id,
            "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1"
        );
        assert_eq!(
            ci.invocation_id.as_deref(),
            Some("https://github.com/o/r/actions/runs/7/attempts/2")
        );
        let gl = |k: &str| {
            Some(
                match k {
                    "GITLAB_CI" => "true",
                    "CI_SERVER_URL" => "https://gitlab.example",
                    "CI_PROJECT_PATH" => "g/p",
                    "CI_RUNNER_ID" => "12",
                    "CI_JOB_URL" => "https://gitlab.example/g/p/-/jobs/99",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let ci = detect_ci(gl).unwrap();
        assert_eq!(ci.builder_id, "https://gitlab.example/g/p/-/runners/12");
        assert!(detect_ci(|_| None).is_none());
    }
}
