//! Escaping text for HTML, shared by the site compiler and the collector's
//! few pages.

/// Escapes text for HTML content and quoted attribute values. It leaves `/`
/// alone: escaping it is needed in neither place and would only make every
/// URL longer.
pub fn escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    push_escaped(&mut out, input);
    out
}

/// Appends `input` to `out`, escaped as [`escape`] does: for markup written
/// straight into one buffer (the site compiler's form pages), without a
/// string per text.
pub fn push_escaped(out: &mut String, input: &str) {
    // Every character escaped is ASCII, so scanning bytes is exact in UTF-8;
    // the text between them is copied in one piece (pages escape every
    // label, hint and name: this runs on megabytes per build).
    let mut start = 0;
    for (at, byte) in input.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&input[start..at]);
        out.push_str(entity);
        start = at + 1;
    }
    out.push_str(&input[start..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(super::escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(super::escape("../a/b"), "../a/b");
        assert_eq!(super::escape("Ñandú <b>años</b> & 'más'"), "Ñandú &lt;b&gt;años&lt;/b&gt; &amp; &#39;más&#39;");
        assert_eq!(super::escape(""), "");
        assert_eq!(super::escape("&"), "&amp;");
        let mut out = String::from("<p>");
        super::push_escaped(&mut out, "a < b");
        assert_eq!(out, "<p>a &lt; b");
    }
}
