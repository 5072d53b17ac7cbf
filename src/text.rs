//! Text that came from a server, made safe to show a person: in the console, in `-v`
//! exchanges, in error messages, in Markdown, in XML and (before HTML escaping) in HTML.
//! The lowest layer of the crate: it imports nothing.
//!
//! Control characters (C0 but newline and tab, DEL, C1: what drives ANSI CSI/OSC sequences,
//! carriage returns and NULs) are shown as visible `\x1b`-style escapes, so no server byte
//! can move the cursor, clear the screen, set a title or hide text. Invalid UTF-8 is shown as
//! U+FFFD by the lossy decoding that precedes this.

/// `text` with every control character but `\n` and `\t` written as a visible escape.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Bidirectional overrides and isolates can reorder what a terminal shows.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Bytes from a server, decoded lossily and made [`visible`].
pub fn visible_bytes(bytes: &[u8]) -> String {
    visible(&String::from_utf8_lossy(bytes))
}

/// Like [`visible`] on one line: newlines and tabs are escaped too (for table cells and
/// one-line messages).
pub fn one_line(text: &str) -> String {
    visible(text).replace('\n', "\\n").replace('\t', "\\t")
}

/// Server-sourced text in Markdown prose: made [`visible`], with `<`, `>` and `&` as
/// entities so a Markdown renderer never takes a server byte for HTML.
pub fn markdown(s: &str) -> String {
    visible(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Server-sourced text in a Markdown table cell: [`markdown`] on one line, `|` escaped.
pub fn markdown_cell(s: &str) -> String {
    markdown(&one_line(s)).replace('|', "\\|")
}

/// Text in XML character data or an attribute value: control characters dropped (XML 1.0
/// forbids them), the five markup characters as entities.
pub fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_cannot_reach_the_terminal() {
        let hostile = "ok\u{1b}[2J\u{1b}]0;pwned\u{7}\rPASS all rules\0\u{9b}31m";
        let shown = visible(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(
            shown,
            "ok\\x1b[2J\\x1b]0;pwned\\x07\\x0dPASS all rules\\x00\\x9b31m"
        );
    }

    #[test]
    fn newlines_and_tabs_stay_unless_one_line() {
        assert_eq!(visible("a\nb\tc"), "a\nb\tc");
        assert_eq!(one_line("a\nb\tc"), "a\\nb\\tc");
    }

    #[test]
    fn invalid_utf8_and_bidi_overrides_are_visible() {
        assert_eq!(visible_bytes(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(visible("x\u{202e}y"), "x\\u{202e}y");
    }
}
