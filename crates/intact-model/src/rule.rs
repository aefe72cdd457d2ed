//! Artifact rules: the reference's string-array form, typed.
//!
//! A [`Rule`] keeps the tokens exactly as the layout stores them (so
//! Metablock signatures over re-built layouts stay byte-identical even when an
//! author wrote `match` in lower case) next to the parsed [`RuleKind`] that
//! evaluators use. Layout authors write rules as one string; [`Rule::parse_str`]
//! splits it the way Python's `shlex.split` does (POSIX mode, no comments).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

/// Which side of the destination link a MATCH rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The destination's `materials`.
    Materials,
    /// The destination's `products`.
    Products,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Materials => "MATERIALS",
            Side::Products => "PRODUCTS",
        })
    }
}

/// A parsed artifact rule (../shared/in-toto-spec.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// `MATCH pattern [IN src] WITH side [IN dst] FROM item`.
    Match {
        /// fnmatch pattern over queued names (after the source prefix).
        pattern: String,
        /// Literal prefix of queued names, stripped before globbing.
        source_prefix: Option<String>,
        /// Which side of the destination item to compare with.
        dest_side: Side,
        /// Literal prefix added to names looked up in the destination.
        dest_prefix: Option<String>,
        /// Name of the destination step or inspection.
        dest_name: String,
    },
    /// `CREATE pattern`.
    Create(String),
    /// `DELETE pattern`.
    Delete(String),
    /// `MODIFY pattern`.
    Modify(String),
    /// `ALLOW pattern`.
    Allow(String),
    /// `DISALLOW pattern`.
    Disallow(String),
    /// `REQUIRE name` (exact name, no glob).
    Require(String),
}

/// An artifact rule as stored in a layout, with its parsed meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    tokens: Vec<String>,
    kind: RuleKind,
}

fn rule_error(tokens: &[String], reason: impl Into<String>) -> ModelError {
    ModelError::Rule {
        rule: format!("{tokens:?}"),
        reason: reason.into(),
    }
}

fn keyword_is(token: &str, keyword: &str) -> bool {
    token.to_lowercase() == keyword
}

impl Rule {
    /// Parse the reference's array form, e.g. `["MATCH", "*", "WITH", …]`.
    pub fn from_tokens(tokens: Vec<String>) -> Result<Self, ModelError> {
        let kind = parse_tokens(&tokens)?;
        Ok(Rule { tokens, kind })
    }

    /// Parse a rule written as one string, e.g. `MATCH src/* WITH PRODUCTS FROM clone`.
    pub fn parse_str(text: &str) -> Result<Self, ModelError> {
        let tokens = split_like_python(text).map_err(|reason| ModelError::Rule {
            rule: format!("{text:?}"),
            reason,
        })?;
        Self::from_tokens(tokens)
    }

    /// The tokens exactly as stored in the layout.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The parsed rule.
    pub fn kind(&self) -> &RuleKind {
        &self.kind
    }

    /// The pattern or name the rule applies to.
    pub fn pattern(&self) -> &str {
        match &self.kind {
            RuleKind::Match { pattern, .. } => pattern,
            RuleKind::Create(p)
            | RuleKind::Delete(p)
            | RuleKind::Modify(p)
            | RuleKind::Allow(p)
            | RuleKind::Disallow(p)
            | RuleKind::Require(p) => p,
        }
    }
}

fn parse_tokens(tokens: &[String]) -> Result<RuleKind, ModelError> {
    let Some(verb) = tokens.first() else {
        return Err(rule_error(tokens, "a rule needs at least two tokens"));
    };
    let verb = verb.to_lowercase();
    let generic = |make: fn(String) -> RuleKind| match tokens {
        [_, pattern] => Ok(make(pattern.clone())),
        _ => Err(rule_error(
            tokens,
            format!(
                "{} takes exactly one argument, got {}",
                verb.to_uppercase(),
                tokens.len().saturating_sub(1)
            ),
        )),
    };
    match verb.as_str() {
        "create" => generic(RuleKind::Create),
        "delete" => generic(RuleKind::Delete),
        "modify" => generic(RuleKind::Modify),
        "allow" => generic(RuleKind::Allow),
        "disallow" => generic(RuleKind::Disallow),
        "require" => generic(RuleKind::Require),
        "match" => parse_match(tokens),
        _ => Err(rule_error(
            tokens,
            format!(
                "unknown rule type {:?}; expected MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW or REQUIRE",
                tokens[0]
            ),
        )),
    }
}

