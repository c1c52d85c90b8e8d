//! Markdown from TOML (intros, help, notes) to safe HTML.
//!
//! One function renders every markdown text the same way: pulldown-cmark
//! with the options we allow, then ammonia with a short list of tags, so
//! neither raw HTML nor `javascript:` links written in a form ever reach a
//! page.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Options, Parser, html};

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
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH);
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
}
