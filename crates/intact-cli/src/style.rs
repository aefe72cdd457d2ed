//! Colour and symbols for the text reports, decided in one place: colour
//! through anstream (stripped when standard output is not a terminal, when
//! `NO_COLOR` is set, or when `CLICOLOR=0`), and plain ASCII for ✓/✗ when
//! the terminal's locale cannot show them. Output that is not a terminal
//! (pipes, files, tests) is byte for byte what the report writes.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};

/// Print a text report line by line: passes green, failures red, on a
/// terminal.
pub fn print_report(text: &str) {
    let ascii = std::io::stdout().is_terminal() && !utf8_locale();
    let mut out = anstream::stdout();
    // Exactly `println!("{text}")`: every line, then a newline.
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        let style = if trimmed.starts_with('✓') || trimmed.starts_with("verification PASSED") {
            Style::new().fg_color(Some(AnsiColor::Green.into()))
        } else if trimmed.starts_with('✗') || trimmed.starts_with("FAILED") {
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
        } else if trimmed.starts_with("warning") || trimmed.starts_with('!') {
            Style::new().fg_color(Some(AnsiColor::Yellow.into()))
        } else {
            Style::new()
        };
        let line = if ascii {
            line.replace('✓', "ok").replace('✗', "x")
        } else {
            line.to_string()
        };
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = writeln!(out, "{style}{line}{style:#}");
    }
}

/// Whether the locale says UTF-8 (LC_ALL, then LC_CTYPE, then LANG).
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("utf-8") || s.contains("utf8")
        })
}
