//! Markdown from TOML (intros, help, notes) to safe HTML.
//!
//! One function renders every markdown text the same way: pulldown-cmark
//! with the options we allow, then ammonia with a short list of tags, so
//! neither raw HTML nor `javascript:` links written in a form ever reach a
//! page.
//!
//! Headings (`#` to `######`) become a paragraph in bold: a note or a help
//! text sits inside a question or a section whose heading level the editor
//! does not see, so a real `<h1>`–`<h6>` there would break the page's
//! outline (a consent script that opens with `### Guion…` under an `<h2>`
//! section, or an `<h1>` in the middle of the form). Bold text stays visible
//! and valid wherever it lands.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .add_tags(["p", "br", "em", "strong", "a", "ul", "ol", "li", "code", "blockquote", "del"])
            .add_tag_attributes("a", ["href"])
            .url_schemes(HashSet::from(["http", "https", "mailto", "tel"]))
            .link_rel(Some("noopener noreferrer"))
            .clean_content_tags(HashSet::from(["script", "style"]));
        builder
    })
}

/// Renders markdown to sanitised HTML.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH).flat_map(|event| match event {
        Event::Start(Tag::Heading { .. }) => vec![Event::Start(Tag::Paragraph), Event::Start(Tag::Strong)],
        Event::End(TagEnd::Heading(_)) => vec![Event::End(TagEnd::Strong), Event::End(TagEnd::Paragraph)],
        other => vec![other],
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    sanitizer().clean(&unsafe_html).to_string().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        assert_eq!(to_html("Texto en *markdown*."), "<p>Texto en <em>markdown</em>.</p>");
        let script = to_html("<script>alert(1)</script>hola");
        assert!(!script.contains("script") && !script.contains("alert") && script.contains("hola"), "{script}");
        let link = to_html("[x](javascript:alert(1))");
        assert!(!link.contains("javascript"), "{link}");
        let image = to_html("<img src=x onerror=alert(1)>");
        assert!(!image.contains("onerror") && !image.contains("<img"), "{image}");
        assert_eq!(
            to_html("[OIM](https://www.iom.int)"),
            "<p><a href=\"https://www.iom.int\" rel=\"noopener noreferrer\">OIM</a></p>"
        );
        assert!(!to_html("# Título").contains("<h1"));
    }

    #[test]
    fn headings_become_bold_paragraphs() {
        assert_eq!(to_html("# Título"), "<p><strong>Título</strong></p>");
        assert_eq!(
            to_html("### Guion de *consentimiento*\n\nLea este texto."),
            "<p><strong>Guion de <em>consentimiento</em></strong></p>\n<p>Lea este texto.</p>"
        );
        assert_eq!(to_html("Título\n======"), "<p><strong>Título</strong></p>");
        for level in 1..=6 {
            let html = to_html(&format!("{} Nivel {level}", "#".repeat(level)));
            assert_eq!(html, format!("<p><strong>Nivel {level}</strong></p>"));
        }
        // An empty heading leaves an empty bold paragraph, not a stray tag.
        assert_eq!(to_html("###"), "<p><strong></strong></p>");
    }
}
