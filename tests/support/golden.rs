//! Golden files: a view's text compared with `tests/golden/NAME` after normalisation (RFC 3339
//! timestamps; for console output also loopback ports, durations and run directories), or
//! rewritten with `REVSPEC_UPDATE_GOLDEN=1` (then review the diff of tests/golden/).

use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Replaces every RFC 3339 timestamp (`2026-11-29T12:00:00Z`, with or without fraction) by
/// `<time>`, so goldens do not depend on when a fixture was made.
pub fn strip_timestamps(text: &str) -> String {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let stamp = (0..4).all(|k| digit(i + k))
            && at(i + 4, b'-')
            && digit(i + 5)
            && digit(i + 6)
            && at(i + 7, b'-')
            && digit(i + 8)
            && digit(i + 9)
            && at(i + 10, b'T')
            && digit(i + 11)
            && digit(i + 12)
            && (at(i + 13, b':') || at(i + 13, b'-'));
        if stamp {
            let mut j = i + 11;
            while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b':' | b'-' | b'.')) {
                j += 1;
            }
            if at(j, b'Z') {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Compares with the golden file, or rewrites it when REVSPEC_UPDATE_GOLDEN is set.
pub fn assert_golden(name: &str, actual: &str) {
    let path = dir().join(name);
    let actual = strip_timestamps(actual);
    if std::env::var_os("REVSPEC_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (REVSPEC_UPDATE_GOLDEN=1 writes it)",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendering at line {}:\n  golden: {:?}\n  now:    {:?}\n(REVSPEC_UPDATE_GOLDEN=1 cargo test accepts the change)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// Console text made stable: timestamps, loopback ports, measured durations and the run's
/// report directory become placeholders.
pub fn normalize_console(text: &str) -> String {
    let text = strip_timestamps(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    // 127.0.0.1:PORT
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("<port>");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    // The phase that ran longest beyond its floor depends on timing: only the line's start
    // is compared.
    let out: String = out
        .lines()
        .map(
            |l| match (l.starts_with("time: "), l.find("; most beyond its floor")) {
                (true, Some(at)) => l[..at].to_owned(),
                _ => l.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
        + if out.ends_with('\n') { "\n" } else { "" };
    // Numbers followed by a unit of time: `12.3 s`, `45 ms`, `0.06 s`.
    let chars: Vec<char> = out.chars().collect();
    let mut norm = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0
                || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '-' || chars[i - 1] == '.'));
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            // A unit of time after an optional space: `ms` or `s`, then no letter.
            let k = if chars.get(j) == Some(&' ') { j + 1 } else { j };
            let unit_len = if chars.get(k) == Some(&'m') && chars.get(k + 1) == Some(&'s') {
                2
            } else if chars.get(k) == Some(&'s') || (k == j && chars.get(k) == Some(&'x')) {
                // Seconds, or a ratio of two times (`1.04x`).
                1
            } else {
                0
            };
            let timed =
                unit_len > 0 && !chars.get(k + unit_len).is_some_and(|c| c.is_alphanumeric());
            if timed {
                norm.push_str("<n>");
                i = j;
                continue;
            }
        }
        norm.push(chars[i]);
        i += 1;
    }
    norm
}
