//! Renders the document's CommonMark descriptions as HTML, with raw HTML shown as text.

use pulldown_cmark::{Event, Options, Parser, html};

/// `text` as HTML blocks (paragraphs, lists, code).
pub fn block(text: &str) -> String {
    let parser =
        Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(
            |event| match event {
                // The document is prose, not markup: a stray `<b>` is shown, never interpreted.
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                other => other,
            },
        );
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// `text` as inline HTML, for a table cell: one paragraph loses its `<p>`.
pub fn inline(text: &str) -> String {
    let rendered = block(text);
    let trimmed = rendered.trim_end();
    match trimmed.strip_prefix("<p>").and_then(|rest| rest.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => rendered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_render_and_raw_html_is_escaped() {
        assert_eq!(
            inline("Needs `read` <script>x</script>"),
            "Needs <code>read</code> &lt;script&gt;x&lt;/script&gt;"
        );
        assert_eq!(block("one\n\ntwo"), "<p>one</p>\n<p>two</p>\n");
    }
}
