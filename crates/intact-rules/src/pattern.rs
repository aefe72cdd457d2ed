//! Python `fnmatch` patterns (POSIX, CPython 3.11 `fnmatch.translate`).
//!
//! Unlike shell globs, `*` and `?` cross `/` and match newlines, `[!…]`
//! negates, backslash is an ordinary character and an unclosed `[` is
//! literal. We translate once into a `regex::Regex` (linear-time matching)
//! with every literal character escaped, so no pattern can inject regex
//! syntax; patterns without metacharacters compare as plain strings.
//!
//! A pattern the regex engine cannot compile (in practice one too large
//! for its size limit, such as 16,000 `?`) is an error, never a literal:
//! treating it as one would make a `DISALLOW` match nothing, so a chain
//! the reference refuses would pass.

use std::fmt;

use regex::Regex;

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// The compiled pattern would exceed the regex engine's size limit.
    TooLarge,
    /// The regex engine refused the translation for another reason.
    Invalid(String),
}

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What went wrong.
    pub kind: PatternErrorKind,
}

/// At most this many characters of a pattern are quoted in messages.
const QUOTE_CHARS: usize = 40;

/// `text`, shortened for a message when it is long.
pub(crate) fn abbreviate(text: &str) -> String {
    let count = text.chars().count();
    if count <= QUOTE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(QUOTE_CHARS).collect();
    format!("{head}… ({count} characters)")
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pattern = abbreviate(&self.pattern);
        match &self.kind {
            PatternErrorKind::TooLarge => write!(
                f,
                "pattern {pattern:?} is too large to compile; split it into smaller rules"
            ),
            PatternErrorKind::Invalid(why) => {
                write!(f, "pattern {pattern:?} cannot be compiled: {why}")
            }
        }
    }
}

/// A compiled fnmatch pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Everything,
    Literal,
    Regex(Regex),
}

fn push_escaped(c: char, out: &mut String) {
    out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
}

impl Pattern {
    /// Compile `pattern`. Every string is a valid fnmatch pattern, but one
    /// too large for the regex engine cannot be compiled: that is an
    /// error, so that callers fail closed.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let kind = if pattern == "*" {
            Kind::Everything
        } else if !pattern.contains(['*', '?', '[']) {
            Kind::Literal
        } else {
            match Regex::new(&translate(pattern)) {
                Ok(r) => Kind::Regex(r),
                Err(e) => {
                    return Err(PatternError {
                        pattern: pattern.to_string(),
                        kind: match e {
                            regex::Error::CompiledTooBig(_) => PatternErrorKind::TooLarge,
                            other => PatternErrorKind::Invalid(other.to_string()),
                        },
                    })
                }
            }
        };
        Ok(Pattern {
            text: pattern.to_string(),
            kind,
        })
    }

    /// Whether `name` matches the whole pattern (case-sensitive).
    pub fn matches(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Everything => true,
            Kind::Literal => name == self.text,
            Kind::Regex(r) => r.is_match(name),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Python's `fnmatch.fnmatchcase(name, pattern)` on POSIX: whether `name`
/// matches the whole of `pattern`. Compiles the pattern each time; keep a
/// [`Pattern`] to match many names.
///
/// ```
/// assert_eq!(intact_rules::fnmatch("src/*.c", "src/lib/a.c"), Ok(true));
/// assert_eq!(intact_rules::fnmatch("[!a]", "a"), Ok(false));
/// assert!(intact_rules::fnmatch(&"?".repeat(16_000), "x").is_err());
/// ```
pub fn fnmatch(pattern: &str, name: &str) -> Result<bool, PatternError> {
    Ok(Pattern::new(pattern)?.matches(name))
}

/// fnmatch.translate, producing Rust regex syntax.
fn translate(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let n = chars.len();
    let mut out = String::from("(?s)^(?:");
    let mut i = 0;
    while i < n {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while i < n && chars[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < n && chars[j] == '!' {
                    j += 1;
                }
                if j < n && chars[j] == ']' {
                    j += 1;
                }
                while j < n && chars[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    push_escaped('[', &mut out);
                } else {
                    out.push_str(&char_class(&chars[i..j]));
                    i = j + 1;
                }
            }
            other => push_escaped(other, &mut out),
        }
    }
    out.push_str(")$");
    out
}

