//! Verifying an attestation envelope against expectations, as named
//! checks (in the manner of slsa-verifier): `signature`, `statement`,
//! `subject`, `predicate-type`, `builder-id`, `source`.

use intact_crypto::PublicKey;
use intact_model::Envelope;
use serde::Serialize;
use serde_json::Value;

use crate::predicate::{Predicate, Provenance};
use crate::{dsse, ResourceDescriptor, Statement};

/// What the verifier is asked to hold the attestation to.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Each must match a subject by digest (and by name when it has one).
    pub subjects: Vec<ResourceDescriptor>,
    /// The predicate type expected; without it only known types pass.
    pub predicate_type: Option<String>,
    /// `runDetails.builder.id` of SLSA provenance.
    pub builder_id: Option<String>,
    /// The source repository URI.
    pub source_uri: Option<String>,
    /// The source ref (or commit).
    pub source_ref: Option<String>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It held.
    Pass,
    /// It did not.
    Fail,
    /// Nothing was asked of it, or an earlier check failed.
    Skip,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `signature`, `statement`, `subject`, `predicate-type`, `builder-id`, `source`.
    pub name: &'static str,
    /// Its outcome.
    pub status: Status,
    /// Why, in a sentence.
    pub detail: String,
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// Whether none failed.
    pub passed: bool,
    /// The statement's predicate type, when the statement parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The statement's subjects, when it parsed.
    pub subjects: Vec<ResourceDescriptor>,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

/// The names of the checks, in the order they are reported.
pub const CHECK_NAMES: [&str; 6] = [
    "signature",
    "statement",
    "subject",
    "predicate-type",
    "builder-id",
    "source",
];

/// Run every check. The statement is only read once a given key's
/// signature verified (nothing unauthenticated is interpreted); later
/// checks are skipped when it did not.
pub fn verify_envelope(env: &Envelope, keys: &[PublicKey], exp: &Expectations) -> Report {
    let mut checks = Vec::new();
    let signature = signature_check(env, keys);
    let signed = signature.status == Status::Pass;
    checks.push(signature);
    let statement = if signed {
        match dsse::statement_of(env) {
            Ok(st) => {
                checks.push(check(
                    "statement",
                    Status::Pass,
                    format!(
                        "in-toto Statement v1 with {} subject(s), predicate {}",
                        st.subject.len(),
                        st.predicate_type()
                    ),
                ));
                Some(st)
            }
            Err(e) => {
                checks.push(check("statement", Status::Fail, e.to_string()));
                None
            }
        }
    } else {
        checks.push(check(
            "statement",
            Status::Skip,
            "not read: no valid signature",
        ));
        None
    };
    let Some(st) = statement else {
        for name in CHECK_NAMES.iter().skip(2) {
            checks.push(check(name, Status::Skip, "no verified statement"));
        }
        return finish(checks, None);
    };
    checks.push(subject_check(&st, &exp.subjects));
    checks.push(predicate_type_check(&st, exp.predicate_type.as_deref()));
    let provenance = match &st.predicate {
        Predicate::Provenance(p) => Some(p.as_ref()),
        _ => None,
    };
    checks.push(builder_check(provenance, exp.builder_id.as_deref()));
    checks.push(source_check(
        provenance,
        exp.source_uri.as_deref(),
        exp.source_ref.as_deref(),
    ));
    finish(checks, Some(st))
}

fn finish(checks: Vec<Check>, st: Option<Statement>) -> Report {
    let passed = checks.iter().all(|c| c.status != Status::Fail);
    Report {
        passed,
        predicate_type: st.as_ref().map(|s| s.predicate_type().to_string()),
        subjects: st.map(|s| s.subject).unwrap_or_default(),
        checks,
    }
}

fn signature_check(env: &Envelope, keys: &[PublicKey]) -> Check {
    if env.signatures.is_empty() {
        return check("signature", Status::Fail, "the envelope has no signatures");
    }
    let pae = env.pae();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for key in keys {
        let Ok(keyid) = key.keyid() else { continue };
        match env.signature_by(&keyid) {
            Some(sig) if key.verify(&pae, &sig.sig) => good.push(keyid),
            Some(_) => bad.push(keyid),
            None => {}
        }
    }
    if let Some(first) = good.first() {
        return check(
            "signature",
            Status::Pass,
            format!(
                "signed by {first}{}",
                if good.len() > 1 { " and others" } else { "" }
            ),
        );
    }
    if let Some(first) = bad.first() {
        return check(
            "signature",
            Status::Fail,
            format!("the signature by {first} does not verify (payload altered?)"),
        );
    }
    check(
        "signature",
        Status::Fail,
        "no signature by any of the given keys",
    )
}

