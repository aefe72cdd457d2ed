//! Layout parameters: `{NAME}` placeholders with Python `str.format`
//! semantics (../shared/in-toto-spec.md §5 step 4).
//!
//! The reference passes every string of every step's `expected_materials`,
//! `expected_products` and `expected_command`, and of every inspection's
//! rules and `run`, through `str.format(**parameters)`: `{NAME}` is
//! replaced, `{{` and `}}` are literal braces, an unknown name or a lone
//! brace is an error. Python also honours format specs, conversions,
//! attribute access and indexing (`{X:>4}`, `{X!r}`, `{X.y}`, `{X[0]}`);
//! they make no sense for layouts and are rejected here, as are positional
//! fields (`{}`, `{0}`), which fail in Python too.
//!
//! Besides [`substitute_parameters`] (what the verifier runs), this module
//! offers [`bind_parameters`] for build time: it replaces the placeholders
//! the author gave values for and keeps the others, so that the signed
//! layout is still a template for the verifier.
//!
//! This module lives in the model, not with the YAML front end, so that
//! the verifier substitutes parameters without depending on any YAML
//! crate. The location helpers ([`StringAt`], [`for_each_string`]) are
//! public for the layout linter, which reports template errors in place.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::{Layout, Rule};

/// What is wrong with a parameter or a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamErrorKind {
    /// A parameter name outside `^[a-zA-Z0-9_-]+$`.
    InvalidName(String),
    /// `{NAME}` with no value for `NAME`.
    Unknown(String),
    /// A `{` or `}` that is neither doubled nor part of a field, at this
    /// character offset.
    LoneBrace(char, usize),
    /// A `{` whose field is not closed, at this character offset.
    Unclosed(usize),
    /// A format spec, conversion, attribute or index in this field.
    Unsupported(String),
    /// An empty or all-digit (positional) field.
    Positional(String),
    /// The rule no longer parses once substituted.
    Rule(String),
}

impl fmt::Display for ParamErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamErrorKind::InvalidName(n) => write!(
                f,
                "invalid parameter name {n:?} (names match ^[a-zA-Z0-9_-]+$)"
            ),
            ParamErrorKind::Unknown(n) => write!(f, "no value for parameter {{{n}}}"),
            ParamErrorKind::LoneBrace(c, at) => write!(
                f,
                "single '{c}' at character {at}; write '{c}{c}' for a literal brace"
            ),
            ParamErrorKind::Unclosed(at) => {
                write!(f, "'{{' at character {at} is not closed by '}}'")
            }
            ParamErrorKind::Unsupported(field) => write!(
                f,
                "{{{field}}}: format specs, conversions, attributes and indexes are not supported"
            ),
            ParamErrorKind::Positional(field) => write!(
                f,
                "{{{field}}}: positional fields are not supported; name the parameter"
            ),
            ParamErrorKind::Rule(reason) => {
                write!(f, "the substituted rule does not parse: {reason}")
            }
        }
    }
}

/// A parameter error, with the layout string it happened in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParamError {
    /// Path of the string in the layout, e.g. `steps[0].expected_command[2]`
    /// (empty for errors about the parameters themselves).
    pub path: String,
    /// The string as written.
    pub text: String,
    /// What is wrong.
    pub kind: ParamErrorKind,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{} {:?}: {}", self.path, self.text, self.kind)
        }
    }
}

/// Whether `name` may be used as a parameter name (`^[a-zA-Z0-9_-]+$`).
pub fn is_valid_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text, with `{{`/`}}` already decoded.
    Text(String),
    /// A `{NAME}` field.
    Field(&'a str),
}

