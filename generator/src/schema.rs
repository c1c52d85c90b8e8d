//! Reading TOML into raw, spanned structures.
//!
//! This is the first of two passes (the second is [`crate::lower`]): it walks
//! the parsed TOML tables by hand rather than through serde, so that it can
//! report *every* unknown key, wrong type and missing key of a file, each at
//! its exact position, instead of stopping at the first. It knows the shape
//! of the files (which keys exist, what type each holds) and nothing of their
//! meaning: ids, references and expressions are checked in `lower`.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, Diagnostics, FileId, did_you_mean};

type Item<'i> = Spanned<DeValue<'i>>;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sp<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Sp<T> {
    fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

impl AsRef<str> for Sp<String> {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl AsRef<str> for Sp<&str> {
    fn as_ref(&self) -> &str {
        self.value
    }
}

/// A key and a text value, both with their spans.
pub(crate) type SpannedPair = (Sp<String>, Sp<String>);

/// A text: a plain string (the default language) or a table of languages.
#[derive(Debug, Clone)]
pub(crate) struct RawText {
    pub span: Range<usize>,
    /// `None` for a plain string.
    pub entries: Vec<(Option<Sp<String>>, Sp<String>)>,
}

/// An expression string, with where its text starts in the file when the
/// string has no escapes (so columns inside it can be mapped exactly).
#[derive(Debug, Clone)]
pub(crate) struct RawExpr {
    pub text: String,
    pub span: Range<usize>,
    pub content_start: Option<usize>,
}

impl RawExpr {
    /// The file span of a byte range of the expression text.
    pub fn file_span(&self, inner: &Range<usize>) -> Range<usize> {
        match self.content_start {
            Some(start) => {
                let end = if inner.end > inner.start { start + inner.end } else { start + inner.start + 1 };
                (start + inner.start)..end.min(self.span.end)
            }
            None => self.span.clone(),
        }
    }
}

/// `required = true` or `required = "expression"`.
#[derive(Debug, Clone)]
pub(crate) enum RawRequired {
    Bool(bool),
    Expr(RawExpr),
}

/// A literal in `default`, `min` or `max`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawLiteral {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Date(String),
    Array(Vec<Sp<RawLiteral>>),
    Other(&'static str),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RawSite {
    pub span: Range<usize>,
    pub title: Option<RawText>,
    pub default_language: Option<Sp<String>>,
    pub languages: Option<Sp<Vec<Sp<String>>>>,
    pub collector: Option<Sp<String>>,
    pub drafts: Option<bool>,
    pub long_list_threshold: Option<Sp<i64>>,
    pub quick_exit: Option<RawQuickExit>,
    /// Every key written, so that a key of the wrong type is not also
    /// reported as missing.
    pub written: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawQuickExit {
    pub url: Option<Sp<String>>,
    pub label: Option<RawText>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawList {
    pub file: FileId,
    pub name: Sp<String>,
    pub translate: bool,
    pub choices: Vec<RawChoice>,
    pub choices_span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawChoice {
    pub span: Range<usize>,
    pub value: Option<Sp<String>>,
    pub label: Option<RawText>,
    pub attributes: Vec<SpannedPair>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RawHeader {
    pub span: Range<usize>,
    pub id: Option<Sp<String>>,
    pub version: Option<Sp<i64>>,
    pub title: Option<RawText>,
    pub intro: Option<RawText>,
    pub encrypt: Option<bool>,
    /// Every key written (see [`RawSite::written`]).
    pub written: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawForm {
    pub file: FileId,
    pub header: Option<RawHeader>,
    pub sections: Vec<RawSection>,
    pub lists: Vec<RawList>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawRepeat {
    pub min: Option<Sp<i64>>,
    pub max: Option<Sp<i64>>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawSection {
    pub span: Range<usize>,
    pub id: Option<Sp<String>>,
    pub title: Option<RawText>,
    pub help: Option<RawText>,
    pub relevant: Option<RawExpr>,
    pub repeat: Option<RawRepeat>,
    pub item_label: Option<RawText>,
    pub parent: Option<Sp<String>>,
    pub questions: Vec<RawQuestion>,
    /// Every key written (see [`RawSite::written`]).
    pub written: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum RawChoices {
    Named(Sp<String>),
    Inline(Vec<RawChoice>, Range<usize>),
}

#[derive(Debug, Clone)]
pub(crate) struct RawQuestion {
    pub span: Range<usize>,
    pub id: Option<Sp<String>>,
    pub kind: Option<Sp<String>>,
    pub label: Option<RawText>,
    pub hint: Option<RawText>,
    pub help: Option<RawText>,
    pub required: Option<Sp<RawRequired>>,
    pub relevant: Option<RawExpr>,
    pub constraint: Option<RawExpr>,
    pub constraint_message: Option<RawText>,
    pub calculation: Option<RawExpr>,
    pub choices: Option<RawChoices>,
    pub choice_filter: Option<Sp<Vec<SpannedPair>>>,
    pub default: Option<Sp<RawLiteral>>,
    pub min: Option<Sp<RawLiteral>>,
    pub max: Option<Sp<RawLiteral>>,
    pub max_length: Option<Sp<i64>>,
    pub appearance: Option<Sp<String>>,
    pub pii: Option<bool>,
    pub stats: Option<bool>,
    /// Every key written, with its span, so `lower` can point at keys that
    /// don't belong to the question's type (only keys of [`QUESTION_KEYS`]:
    /// the others were reported as unknown).
    pub keys: Vec<Sp<&'static str>>,
}

pub(crate) const SITE_KEYS: &[&str] =
    &["title", "default_language", "languages", "collector", "drafts", "long_list_threshold", "quick_exit"];
pub(crate) const FORM_KEYS: &[&str] = &["id", "version", "title", "intro", "encrypt"];
pub(crate) const SECTION_KEYS: &[&str] =
    &["id", "title", "help", "relevant", "repeat", "item_label", "parent", "question"];
pub(crate) const QUESTION_KEYS: &[&str] = &[
    "id",
    "type",
    "label",
    "hint",
    "help",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "choices",
    "choice_filter",
    "default",
    "min",
    "max",
    "max_length",
    "appearance",
    "pii",
    "stats",
];

/// Reads the values of one file, recording problems.
pub(crate) struct Reader<'a> {
    pub file: FileId,
    pub source: &'a str,
    pub diagnostics: &'a mut Diagnostics,
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a text",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

impl Reader<'_> {
    fn error(&mut self, code: &'static str, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, self.file, span, message));
        self.diagnostics_last()
    }

    fn diagnostics_last(&mut self) -> &mut Diagnostic {
        // `push` was just called, so there is a last element.
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn wrong_type(&mut self, item: &Item<'_>, key: &str, expected: &str) {
        let message = format!("`{key}` must be {expected}, not {}", type_name(item.get_ref()));
        self.error("wrong-type", item.span(), message).label = Some(format!("expected {expected}"));
    }

    /// Reports keys of `table` not in `allowed`.
    fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], what: &str) {
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if allowed.contains(&name) {
                continue;
            }
            let help = did_you_mean(name, allowed.iter().copied())
                .unwrap_or_else(|| format!("the keys of {what} are: {}", allowed.join(", ")));
            let diagnostic = self.error("unknown-key", key.span(), format!("`{name}` is not a key of {what}"));
            diagnostic.label = Some("unknown key".into());
            diagnostic.help = Some(help);
        }
    }

    fn table<'t, 'i>(&mut self, item: &'t Item<'i>, key: &str) -> Option<&'t DeTable<'i>> {
        match item.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => {
                self.wrong_type(item, key, "a table");
                None
            }
        }
    }

    fn string(&mut self, item: &Item<'_>, key: &str) -> Option<Sp<String>> {
        match item.get_ref() {
            DeValue::String(text) => Some(Sp::new(text.to_string(), item.span())),
            _ => {
                self.wrong_type(item, key, "a text in quotes");
                None
            }
        }
    }

    fn integer(&mut self, item: &Item<'_>, key: &str) -> Option<Sp<i64>> {
        match item.get_ref() {
            DeValue::Integer(int) => match i64::from_str_radix(int.as_str(), int.radix()) {
                Ok(value) => Some(Sp::new(value, item.span())),
                Err(_) => {
                    self.error("invalid-value", item.span(), format!("`{key}` is too large"));
                    None
                }
            },
            _ => {
                self.wrong_type(item, key, "a whole number");
                None
            }
        }
    }

    fn boolean(&mut self, item: &Item<'_>, key: &str) -> Option<bool> {
        match item.get_ref() {
            DeValue::Boolean(value) => Some(*value),
            _ => {
                self.wrong_type(item, key, "true or false");
                None
            }
        }
    }

    fn text(&mut self, item: &Item<'_>, key: &str) -> Option<RawText> {
        match item.get_ref() {
            DeValue::String(text) => {
                Some(RawText { span: item.span(), entries: vec![(None, Sp::new(text.to_string(), item.span()))] })
            }
            DeValue::Table(table) => {
                let mut entries = Vec::new();
                for (lang, value) in table.iter() {
                    let lang = Sp::new(lang.get_ref().to_string(), lang.span());
                    // As `string`, without the key's full name unless it is wrong.
                    match value.get_ref() {
                        DeValue::String(text) => entries.push((Some(lang), Sp::new(text.to_string(), value.span()))),
                        _ => self.wrong_type(value, &format!("{key}.{}", lang.value), "a text in quotes"),
                    }
                }
                Some(RawText { span: item.span(), entries })
            }
            _ => {
                self.wrong_type(
                    item,
                    key,
                    "a text, or a table of texts by language like { es = \"...\", en = \"...\" }",
                );
                None
            }
        }
    }

    fn expr(&mut self, item: &Item<'_>, key: &str) -> Option<RawExpr> {
        let text = self.string(item, key)?;
        Some(self.raw_expr(text))
    }

    fn raw_expr(&self, text: Sp<String>) -> RawExpr {
        let written = self.source.get(text.span.clone()).unwrap_or("");
        let quote = if written.starts_with("\"\"\"") || written.starts_with("'''") {
            3
        } else if written.starts_with('"') || written.starts_with('\'') {
            1
        } else {
            0
        };
        let content_start = (quote > 0)
            .then(|| {
                let inner = written.get(quote..written.len().saturating_sub(quote))?;
                (inner == text.value).then_some(text.span.start + quote)
            })
            .flatten();
        RawExpr { text: text.value, span: text.span, content_start }
    }

    fn literal(&mut self, item: &Item<'_>, depth: usize) -> Sp<RawLiteral> {
        let value = match item.get_ref() {
            DeValue::String(text) => RawLiteral::Text(text.to_string()),
            DeValue::Integer(int) => match i64::from_str_radix(int.as_str(), int.radix()) {
                Ok(value) => RawLiteral::Integer(value),
                Err(_) => RawLiteral::Other("a number too large"),
            },
            DeValue::Float(float) => match float.as_str().parse::<f64>() {
                Ok(value) if value.is_finite() => RawLiteral::Float(value),
                _ => RawLiteral::Other("a number that is not finite"),
            },
            DeValue::Boolean(value) => RawLiteral::Bool(*value),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time) {
                (Some(date), None) => RawLiteral::Date(date.to_string()),
                _ => RawLiteral::Other("a date with a time"),
            },
            DeValue::Array(items) if depth == 0 => {
                RawLiteral::Array(items.iter().map(|item| self.literal(item, 1)).collect())
            }
            DeValue::Array(_) => RawLiteral::Other("a nested list"),
            DeValue::Table(_) => RawLiteral::Other("a table"),
        };
        Sp::new(value, item.span())
    }

    fn choices(&mut self, item: &Item<'_>, key: &str) -> Option<Vec<RawChoice>> {
        let DeValue::Array(items) = item.get_ref() else {
            self.wrong_type(item, key, "a list of choices like [{ value = \"a\", label = \"A\" }]");
            return None;
        };
        let mut choices = Vec::new();
        for entry in items.iter() {
            let Some(table) = self.table(entry, "a choice") else {
                continue;
            };
            let mut choice = RawChoice { span: entry.span(), value: None, label: None, attributes: Vec::new() };
            for (name, value) in table.iter() {
                match name.get_ref().as_ref() {
                    "value" => choice.value = self.string(value, "value"),
                    "label" => choice.label = self.text(value, "label"),
                    other => {
                        let name = Sp::new(other.to_owned(), name.span());
                        if let Some(text) = self.string(value, other) {
                            choice.attributes.push((name, text));
                        }
                    }
                }
            }
            choices.push(choice);
        }
        Some(choices)
    }

    /// Reads `[lists.NAME]` tables.
    pub(crate) fn lists(&mut self, item: &Item<'_>) -> Vec<RawList> {
        let Some(table) = self.table(item, "lists") else {
            return Vec::new();
        };
        let mut lists = Vec::new();
        for (name, value) in table.iter() {
            let Some(list) = self.table(value, "a list") else {
                continue;
            };
            self.check_keys(list, &["choices", "translate"], "a list");
            let mut raw = RawList {
                file: self.file,
                name: Sp::new(name.get_ref().to_string(), name.span()),
                translate: true,
                choices: Vec::new(),
                choices_span: name.span(),
            };
            if let Some(translate) = list.get("translate") {
                raw.translate = self.boolean(translate, "translate").unwrap_or(true);
            }
            match list.get("choices") {
                Some(choices) => {
                    raw.choices_span = choices.span();
                    raw.choices = self.choices(choices, "choices").unwrap_or_default();
                }
                None => {
                    let name = raw.name.value.clone();
                    self.error("missing-key", raw.name.span.clone(), format!("the list `{name}` has no `choices`"))
                        .help = Some(
                        "add choices = [{ value = \"code\", label = { es = \"...\", en = \"...\" } }, ...]".into(),
                    );
                    continue;
                }
            }
            lists.push(raw);
        }
        lists
    }

    /// Reads `site.toml`.
    pub(crate) fn site(&mut self, root: &DeTable<'_>, root_span: Range<usize>) -> Option<RawSite> {
        self.check_keys(root, &["site"], "site.toml");
        let Some(item) = root.get("site") else {
            self.error("missing-key", root_span.start..root_span.start, "site.toml has no [site] table").help =
                Some("start the file with [site] and its title, default_language and languages".into());
            return None;
        };
        let table = self.table(item, "site")?;
        self.check_keys(table, SITE_KEYS, "[site]");
        let mut site = RawSite { span: item.span(), ..RawSite::default() };
        for (key, value) in table.iter() {
            site.written.push(key.get_ref().to_string());
            match key.get_ref().as_ref() {
                "title" => site.title = self.text(value, "title"),
                "default_language" => site.default_language = self.string(value, "default_language"),
                "languages" => {
                    let DeValue::Array(items) = value.get_ref() else {
                        self.wrong_type(value, "languages", "a list of language codes like [\"es\", \"en\"]");
                        continue;
                    };
                    let langs = items.iter().filter_map(|item| self.string(item, "languages")).collect();
                    site.languages = Some(Sp::new(langs, value.span()));
                }
                "collector" => site.collector = self.string(value, "collector"),
                "drafts" => site.drafts = self.boolean(value, "drafts"),
                "long_list_threshold" => site.long_list_threshold = self.integer(value, "long_list_threshold"),
                "quick_exit" => {
                    let Some(exit) = self.table(value, "quick_exit") else {
                        continue;
                    };
                    self.check_keys(exit, &["url", "label"], "quick_exit");
                    site.quick_exit = Some(RawQuickExit {
                        url: exit.get("url").and_then(|url| self.string(url, "url")),
                        label: exit.get("label").and_then(|label| self.text(label, "label")),
                        span: value.span(),
                    });
                }
                _ => {}
            }
        }
        Some(site)
    }

    /// Reads a list file: only `[lists.*]` tables.
    pub(crate) fn list_file(&mut self, root: &DeTable<'_>) -> Vec<RawList> {
        self.check_keys(root, &["lists"], "a list file");
        root.get("lists").map(|item| self.lists(item)).unwrap_or_default()
    }

    /// Reads a form file.
    pub(crate) fn form(&mut self, root: &DeTable<'_>, root_span: Range<usize>) -> RawForm {
        self.check_keys(root, &["form", "section", "lists"], "a form file");
        let mut form = RawForm { file: self.file, header: None, sections: Vec::new(), lists: Vec::new() };
        match root.get("form") {
            Some(item) => form.header = self.header(item),
            None => {
                self.error("missing-key", root_span.start..root_span.start, "this form file has no [form] table")
                    .help = Some("start the file with [form] and its id, version and title".into());
            }
        }
        if let Some(item) = root.get("lists") {
            form.lists = self.lists(item);
        }
        if let Some(item) = root.get("section") {
            if let DeValue::Array(items) = item.get_ref() {
                for entry in items.iter() {
                    if let Some(section) = self.section(entry) {
                        form.sections.push(section);
                    }
                }
            } else {
                self.wrong_type(item, "section", "a list of [[section]] tables");
            }
        }
        form
    }

    fn header(&mut self, item: &Item<'_>) -> Option<RawHeader> {
        let table = self.table(item, "form")?;
        self.check_keys(table, FORM_KEYS, "[form]");
        let mut header = RawHeader { span: item.span(), ..RawHeader::default() };
        for (key, value) in table.iter() {
            header.written.push(key.get_ref().to_string());
            match key.get_ref().as_ref() {
                "id" => header.id = self.string(value, "id"),
                "version" => header.version = self.integer(value, "version"),
                "title" => header.title = self.text(value, "title"),
                "intro" => header.intro = self.text(value, "intro"),
                "encrypt" => header.encrypt = self.boolean(value, "encrypt"),
                _ => {}
            }
        }
        Some(header)
    }

    fn section(&mut self, item: &Item<'_>) -> Option<RawSection> {
        let table = self.table(item, "section")?;
        self.check_keys(table, SECTION_KEYS, "a section");
        let mut section = RawSection {
            span: item.span(),
            id: None,
            title: None,
            help: None,
            relevant: None,
            repeat: None,
            item_label: None,
            parent: None,
            questions: Vec::new(),
            written: Vec::new(),
        };
        for (key, value) in table.iter() {
            section.written.push(key.get_ref().to_string());
            match key.get_ref().as_ref() {
                "id" => section.id = self.string(value, "id"),
                "title" => section.title = self.text(value, "title"),
                "help" => section.help = self.text(value, "help"),
                "relevant" => section.relevant = self.expr(value, "relevant"),
                "item_label" => section.item_label = self.text(value, "item_label"),
                "parent" => section.parent = self.string(value, "parent"),
                "repeat" => {
                    let Some(repeat) = self.table(value, "repeat") else {
                        continue;
                    };
                    self.check_keys(repeat, &["min", "max"], "repeat");
                    section.repeat = Some(RawRepeat {
                        min: repeat.get("min").and_then(|v| self.integer(v, "min")),
                        max: repeat.get("max").and_then(|v| self.integer(v, "max")),
                    });
                }
                "question" => {
                    let DeValue::Array(items) = value.get_ref() else {
                        self.wrong_type(value, "question", "a list of [[section.question]] tables");
                        continue;
                    };
                    for entry in items.iter() {
                        if let Some(question) = self.question(entry) {
                            section.questions.push(question);
                        }
                    }
                }
                _ => {}
            }
        }
        Some(section)
    }

    fn question(&mut self, item: &Item<'_>) -> Option<RawQuestion> {
        let table = self.table(item, "question")?;
        self.check_keys(table, QUESTION_KEYS, "a question");
        let mut q = RawQuestion {
            span: item.span(),
            id: None,
            kind: None,
            label: None,
            hint: None,
            help: None,
            required: None,
            relevant: None,
            constraint: None,
            constraint_message: None,
            calculation: None,
            choices: None,
            choice_filter: None,
            default: None,
            min: None,
            max: None,
            max_length: None,
            appearance: None,
            pii: None,
            stats: None,
            keys: Vec::new(),
        };
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            if let Some(known) = QUESTION_KEYS.iter().find(|k| **k == name) {
                q.keys.push(Sp::new(*known, key.span()));
            }
            match name {
                "id" => q.id = self.string(value, "id"),
                "type" => q.kind = self.string(value, "type"),
                "label" => q.label = self.text(value, "label"),
                "hint" => q.hint = self.text(value, "hint"),
                "help" => q.help = self.text(value, "help"),
                "required" => {
                    q.required = match value.get_ref() {
                        DeValue::Boolean(b) => Some(Sp::new(RawRequired::Bool(*b), value.span())),
                        DeValue::String(_) => {
                            self.expr(value, "required").map(|e| Sp::new(RawRequired::Expr(e), value.span()))
                        }
                        _ => {
                            self.wrong_type(value, "required", "true, false or a condition in quotes");
                            None
                        }
                    }
                }
                "relevant" => q.relevant = self.expr(value, "relevant"),
                "constraint" => q.constraint = self.expr(value, "constraint"),
                "constraint_message" => q.constraint_message = self.text(value, "constraint_message"),
                "calculation" => q.calculation = self.expr(value, "calculation"),
                "choices" => {
                    q.choices = match value.get_ref() {
                        DeValue::String(name) => Some(RawChoices::Named(Sp::new(name.to_string(), value.span()))),
                        DeValue::Array(_) => {
                            self.choices(value, "choices").map(|choices| RawChoices::Inline(choices, value.span()))
                        }
                        _ => {
                            self.wrong_type(value, "choices", "the name of a list, or a list of choices");
                            None
                        }
                    }
                }
                "choice_filter" => {
                    let Some(filter) = self.table(value, "choice_filter") else {
                        continue;
                    };
                    let mut pairs = Vec::new();
                    for (attribute, target) in filter.iter() {
                        let attribute = Sp::new(attribute.get_ref().to_string(), attribute.span());
                        if let Some(target) = self.string(target, &attribute.value) {
                            pairs.push((attribute, target));
                        }
                    }
                    q.choice_filter = Some(Sp::new(pairs, value.span()));
                }
                "default" => q.default = Some(self.literal(value, 0)),
                "min" => q.min = Some(self.literal(value, 0)),
                "max" => q.max = Some(self.literal(value, 0)),
                "max_length" => q.max_length = self.integer(value, "max_length"),
                "appearance" => q.appearance = self.string(value, "appearance"),
                "pii" => q.pii = self.boolean(value, "pii"),
                "stats" => q.stats = self.boolean(value, "stats"),
                _ => {}
            }
        }
        Some(q)
    }
}
