//! Makes text from the server safe to show on a terminal: control and bidirectional formatting characters become visible `\u{…}` escapes.
//!
//! A value the server holds (a name, metadata, a problem's detail) is written by whoever made
//! it. Printed raw, `\u{1b}[31m` would recolour the terminal, a carriage return would overwrite
//! the line before it and U+202E (RIGHT-TO-LEFT OVERRIDE) would show the text after it reversed.
//! So every such character is shown as Rust writes it in a string literal, `\u{1b}`, `\u{d}`,
//! `\u{202e}`: one form for all of them, which says exactly which character was there. A
//! backslash is left as it is, so a value that holds the text `\u{1b}` reads the same as one
//! that holds the character; JSON and YAML output (`--output json|yaml`) are exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character and bidirectional formatting character written as
/// `\u{…}` (see [`is_escaped`]), line breaks and tabs included: for one value, or one line.
/// Everything else (é, 日本, emoji) is left as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_where(text, is_escaped)
}

/// As [`escape`], but keeping line breaks: for a text already laid out in lines, whose values
/// were escaped with [`escape`] before they were laid out.
pub fn escape_keeping_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && is_escaped(c))
}

/// Whether `c` is escaped: a C0 control (U+0000–U+001F: NUL, tab, line feed, carriage return,
/// escape…), DEL (U+007F), a C1 control (U+0080–U+009F), or one of the characters that steer
/// Unicode's bidirectional algorithm: the Arabic letter mark (U+061C), the left-to-right and
/// right-to-left marks (U+200E, U+200F), the embeddings and overrides (U+202A–U+202E) and the
/// isolates (U+2066–U+2069).
pub fn is_escaped(c: char) -> bool {
    // `is_control` is Unicode's Cc category: exactly C0, DEL and C1.
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_where(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = text.find(&escaped) else {
        return Cow::Borrowed(text);
    };
    let mut shown = String::with_capacity(text.len() + 8);
    shown.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escaped(c) {
            write!(shown, "{}", c.escape_unicode()).expect("a String takes every write");
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_controls_are_escaped_line_breaks_and_tabs_included() {
        assert_eq!(escape("esc\u{1b}[31mred"), "esc\\u{1b}[31mred");
        assert_eq!(escape("nul\0"), "nul\\u{0}");
        assert_eq!(escape("a\r\nb\tc"), "a\\u{d}\\u{a}b\\u{9}c");
        assert_eq!(escape("\u{7}\u{8}\u{1f}"), "\\u{7}\\u{8}\\u{1f}");
    }

    #[test]
    fn del_and_c1_controls_are_escaped() {
        assert_eq!(escape("del\u{7f}"), "del\\u{7f}");
        assert_eq!(escape("\u{80}csi\u{9b}31m\u{9f}"), "\\u{80}csi\\u{9b}31m\\u{9f}");
    }

    #[test]
    fn every_bidirectional_formatting_character_is_escaped() {
        let bidi = [
            '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ];
        for c in bidi {
            assert_eq!(escape(&format!("a{c}b")), format!("a\\u{{{:x}}}b", u32::from(c)));
        }
        assert_eq!(escape("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
    }

    #[test]
    fn ordinary_unicode_is_left_as_it_is() {
        for text in ["café", "日本語のキー", "🔑 deploy 🚀", "naïve — “quoted”", "a\\u{1b}b", "", "ci"]
        {
            assert!(matches!(escape(text), Cow::Borrowed(_)), "{text}");
            assert_eq!(escape(text), text);
        }
        // Neighbours of the escaped ranges are ordinary characters.
        assert_eq!(
            escape("\u{a0}\u{200d}\u{2029}\u{2065}\u{206a}"),
            "\u{a0}\u{200d}\u{2029}\u{2065}\u{206a}"
        );
    }

    #[test]
    fn a_laid_out_text_keeps_its_line_breaks_and_nothing_else() {
        assert_eq!(escape_keeping_lines("one\u{1b}\ntwo\r\n"), "one\\u{1b}\ntwo\\u{d}\n");
    }
}