fn parse_match(t: &[String]) -> Result<RuleKind, ModelError> {
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|s| keyword_is(s, k));
    // The four shapes the reference accepts, checked by keyword position.
    let (source_prefix, with_at, dest_prefix, from_at) = match t.len() {
        6 if kw(2, "with") && kw(4, "from") => (None, 2, None, 4),
        8 if kw(2, "in") && kw(4, "with") && kw(6, "from") => (Some(3), 4, None, 6),
        8 if kw(2, "with") && kw(4, "in") && kw(6, "from") => (None, 2, Some(5), 6),
        10 if kw(2, "in") && kw(4, "with") && kw(6, "in") && kw(8, "from") => {
            (Some(3), 4, Some(7), 8)
        }
        _ => {
            return Err(rule_error(
                t,
                "expected MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>",
            ))
        }
    };
    let get = |i: usize| t.get(i).cloned().unwrap_or_default();
    let side = get(with_at + 1);
    let dest_side = if keyword_is(&side, "materials") {
        Side::Materials
    } else if keyword_is(&side, "products") {
        Side::Products
    } else {
        return Err(rule_error(
            t,
            format!("expected MATERIALS or PRODUCTS after WITH, found {side:?}"),
        ));
    };
    Ok(RuleKind::Match {
        pattern: get(1),
        source_prefix: source_prefix.map(get),
        dest_side,
        dest_prefix: dest_prefix.map(get),
        dest_name: get(from_at + 1),
    })
}

/// Split like Python's `shlex.split(text)`: POSIX rules, whitespace
/// ` \t\r\n`, single quotes literal, backslash escapes outside quotes and
/// only `"`/`\` inside double quotes, no comment character.
pub fn split_like_python(text: &str) -> Result<Vec<String>, String> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut state = State::Between;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        tokens.push(std::mem::take(&mut token));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    let next = chars.next().ok_or("no escaped character after `\\`")?;
                    token.push(next);
                    state = State::Word;
                }
                _ => {
                    token.push(c);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                _ => token.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let next = chars.next().ok_or("no escaped character after `\\`")?;
                    if next != '"' && next != '\\' {
                        token.push('\\');
                    }
                    token.push(next);
                }
                _ => token.push(c),
            },
        }
    }
    match state {
        State::Single | State::Double => Err("no closing quotation".into()),
        State::Word => {
            tokens.push(token);
            Ok(tokens)
        }
        State::Between => Ok(tokens),
    }
}

/// Quote a token so that [`split_like_python`] gives it back unchanged.
fn quote(token: &str) -> String {
    if token.is_empty() {
        return "''".into();
    }
    if token.contains([' ', '\t', '\r', '\n', '\'', '"', '\\']) {
        return format!("'{}'", token.replace('\'', "'\"'\"'"));
    }
    token.to_string()
}

