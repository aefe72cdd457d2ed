//! The predicates intact writes and reads: in-toto link v0.3, SLSA
//! Provenance v1 and SLSA Verification Summary v1. Any other predicate
//! type is carried opaquely ([`Predicate::Other`]).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::statement::ResourceDescriptor;
use crate::AttestError;

/// `https://in-toto.io/attestation/link/v0.3`.
pub const LINK_PREDICATE_TYPE: &str = "https://in-toto.io/attestation/link/v0.3";
/// `https://slsa.dev/provenance/v1`.
pub const PROVENANCE_PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// `https://slsa.dev/verification_summary/v1`.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";

/// The link predicate v0.3: a link's content, materials as descriptors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPredicate {
    /// The step this link is evidence for.
    pub name: String,
    /// The command as executed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Artifacts before the command ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<ResourceDescriptor>,
    /// `stdout`, `stderr`, `return-value`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub byproducts: Map<String, Value>,
    /// Information about the environment of the run.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub environment: Map<String, Value>,
}

/// SLSA Provenance v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// What was built and from what.
    pub build_definition: BuildDefinition,
    /// Who built it and how the run went.
    pub run_details: RunDetails,
}

/// Provenance `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildDefinition {
    /// URI of the build type's documentation.
    pub build_type: String,
    /// The parameters under the control of whoever started the build.
    pub external_parameters: Map<String, Value>,
    /// Parameters the builder set.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal_parameters: Map<String, Value>,
    /// Inputs fetched during the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// Provenance `runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunDetails {
    /// The build platform.
    pub builder: Builder,
    /// Run metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    /// Outputs that are not subjects (logs, exit code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

/// Provenance `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Builder {
    /// URI of the builder, the identity a verifier trusts.
    pub id: String,
    /// Component versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
    /// The builder's own dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

/// Provenance `runDetails.metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildMetadata {
    /// The CI run's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// SLSA Verification Summary v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationSummary {
    /// Who verified.
    pub verifier: Verifier,
    /// RFC 3339.
    pub time_verified: String,
    /// The resource verified.
    pub resource_uri: String,
    /// The policy verified against (uri and/or digest).
    pub policy: ResourceDescriptor,
    /// Every attestation the verification used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_attestations: Vec<ResourceDescriptor>,
    /// `PASSED` or `FAILED`.
    pub verification_result: String,
    /// An array of strings, as the SLSA specification says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_levels: Vec<String>,
    /// Levels of the dependencies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependency_levels: BTreeMap<String, u64>,
    /// The SLSA version the levels refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slsa_version: Option<String>,
}

/// VSA `verifier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifier {
    /// URI of the verifier.
    pub id: String,
    /// Component versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
}

/// A statement's predicate, typed when intact knows its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// [`LINK_PREDICATE_TYPE`].
    Link(LinkPredicate),
    /// [`PROVENANCE_PREDICATE_TYPE`].
    Provenance(Box<Provenance>),
    /// [`VSA_PREDICATE_TYPE`].
    Vsa(Box<VerificationSummary>),
    /// Any other type, opaque.
    Other {
        /// The predicate type URI.
        type_uri: String,
        /// The predicate object.
        value: Map<String, Value>,
    },
}

/// The predicate object itself (the type URI travels beside it in the
/// statement): written straight to bytes, with no `serde_json::Value` copy
/// of a provenance's 100,000 dependencies.
impl Serialize for Predicate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Predicate::Link(p) => p.serialize(s),
            Predicate::Provenance(p) => p.serialize(s),
            Predicate::Vsa(p) => p.serialize(s),
            Predicate::Other { value, .. } => value.serialize(s),
        }
    }
}

fn typed<T: DeserializeOwned>(kind: &str, value: Map<String, Value>) -> Result<T, AttestError> {
    serde_json::from_value(Value::Object(value))
        .map_err(|e| AttestError::Statement(format!("predicate ({kind}): {e}")))
}

fn check_time(at: &str, t: &str) -> Result<(), AttestError> {
    crate::time::parse(t)
        .map(|_| ())
        .map_err(|e| AttestError::Statement(format!("{at}: {e}")))
}

