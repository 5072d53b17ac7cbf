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
/// entities so a Markdown renderer never takes a server byte for HTML, and the characters
/// that start a link, an image, emphasis or code escaped, so it never takes one for those.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in visible(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '[' | ']' | '*' | '_' | '`' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Server-sourced text in a Markdown table cell: [`markdown`] on one line, `|` escaped.
pub fn markdown_cell(s: &str) -> String {
    markdown(&one_line(s)).replace('|', "\\|")
}

/// Server-sourced text as a Markdown code span: shown literally (no link, image or emphasis can
/// come out of it), on one line, fenced with more backticks than it holds.
pub fn markdown_code(s: &str) -> String {
    let shown = one_line(s);
    let longest = shown.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// Whether a character may appear in an XML 1.0 document (its Char production).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Text in XML character data or an attribute value: characters XML 1.0 forbids (controls,
/// U+FFFE, U+FFFF) dropped, the five markup characters as entities.
pub fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || *c == '\t' || (xml_char(*c) && !c.is_control()))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    /// Issue 23 H6: nothing a server sends makes a Markdown link or image, or ill-formed XML.
    #[test]
    fn markdown_code_spans_and_xml_hold_whatever_the_server_sends() {
        let evil = "https://r.example/revoke?)**Action:** [login](https://evil.example) ![](https://evil.example/p.png) `x`";
        let code = super::markdown_code(evil);
        assert!(code.starts_with("``") && code.ends_with("``"), "{code}");
        assert_eq!(
            code.matches("``").count(),
            2,
            "the fence is longer than any run inside: {code}"
        );
        let xml = super::xml("a\u{FFFF}b\u{FFFE}c\u{0}d\u{1b}e<f");
        assert_eq!(xml, "abcde&lt;f");
        let prose = super::markdown("see [login](https://evil.example) ![](x) **now**");
        assert!(
            !prose.contains("[login]") && !prose.contains("**now"),
            "{prose}"
        );
        assert!(prose.contains("\\[login\\]"), "{prose}");
    }

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
