//! Point at the token that breaks a rule.
//!
//! Whether a rule is valid is decided by the one rule parser intact has,
//! `intact_model::Rule` (shared with the verifier). This module only asks
//! that parser questions to find *where* a rejected rule goes wrong: the
//! first token after which no valid rule can be completed, and the
//! character offset of that token in the string the author wrote (using
//! `split_like_python` on prefixes, so quoting is handled exactly as when
//! parsing).

use intact_model::{split_like_python, ModelError, Rule};

/// Why a rule was rejected and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleProblem {
    /// Message naming the rule, the reason and the token.
    pub message: String,
    /// Index of the offending token, if one is to blame.
    pub token: Option<usize>,
    /// Character offset in the rule string, when diagnosing a string.
    pub offset: Option<usize>,
}

/// One valid rule of each shape; completing a prefix with the tail of one
/// of them tells whether the prefix can still become a valid rule.
const SHAPES: [&[&str]; 5] = [
    &["ALLOW", "x"],
    &["MATCH", "x", "WITH", "PRODUCTS", "FROM", "x"],
    &["MATCH", "x", "IN", "x", "WITH", "PRODUCTS", "FROM", "x"],
    &["MATCH", "x", "WITH", "PRODUCTS", "IN", "x", "FROM", "x"],
    &[
        "MATCH", "x", "IN", "x", "WITH", "PRODUCTS", "IN", "x", "FROM", "x",
    ],
];

fn viable(prefix: &[String]) -> bool {
    SHAPES.iter().any(|shape| {
        let Some(tail) = shape.get(prefix.len()..) else {
            return false;
        };
        let mut tokens = prefix.to_vec();
        tokens.extend(tail.iter().map(|t| t.to_string()));
        Rule::from_tokens(tokens).is_ok()
    })
}

/// The first token that cannot be part of a valid rule, or `None` when
/// every token fits and the rule just ends too early.
fn offending_token(tokens: &[String]) -> Option<usize> {
    (0..tokens.len()).find(|&i| tokens.get(..=i).is_some_and(|p| !viable(p)))
}

fn reason(e: &ModelError) -> String {
    match e {
        ModelError::Rule { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn pointer(tokens: &[String], token: Option<usize>) -> String {
    match token.and_then(|t| tokens.get(t).map(|s| (t, s))) {
        Some((t, s)) => format!(" (at token {t}: {s:?})"),
        None if tokens.is_empty() => " (the rule is empty)".into(),
        None => format!(
            " (the rule ends after token {}: {:?})",
            tokens.len() - 1,
            tokens.last().map(String::as_str).unwrap_or_default()
        ),
    }
}

/// Diagnose a rule given as tokens (signed layouts); `None` if it parses.
pub(crate) fn diagnose_tokens(tokens: &[String]) -> Option<RuleProblem> {
    let err = Rule::from_tokens(tokens.to_vec()).err()?;
    let token = offending_token(tokens);
    Some(RuleProblem {
        message: format!(
            "invalid rule {tokens:?}: {}{}",
            reason(&err),
            pointer(tokens, token)
        ),
        token,
        offset: None,
    })
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Character offsets where each token of `text` starts.
pub(crate) fn token_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    for (ci, (b, c)) in text.char_indices().enumerate() {
        if is_blank(c) {
            continue;
        }
        let Some(prefix) = text.get(..b) else {
            continue;
        };
        // A token starts here if the prefix is complete (not inside quotes
        // or after a backslash) and a character appended to it would open
        // a new token rather than extend the last one.
        if let Ok(before) = split_like_python(prefix) {
            let probe = format!("{prefix}x");
            if split_like_python(&probe).is_ok_and(|t| t.len() == before.len() + 1) {
                starts.push(ci);
            }
        }
    }
    starts
}

/// Offset of the quote that is never closed: the last quote character
/// that is reached outside quotes and escapes.
fn unclosed_quote(text: &str) -> Option<usize> {
    text.char_indices()
        .enumerate()
        .filter(|(_, (b, c))| {
            (*c == '\'' || *c == '"')
                && text.get(..*b).is_some_and(|p| split_like_python(p).is_ok())
        })
        .map(|(ci, _)| ci)
        .last()
}

/// Diagnose a rule written as one string; `None` if it parses.
pub(crate) fn diagnose_text(text: &str) -> Option<RuleProblem> {
    let err = Rule::parse_str(text).err()?;
    let why = reason(&err);
    let Ok(tokens) = split_like_python(text) else {
        let offset = unclosed_quote(text);
        let at = match offset {
            Some(o) => format!(" (the quote at character {o} is never closed)"),
            None => " (a backslash ends the rule)".into(),
        };
        let offset = offset.or_else(|| text.chars().count().checked_sub(1));
        return Some(RuleProblem {
            message: format!("invalid rule {text:?}: {why}{at}"),
            token: None,
            offset,
        });
    };
    let token = offending_token(&tokens);
    let offset = match token {
        Some(t) => token_starts(text).get(t).copied(),
        None => Some(text.trim_end_matches(is_blank).chars().count()),
    };
    Some(RuleProblem {
        message: format!("invalid rule {text:?}: {why}{}", pointer(&tokens, token)),
        token,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> (Option<usize>, Option<usize>) {
        let p = diagnose_text(text).expect("rule should be invalid");
        (p.token, p.offset)
    }

    #[test]
    fn points_at_the_breaking_token() {
        assert!(diagnose_text("MATCH * WITH PRODUCTS FROM x").is_none());
        assert_eq!(at("COPY a"), (Some(0), Some(0)));
        assert_eq!(at("CREATE a b"), (Some(2), Some(9)));
        assert_eq!(at("MATCH * WITH ARTIFACTS FROM x"), (Some(3), Some(13)));
        assert_eq!(at("MATCH * TO PRODUCTS FROM x"), (Some(2), Some(8)));
        assert_eq!(
            at("MATCH * IN src WITH PRODUCTS IN dst TO x"),
            (Some(8), Some(36))
        );
        assert_eq!(at("MATCH 'a b'  WITH PRODUCTS FRM x"), (Some(4), Some(27)));
        assert_eq!(at("MATCH * WITH PRODUCTS"), (None, Some(21)));
        assert_eq!(at("CREATE  "), (None, Some(6)));
        assert_eq!(at(""), (None, Some(0)));
        let p = diagnose_text("CREATE a b").unwrap();
        assert!(p.message.contains("(at token 2: \"b\")"), "{}", p.message);
    }

    #[test]
    fn points_at_unclosed_quotes() {
        assert_eq!(at("ALLOW 'it"), (None, Some(6)));
        assert_eq!(at("ALLOW \"a\" 'b"), (None, Some(10)));
        assert_eq!(at(r#"ALLOW a\'b 'c"#), (None, Some(11)));
        assert_eq!(at("ALLOW a\\"), (None, Some(7)));
    }

    #[test]
    fn token_starts_follow_quoting() {
        assert_eq!(token_starts("a  'b c'd \"e\" \\ f"), vec![0, 3, 10, 14]);
    }

    #[test]
    fn tokens_are_diagnosed_too() {
        let t: Vec<String> = ["MATCH", "*", "WITH", "PRODUCTS", "FROM"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(diagnose_tokens(&t).map(|p| p.token), Some(None));
        let extra: Vec<String> = ["CREATE", "a", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(diagnose_tokens(&extra).map(|p| p.token), Some(Some(2)));
    }
}
