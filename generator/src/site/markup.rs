//! The built-in markup of sections and questions, written in Rust straight
//! from the views into one `String`: byte for byte what
//! `templates/macros.html` writes, without tera.
//!
//! Tera walks its JSON context by name for every value it writes (some
//! 120,000 instructions per question and page), and the views must first
//! be turned into that JSON: on a form of thousands of questions that was
//! most of a build. The page shell (`form.html`, `base.html`) still goes
//! through tera, with this markup as one safe string.
//!
//! `macros.html` stays the reference, and the markup an editor's own
//! `macros.html` starts from: when the forms folder has one, the site
//! compiler renders questions through tera instead (see [`super`]). A test
//! renders the fixtures both ways and compares the bytes, so the two
//! cannot drift apart.
//!
//! Every text is escaped with [`crate::html::push_escaped`] (the escape
//! tera is given), every `_html` value is already sanitised HTML and is
//! written as is, as `| safe` does. A value tera would find falsy (an empty
//! string, zero, nothing) writes nothing where the template tests it.

use super::view::{QuestionView, SectionView};
use crate::html::push_escaped as esc;
use crate::messages::Messages;

/// ` name="value"` for a text value the template writes only when truthy.
fn attribute(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        esc(out, value);
        out.push('"');
    }
}

/// `maxlength`: tera writes it for a non-zero number.
fn max_length(out: &mut String, max_length: Option<u32>) {
    if let Some(n) = max_length.filter(|n| *n != 0) {
        out.push_str(" maxlength=\"");
        out.push_str(&n.to_string());
        out.push('"');
    }
}

fn optional(out: &mut String, q: &QuestionView, t: &Messages) {
    if q.optional {
        out.push_str(" <span class=\"opt\">");
        esc(out, t.optional);
        out.push_str("</span>");
    }
}

/// The hint and the help under a label.
fn hint_and_help(out: &mut String, q: &QuestionView) {
    if let Some(hint) = q.hint.as_deref().filter(|h| !h.is_empty()) {
        out.push_str("\n<p class=\"hint\" id=\"h-");
        esc(out, &q.name);
        out.push_str("\">");
        esc(out, hint);
        out.push_str("</p>");
    }
    if let Some(help) = q.help_html.as_deref().filter(|h| !h.is_empty()) {
        out.push_str("\n<div class=\"help\" id=\"x-");
        esc(out, &q.name);
        out.push_str("\">");
        out.push_str(help);
        out.push_str("</div>");
    }
}

/// ` data-key="value"` for each attribute a cascade filters on.
fn data(out: &mut String, prefix: &str, pairs: &[(&str, &str)]) {
    for (key, value) in pairs {
        out.push_str(prefix);
        esc(out, key);
        out.push_str("=\"");
        esc(out, value);
        out.push('"');
    }
}

