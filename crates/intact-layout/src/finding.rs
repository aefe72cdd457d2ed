//! What `check` reports: typed findings with a stable code and a location.

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The layout cannot work as written; `build` refuses to sign it.
    Error,
    /// Probably a mistake, but the layout can be verified.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Stable finding codes, for scripts and for silencing by code.
pub mod codes {
    /// A rule that does not follow the artifact-rule grammar.
    pub const RULE_PARSE: &str = "rule-parse";
    /// A rule whose pattern cannot be compiled (too large for the regex
    /// engine); the verifier refuses such a layout.
    pub const UNCOMPILABLE_PATTERN: &str = "uncompilable-pattern";
    /// `MATCH … FROM x` where no step or inspection is called `x`.
    pub const MATCH_UNKNOWN_STEP: &str = "match-unknown-step";
    /// A step's `MATCH … FROM` a later step or an inspection.
    pub const MATCH_LATER_STEP: &str = "match-later-step";
    /// Two steps or inspections with the same name.
    pub const DUPLICATE_NAME: &str = "duplicate-name";
    /// Fewer distinct functionary keys than the threshold.
    pub const THRESHOLD_EXCEEDS_KEYS: &str = "threshold-exceeds-keys";
    /// A threshold below 1.
    pub const THRESHOLD_BELOW_ONE: &str = "threshold-below-one";
    /// A functionary keyid whose key is not in the layout's `keys`.
    pub const KEY_NOT_EMBEDDED: &str = "key-not-embedded";
    /// The same functionary key listed twice for one step.
    pub const DUPLICATE_FUNCTIONARY: &str = "duplicate-functionary";
    /// An embedded key too weak to rely on (RSA under 2048 bits).
    pub const WEAK_KEY: &str = "weak-key";
    /// A key in `keys` that no step uses.
    pub const UNUSED_KEY: &str = "unused-key";
    /// The expiry has passed.
    pub const EXPIRED: &str = "expired";
    /// The expiry is less than 30 days away.
    pub const EXPIRES_SOON: &str = "expires-soon";
    /// A signed layout without `expires` (the reference treats it as
    /// never expiring; `intact verify` refuses it without `--compat`).
    pub const NO_EXPIRES: &str = "no-expires";
    /// A rule after `ALLOW *` or `DISALLOW *`, which can never apply.
    pub const UNREACHABLE_RULE: &str = "unreachable-rule";
    /// Products no later step or inspection MATCHes.
    pub const UNCONSUMED_PRODUCT: &str = "unconsumed-product";
    /// A string that is not a valid parameter template.
    pub const PARAMETER_SYNTAX: &str = "parameter-syntax";
    /// A parameter that is given or declared but used nowhere.
    pub const UNUSED_PARAMETER: &str = "unused-parameter";
    /// A placeholder not declared under `parameters:`.
    pub const UNDECLARED_PARAMETER: &str = "undeclared-parameter";
    /// A parameter name outside `^[a-zA-Z0-9_-]+$`.
    pub const INVALID_PARAMETER: &str = "invalid-parameter";
    /// A step or inspection name that cannot be used (e.g. contains `/`).
    pub const INVALID_NAME: &str = "invalid-name";
    /// A functionary that is neither a key name, a keyid nor a key file.
    pub const UNKNOWN_KEY: &str = "unknown-key";
    /// A key file or inline key that cannot be used.
    pub const INVALID_KEY: &str = "invalid-key";
    /// An `expires:` value that is not a date, timestamp or duration.
    pub const INVALID_EXPIRES: &str = "invalid-expires";
    /// A command line that does not split (unclosed quote).
    pub const INVALID_COMMAND: &str = "invalid-command";
    /// A signed layout without any signature.
    pub const UNSIGNED: &str = "unsigned";
    /// The git section does not make a usable policy.
    pub const GIT_POLICY: &str = "git-policy";
    /// Separated steps share a key (by key material), or the `separate`
    /// section names no usable groups.
    pub const SEPARATION: &str = "separation-of-duties";
}

/// Steps or inspections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// An entry of `steps`.
    Step,
    /// An entry of `inspect`.
    Inspection,
}

impl ItemKind {
    /// The list the item lives in: `steps` or `inspect`.
    pub fn list_name(self) -> &'static str {
        match self {
            ItemKind::Step => "steps",
            ItemKind::Inspection => "inspect",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemKind::Step => "step",
            ItemKind::Inspection => "inspection",
        })
    }
}

/// A step or inspection a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// Step or inspection.
    pub kind: ItemKind,
    /// Index in `steps` or `inspect` of the document checked.
    pub index: usize,
    /// Its name as written.
    pub name: String,
}

/// Where a finding is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// Path in the document checked, e.g. `steps[1].expected_materials[0]`
    /// (`signed.` or `payload.` first for signed files; empty for the whole
    /// layout).
    pub path: String,
    /// The step or inspection concerned.
    pub item: Option<ItemRef>,
    /// Index of the rule in its list.
    pub rule: Option<usize>,
    /// Index of the offending token in the rule.
    pub token: Option<usize>,
    /// 1-based line in the YAML source.
    pub line: Option<usize>,
    /// 1-based column in the YAML source.
    pub column: Option<usize>,
}

/// One problem found in a layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code from [`codes`].
    pub code: &'static str,
    /// What is wrong, for humans.
    pub message: String,
    /// Where.
    pub location: Location,
}

impl Finding {
    /// One line: `LINE:COL: severity[code] path: message` (the position is
    /// left out when unknown). Prefix it with the file name to print.
    pub fn display_line(&self) -> String {
        let mut out = String::new();
        if let (Some(l), Some(c)) = (self.location.line, self.location.column) {
            out.push_str(&format!("{l}:{c}: "));
        }
        out.push_str(&format!("{}[{}] ", self.severity, self.code));
        if !self.location.path.is_empty() {
            out.push_str(&self.location.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_line())
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
