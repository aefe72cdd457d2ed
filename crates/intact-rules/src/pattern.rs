//! Python `fnmatch` patterns (POSIX, CPython 3.11 `fnmatch.translate`).
//!
//! Unlike shell globs, `*` and `?` cross `/` and match newlines, `[!…]`
//! negates, backslash is an ordinary character and an unclosed `[` is
//! literal. We translate once into a `regex::Regex` (linear-time matching)
//! with every literal character escaped, so no pattern can inject regex
//! syntax; patterns without metacharacters compare as plain strings.

use regex::Regex;

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
    /// Compile `pattern`. Every string is a valid fnmatch pattern.
    pub fn new(pattern: &str) -> Self {
        let kind = if pattern == "*" {
            Kind::Everything
        } else if !pattern.contains(['*', '?', '[']) {
            Kind::Literal
        } else {
            match Regex::new(&translate(pattern)) {
                Ok(r) => Kind::Regex(r),
                // Unreachable in practice (every character is escaped);
                // failing closed as "matches only itself" is safe.
                Err(_) => Kind::Literal,
            }
        };
        Pattern {
            text: pattern.to_string(),
            kind,
        }
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

    #[test]
    fn star_and_question_cross_slashes_and_newlines() {
        assert!(Pattern::new("*.py").matches("src/a/b.py"));
        assert!(Pattern::new("src/*").matches("src/a/b.py"));
        assert!(Pattern::new("*").matches(".hidden"));
        assert!(Pattern::new("a?c").matches("a/c"));
        assert!(Pattern::new("a*c").matches("a\nc"));
        assert!(!Pattern::new("*.py").matches("a.pyc"));
    }

    #[test]
    fn sets_follow_cpython() {
        assert!(Pattern::new("[!a]").matches("b"));
        assert!(!Pattern::new("[!a]").matches("a"));
        assert!(Pattern::new("[^a]").matches("^"));
        assert!(Pattern::new("[]a]").matches("]"));
        assert!(Pattern::new("[!]a]").matches("b"));
        assert!(!Pattern::new("[z-a]").matches("m"));
        assert!(Pattern::new("[a-c-e]").matches("-"));
        assert!(Pattern::new("[a-]").matches("-"));
        assert!(Pattern::new("[\\]").matches("\\"));
        assert!(Pattern::new("[").matches("["));
        assert!(Pattern::new("a[b").matches("a[b"));
        assert!(Pattern::new("[*]").matches("*"));
        assert!(Pattern::new("[!]").matches("[!]")); // the set never closes
        assert!(!Pattern::new("[!]").matches("!"));
        assert!(Pattern::new("[&&]").matches("&"));
    }

    #[test]
    fn backslash_and_regex_characters_are_literal() {
        assert!(Pattern::new("a\\*").matches("a\\xyz"));
        assert!(Pattern::new("(a|b).{2}$*").matches("(a|b).{2}$x"));
        assert!(!Pattern::new("(a|b)*").matches("a"));
        assert!(Pattern::new("\u{1F600}?").matches("\u{1F600}\u{e9}"));
    }
}