/// The class for the set body `stuff` (between `[` and `]`), following
/// CPython's chunking of hyphens and its removal of reversed ranges.
fn char_class(stuff: &[char]) -> String {
    // Chunks separated by range hyphens; a leading '-' (after an optional
    // '!') and a trailing '-' are literal.
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if stuff.contains(&'-') {
        let mut start = 0;
        let mut k = if stuff.first() == Some(&'!') { 2 } else { 1 };
        while let Some(off) = stuff
            .get(k..)
            .and_then(|rest| rest.iter().position(|&c| c == '-'))
        {
            let hyphen = k + off;
            chunks.push(stuff.get(start..hyphen).unwrap_or_default().to_vec());
            start = hyphen + 1;
            k = hyphen + 3;
        }
        let last = stuff.get(start..).unwrap_or_default().to_vec();
        if last.is_empty() {
            if let Some(prev) = chunks.last_mut() {
                prev.push('-');
            }
        } else {
            chunks.push(last);
        }
        // Remove reversed (empty) ranges, right to left, as CPython does.
        let mut k = chunks.len().saturating_sub(1);
        while k > 0 {
            let reversed = match (chunks[k - 1].last(), chunks[k].first()) {
                (Some(a), Some(b)) => a > b,
                _ => false,
            };
            if reversed {
                let tail: Vec<char> = chunks[k].iter().skip(1).copied().collect();
                chunks[k - 1].pop();
                chunks[k - 1].extend(tail);
                chunks.remove(k);
            }
            k -= 1;
        }
    } else {
        chunks.push(stuff.to_vec());
    }
    let flat: usize = chunks.iter().map(Vec::len).sum::<usize>() + chunks.len().saturating_sub(1);
    if flat == 0 {
        return "[^\\x{0}-\\x{10FFFF}]".into(); // never matches
    }
    let negated = chunks.first().and_then(|c| c.first()) == Some(&'!');
    if negated && flat == 1 {
        return ".".into(); // "[!]": any character
    }
    let mut out = String::from(if negated { "[^" } else { "[" });
    for (idx, chunk) in chunks.iter().enumerate() {
        let body: &[char] = if idx == 0 && negated {
            chunk.get(1..).unwrap_or_default()
        } else {
            chunk
        };
        // Between chunks k-1 and k: a range from the last char of k-1 to
        // the first of k.
        for (pos, &c) in body.iter().enumerate() {
            let is_range_end = idx > 0 && pos == 0;
            if is_range_end {
                out.push('-');
            }
            push_escaped(c, &mut out);
        }
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(pattern: &str) -> Pattern {
        Pattern::new(pattern).unwrap()
    }

    fn m(pattern: &str, name: &str) -> bool {
        fnmatch(pattern, name).unwrap()
    }

    #[test]
    fn follows_python_fnmatchcase() {
        // Expected values from Python 3.11 `fnmatch.fnmatchcase` (these
        // were the layout linter's own vectors when it had a matcher).
        for (p, n, want) in [
            ("*.py", "src/a/b.py", true),
            ("src/*", "src/a/b.py", true),
            ("*", ".hidden", true),
            ("?", "/", true),
            ("a?c", "abc", true),
            ("[!a]b", "cb", true),
            ("[!a]b", "ab", false),
            ("[]]", "]", true),
            ("[a-c]x", "bx", true),
            ("[z-a]", "m", false),
            ("[", "[", true),
            ("[ab", "[ab", true),
            ("a\\*", "a\\b", true),
            ("*a*b", "xxaybzb", true),
            ("demo-project/*", "demo-project/foo.py", true),
            ("foo", "foo.py", false),
            ("**", "", true),
            ("[^a]", "^", true),
        ] {
            assert_eq!(m(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn a_pattern_too_large_to_compile_is_an_error() {
        let huge = "?".repeat(16_000);
        let err = Pattern::new(&huge).unwrap_err();
        assert_eq!(err.kind, PatternErrorKind::TooLarge);
        assert_eq!(err.pattern, huge);
        assert!(fnmatch(&huge, "x").is_err());
        // Long literal patterns need no regex and always compile.
        assert!(m(&"a".repeat(100_000), &"a".repeat(100_000)));
    }

    #[test]
    fn star_and_question_cross_slashes_and_newlines() {
        assert!(pat("*.py").matches("src/a/b.py"));
        assert!(pat("src/*").matches("src/a/b.py"));
        assert!(pat("*").matches(".hidden"));
        assert!(pat("a?c").matches("a/c"));
        assert!(pat("a*c").matches("a\nc"));
        assert!(!pat("*.py").matches("a.pyc"));
    }

    #[test]
    fn sets_follow_cpython() {
        assert!(pat("[!a]").matches("b"));
        assert!(!pat("[!a]").matches("a"));
        assert!(pat("[^a]").matches("^"));
        assert!(pat("[]a]").matches("]"));
        assert!(pat("[!]a]").matches("b"));
        assert!(!pat("[z-a]").matches("m"));
        assert!(pat("[a-c-e]").matches("-"));
        assert!(pat("[a-]").matches("-"));
        assert!(pat("[\\]").matches("\\"));
        assert!(pat("[").matches("["));
        assert!(pat("a[b").matches("a[b"));
        assert!(pat("[*]").matches("*"));
        assert!(pat("[!]").matches("[!]")); // the set never closes
        assert!(!pat("[!]").matches("!"));
        assert!(pat("[&&]").matches("&"));
    }

    #[test]
    fn backslash_and_regex_characters_are_literal() {
        assert!(pat("a\\*").matches("a\\xyz"));
        assert!(pat("(a|b).{2}$*").matches("(a|b).{2}$x"));
        assert!(!pat("(a|b)*").matches("a"));
        assert!(pat("\u{1F600}?").matches("\u{1F600}\u{e9}"));
    }
}
