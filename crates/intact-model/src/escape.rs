//! Metadata strings made safe for a terminal.
//!
//! Step names, artifact names, commands and file names come from metadata
//! an attacker may have written. Printed raw, a name holding a newline and
//! ANSI escapes (`"x\n\x1b[32mverification PASSED"`) can redraw a FAILED
//! report as a passed one. [`escape`] prints a string unchanged when it is
//! harmless, and otherwise as a visibly quoted form in which every control
//! character is escaped, so that the escaping itself is plain to see.
//!
//! ```
//! use intact_model::escape::escape;
//!
//! assert_eq!(escape("src/a.c").to_string(), "src/a.c");
//! assert_eq!(
//!     escape("x\n\x1b[32mPASSED").to_string(),
//!     r#""x\n\x1b[32mPASSED""#
//! );
//! ```

use std::fmt::{self, Write};

/// Whether `c` must not reach a terminal raw: control characters (C0, DEL,
/// C1), line and paragraph separators, and the bidirectional controls
/// that reorder what is displayed.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Whether `s` holds anything [`escape`] would have to escape.
pub fn needs_escaping(s: &str) -> bool {
    s.chars().any(is_unsafe_char)
}

/// A string displayed safely; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(&'a str);

/// Display `s` raw if it is harmless, else quoted with its control
/// characters escaped (`\n`, `\t`, `\r`, `\x1b`, `\u{202e}`; `"` and `\`
/// are escaped inside the quotes too).
pub fn escape(s: &str) -> Escaped<'_> {
    Escaped(s)
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !needs_escaping(self.0) {
            return f.write_str(self.0);
        }
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if u32::from(c) < 0x80 && is_unsafe_char(c) => {
                    write!(f, "\\x{:02x}", u32::from(c))?
                }
                c if is_unsafe_char(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_strings_are_unchanged() {
        for s in ["", "src/a.c", "dir:src", "naïve ✓ \"q\" back\\slash"] {
            assert_eq!(escape(s).to_string(), s);
        }
    }

    #[test]
    fn control_characters_are_escaped_and_quoted() {
        let shown =
            escape("x\n\x1b[32mverification PASSED\r\t\"\\\u{7f}\u{85}\u{202e}").to_string();
        assert_eq!(
            shown,
            r#""x\n\x1b[32mverification PASSED\r\t\"\\\x7f\u{85}\u{202e}""#
        );
        assert!(!needs_escaping(&shown));
    }
}