/// One question: the `question(q, t)` macro.
pub(super) fn question(out: &mut String, q: &QuestionView, t: &Messages) {
    if q.widget == "note" {
        out.push_str("<div class=\"q\" data-q=\"");
        esc(out, &q.name);
        out.push_str("\">");
        out.push_str(q.label_html.as_deref().unwrap_or_default());
        out.push_str("</div>");
    } else if q.group {
        out.push_str(if q.inline {
            "<fieldset class=\"q inline\" data-q=\""
        } else {
            "<fieldset class=\"q\" data-q=\""
        });
        esc(out, &q.name);
        out.push('"');
        attribute(out, "aria-describedby", q.describedby.as_deref());
        out.push_str(">\n<legend>");
        esc(out, q.label);
        optional(out, q, t);
        out.push_str("</legend>");
        hint_and_help(out, q);
        for (i, c) in q.choices.iter().enumerate() {
            out.push_str("\n<label><input type=\"");
            esc(out, q.widget);
            out.push('"');
            if i == 0 {
                out.push_str(" id=\"");
                esc(out, &q.input_id);
                out.push('"');
            }
            out.push_str(" name=\"");
            esc(out, &q.name);
            out.push_str("\" value=\"");
            esc(out, c.value);
            out.push('"');
            if c.checked {
                out.push_str(" checked");
            }
            data(out, " data-", &c.attrs);
            out.push('>');
            esc(out, c.label);
            out.push_str("</label>");
        }
        out.push_str("\n</fieldset>");
    } else {
        out.push_str("<div class=\"q\" data-q=\"");
        esc(out, &q.name);
        out.push_str("\">\n<label for=\"");
        esc(out, &q.input_id);
        out.push_str("\">");
        esc(out, q.label);
        optional(out, q, t);
        out.push_str("</label>");
        hint_and_help(out, q);
        match q.widget {
            "textarea" => {
                out.push_str("\n<textarea id=\"");
                esc(out, &q.input_id);
                out.push_str("\" name=\"");
                esc(out, &q.name);
                out.push_str("\" rows=\"5\"");
                max_length(out, q.max_length);
                attribute(out, "aria-describedby", q.describedby.as_deref());
                out.push('>');
                esc(out, q.value.as_deref().unwrap_or_default());
                out.push_str("</textarea>");
            }
            "select" => {
                out.push_str("\n<select id=\"");
                esc(out, &q.input_id);
                out.push_str("\" name=\"");
                esc(out, &q.name);
                out.push('"');
                attribute(out, "aria-describedby", q.describedby.as_deref());
                out.push_str(">\n<option value=\"\">");
                esc(out, t.choose);
                for c in &q.choices {
                    out.push_str("\n<option value=\"");
                    esc(out, c.value);
                    out.push('"');
                    if c.checked {
                        out.push_str(" selected");
                    }
                    data(out, " data-", &c.attrs);
                    out.push('>');
                    esc(out, c.label);
                }
                out.push_str("\n</select>");
            }
            _ => {
                out.push_str("\n<input");
                if q.input_type != "text" {
                    out.push_str(" type=\"");
                    esc(out, q.input_type);
                    out.push('"');
                }
                out.push_str(" id=\"");
                esc(out, &q.input_id);
                out.push_str("\" name=\"");
                esc(out, &q.name);
                out.push('"');
                attribute(out, "value", q.value.as_deref());
                attribute(out, "inputmode", q.inputmode);
                max_length(out, q.max_length);
                attribute(out, "min", q.min);
                attribute(out, "max", q.max);
                attribute(out, "data-list", q.list_url.as_deref());
                data(out, " data-filter-", &q.filter);
                attribute(out, "aria-describedby", q.describedby.as_deref());
                out.push('>');
            }
        }
        out.push_str("\n</div>");
    }
}

/// One section with everything in it: the `section(s, t)` macro.
pub(super) fn section(out: &mut String, s: &SectionView, t: &Messages) {
    out.push_str(if s.repeat.is_some() {
        "<section class=\"sec rep\" id=\"s-"
    } else {
        "<section class=\"sec\" id=\"s-"
    });
    esc(out, &s.html_id);
    out.push_str("\" data-section=\"");
    esc(out, s.id);
    out.push_str("\">\n<h");
    out.push_str(&s.level.to_string());
    out.push('>');
    esc(out, s.title);
    out.push_str("</h");
    out.push_str(&s.level.to_string());
    out.push('>');
    if s.conditional {
        out.push_str("\n<p class=\"cond\">");
        esc(out, t.conditional);
        out.push_str("</p>");
    }
    if let Some(help) = s.help_html.as_deref().filter(|h| !h.is_empty()) {
        out.push_str("\n<div class=\"help\">");
        out.push_str(help);
        out.push_str("</div>");
    }
    let body = |out: &mut String, questions: &[QuestionView], children: &[SectionView]| {
        for q in questions {
            out.push('\n');
            question(out, q, t);
        }
        for child in children {
            out.push('\n');
            section(out, child, t);
        }
    };
    if s.repeat.is_some() {
        for instance in &s.instances {
            out.push_str("\n<fieldset class=\"inst\" data-index=\"");
            out.push_str(&instance.index.to_string());
            out.push_str("\">\n<legend>");
            esc(out, &instance.legend);
            out.push_str("</legend>");
            body(out, &instance.questions, &instance.children);
            out.push_str("\n</fieldset>");
        }
        out.push_str("\n<button type=\"button\" class=\"add\" hidden data-add=\"");
        esc(out, s.id);
        out.push_str("\">");
        esc(out, t.add_another);
        out.push_str(": ");
        esc(out, s.item);
        out.push_str("</button>");
    } else {
        body(out, &s.questions, &s.children);
    }
    out.push_str("\n</section>");
}