/// Split a template the way Python's format-string parser does.
pub fn parse_template(s: &str) -> Result<Vec<Piece<'_>>, ParamErrorKind> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.char_indices().enumerate().peekable();
    while let Some((pos, (_, c))) = chars.next() {
        match c {
            '{' | '}' => {
                if chars.peek().is_some_and(|(_, (_, n))| *n == c) {
                    chars.next();
                    text.push(c);
                    continue;
                }
                if c == '}' {
                    return Err(ParamErrorKind::LoneBrace('}', pos));
                }
                // A field: everything up to the next `}`.
                let Some(&(_, (start, _))) = chars.peek() else {
                    return Err(ParamErrorKind::LoneBrace('{', pos));
                };
                let mut end = None;
                for (_, (i, ch)) in chars.by_ref() {
                    match ch {
                        '}' => {
                            end = Some(i);
                            break;
                        }
                        // Python counts nested braces (they belong to a
                        // format spec) and then rejects them in a name.
                        '{' => {
                            return Err(ParamErrorKind::Unsupported(
                                s.get(start..).unwrap_or_default().to_string(),
                            ))
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or(ParamErrorKind::Unclosed(pos))?;
                let field = s.get(start..end).unwrap_or_default();
                if field.contains(['!', ':', '.', '[']) {
                    return Err(ParamErrorKind::Unsupported(field.to_string()));
                }
                if field.chars().all(char::is_numeric) {
                    return Err(ParamErrorKind::Positional(field.to_string()));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(field));
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// `s.format(**params)`.
fn format(s: &str, params: &BTreeMap<String, String>) -> Result<String, ParamErrorKind> {
    let mut out = String::with_capacity(s.len());
    for piece in parse_template(s)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field(name) => match params.get(name) {
                Some(v) => out.push_str(v),
                None => return Err(ParamErrorKind::Unknown(name.to_string())),
            },
        }
    }
    Ok(out)
}

fn escape_braces(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '{' || c == '}' {
            out.push(c);
        }
        out.push(c);
    }
}

/// Replace the fields named in `params` and keep everything else a
/// template: `format(bind(s, a), b) == format(s, a ∪ b)`.
fn bind(s: &str, params: &BTreeMap<String, String>) -> Result<String, ParamErrorKind> {
    let mut out = String::with_capacity(s.len());
    for piece in parse_template(s)? {
        match piece {
            Piece::Text(t) => escape_braces(&t, &mut out),
            Piece::Field(name) => match params.get(name) {
                Some(v) => escape_braces(v, &mut out),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    Ok(out)
}

/// Which part of a layout a substitutable string belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// `expected_materials`.
    Materials,
    /// `expected_products`.
    Products,
    /// `expected_command` (steps) or `run` (inspections).
    Command,
}

impl Part {
    /// The layout field, for steps or inspections.
    pub fn field_name(self, inspection: bool) -> &'static str {
        match (self, inspection) {
            (Part::Materials, _) => "expected_materials",
            (Part::Products, _) => "expected_products",
            (Part::Command, false) => "expected_command",
            (Part::Command, true) => "run",
        }
    }
}

/// Where a substitutable string sits: item, part, index in the list and,
/// for rules, token index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringAt {
    /// In an inspection (else a step).
    pub inspection: bool,
    /// Index of the step or inspection.
    pub item: usize,
    /// Rules or command.
    pub part: Part,
    /// Index in the rule list or the command.
    pub index: usize,
    /// For rules, the token index.
    pub token: Option<usize>,
}

impl StringAt {
    /// The path in the layout, e.g. `steps[0].expected_command[2]`.
    pub fn path(&self) -> String {
        let list = if self.inspection { "inspect" } else { "steps" };
        let mut p = format!(
            "{list}[{}].{}[{}]",
            self.item,
            self.part.field_name(self.inspection),
            self.index
        );
        if let Some(t) = self.token {
            p.push_str(&format!("[{t}]"));
        }
        p
    }
}

/// Visit every string the reference substitutes, in layout order.
pub fn for_each_string(layout: &Layout, mut f: impl FnMut(StringAt, &str)) {
    let rules = |inspection: bool,
                 item: usize,
                 part: Part,
                 rules: &[Rule],
                 f: &mut dyn FnMut(StringAt, &str)| {
        for (index, rule) in rules.iter().enumerate() {
            for (t, token) in rule.tokens().iter().enumerate() {
                let at = StringAt {
                    inspection,
                    item,
                    part,
                    index,
                    token: Some(t),
                };
                f(at, token);
            }
        }
    };
    for (i, step) in layout.steps.iter().enumerate() {
        rules(false, i, Part::Materials, &step.expected_materials, &mut f);
        rules(false, i, Part::Products, &step.expected_products, &mut f);
        for (index, arg) in step.expected_command.iter().enumerate() {
            let at = StringAt {
                inspection: false,
                item: i,
                part: Part::Command,
                index,
                token: None,
            };
            f(at, arg);
        }
    }
    for (i, insp) in layout.inspect.iter().enumerate() {
        rules(true, i, Part::Materials, &insp.expected_materials, &mut f);
        rules(true, i, Part::Products, &insp.expected_products, &mut f);
        for (index, arg) in insp.run.iter().enumerate() {
            let at = StringAt {
                inspection: true,
                item: i,
                part: Part::Command,
                index,
                token: None,
            };
            f(at, arg);
        }
    }
}

/// Rewrite every substitutable string with `map`, re-parsing rules.
fn map_strings(
    layout: &Layout,
    map: &dyn Fn(&str) -> Result<String, ParamErrorKind>,
) -> Result<Layout, ParamError> {
    let err = |at: StringAt, text: &str, kind| ParamError {
        path: at.path(),
        text: text.to_string(),
        kind,
    };
    let map_rules = |inspection: bool, item: usize, part: Part, rules: &[Rule]| {
        rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let at = |token| StringAt {
                    inspection,
                    item,
                    part,
                    index,
                    token,
                };
                let tokens = rule
                    .tokens()
                    .iter()
                    .enumerate()
                    .map(|(t, s)| map(s).map_err(|k| err(at(Some(t)), s, k)))
                    .collect::<Result<Vec<_>, _>>()?;
                Rule::from_tokens(tokens).map_err(|e| {
                    err(
                        at(None),
                        &rule.to_string(),
                        ParamErrorKind::Rule(e.to_string()),
                    )
                })
            })
            .collect::<Result<Vec<_>, ParamError>>()
    };
    let map_argv = |inspection: bool, item: usize, argv: &[String]| {
        argv.iter()
            .enumerate()
            .map(|(index, s)| {
                let at = StringAt {
                    inspection,
                    item,
                    part: Part::Command,
                    index,
                    token: None,
                };
                map(s).map_err(|k| err(at, s, k))
            })
            .collect::<Result<Vec<_>, ParamError>>()
    };
    let mut out = layout.clone();
    for (i, step) in out.steps.iter_mut().enumerate() {
        step.expected_materials = map_rules(false, i, Part::Materials, &step.expected_materials)?;
        step.expected_products = map_rules(false, i, Part::Products, &step.expected_products)?;
        step.expected_command = map_argv(false, i, &step.expected_command)?;
    }
    for (i, insp) in out.inspect.iter_mut().enumerate() {
        insp.expected_materials = map_rules(true, i, Part::Materials, &insp.expected_materials)?;
        insp.expected_products = map_rules(true, i, Part::Products, &insp.expected_products)?;
        insp.run = map_argv(true, i, &insp.run)?;
    }
    Ok(out)
}

fn check_names(params: &BTreeMap<String, String>) -> Result<(), ParamError> {
    match params.keys().find(|n| !is_valid_parameter_name(n)) {
        Some(bad) => Err(ParamError {
            path: String::new(),
            text: bad.clone(),
            kind: ParamErrorKind::InvalidName(bad.clone()),
        }),
        None => Ok(()),
    }
}

/// Substitute `{NAME}` parameters exactly as the reference's
/// `verifylib.substitute_parameters` does at verification time.
///
/// Names, keys, pubkeys and thresholds are never substituted. Fails on an
/// invalid parameter name, on a placeholder without a value, on a lone
/// brace and on the format features this crate does not support.
///
/// ```
/// use std::collections::BTreeMap;
/// use intact_model::{Expires, Layout, Rule, Step, StepName};
///
/// let mut layout = Layout::new(Expires::parse("2030-01-01T00:00:00Z").unwrap());
/// let mut step = Step::new(StepName::new("build").unwrap());
/// step.expected_command = vec!["make".into(), "VERSION={VERSION}".into()];
/// step.expected_products.push(Rule::parse_str("CREATE app-{VERSION}.tar.gz").unwrap());
/// layout.steps.push(step);
///
/// let params = BTreeMap::from([("VERSION".to_string(), "1.2".to_string())]);
/// let done = intact_model::params::substitute_parameters(&layout, &params).unwrap();
/// assert_eq!(done.steps[0].expected_command[1], "VERSION=1.2");
/// assert_eq!(done.steps[0].expected_products[0].to_string(), "CREATE app-1.2.tar.gz");
/// assert!(intact_model::params::substitute_parameters(&layout, &BTreeMap::new()).is_err());
/// ```
pub fn substitute_parameters(
    layout: &Layout,
    params: &BTreeMap<String, String>,
) -> Result<Layout, ParamError> {
    check_names(params)?;
    map_strings(layout, &|s| format(s, params))
}

/// The parameter names a layout's placeholders use. Strings that are not
/// valid templates are skipped (see [`template_errors`]).
pub fn placeholders(layout: &Layout) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for_each_string(layout, |_, s| {
        if let Ok(pieces) = parse_template(s) {
            for p in pieces {
                if let Piece::Field(n) = p {
                    names.insert(n.to_string());
                }
            }
        }
    });
    names
}

