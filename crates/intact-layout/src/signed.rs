//! Checking signed layouts (Metablock or DSSE), including ones the strict
//! loader rejects because of a bad rule or a repeated name: those problems
//! become findings instead of a load error.

use std::collections::HashMap;

use intact_model::json::parse_strict;
use intact_model::{Envelope, Layout, Metadata, IN_TOTO_PAYLOAD_TYPE};
use serde_json::Value;
use time::OffsetDateTime;

use crate::diagnose::diagnose_tokens;
use crate::finding::{codes, Finding, ItemKind, Location, Severity};
use crate::lint::{lint_raw, locate_all, Hints, ItemField, LayoutPaths, Locate, Spot};
use crate::params::Part;
use crate::LayoutError;

/// Whether `bytes` look like signed metadata (JSON with `signed` or
/// `payload`) rather than a YAML layout.
pub fn is_signed_metadata(bytes: &[u8]) -> bool {
    parse_strict(bytes).is_ok_and(|v| v.get("signed").is_some() || v.get("payload").is_some())
}

/// Remaps rule indices after unparseable rules were removed.
struct SignedPaths<'a> {
    prefix: &'a str,
    rules: HashMap<(ItemKind, usize, Part), Vec<usize>>,
}

impl Locate for SignedPaths<'_> {
    fn locate(&self, layout: &Layout, spot: &Spot) -> Location {
        let spot = match spot {
            Spot::Item(kind, i, ItemField::Rule(part, r, t)) => {
                let original = self
                    .rules
                    .get(&(*kind, *i, *part))
                    .and_then(|o| o.get(*r))
                    .copied()
                    .unwrap_or(*r);
                Spot::Item(*kind, *i, ItemField::Rule(*part, original, *t))
            }
            other => other.clone(),
        };
        LayoutPaths {
            prefix: self.prefix,
        }
        .locate(layout, &spot)
    }
}

fn split_container(value: &Value) -> Result<(&'static str, Value, usize), LayoutError> {
    if value.get("payload").is_some() {
        match value.get("payloadType") {
            Some(Value::String(t)) if t == IN_TOTO_PAYLOAD_TYPE => {}
            _ => {
                return Err(LayoutError::Field {
                    path: "payloadType".into(),
                    reason: format!("must be {IN_TOTO_PAYLOAD_TYPE:?}"),
                })
            }
        }
        let env = Envelope::from_value(value.clone())?;
        let payload = parse_strict(&env.payload)?;
        return Ok(("payload.", payload, env.signatures.len()));
    }
    let signed = value
        .get("signed")
        .cloned()
        .ok_or_else(|| LayoutError::Field {
            path: String::new(),
            reason: "expected a Metablock (`signed`) or a DSSE envelope (`payload`)".into(),
        })?;
    let count = match value.get("signatures") {
        Some(Value::Array(s)) => s.len(),
        _ => 0,
    };
    Ok(("signed.", signed, count))
}

/// Check a signed layout file's bytes. Fails only when the file is not a
/// layout at all or a field other than a rule or a name is malformed.
pub fn check_signed(bytes: &[u8], now: OffsetDateTime) -> Result<Vec<Finding>, LayoutError> {
    check_signed_with(bytes, now, crate::compile::DEFAULT_WARN_EXPIRY)
}

/// [`check_signed`], warning of an expiry within `warn_expiry` of `now`.
pub fn check_signed_with(
    bytes: &[u8],
    now: OffsetDateTime,
    warn_expiry: time::Duration,
) -> Result<Vec<Finding>, LayoutError> {
    let value = parse_strict(bytes)?;
    let (prefix, mut raw, signatures) = split_container(&value)?;
    match raw.get("_type") {
        Some(Value::String(t)) if t == "layout" => {}
        Some(Value::String(t)) => return Err(LayoutError::NotALayout(t.clone())),
        _ => return Err(LayoutError::NotALayout("document without `_type`".into())),
    }

    // Take out rules that do not parse, reporting each one.
    let mut findings = Vec::new();
    let mut origins = HashMap::new();
    for (kind, list) in [(ItemKind::Step, "steps"), (ItemKind::Inspection, "inspect")] {
        let Some(Value::Array(items)) = raw.get_mut(list) else {
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            for (part, field) in [
                (Part::Materials, "expected_materials"),
                (Part::Products, "expected_products"),
            ] {
                let Some(Value::Array(rules)) = item.get_mut(field) else {
                    continue;
                };
                let mut kept = Vec::new();
                let mut origin = Vec::new();
                for (r, rule) in std::mem::take(rules).into_iter().enumerate() {
                    let tokens: Option<Vec<String>> = rule
                        .as_array()
                        .and_then(|t| t.iter().map(|s| s.as_str().map(str::to_string)).collect());
                    match tokens.as_deref().and_then(diagnose_tokens) {
                        Some(problem) => findings.push(Finding {
                            severity: Severity::Error,
                            code: codes::RULE_PARSE,
                            message: problem.message,
                            location: Location {
                                path: format!("{prefix}{list}[{i}].{field}[{r}]"),
                                item: Some(crate::ItemRef {
                                    kind,
                                    index: i,
                                    name: name.clone(),
                                }),
                                rule: Some(r),
                                token: problem.token,
                                line: None,
                                column: None,
                            },
                        }),
                        None => {
                            kept.push(rule);
                            origin.push(r);
                        }
                    }
                }
                *rules = kept;
                origins.insert((kind, i, part), origin);
            }
        }
    }

    let layout: Layout = serde_path_to_error::deserialize(raw).map_err(|e| LayoutError::Field {
        path: format!("{prefix}{}", e.path()),
        reason: e.into_inner().to_string(),
    })?;
    // Anything else the strict loader refuses (e.g. a malformed signature)
    // is an error, unless the findings already explain it.
    if findings.is_empty() {
        if let Err(e) = Metadata::from_value(value) {
            if layout.validate().is_ok() {
                return Err(e.into());
            }
        }
    }

    let hints = Hints {
        warn_expiry: Some(warn_expiry),
        ..Hints::default()
    };
    let raw_findings = lint_raw(&layout, now, &hints);
    let locator = SignedPaths {
        prefix,
        rules: origins,
    };
    findings.extend(locate_all(&layout, raw_findings, &locator));
    if signatures == 0 {
        findings.push(Finding {
            severity: Severity::Warning,
            code: codes::UNSIGNED,
            message: "the layout has no signatures; sign it with `intact sign` or build it with `intact layout build`".into(),
            location: Location::default(),
        });
    }
    Ok(findings)
}
