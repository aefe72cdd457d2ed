//! In-toto layout → YAML, such that building the YAML again gives the
//! same layout (and so, with ed25519 owner keys, the same signed bytes).

use std::collections::{BTreeMap, HashMap, HashSet};

use intact_model::git::DEFAULT_INSPECTION_NAME;
use intact_model::{split_like_python, GitPolicy, Inspection, KeyDict, KeyId, Layout, Rule, Side};

use crate::params::{is_valid_parameter_name, placeholders};
use crate::spec::{Command, GitSpec, InspectionSpec, KeySpec, LayoutSpec, NamedMap, StepSpec};
use crate::LayoutError;

/// Quote a token so that `split_like_python` gives it back unchanged;
/// plain tokens (including globs) stay unquoted.
pub(crate) fn quote(token: &str) -> String {
    if token.is_empty() {
        return "''".into();
    }
    if token.contains([' ', '\t', '\r', '\n', '\'', '"', '\\']) {
        return format!("'{}'", token.replace('\'', "'\"'\"'"));
    }
    token.to_string()
}

/// Join arguments into one line that splits back into exactly them.
pub(crate) fn join_quoted(args: &[String]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// A rule as one string: its canonical form when that keeps the stored
/// tokens, else the tokens as written (e.g. lower-case keywords), so the
/// rebuilt layout is byte-identical.
fn rule_text(rule: &Rule) -> String {
    let canonical = rule.to_string();
    if split_like_python(&canonical).is_ok_and(|t| t == rule.tokens()) {
        canonical
    } else {
        join_quoted(rule.tokens())
    }
}

fn command(argv: &[String]) -> Command {
    if argv.is_empty() {
        Command::default()
    } else {
        Command::Line(join_quoted(argv))
    }
}

/// Names for embedded keys: the names they were signed with when every
/// key has a distinct one; else the first 8 hex digits of the keyid, or
/// the whole keyid where two keys share them.
fn key_names(layout: &Layout) -> BTreeMap<KeyId, String> {
    // The names the layout was signed with, when they tell keys apart.
    let named: BTreeMap<KeyId, String> = layout
        .keys
        .iter()
        .filter_map(|(id, d)| Some((id.clone(), d.name()?.to_string())))
        .collect();
    let distinct: HashSet<&String> = named.values().collect();
    if named.len() == layout.keys.len() && distinct.len() == named.len() {
        return named;
    }
    let mut count: HashMap<&str, usize> = HashMap::new();
    for id in layout.keys.keys() {
        *count.entry(id.short()).or_default() += 1;
    }
    layout
        .keys
        .keys()
        .map(|id| {
            let name = if count.get(id.short()) == Some(&1) {
                id.short().to_string()
            } else {
                id.to_string()
            };
            (id.clone(), name)
        })
        .collect()
}

/// The authoring form of a layout. Keys become inline key dictionaries
/// named by short keyid; placeholders are declared with no value.
pub fn to_spec(layout: &Layout) -> LayoutSpec {
    let (git, inspections) = split_git(layout);
    let (separate, inspections) = split_separation(inspections);
    let names = key_names(layout);
    let functionary = |id: &KeyId| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let params: Vec<String> = placeholders(layout)
        .into_iter()
        .filter(|p| is_valid_parameter_name(p))
        .collect();
    LayoutSpec {
        readme: layout.readme.clone(),
        // No expiry: an empty `expires:`, which `layout build` refuses
        // until the author sets one.
        expires: layout
            .expires
            .as_ref()
            .map_or_else(String::new, ToString::to_string),
        parameters: if params.is_empty() {
            None
        } else {
            Some(NamedMap(params.into_iter().map(|p| (p, None)).collect()))
        },
        steps: layout
            .steps
            .iter()
            .map(|s| StepSpec {
                name: s.name.to_string(),
                functionaries: s.pubkeys.iter().map(functionary).collect(),
                threshold: s.threshold,
                expected_command: command(&s.expected_command),
                expected_materials: s.expected_materials.iter().map(rule_text).collect(),
                expected_products: s.expected_products.iter().map(rule_text).collect(),
                cert_constraints: s
                    .cert_constraints
                    .iter()
                    .flatten()
                    .map(|c| c.as_map().clone())
                    .collect(),
            })
            .collect(),
        inspect: inspections
            .iter()
            .map(|i| InspectionSpec {
                name: i.name.to_string(),
                run: command(&i.run),
                expected_materials: i.expected_materials.iter().map(rule_text).collect(),
                expected_products: i.expected_products.iter().map(rule_text).collect(),
            })
            .collect(),
        // In name order: keyid order is random to people.
        keys: NamedMap({
            let mut keys: Vec<(String, KeySpec)> = layout
                .keys
                .iter()
                .map(|(id, dict)| {
                    (
                        names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                        KeySpec::Inline(dict.as_map().clone()),
                    )
                })
                .collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            keys
        }),
        git,
        separate,
        rootcas: ca_specs(layout.rootcas.as_ref()),
        intermediatecas: ca_specs(layout.intermediatecas.as_ref()),
    }
}

/// The separation-of-duties inspection becomes the `separate:` section
/// again when it is where `build` puts it (last but the git policy, named
/// as `build` names it, without rules).
fn split_separation(inspections: &[Inspection]) -> (Vec<Vec<String>>, &[Inspection]) {
    let Some((last, rest)) = inspections.split_last() else {
        return (Vec::new(), inspections);
    };
    let plain = last.expected_materials.is_empty()
        && last.expected_products.is_empty()
        && last.name.as_str() == intact_model::separation::SEPARATION_INSPECTION_NAME;
    match intact_model::Separation::from_run(&last.run) {
        // Only the exact form `build` writes, so that build -> export ->
        // build gives the same bytes.
        Some(Ok(p)) if plain && p.to_run() == last.run => (
            p.groups
                .iter()
                .map(|g| g.iter().map(ToString::to_string).collect())
                .collect(),
            rest,
        ),
        _ => (Vec::new(), inspections),
    }
}

/// CA certificates as written in the layout, by keyid, so they build to
/// the same bytes.
fn ca_specs(cas: Option<&BTreeMap<KeyId, KeyDict>>) -> NamedMap<KeySpec> {
    NamedMap(
        cas.into_iter()
            .flatten()
            .map(|(id, dict)| (id.to_string(), KeySpec::Inline(dict.as_map().clone())))
            .collect(),
    )
}

/// The git policy inspection becomes the `git:` section again when it is
/// where `build` puts it (last, without rules), so that build -> export ->
/// build gives the same bytes; anywhere else it stays a plain inspection.
fn split_git(layout: &Layout) -> (Option<GitSpec>, &[Inspection]) {
    let Some((last, rest)) = layout.inspect.split_last() else {
        return (None, &layout.inspect);
    };
    let policy = match GitPolicy::from_run(&last.run) {
        Some(Ok(p)) if last.expected_materials.is_empty() && last.expected_products.is_empty() => p,
        _ => return (None, &layout.inspect),
    };
    let name = (last.name.as_str() != DEFAULT_INSPECTION_NAME).then(|| last.name.to_string());
    let spec = GitSpec {
        name,
        step: policy.step.to_string(),
        side: (policy.side == Side::Materials).then(|| "materials".to_string()),
        path: policy.path,
        protected_ref: policy.protected_ref,
        tag: policy.tag,
        signers: policy.signers,
        signers_file: None,
        gpg_fingerprints: policy.gpg_fingerprints,
        clean: policy.require_clean,
    };
    (Some(spec), rest)
}

/// The layout as YAML in the authoring format (see [`to_spec`]).
pub fn export(layout: &Layout) -> Result<String, LayoutError> {
    let body =
        serde_yaml::to_string(&to_spec(layout)).map_err(|e| LayoutError::Export(e.to_string()))?;
    Ok(format!(
        "# Exported from a signed layout. Rebuild with `intact layout build`;\n# the expiry and the keys are as signed.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        let args: Vec<String> = [
            "",
            "a b",
            "it's",
            "x\"y",
            "back\\slash",
            "*.tgz",
            "{X}",
            "#c",
            "\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(split_like_python(&join_quoted(&args)).unwrap(), args);
        assert_eq!(join_quoted(&args[5..7]), "*.tgz {X}");
    }

    #[test]
    fn rules_keep_their_tokens() {
        let lower = Rule::parse_str("match * with products from a").unwrap();
        assert_eq!(rule_text(&lower), "match * with products from a");
        let canon = Rule::parse_str("match 'a b' WITH products FROM a").unwrap();
        assert_eq!(rule_text(&canon), "match 'a b' WITH products FROM a");
        let upper = Rule::parse_str("ALLOW 'a b'").unwrap();
        assert_eq!(rule_text(&upper), "ALLOW 'a b'");
    }
}