/// Every string that is not a valid template, i.e. that would make the
/// verifier's substitution fail whatever parameters it is given.
pub fn template_errors(layout: &Layout) -> Vec<ParamError> {
    template_errors_at(layout)
        .into_iter()
        .map(|(at, text, kind)| ParamError {
            path: at.path(),
            text,
            kind,
        })
        .collect()
}

/// Like [`template_errors`], with where each string sits.
pub fn template_errors_at(layout: &Layout) -> Vec<(StringAt, String, ParamErrorKind)> {
    let mut errors = Vec::new();
    for_each_string(layout, |at, s| {
        if let Err(kind) = parse_template(s) {
            errors.push((at, s.to_string(), kind));
        }
    });
    errors
}

/// The result of [`bind_parameters`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The layout with the given parameters substituted.
    pub layout: Layout,
    /// Placeholders still in the layout, for the verifier to fill.
    pub unbound: BTreeSet<String>,
    /// Given parameters no placeholder uses.
    pub unused: BTreeSet<String>,
}

/// Substitute the parameters known at build time.
///
/// If they cover every placeholder, this is [`substitute_parameters`]:
/// the result is the finished layout, `{{`/`}}` decoded, exactly what the
/// verifier would compute. Otherwise the result stays a template: given
/// placeholders are replaced (braces in their values doubled), the others
/// and the `{{`/`}}` escapes are kept, so substituting the remaining
/// parameters later gives the same layout as substituting all at once.
/// With no parameters the layout is returned unchanged.
pub fn bind_parameters(
    layout: &Layout,
    params: &BTreeMap<String, String>,
) -> Result<Bound, ParamError> {
    check_names(params)?;
    let used = placeholders(layout);
    let unused: BTreeSet<String> = params
        .keys()
        .filter(|k| !used.contains(*k))
        .cloned()
        .collect();
    if params.is_empty() {
        return Ok(Bound {
            layout: layout.clone(),
            unbound: used,
            unused,
        });
    }
    let unbound: BTreeSet<String> = used
        .iter()
        .filter(|n| !params.contains_key(*n))
        .cloned()
        .collect();
    let layout = if unbound.is_empty() {
        substitute_parameters(layout, params)?
    } else {
        map_strings(layout, &|s| bind(s, params))?
    };
    Ok(Bound {
        layout,
        unbound,
        unused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn formats_like_python() {
        // Expected values from Python 3.11 `str.format(**params)`.
        let params = p(&[("A", "x"), ("b-c", "{y}"), ("_1", "")]);
        for (input, out) in [
            ("plain", "plain"),
            ("{A}", "x"),
            ("a{A}b{A}", "axbx"),
            ("{b-c}", "{y}"),
            ("{{A}}", "{A}"),
            ("{{{A}}}", "{x}"),
            ("}}{{", "}{"),
            ("{_1}", ""),
            ("", ""),
            ("ü{A}ü", "üxü"),
        ] {
            assert_eq!(format(input, &params).as_deref(), Ok(out), "{input}");
        }
        for (input, err) in [
            ("{B}", ParamErrorKind::Unknown("B".into())),
            ("{ A}", ParamErrorKind::Unknown(" A".into())),
            ("a}", ParamErrorKind::LoneBrace('}', 1)),
            ("a{", ParamErrorKind::LoneBrace('{', 1)),
            ("{A", ParamErrorKind::Unclosed(0)),
            ("{}", ParamErrorKind::Positional("".into())),
            ("{0}", ParamErrorKind::Positional("0".into())),
            ("{A:>4}", ParamErrorKind::Unsupported("A:>4".into())),
            ("{A!r}", ParamErrorKind::Unsupported("A!r".into())),
            ("{A.upper}", ParamErrorKind::Unsupported("A.upper".into())),
            ("{A[0]}", ParamErrorKind::Unsupported("A[0]".into())),
            ("{A{B}}", ParamErrorKind::Unsupported("A{B}}".into())),
            ("{A}}", ParamErrorKind::LoneBrace('}', 3)),
        ] {
            assert_eq!(format(input, &params), Err(err), "{input}");
        }
    }

    #[test]
    fn binding_some_then_the_rest_equals_binding_all() {
        let all = p(&[("A", "{1}"), ("B", "b}"), ("C", "c")]);
        let first = p(&[("A", "{1}")]);
        let rest = p(&[("B", "b}"), ("C", "c")]);
        for t in ["{A}{B}", "{{A}} {C} {A}", "x}}{{y{B}", "{C}", "none"] {
            let once = format(t, &all).unwrap();
            let twice = format(&bind(t, &first).unwrap(), &rest).unwrap();
            assert_eq!(once, twice, "{t}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(is_valid_parameter_name("A-b_9"));
        for bad in ["", "a b", "a.b", "ä", "{A}"] {
            assert!(!is_valid_parameter_name(bad), "{bad}");
        }
        let layout = crate::Layout::new(crate::Expires::parse("2030-01-01T00:00:00Z").unwrap());
        let err = substitute_parameters(&layout, &p(&[("a b", "x")])).unwrap_err();
        assert_eq!(err.kind, ParamErrorKind::InvalidName("a b".into()));
    }
}