impl fmt::Display for Rule {
    /// The canonical one-line form: upper-case keywords, arguments quoted only
    /// where the split would otherwise change them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, arg) = match &self.kind {
            RuleKind::Match {
                pattern,
                source_prefix,
                dest_side,
                dest_prefix,
                dest_name,
            } => {
                write!(f, "MATCH {}", quote(pattern))?;
                if let Some(p) = source_prefix {
                    write!(f, " IN {}", quote(p))?;
                }
                write!(f, " WITH {dest_side}")?;
                if let Some(p) = dest_prefix {
                    write!(f, " IN {}", quote(p))?;
                }
                return write!(f, " FROM {}", quote(dest_name));
            }
            RuleKind::Create(p) => ("CREATE", p),
            RuleKind::Delete(p) => ("DELETE", p),
            RuleKind::Modify(p) => ("MODIFY", p),
            RuleKind::Allow(p) => ("ALLOW", p),
            RuleKind::Disallow(p) => ("DISALLOW", p),
            RuleKind::Require(p) => ("REQUIRE", p),
        };
        write!(f, "{verb} {}", quote(arg))
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.tokens.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tokens = Vec::<String>::deserialize(d)?;
        Rule::from_tokens(tokens).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &[&str]) -> Vec<String> {
        s.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn parses_all_match_shapes_case_insensitively() {
        let r = Rule::parse_str("match foo* in src with Products in dst from Build").unwrap();
        assert_eq!(
            r.kind(),
            &RuleKind::Match {
                pattern: "foo*".into(),
                source_prefix: Some("src".into()),
                dest_side: Side::Products,
                dest_prefix: Some("dst".into()),
                dest_name: "Build".into(),
            }
        );
        // Tokens keep the author's case, Display is canonical.
        assert_eq!(r.tokens()[0], "match");
        assert_eq!(
            r.to_string(),
            "MATCH foo* IN src WITH PRODUCTS IN dst FROM Build"
        );
        for s in [
            "MATCH * WITH MATERIALS FROM a",
            "MATCH * IN x WITH MATERIALS FROM a",
            "MATCH * WITH MATERIALS IN y FROM a",
        ] {
            assert_eq!(Rule::parse_str(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_rules_with_reason() {
        for bad in [
            vec!["MATCH", "*", "FROM", "x"],
            vec!["MATCH", "*", "WITH", "PRODUCTS", "TO", "x"],
            vec!["MATCH", "*", "WITH", "ARTIFACTS", "FROM", "x"],
            vec![
                "MATCH", "*", "IN", "a", "WITH", "PRODUCTS", "IN", "b", "FROM",
            ],
            vec!["CREATE"],
            vec!["CREATE", "a", "b"],
            vec!["COPY", "a"],
            vec![],
        ] {
            assert!(Rule::from_tokens(toks(&bad)).is_err(), "{bad:?}");
        }
        let err = Rule::parse_str("ALLOW 'unterminated").unwrap_err();
        assert!(err.to_string().contains("no closing quotation"), "{err}");
    }

    #[test]
    fn splits_like_python_shlex() {
        // Expected values produced with Python 3.11 `shlex.split`.
        let cases: &[(&str, &[&str])] = &[
            ("a b\tc\rd\ne", &["a", "b", "c", "d", "e"]),
            ("#x y", &["#x", "y"]),
            ("'a b' \"c d\"", &["a b", "c d"]),
            (r#""a\$b" "a\"b" "a\\b""#, &["a\\$b", "a\"b", "a\\b"]),
            (r"a\ b \x", &["a b", "x"]),
            ("''", &[""]),
            ("a'b'c", &["abc"]),
            ("  ", &[]),
        ];
        for (input, expected) in cases {
            assert_eq!(
                split_like_python(input).unwrap(),
                toks(expected),
                "{input:?}"
            );
        }
        assert!(split_like_python("a\\").is_err());
        assert!(split_like_python("\"a").is_err());
    }

    #[test]
    fn display_round_trips_through_split() {
        for arg in ["", "a b", "it's", "x\"y", "back\\slash", "*.tar.gz", "#c"] {
            let r = Rule::from_tokens(toks(&["ALLOW", arg])).unwrap();
            let again = Rule::parse_str(&r.to_string()).unwrap();
            assert_eq!(again.pattern(), arg);
        }
    }

    #[test]
    fn serializes_as_stored_tokens() {
        let r: Rule = serde_json::from_str(r#"["disallow", "*"]"#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"["disallow","*"]"#);
        assert_eq!(r.kind(), &RuleKind::Disallow("*".into()));
    }
}
