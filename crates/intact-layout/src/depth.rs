//! A bound on how deeply a YAML document nests, checked in one linear
//! pass before the document reaches the YAML parser.
//!
//! libyaml (under serde_yaml) takes time quadratic in the nesting depth of
//! flow collections (`[[[[…`), and serde_yaml parses the whole document
//! before it applies its own recursion limit, so a 200 kB file of `[` kept
//! `intact layout check` busy for minutes. A layout nests a handful of
//! levels; anything deeper than [`MAX_DEPTH`] is refused up front.
//!
//! The scan is not a YAML parser: it over-approximates the depth (it
//! counts block indentation levels, compact `- ` entries on one line and
//! open flow brackets outside quoted scalars, comments and block scalars),
//! which is safe because real layouts stay far below the limit.

/// The deepest nesting a layout may have (collections within collections).
pub const MAX_DEPTH: usize = 64;

/// Where the scan found the document nesting deeper than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    /// 1-based line at which the limit was passed.
    pub line: usize,
}

/// Check that `text` nests at most `limit` levels (an upper bound, see the
/// module documentation). Linear in the length of `text`.
pub(crate) fn check_depth(text: &str, limit: usize) -> Result<(), TooDeep> {
    let mut flow = 0usize; // open flow collections
    let mut quote: Option<char> = None; // inside a quoted scalar
    let mut block_scalar: Option<usize> = None; // indent of its parent line
    let mut indents: Vec<usize> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let too_deep = TooDeep { line: n + 1 };
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = line.get(indent..).unwrap_or_default();
        if let Some(parent) = block_scalar {
            if rest.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && flow == 0 {
            if rest.trim().is_empty() || rest.starts_with('#') {
                continue;
            }
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&top| top < indent) {
                indents.push(indent);
            }
        }
        let mut compact = 0usize; // `- ` / `? ` entries opened on this line
        let mut node_start = quote.is_none();
        let mut prev_space = true;
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            let next_blank = chars.peek().is_none_or(|n| n.is_whitespace());
            if let Some(q) = quote {
                if q == '"' && c == '\\' {
                    chars.next();
                } else if c == q {
                    if q == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        quote = None;
                        node_start = false;
                    }
                }
                prev_space = false;
                continue;
            }
            match c {
                '#' if prev_space => break,
                '"' | '\'' if node_start => quote = Some(c),
                '[' | '{' if node_start || flow > 0 => {
                    flow += 1;
                    node_start = true;
                }
                ']' | '}' if flow > 0 => {
                    flow -= 1;
                    node_start = false;
                }
                ',' if flow > 0 => node_start = true,
                '-' | '?' if node_start && next_blank => {
                    if flow == 0 {
                        compact += 1;
                    }
                }
                ':' if next_blank => node_start = true,
                '|' | '>' if node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                // Anchors, tags and aliases come before (or are) the node.
                '&' | '!' | '*' if node_start => {
                    while chars.next_if(|n| !n.is_whitespace()).is_some() {}
                }
                c if c.is_whitespace() => {}
                _ => node_start = false,
            }
            prev_space = c.is_whitespace();
            if indents.len() + compact + flow > limit {
                return Err(too_deep);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, limit: usize) -> bool {
        check_depth(text, limit).is_ok()
    }

    #[test]
    fn real_layouts_are_shallow() {
        let layout = "
expires: 90d   # a comment with [[[[ and {{{{
keys:
  alice: keys/alice.pub
steps:
  - name: build
    functionaries: [alice]
    expected_command: \"make [\"
    expected_materials:
      - MATCH src/[ab]* WITH PRODUCTS FROM clone
      - ALLOW [
      - 'DISALLOW ['
    expected_products: [CREATE a, 'DISALLOW [', \"x\\\"[\"]
    note: |
      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
      {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{
";
        assert!(depth_ok(layout, 6));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = format!("steps: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(check_depth(&flow, MAX_DEPTH), Err(TooDeep { line: 1 }));
        let compact = format!("steps:\n  {}x", "- ".repeat(100_000));
        assert_eq!(check_depth(&compact, MAX_DEPTH), Err(TooDeep { line: 2 }));
        let mapping: String = (0..1000)
            .map(|i| format!("{}a{i}:\n", "  ".repeat(i)))
            .collect();
        assert!(check_depth(&mapping, MAX_DEPTH).is_err());
        let braces = format!("a: {}", "{b: ".repeat(1000));
        assert!(check_depth(&braces, MAX_DEPTH).is_err());
        // Up to the limit is fine.
        let ok = format!("steps: {}{}", "[".repeat(10), "]".repeat(10));
        assert!(depth_ok(&ok, 12));
        assert!(!depth_ok(&ok, 5));
    }
}