impl Predicate {
    /// Type the predicate object of a statement by its type URI.
    pub fn from_parts(
        type_uri: &str,
        value: Option<Map<String, Value>>,
    ) -> Result<Self, AttestError> {
        let value =
            value.ok_or_else(|| AttestError::Statement("predicate object required".into()))?;
        Ok(match type_uri {
            LINK_PREDICATE_TYPE => Predicate::Link(typed("link v0.3", value)?),
            PROVENANCE_PREDICATE_TYPE => {
                Predicate::Provenance(Box::new(typed("SLSA Provenance v1", value)?))
            }
            VSA_PREDICATE_TYPE => {
                Predicate::Vsa(Box::new(typed("SLSA Verification Summary v1", value)?))
            }
            other => Predicate::Other {
                type_uri: other.to_string(),
                value,
            },
        })
    }

    /// The predicate type URI.
    pub fn type_uri(&self) -> &str {
        match self {
            Predicate::Link(_) => LINK_PREDICATE_TYPE,
            Predicate::Provenance(_) => PROVENANCE_PREDICATE_TYPE,
            Predicate::Vsa(_) => VSA_PREDICATE_TYPE,
            Predicate::Other { type_uri, .. } => type_uri,
        }
    }

    /// Whether intact knows this predicate type.
    pub fn is_known(&self) -> bool {
        !matches!(self, Predicate::Other { .. })
    }

    /// The predicate object, as a tree (for callers that inspect it;
    /// writing goes through [`Serialize`] without one).
    pub fn to_map(&self) -> Result<Map<String, Value>, AttestError> {
        let v = match self {
            Predicate::Link(p) => serde_json::to_value(p),
            Predicate::Provenance(p) => serde_json::to_value(p),
            Predicate::Vsa(p) => serde_json::to_value(p),
            Predicate::Other { value, .. } => return Ok(value.clone()),
        }
        .map_err(|e| AttestError::Statement(e.to_string()))?;
        match v {
            Value::Object(m) => Ok(m),
            _ => Err(AttestError::Statement("predicate is not an object".into())),
        }
    }

    /// Required members the types cannot express (non-empty ids, valid
    /// timestamps, descriptors valid).
    pub fn validate(&self) -> Result<(), AttestError> {
        match self {
            Predicate::Link(l) => {
                if l.name.is_empty() {
                    return Err(AttestError::Statement("predicate.name required".into()));
                }
                for (i, m) in l.materials.iter().enumerate() {
                    m.validate(&format!("predicate.materials[{i}]"))?;
                }
            }
            Predicate::Provenance(p) => {
                let bd = &p.build_definition;
                if bd.build_type.is_empty() {
                    return Err(AttestError::Statement(
                        "predicate.buildDefinition.buildType required".into(),
                    ));
                }
                for (i, d) in bd.resolved_dependencies.iter().enumerate() {
                    d.validate(&format!(
                        "predicate.buildDefinition.resolvedDependencies[{i}]"
                    ))?;
                }
                let rd = &p.run_details;
                if rd.builder.id.is_empty() {
                    return Err(AttestError::Statement(
                        "predicate.runDetails.builder.id required".into(),
                    ));
                }
                for (i, d) in rd.byproducts.iter().enumerate() {
                    d.validate(&format!("predicate.runDetails.byproducts[{i}]"))?;
                }
                if let Some(m) = &rd.metadata {
                    if let Some(t) = &m.started_on {
                        check_time("predicate.runDetails.metadata.startedOn", t)?;
                    }
                    if let Some(t) = &m.finished_on {
                        check_time("predicate.runDetails.metadata.finishedOn", t)?;
                    }
                }
            }
            Predicate::Vsa(v) => {
                if v.verifier.id.is_empty() {
                    return Err(AttestError::Statement(
                        "predicate.verifier.id required".into(),
                    ));
                }
                check_time("predicate.timeVerified", &v.time_verified)?;
                if v.resource_uri.is_empty() {
                    return Err(AttestError::Statement(
                        "predicate.resourceUri required".into(),
                    ));
                }
                v.policy.validate("predicate.policy")?;
                for (i, d) in v.input_attestations.iter().enumerate() {
                    d.validate(&format!("predicate.inputAttestations[{i}]"))?;
                }
                if v.verification_result != "PASSED" && v.verification_result != "FAILED" {
                    return Err(AttestError::Statement(format!(
                        "predicate.verificationResult is {:?}, expected \"PASSED\" or \"FAILED\"",
                        v.verification_result
                    )));
                }
            }
            // As the framework's bindings: a predicate must say something.
            Predicate::Other { value, .. } if value.is_empty() => {
                return Err(AttestError::Statement(
                    "predicate object required (it is empty)".into(),
                ));
            }
            Predicate::Other { .. } => {}
        }
        Ok(())
    }
}