fn subject_matches(have: &ResourceDescriptor, want: &ResourceDescriptor) -> bool {
    let digest_ok = want
        .digest
        .iter()
        .all(|(alg, v)| have.digest.get(alg) == Some(v));
    let name_ok = match &want.name {
        Some(n) => have.name.as_deref() == Some(n.as_str()) || have.name.is_none(),
        None => true,
    };
    !want.digest.is_empty() && digest_ok && name_ok
}

fn subject_check(st: &Statement, want: &[ResourceDescriptor]) -> Check {
    if want.is_empty() {
        return check("subject", Status::Skip, "no --subject given");
    }
    for w in want {
        let shown = format!(
            "{} (sha256:{})",
            w.name.as_deref().unwrap_or("?"),
            w.digest.get("sha256").map(String::as_str).unwrap_or("?")
        );
        if !st.subject.iter().any(|h| subject_matches(h, w)) {
            return check(
                "subject",
                Status::Fail,
                format!("{shown} is not a subject of the statement"),
            );
        }
    }
    check(
        "subject",
        Status::Pass,
        format!("{} given subject(s) attested", want.len()),
    )
}

fn predicate_type_check(st: &Statement, want: Option<&str>) -> Check {
    let have = st.predicate_type();
    match want {
        Some(w) if w == have => check("predicate-type", Status::Pass, have.to_string()),
        Some(w) => check(
            "predicate-type",
            Status::Fail,
            format!("{have}, expected {w}"),
        ),
        None if st.predicate.is_known() => check("predicate-type", Status::Pass, have.to_string()),
        None => check(
            "predicate-type",
            Status::Fail,
            format!("{have} is not a type intact knows; accept it with --predicate-type {have}"),
        ),
    }
}

fn builder_check(p: Option<&Provenance>, want: Option<&str>) -> Check {
    let Some(want) = want else {
        return check("builder-id", Status::Skip, "no --builder-id given");
    };
    let Some(p) = p else {
        return check(
            "builder-id",
            Status::Fail,
            "the predicate is not SLSA Provenance v1, which names a builder",
        );
    };
    let have = &p.run_details.builder.id;
    if have == want {
        check("builder-id", Status::Pass, have.clone())
    } else {
        check(
            "builder-id",
            Status::Fail,
            format!("built by {have}, expected {want}"),
        )
    }
}

/// `git+URI@REV` descriptors of the resolved dependencies: (URI, REV).
fn git_dependencies(p: &Provenance) -> Vec<(String, String)> {
    p.build_definition
        .resolved_dependencies
        .iter()
        .filter_map(|d| d.uri.as_deref())
        .filter_map(|u| {
            let rest = u.strip_prefix("git+")?;
            let (uri, rev) = rest.rsplit_once('@')?;
            Some((uri.to_string(), rev.to_string()))
        })
        .collect()
}

fn str_at<'a>(v: &'a serde_json::Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, init) = path.split_last()?;
    let mut cur = v;
    for k in init {
        cur = cur.get(*k)?.as_object()?;
    }
    cur.get(*last)?.as_str()
}

fn source_check(p: Option<&Provenance>, uri: Option<&str>, rf: Option<&str>) -> Check {
    if uri.is_none() && rf.is_none() {
        return check(
            "source",
            Status::Skip,
            "no --source-uri or --source-ref given",
        );
    }
    let Some(p) = p else {
        return check(
            "source",
            Status::Fail,
            "the predicate is not SLSA Provenance v1, which names a source",
        );
    };
    let ext = &p.build_definition.external_parameters;
    let ext_uri = str_at(ext, &["source", "repository"]);
    let ext_ref = str_at(ext, &["source", "ref"]);
    let deps = git_dependencies(p);
    let uri_ok = |u: &str| ext_uri == Some(u) || deps.iter().any(|(du, _)| du == u);
    if let Some(u) = uri {
        if !uri_ok(u) {
            let have = ext_uri
                .map(str::to_string)
                .or_else(|| deps.first().map(|(u, _)| u.clone()))
                .unwrap_or_else(|| "no source".into());
            return check(
                "source",
                Status::Fail,
                format!("built from {have}, expected {u}"),
            );
        }
    }
    if let Some(r) = rf {
        let ref_ok = ext_ref == Some(r)
            || deps
                .iter()
                .any(|(du, rev)| rev == r && uri.is_none_or(|u| du == u));
        if !ref_ok {
            return check(
                "source",
                Status::Fail,
                format!(
                    "built from ref {}, expected {r}",
                    ext_ref.unwrap_or("(none recorded)")
                ),
            );
        }
    }
    let shown = [uri, rf]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" at ");
    check("source", Status::Pass, format!("built from {shown}"))
}
