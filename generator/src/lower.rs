//! The second pass: raw structures to checked, compiled manifests.
//!
//! Here the meaning is checked: ids and their uniqueness, references to
//! lists, sections and questions, which keys fit which question type,
//! literals, translations, expressions (parsed, resolved, type-checked), and
//! cycles between calculations and relevance conditions. Every problem is
//! recorded; a form with errors produces no manifest.

use std::collections::BTreeMap;
use std::ops::Range;

// Ids and paths are short keys looked up thousands of times per form; no
// input here is adversarial to a hash table, so Fx rather than SipHash.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Diagnostics, FileId, Sources, did_you_mean};
use crate::expr::check::{self, CheckError, Context, Env, Symbol, SymbolKind, Type, Typed};
use crate::expr::{Expr, Node, NodeKind, parse};
use crate::manifest::{self, Choice, ChoiceList, Manifest, Question, QuestionType, Repeat, Section, Text};
use crate::project::{QuickExit, SiteConfig};
use crate::schema::{
    RawChoice, RawChoices, RawExpr, RawForm, RawList, RawLiteral, RawQuestion, RawRequired, RawSite, RawText, Sp,
};
use crate::value::{MAX_SAFE_INTEGER, parse_date, parse_time};

/// The most instances a repeat may declare; keeps submissions bounded.
pub const MAX_REPEAT: u32 = 1000;

fn is_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && text.len() <= 64
}

fn is_form_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_language(text: &str) -> bool {
    (2..=8).contains(&text.len()) && text.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

fn is_code(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `key` was written, perhaps with a value of the wrong type (then
/// that was reported, and the key is not also missing).
fn written<K: AsRef<str>>(keys: &[K], key: &str) -> bool {
    keys.iter().any(|k| k.as_ref() == key)
}

/// Recording diagnostics for one file.
pub(crate) struct Lowerer<'a> {
    pub file: FileId,
    pub diagnostics: &'a mut Diagnostics,
    pub languages: &'a [String],
    pub default_language: &'a str,
    /// The site's languages are not known (site.toml is missing or does not
    /// say): accept texts in any language rather than report each one.
    pub any_language: bool,
}

impl Lowerer<'_> {
    fn error(&mut self, code: &'static str, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, self.file, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn warning(&mut self, code: &'static str, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::warning(code, self.file, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// A text in every language. `warn_missing` controls the warning for a
    /// missing translation (one per text); it returns whether one is missing.
    fn text(&mut self, raw: &RawText, what: &str, warn_missing: bool) -> (Text, bool) {
        let mut texts = BTreeMap::new();
        for (lang, text) in &raw.entries {
            let lang_code = match lang {
                None => self.default_language.to_owned(),
                Some(lang) if self.any_language && is_language(&lang.value) => lang.value.clone(),
                Some(lang) => {
                    if !self.languages.contains(&lang.value) {
                        let help =
                            did_you_mean(&lang.value, self.languages.iter().map(String::as_str)).unwrap_or_else(|| {
                                format!("the site's languages are {} (site.toml)", self.languages.join(", "))
                            });
                        self.error(
                            "unknown-language",
                            lang.span.clone(),
                            format!("`{}` is not a language of this site", lang.value),
                        )
                        .help = Some(help);
                        continue;
                    }
                    lang.value.clone()
                }
            };
            if text.value.trim().is_empty() {
                self.error("invalid-value", text.span.clone(), format!("the {what} is empty"));
                continue;
            }
            texts.insert(lang_code, text.value.clone());
        }
        let mut missing = false;
        if raw.entries.is_empty() {
            self.error("missing-text", raw.span.clone(), format!("the {what} has no text"));
            return (Text(texts), false);
        }
        if !texts.contains_key(self.default_language) {
            if texts.is_empty() || self.any_language {
                return (Text(texts), false);
            }
            self.error(
                "missing-text",
                raw.span.clone(),
                format!("the {what} has no text in `{}`, the site's default language", self.default_language),
            )
            .help = Some(format!("add {} = \"...\"", self.default_language));
            return (Text(texts), false);
        }
        let plain = raw.entries.len() == 1 && raw.entries[0].0.is_none();
        for lang in self.languages {
            if texts.contains_key(lang) {
                continue;
            }
            missing = true;
            if warn_missing && !plain {
                self.warning(
                    "missing-translation",
                    raw.span.clone(),
                    format!(
                        "the {what} has no `{lang}` translation; the `{}` text is shown instead",
                        self.default_language
                    ),
                );
            } else if warn_missing && plain && self.languages.len() > 1 {
                self.warning(
                    "missing-translation",
                    raw.span.clone(),
                    format!(
                        "the {what} is only in `{}`; pages in `{lang}` show it untranslated",
                        self.default_language
                    ),
                )
                .help = Some(format!("write it as {{ {} = \"...\", {lang} = \"...\" }}", self.default_language));
                break;
            }
            // Copied only where a translation is missing, not for every text.
            let default = texts[self.default_language].clone();
            texts.insert(lang.clone(), default);
        }
        (Text(texts), missing)
    }

    fn required_text(
        &mut self,
        raw: Option<&RawText>,
        what: &str,
        key: &str,
        owner_span: Range<usize>,
        keys: &[String],
    ) -> Text {
        match raw {
            Some(raw) => self.text(raw, what, true).0,
            None if written(keys, key) => Text::default(),
            None => {
                self.error("missing-key", owner_span, format!("this {what} has no `{key}`"));
                Text::default()
            }
        }
    }

    fn optional_text(&mut self, raw: Option<&RawText>, what: &str) -> Option<Text> {
        raw.map(|raw| self.text(raw, what, true).0)
    }
}

/// Lowers `site.toml`, falling back to usable defaults where it is wrong so
/// that forms can still be checked.
pub(crate) fn site(raw: Option<&RawSite>, file: Option<FileId>, diagnostics: &mut Diagnostics) -> SiteConfig {
    let mut config = SiteConfig::fallback();
    let (Some(raw), Some(file)) = (raw, file) else {
        return config;
    };
    let error = |diagnostics: &mut Diagnostics, code, span: Range<usize>, message: String| {
        diagnostics.push(Diagnostic::error(code, file, span, message));
    };
    match &raw.languages {
        Some(langs) if !langs.value.is_empty() => {
            let mut seen = HashSet::default();
            let mut list = Vec::new();
            for lang in &langs.value {
                if !is_language(&lang.value) {
                    error(
                        diagnostics,
                        "invalid-id",
                        lang.span.clone(),
                        format!("`{}` is not a language code", lang.value),
                    );
                    diagnostics.last_mut().expect("pushed").help =
                        Some("use lowercase ISO 639-1 codes like \"es\" or \"en\"".into());
                } else if !seen.insert(lang.value.clone()) {
                    error(
                        diagnostics,
                        "duplicate-id",
                        lang.span.clone(),
                        format!("the language `{}` is listed twice", lang.value),
                    );
                } else {
                    list.push(lang.value.clone());
                }
            }
            if !list.is_empty() {
                config.languages = list;
                config.languages_known = true;
            }
        }
        Some(langs) => error(diagnostics, "invalid-value", langs.span.clone(), "`languages` is empty".into()),
        None if written(&raw.written, "languages") => {}
        None => {
            error(diagnostics, "missing-key", raw.span.clone(), "[site] has no `languages`".into());
            diagnostics.last_mut().expect("pushed").help = Some("add languages = [\"es\", \"en\"]".into());
        }
    }
    match &raw.default_language {
        Some(lang) if config.languages.contains(&lang.value) => config.default_language = lang.value.clone(),
        Some(lang) => {
            error(
                diagnostics,
                "unknown-language",
                lang.span.clone(),
                format!("the default language `{}` is not in `languages`", lang.value),
            );
            config.default_language = config.languages[0].clone();
        }
        None => {
            if !written(&raw.written, "default_language") {
                error(diagnostics, "missing-key", raw.span.clone(), "[site] has no `default_language`".into());
            }
            config.default_language = config.languages[0].clone();
        }
    }
    // The default language first: pages, manifests and fallbacks rely on it.
    config.languages.retain(|l| *l != config.default_language);
    config.languages.insert(0, config.default_language.clone());

    let languages = config.languages.clone();
    let default_language = config.default_language.clone();
    let mut lower = Lowerer {
        file,
        diagnostics,
        languages: &languages,
        default_language: &default_language,
        any_language: !config.languages_known,
    };
    config.title = lower.required_text(raw.title.as_ref(), "site", "title", raw.span.clone(), &raw.written);
    if let Some(collector) = &raw.collector {
        let url = collector.value.trim_end_matches('/');
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            lower.error(
                "invalid-value",
                collector.span.clone(),
                "`collector` must be an http(s) address, or \"\" for the same server",
            );
        } else {
            check_url_characters(&mut lower, collector, "`collector`");
        }
        config.collector = url.to_owned();
    }
    if let Some(drafts) = raw.drafts {
        config.drafts = drafts;
    }
    if let Some(threshold) = &raw.long_list_threshold {
        match usize::try_from(threshold.value) {
            Ok(value) if value >= 10 => config.long_list_threshold = value,
            _ => {
                lower.error("invalid-value", threshold.span.clone(), "`long_list_threshold` must be at least 10");
            }
        }
    }
    if let Some(exit) = &raw.quick_exit {
        match &exit.url {
            Some(url) if url.value.starts_with("https://") || url.value.starts_with("http://") => {
                check_url_characters(&mut lower, url, "the quick exit `url`");
                let label = exit.label.as_ref().map(|raw| lower.text(raw, "quick exit label", true).0);
                config.quick_exit = Some(QuickExit { url: url.value.clone(), label });
            }
            Some(url) => {
                lower
                    .error("invalid-value", url.span.clone(), "the quick exit `url` must be an http(s) address")
                    .help = Some("a neutral page, e.g. \"https://www.google.com/\"".into());
            }
            None => {
                lower.error("missing-key", exit.span.clone(), "`quick_exit` has no `url`");
            }
        }
    }
    config
}

/// Reports a character that has no place in an address written into pages
/// (a space, a quote, `<`, `>` or a control character): the prefix check
/// alone would let `https://x" onclick="...` through to an attribute.
fn check_url_characters(lower: &mut Lowerer<'_>, url: &Sp<String>, what: &str) {
    let Some(bad) = url.value.chars().find(|c| c.is_whitespace() || c.is_control() || "\"'`<>".contains(*c)) else {
        return;
    };
    let shown = match bad {
        ' ' => "a space".to_owned(),
        _ if bad.is_whitespace() || bad.is_control() => format!("the invisible character U+{:04X}", u32::from(bad)),
        _ => format!("`{bad}`"),
    };
    lower
        .error("invalid-value", url.span.clone(), format!("{what} is not a valid address: it contains {shown}"))
        .help = Some("an address has no spaces, quotes, `<`, `>` or control characters; write a space as %20".into());
}

/// A checked choice list and where it was defined.
#[derive(Debug, Clone)]
pub(crate) struct ListEntry {
    pub file: FileId,
    pub span: Range<usize>,
    pub list: ChoiceList,
}

/// Checks lists and adds them to `registry`.
pub(crate) fn lists(
    raw_lists: &[RawList],
    site: &SiteConfig,
    registry: &mut BTreeMap<String, ListEntry>,
    diagnostics: &mut Diagnostics,
) {
    for raw in raw_lists {
        let mut lower = Lowerer {
            file: raw.file,
            diagnostics,
            languages: &site.languages,
            default_language: &site.default_language,
            any_language: !site.languages_known,
        };
        if !is_id(&raw.name.value) {
            lower
                .error("invalid-id", raw.name.span.clone(), format!("`{}` is not a valid list name", raw.name.value))
                .help = Some("list names are lowercase letters, digits and _, starting with a letter".into());
        }
        if let Some(existing) = registry.get(&raw.name.value) {
            let existing_file = existing.file;
            let d = lower.error(
                "duplicate-id",
                raw.name.span.clone(),
                format!("the list `{}` is defined twice", raw.name.value),
            );
            d.label = Some("second definition".into());
            let _ = existing_file;
            continue;
        }
        let list = choice_list(
            &mut lower,
            &raw.choices,
            raw.choices_span.clone(),
            &raw.name.value,
            raw.translate,
            site.long_list_threshold,
        );
        registry.insert(raw.name.value.clone(), ListEntry { file: raw.file, span: raw.name.span.clone(), list });
    }
}

fn choice_list(
    lower: &mut Lowerer<'_>,
    raw: &[RawChoice],
    span: Range<usize>,
    name: &str,
    translate: bool,
    threshold: usize,
) -> ChoiceList {
    if raw.is_empty() {
        lower.error("empty-choices", span.clone(), format!("the list `{name}` has no choices")).help =
            Some("a question needs at least one choice to answer".into());
    }
    let mut seen: HashMap<String, Range<usize>> = HashMap::default();
    let mut choices = Vec::new();
    let mut untranslated = 0;
    let mut first_untranslated = None;
    for choice in raw {
        let Some(value) = &choice.value else {
            lower.error("missing-key", choice.span.clone(), format!("a choice of `{name}` has no `value`")).help =
                Some("every choice needs a stable code: value = \"code\"".into());
            continue;
        };
        if !is_code(&value.value) {
            lower
                .error("invalid-code", value.span.clone(), format!("`{}` is not a valid choice code", value.value))
                .help = Some("codes are 1 to 64 characters without spaces".into());
        }
        if let Some(previous) = seen.get(&value.value) {
            let line = previous.start;
            lower
                .error(
                    "duplicate-code",
                    value.span.clone(),
                    format!("the code `{}` appears twice in `{name}`", value.value),
                )
                .label = Some("duplicate code".into());
            let _ = line;
            continue;
        }
        seen.insert(value.value.clone(), value.span.clone());
        let label = match &choice.label {
            Some(label) => {
                let (text, missing) = lower.text(label, "choice label", false);
                if missing && translate {
                    untranslated += 1;
                    first_untranslated.get_or_insert(label.span.clone());
                }
                text
            }
            None => {
                lower.error("missing-key", choice.span.clone(), format!("the choice `{}` has no `label`", value.value));
                Text::default()
            }
        };
        let mut attributes = BTreeMap::new();
        for (key, attr) in &choice.attributes {
            if !is_id(&key.value) {
                lower.error("invalid-id", key.span.clone(), format!("`{}` is not a valid attribute name", key.value));
            }
            attributes.insert(key.value.clone(), attr.value.clone());
        }
        choices.push(Choice { value: value.value.clone(), label, attributes });
    }
    if let Some(span) = first_untranslated {
        let missing: Vec<&str> = lower.languages.iter().skip(1).map(String::as_str).collect();
        lower
            .warning(
                "missing-translation",
                span,
                format!("{untranslated} label(s) of the list `{name}` have no {} translation", missing.join("/")),
            )
            .help = Some("translate them, or set translate = false on the list if they are proper names".into());
    }
    ChoiceList { long: choices.len() > threshold, choices }
}

/// One question or section while a form is lowered.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    kind: EntryKind,
    repeats: Vec<String>,
}

#[derive(Debug, Clone)]
enum EntryKind {
    Question { kind: QuestionType, list: Option<String>, value: Option<Typed<'static>> },
    Repeat,
    Group,
}

struct FormEnv<'a> {
    entries: &'a HashMap<String, Entry>,
    /// Every list a question of the form may name, by the name questions
    /// carry: shared, form-local, and inline (`#question_id`).
    lists: &'a BTreeMap<&'a str, &'a ChoiceList>,
    ids: &'a [&'a str],
}

impl Env for FormEnv<'_> {
    fn lookup(&self, id: &str) -> Option<Symbol<'_>> {
        let entry = self.entries.get(id)?;
        let kind = match &entry.kind {
            EntryKind::Question { kind: QuestionType::Note, .. } => SymbolKind::Note,
            EntryKind::Question { value, list, .. } => {
                SymbolKind::Value(Typed { ty: value.map_or(Type::Text, |v| v.ty), list: list.as_deref() })
            }
            EntryKind::Repeat => SymbolKind::Repeat,
            EntryKind::Group => SymbolKind::Group,
        };
        Some(Symbol { path: &entry.path, kind, repeats: &entry.repeats })
    }

    fn ids(&self) -> Vec<&str> {
        self.ids.to_vec()
    }

    fn codes(&self, list: &str) -> Option<Vec<&str>> {
        self.lists.get(list).map(|l| l.choices.iter().map(|c| c.value.as_str()).collect())
    }
}

fn value_type(kind: QuestionType) -> Option<Type> {
    Some(match kind {
        QuestionType::Text
        | QuestionType::Textarea
        | QuestionType::Email
        | QuestionType::Phone
        | QuestionType::SelectOne => Type::Text,
        QuestionType::Integer => Type::Integer,
        QuestionType::Decimal => Type::Decimal,
        QuestionType::Date => Type::Date,
        QuestionType::Time => Type::Time,
        QuestionType::YesNo => Type::Bool,
        QuestionType::SelectMultiple => Type::Multi,
        QuestionType::Note | QuestionType::Calculate => return None,
    })
}

/// A question type with its article, for messages: "an integer", "a date".
fn a_kind(kind: QuestionType) -> String {
    let name = kind.name();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {name}")
}

/// Which keys each question type accepts beyond the common ones.
fn type_keys(kind: QuestionType) -> &'static [&'static str] {
    use QuestionType::*;
    match kind {
        Text | Textarea | Email | Phone => &["max_length", "default"],
        Integer | Decimal | Date => &["min", "max", "default"],
        Time => &["default"],
        // Yes and no always stand side by side: no appearance to choose.
        YesNo => &["default"],
        SelectOne => &["choices", "choice_filter", "default", "appearance"],
        SelectMultiple => &["choices", "choice_filter", "default", "min", "max", "appearance"],
        Note => &[],
        Calculate => &["calculation"],
    }
}

const COMMON_KEYS: &[&str] = &["id", "type", "label", "relevant", "pii", "stats"];
/// Keys of questions that are answered: not of notes (whose label is the
/// text shown) nor of calculations (never shown).
const ANSWER_KEYS: &[&str] = &["hint", "help", "required", "constraint", "constraint_message"];

fn appearances(kind: QuestionType) -> &'static [&'static str] {
    match kind {
        QuestionType::SelectOne => &["dropdown", "horizontal", "search"],
        QuestionType::SelectMultiple => &["horizontal"],
        _ => &[],
    }
}

/// Lowers one form file to a manifest (or `None` if it has errors).
pub(crate) fn form(
    raw: &RawForm,
    site: &SiteConfig,
    global: &BTreeMap<String, ListEntry>,
    sources: &Sources,
    diagnostics: &mut Diagnostics,
) -> Option<Manifest> {
    let errors_before = diagnostics.counts().0;
    let mut lower = Lowerer {
        file: raw.file,
        diagnostics,
        languages: &site.languages,
        default_language: &site.default_language,
        any_language: !site.languages_known,
    };

    // The header.
    let header = raw.header.clone().unwrap_or_default();
    let id = match &header.id {
        Some(id) if is_form_id(&id.value) => id.value.clone(),
        Some(id) => {
            lower.error("invalid-id", id.span.clone(), format!("`{}` is not a valid form id", id.value)).help =
                Some("form ids are lowercase letters, digits and -, like \"caso-ddhh\"".into());
            String::new()
        }
        None => {
            if raw.header.is_some() && !written(&header.written, "id") {
                lower.error("missing-key", header.span.clone(), "[form] has no `id`");
            }
            String::new()
        }
    };
    let version = match &header.version {
        Some(v) if (1..=i64::from(u32::MAX)).contains(&v.value) => v.value as u32,
        Some(v) => {
            lower.error("invalid-value", v.span.clone(), "`version` must be a whole number from 1 up");
            0
        }
        None => {
            if raw.header.is_some() && !written(&header.written, "version") {
                lower.error("missing-key", header.span.clone(), "[form] has no `version`").help =
                    Some("add version = 1, and raise it whenever the meaning of a question changes".into());
            }
            0
        }
    };
    let title = if raw.header.is_some() {
        lower.required_text(header.title.as_ref(), "form", "title", header.span.clone(), &header.written)
    } else {
        Text::default()
    };
    let intro = lower.optional_text(header.intro.as_ref(), "form intro");

    // Local lists, then every list the form may use.
    let mut local = BTreeMap::new();
    lists(&raw.lists, site, &mut local, lower.diagnostics);
    for (name, entry) in &local {
        if let Some(shared) = global.get(name) {
            let path = &sources.get(shared.file).path;
            lower.error("duplicate-id", entry.span.clone(), format!("the list `{name}` is already defined in {path}"));
        }
    }
    let lookup_list = |name: &str| local.get(name).or_else(|| global.get(name));

    // First walk: ids, sections, scopes.
    let mut entries: HashMap<String, Entry> = HashMap::default();
    let mut id_spans: HashMap<String, Range<usize>> = HashMap::default();
    let section_ids: Vec<Option<String>> =
        raw.sections.iter().map(|s| s.id.as_ref().map(|i| i.value.clone())).collect();
    let mut section_scope: Vec<Vec<String>> = Vec::new();
    let mut used_lists: BTreeMap<String, ChoiceList> = BTreeMap::new();
    let mut used_list_files: Vec<FileId> = Vec::new();

    let mut claim_id = |lower: &mut Lowerer<'_>, id: &Sp<String>, what: &str| -> bool {
        if !is_id(&id.value) {
            lower.error("invalid-id", id.span.clone(), format!("`{}` is not a valid {what} id", id.value)).help =
                Some("ids are lowercase letters, digits and _, starting with a letter (at most 64)".into());
            return false;
        }
        if id_spans.contains_key(&id.value) {
            lower
                .error("duplicate-id", id.span.clone(), format!("the id `{}` is used twice in this form", id.value))
                .help = Some("ids are unique across a form's sections and questions".into());
            return false;
        }
        id_spans.insert(id.value.clone(), id.span.clone());
        true
    };

    // Parents must be resolved before scopes; sections only nest one level.
    let mut parents: Vec<Option<usize>> = vec![None; raw.sections.len()];
    for (index, section) in raw.sections.iter().enumerate() {
        let Some(parent) = &section.parent else {
            continue;
        };
        match section_ids.iter().position(|s| s.as_deref() == Some(parent.value.as_str())) {
            Some(p) if p == index => {
                lower.error("invalid-parent", parent.span.clone(), "a section cannot be its own parent");
            }
            Some(p) if raw.sections[p].parent.is_some() => {
                lower.error(
                    "invalid-parent",
                    parent.span.clone(),
                    format!("`{}` is itself nested; sections nest only one level", parent.value),
                );
            }
            Some(p) => parents[index] = Some(p),
            None => {
                let help = did_you_mean(&parent.value, section_ids.iter().flatten().map(String::as_str));
                lower
                    .error("unknown-reference", parent.span.clone(), format!("there is no section `{}`", parent.value))
                    .help = help;
            }
        }
    }
    for (index, section) in raw.sections.iter().enumerate() {
        let mut repeats = parents[index]
            .map(|p| {
                let parent = &raw.sections[p];
                let mut chain = Vec::new();
                if parent.repeat.is_some()
                    && let Some(id) = &parent.id
                {
                    chain.push(id.value.clone());
                }
                chain
            })
            .unwrap_or_default();
        let container = repeats.clone();
        if section.repeat.is_some()
            && let Some(id) = &section.id
        {
            repeats.push(id.value.clone());
        }
        if let Some(id) = &section.id {
            if claim_id(&mut lower, id, "section") {
                let kind = if section.repeat.is_some() { EntryKind::Repeat } else { EntryKind::Group };
                entries.insert(
                    id.value.clone(),
                    Entry {
                        path: if section.repeat.is_some() { repeats.join(".") } else { id.value.clone() },
                        kind,
                        repeats: container,
                    },
                );
            }
        } else if !written(&section.written, "id") {
            lower.error("missing-key", section.span.clone(), "this section has no `id`");
        }
        section_scope.push(repeats);
    }

    // Questions: ids, types, lists.
    let mut question_kinds: Vec<Vec<Option<QuestionType>>> = Vec::new();
    for (index, section) in raw.sections.iter().enumerate() {
        let mut kinds = Vec::new();
        for question in &section.questions {
            let kind = question_kind(&mut lower, question);
            kinds.push(kind);
            let Some(id) = &question.id else {
                if !written(&question.keys, "id") {
                    lower.error("missing-key", question.span.clone(), "this question has no `id`");
                }
                continue;
            };
            if !claim_id(&mut lower, id, "question") {
                continue;
            }
            let Some(kind) = kind else { continue };
            let list = match (&question.choices, kind.has_choices()) {
                (Some(RawChoices::Named(name)), true) => match lookup_list(&name.value) {
                    Some(entry) => {
                        // Cloned once per form, not once per question: a
                        // long list may be named by many questions.
                        if !used_lists.contains_key(&name.value) {
                            used_lists.insert(name.value.clone(), entry.list.clone());
                        }
                        if !used_list_files.contains(&entry.file) {
                            used_list_files.push(entry.file);
                        }
                        Some(name.value.clone())
                    }
                    None => {
                        let names: Vec<&str> = local.keys().chain(global.keys()).map(String::as_str).collect();
                        let help = did_you_mean(&name.value, names)
                            .unwrap_or_else(|| "lists live in forms/lists/*.toml as [lists.NAME]".into());
                        lower
                            .error("unknown-list", name.span.clone(), format!("there is no list `{}`", name.value))
                            .help = Some(help);
                        None
                    }
                },
                (Some(RawChoices::Inline(choices, span)), true) => {
                    let list =
                        choice_list(&mut lower, choices, span.clone(), &id.value, true, site.long_list_threshold);
                    let name = format!("#{}", id.value);
                    used_lists.insert(name.clone(), list);
                    Some(name)
                }
                (None, true) if written(&question.keys, "choices") => None,
                (None, true) => {
                    lower
                        .error(
                            "missing-key",
                            id.span.clone(),
                            format!("the {} question `{}` has no `choices`", kind.name(), id.value),
                        )
                        .help = Some("name a list (choices = \"list_name\") or write the choices inline".into());
                    None
                }
                _ => None,
            };
            let value = value_type(kind).map(|ty| Typed { ty, list: None });
            let mut repeats = section_scope[index].clone();
            let path = {
                repeats.push(id.value.clone());
                let path = repeats.join(".");
                repeats.pop();
                path
            };
            entries.insert(id.value.clone(), Entry { path, kind: EntryKind::Question { kind, list, value }, repeats });
        }
        question_kinds.push(kinds);
    }

    let mut ids: Vec<String> = entries.keys().cloned().collect();
    ids.sort();

    // Calculation types, in dependency order.
    let calc_nodes: HashMap<String, (Node, &RawExpr)> = raw
        .sections
        .iter()
        .flat_map(|s| s.questions.iter())
        .filter(|q| q.kind.as_ref().is_some_and(|k| k.value == "calculate"))
        .filter_map(|q| {
            let id = q.id.as_ref()?.value.clone();
            let raw_expr = q.calculation.as_ref()?;
            let node = parse(&raw_expr.text).ok()?;
            Some((id, (node, raw_expr)))
        })
        .collect();
    let calc_order = calculation_order(&mut lower, &calc_nodes, raw);
    // Built once: every calculation and question looks lists up here.
    let all_lists = list_refs(&local, global, &used_lists);
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    for calc_id in &calc_order {
        let (node, _) = &calc_nodes[calc_id];
        let Some(entry) = entries.get(calc_id) else {
            continue;
        };
        let repeats = entry.repeats.clone();
        let env = FormEnv { entries: &entries, lists: &all_lists, ids: &id_refs };
        let context = Context { repeats: &repeats, self_type: None };
        if let Ok(checked) = check::check(node, &env, &context) {
            let list = match &node.kind {
                NodeKind::Ident(name) => env.lookup(name).and_then(|s| match s.kind {
                    SymbolKind::Value(t) => t.list.map(str::to_owned),
                    _ => None,
                }),
                _ => None,
            };
            let ty = checked.ty;
            if let Some(Entry { kind: EntryKind::Question { value, list: entry_list, .. }, .. }) =
                entries.get_mut(calc_id)
            {
                *value = Some(Typed::plain(ty));
                *entry_list = list;
            }
        }
    }

    // Second walk: compile everything.
    let env = FormEnv { entries: &entries, lists: &all_lists, ids: &id_refs };
    let mut sections = Vec::new();
    for (index, raw_section) in raw.sections.iter().enumerate() {
        let section_id = raw_section.id.as_ref().map(|i| i.value.clone()).unwrap_or_default();
        let scope = section_scope[index].clone();
        let container: Vec<String> =
            if raw_section.repeat.is_some() { scope[..scope.len().saturating_sub(1)].to_vec() } else { scope.clone() };
        let title = lower.required_text(
            raw_section.title.as_ref(),
            "section",
            "title",
            raw_section.id.as_ref().map_or(raw_section.span.clone(), |i| i.span.clone()),
            &raw_section.written,
        );
        let help = lower.optional_text(raw_section.help.as_ref(), "section help");
        let relevant = raw_section
            .relevant
            .as_ref()
            .and_then(|e| compile_condition(&mut lower, &env, e, &container, None, "relevant"));
        let repeat = raw_section.repeat.as_ref().and_then(|r| {
            // `min` and `max` are checked each on its own, so that a wrong
            // `min` does not hide a wrong `max`.
            let min = r.min.as_ref().map_or(Some(0), |m| match u32::try_from(m.value) {
                Ok(v) if v <= MAX_REPEAT => Some(v),
                _ => {
                    lower.error("invalid-repeat", m.span.clone(), format!("`min` must be between 0 and {MAX_REPEAT}"));
                    None
                }
            });
            let max = r.max.as_ref().map(|m| match u32::try_from(m.value) {
                Ok(v) if (1..=MAX_REPEAT).contains(&v) => Some(v),
                _ => {
                    lower.error("invalid-repeat", m.span.clone(), format!("`max` must be between 1 and {MAX_REPEAT}"));
                    None
                }
            });
            let (min, max) = match (min, max) {
                (Some(min), None) => (min, None),
                (Some(min), Some(Some(max))) => (min, Some(max)),
                _ => return None,
            };
            if let (Some(max), Some(raw_max)) = (max, &r.max)
                && max < min
            {
                lower.error(
                    "invalid-repeat",
                    raw_max.span.clone(),
                    format!("`max` ({max}) is less than `min` ({min})"),
                );
                return None;
            }
            Some(Repeat { min, max })
        });
        let item_label = raw_section.item_label.as_ref().map(|t| lower.text(t, "item label", true).0);
        if item_label.is_some() && raw_section.repeat.is_none() {
            let span = raw_section.item_label.as_ref().map_or(raw_section.span.clone(), |t| t.span.clone());
            lower.error("misplaced-key", span, "`item_label` only applies to a repeating section").help =
                Some("add repeat = { min = 1, max = 10 } or remove item_label".into());
        }
        if parents[index].is_some() && raw_section.repeat.is_some() && scope.len() > 2 {
            lower.error("invalid-parent", raw_section.span.clone(), "repeats nest only one level");
        }
        let mut questions = Vec::new();
        for (q_index, raw_q) in raw_section.questions.iter().enumerate() {
            let Some(kind) = question_kinds[index][q_index] else {
                continue;
            };
            let Some(id) = raw_q.id.as_ref() else {
                continue;
            };
            let Some(entry) = entries.get(&id.value) else {
                continue;
            };
            if let Some(question) = question(&mut lower, &env, raw_q, kind, entry, &scope) {
                questions.push(question);
            }
        }
        // Questions with errors were reported; only a section written
        // without any question is empty.
        if raw_section.questions.is_empty()
            && !raw.sections.iter().any(|s| s.parent.as_ref().is_some_and(|p| p.value == section_id))
        {
            let span = raw_section.id.as_ref().map_or(raw_section.span.clone(), |i| i.span.clone());
            lower.warning("empty-section", span, format!("the section `{section_id}` has no questions"));
        }
        sections.push(Section {
            id: section_id,
            scope: scope.join("."),
            title,
            help,
            relevant,
            repeat,
            item_label,
            parent: raw_section.parent.as_ref().map(|p| p.value.clone()),
            questions,
        });
    }
    if raw.sections.is_empty() && raw.header.is_some() {
        lower.error("missing-key", header.span.clone(), "this form has no [[section]]");
    }

    // Dependency order of values (relevance and calculations).
    let order = value_order(&mut lower, &sections, raw);

    if lower.diagnostics.counts().0 > errors_before {
        return None;
    }

    // Keep only the lists the compiled questions use.
    let used: HashSet<&str> =
        sections.iter().flat_map(|s| s.questions.iter()).filter_map(|q| q.choices.as_deref()).collect();
    used_lists.retain(|name, _| used.contains(name.as_str()));

    let mut hasher = Sha256::new();
    hasher.update(sources.get(raw.file).text.as_bytes());
    used_list_files.sort_by(|a, b| sources.get(*a).path.cmp(&sources.get(*b).path));
    for file in used_list_files {
        hasher.update(sources.get(file).text.as_bytes());
    }
    let source_sha256 = format!("{:x}", hasher.finalize());

    Some(Manifest {
        format: manifest::FORMAT,
        id,
        version,
        source_sha256,
        default_language: site.default_language.clone(),
        languages: site.languages.clone(),
        title,
        intro,
        encrypt: header.encrypt.unwrap_or(false),
        sections,
        lists: used_lists,
        order,
    })
}

/// The lists questions may name: shared ones, the form's own (which take
/// precedence, and were reported if they clash), and inline ones, which
/// `used` holds as `#question_id`.
fn list_refs<'l>(
    local: &'l BTreeMap<String, ListEntry>,
    global: &'l BTreeMap<String, ListEntry>,
    used: &'l BTreeMap<String, ChoiceList>,
) -> BTreeMap<&'l str, &'l ChoiceList> {
    let mut all: BTreeMap<&str, &ChoiceList> = global.iter().map(|(k, v)| (k.as_str(), &v.list)).collect();
    all.extend(local.iter().map(|(k, v)| (k.as_str(), &v.list)));
    all.extend(used.iter().filter(|(k, _)| k.starts_with('#')).map(|(k, v)| (k.as_str(), v)));
    all
}

fn question_kind(lower: &mut Lowerer<'_>, question: &RawQuestion) -> Option<QuestionType> {
    let Some(kind) = &question.kind else {
        if written(&question.keys, "type") {
            return None;
        }
        let span = question.id.as_ref().map_or(question.span.clone(), |i| i.span.clone());
        let name = question.id.as_ref().map_or(String::new(), |i| format!(" `{}`", i.value));
        lower.error("missing-key", span, format!("the question{name} has no `type`")).help =
            Some("add type = \"text\" (or integer, date, select_one, ...)".into());
        return None;
    };
    let found = QuestionType::from_name(&kind.value);
    if found.is_none() {
        let names: Vec<&str> = QuestionType::ALL.iter().map(|t| t.name()).collect();
        let help = did_you_mean(&kind.value, names.iter().copied())
            .unwrap_or_else(|| format!("the types are: {}", names.join(", ")));
        lower.error("unknown-type", kind.span.clone(), format!("`{}` is not a question type", kind.value)).help =
            Some(help);
    }
    found
}

/// The compiled expression of a condition, with its errors recorded.
fn compile_condition(
    lower: &mut Lowerer<'_>,
    env: &FormEnv<'_>,
    raw: &RawExpr,
    repeats: &[String],
    self_type: Option<Typed<'_>>,
    key: &str,
) -> Option<Expr> {
    let (expr, ty, span) = compile(lower, env, raw, repeats, self_type)?;
    if ty != Type::Bool {
        lower
            .error("expr-type", span, format!("`{key}` must be a yes/no condition, but this is a {}", ty.name()))
            .help = Some("compare it with something, e.g. `x = 'code'` or `n > 0`".into());
        return None;
    }
    Some(expr)
}

fn compile(
    lower: &mut Lowerer<'_>,
    env: &FormEnv<'_>,
    raw: &RawExpr,
    repeats: &[String],
    self_type: Option<Typed<'_>>,
) -> Option<(Expr, Type, Range<usize>)> {
    let node = match parse(&raw.text) {
        Ok(node) => node,
        Err(error) => {
            lower.error("expr-syntax", raw.file_span(&error.span), error.message.clone()).help = error.help.clone();
            return None;
        }
    };
    let context = Context { repeats, self_type };
    // A calculation whose type is unknown (it is in a cycle, or its own
    // formula has errors, both reported there) cannot be type-checked
    // against: say nothing about types here rather than something wrong.
    let untyped = reads_untyped_calculation(&node, env);
    match check::check(&node, env, &context) {
        Ok(_) if untyped => None,
        Ok(checked) => Some((checked.expr, checked.ty, raw.file_span(&node.span))),
        Err(errors) => {
            for CheckError { code, message, span, help } in errors {
                if untyped && code == "expr-type" {
                    continue;
                }
                lower.error(code, raw.file_span(&span), message).help = help;
            }
            None
        }
    }
}

/// Whether an expression reads a calculation whose type could not be found.
fn reads_untyped_calculation(node: &Node, env: &FormEnv<'_>) -> bool {
    match &node.kind {
        NodeKind::Ident(name) => env.entries.get(name).is_some_and(|entry| {
            matches!(entry.kind, EntryKind::Question { kind: QuestionType::Calculate, value: None, .. })
        }),
        NodeKind::Unary(_, inner) => reads_untyped_calculation(inner, env),
        NodeKind::Binary(_, left, right) => {
            reads_untyped_calculation(left, env) || reads_untyped_calculation(right, env)
        }
        NodeKind::Call { args, .. } => args.iter().any(|arg| reads_untyped_calculation(arg, env)),
        _ => false,
    }
}

fn question(
    lower: &mut Lowerer<'_>,
    env: &FormEnv<'_>,
    raw: &RawQuestion,
    kind: QuestionType,
    entry: &Entry,
    scope: &[String],
) -> Option<Question> {
    let id = raw.id.as_ref()?.value.clone();

    // Keys that don't fit the type.
    let allowed_extra = type_keys(kind);
    for key in &raw.keys {
        let name = key.value;
        let fits = COMMON_KEYS.contains(&name)
            || allowed_extra.contains(&name)
            || (ANSWER_KEYS.contains(&name) && !matches!(kind, QuestionType::Note | QuestionType::Calculate));
        if !fits {
            let help = match name {
                "choices" | "choice_filter" => "only select_one and select_multiple questions have choices".to_owned(),
                "calculation" => "only calculate questions have a calculation".to_owned(),
                "required" | "constraint" | "constraint_message" => {
                    format!("{} question takes no answer to check", a_kind(kind))
                }
                "hint" | "help" if kind == QuestionType::Note => {
                    "a note shows only its label, which is markdown: write the text there".to_owned()
                }
                "hint" | "help" if kind == QuestionType::Calculate => {
                    "a calculation is not shown on the page, so nobody would read it; use a TOML comment".to_owned()
                }
                "appearance" if kind == QuestionType::YesNo => {
                    "yes and no are always shown side by side; remove the line".to_owned()
                }
                _ => {
                    format!("keys {} question takes beyond the common ones: {}", a_kind(kind), allowed_extra.join(", "))
                }
            };
            lower
                .error(
                    "misplaced-key",
                    key.span.clone(),
                    format!("`{name}` does not apply to {} question", a_kind(kind)),
                )
                .help = Some(help);
        }
    }

    let label = match (&raw.label, kind) {
        (Some(label), _) => lower.text(label, "label", true).0,
        (None, QuestionType::Calculate) => Text(lower.languages.iter().map(|l| (l.clone(), id.clone())).collect()),
        (None, _) if written(&raw.keys, "label") => Text::default(),
        (None, _) => {
            lower
                .error("missing-key", raw.id.as_ref()?.span.clone(), format!("the question `{id}` has no `label`"))
                .help = Some(format!("add label = {{ {} = \"...\" }}", lower.default_language));
            Text::default()
        }
    };
    let hint = lower.optional_text(raw.hint.as_ref(), "hint");
    let help = lower.optional_text(raw.help.as_ref(), "help");
    let constraint_message = lower.optional_text(raw.constraint_message.as_ref(), "constraint message");
    if raw.constraint_message.is_some()
        && raw.constraint.is_none()
        && let Some(text) = &raw.constraint_message
    {
        lower.warning("unused-key", text.span.clone(), "`constraint_message` has no `constraint` to explain");
    }

    let repeats = &entry.repeats;
    let relevant = raw.relevant.as_ref().and_then(|e| compile_condition(lower, env, e, repeats, None, "relevant"));
    let required = match &raw.required {
        None => Expr::Bool(false),
        Some(Sp { value: RawRequired::Bool(b), .. }) => Expr::Bool(*b),
        Some(Sp { value: RawRequired::Expr(e), .. }) => {
            compile_condition(lower, env, e, repeats, None, "required").unwrap_or(Expr::Bool(false))
        }
    };
    let (list, self_typed) = match &entry.kind {
        EntryKind::Question { list, value, .. } => {
            (list.clone(), value.map(|v| Typed { ty: v.ty, list: list.as_deref() }))
        }
        _ => (None, None),
    };
    let self_typed = self_typed
        .map(|t| Typed { ty: t.ty, list: t.list.and_then(|name| env.lists.get_key_value(name).map(|(k, _)| *k)) });
    let constraint =
        raw.constraint.as_ref().and_then(|e| compile_condition(lower, env, e, repeats, self_typed, "constraint"));
    let (calculation, value_type) = match (&raw.calculation, kind) {
        (Some(e), QuestionType::Calculate) => match compile(lower, env, e, repeats, None) {
            Some((expr, ty, _)) => (Some(expr), Some(ty.manifest_name().to_owned())),
            None => (None, None),
        },
        (None, QuestionType::Calculate) if written(&raw.keys, "calculation") => (None, None),
        (None, QuestionType::Calculate) => {
            lower
                .error(
                    "missing-key",
                    raw.id.as_ref()?.span.clone(),
                    format!("the calculate question `{id}` has no `calculation`"),
                )
                .help = Some("add calculation = \"expression\"".into());
            (None, None)
        }
        _ => (None, None),
    };

    let list_def = list.as_deref().and_then(|name| env.lists.get(name).copied());
    // Cascading choices.
    let mut choice_filter = BTreeMap::new();
    if let (Some(filter), true) = (&raw.choice_filter, kind.has_choices()) {
        if filter.value.is_empty() {
            lower.error("invalid-value", filter.span.clone(), "`choice_filter` is empty");
        }
        for (attribute, target) in &filter.value {
            if let Some(list_def) = list_def
                && !list_def.choices.iter().any(|c| c.attributes.contains_key(&attribute.value))
            {
                let attrs: BTreeMap<&str, ()> =
                    list_def.choices.iter().flat_map(|c| c.attributes.keys().map(|k| (k.as_str(), ()))).collect();
                let help = did_you_mean(&attribute.value, attrs.keys().copied()).or_else(|| {
                    (!attrs.is_empty())
                        .then(|| format!("its choices have: {}", attrs.keys().copied().collect::<Vec<_>>().join(", ")))
                });
                lower
                    .error(
                        "unknown-reference",
                        attribute.span.clone(),
                        format!(
                            "no choice of `{}` has the attribute `{}`",
                            list.as_deref().unwrap_or(""),
                            attribute.value
                        ),
                    )
                    .help = help;
                continue;
            }
            match env.lookup(&target.value) {
                Some(Symbol { kind: SymbolKind::Value(typed), path, repeats: target_repeats })
                    if target.value != id =>
                {
                    // The answer is compared with the choices' attribute,
                    // which is a text: only a code or a text can match it.
                    let target_kind = match &env.entries[&target.value].kind {
                        EntryKind::Question { kind, .. } => Some(*kind),
                        _ => None,
                    };
                    let texty = match target_kind {
                        Some(QuestionType::SelectOne) => true,
                        Some(QuestionType::Calculate) => typed.ty == Type::Text,
                        _ => false,
                    };
                    if !texty {
                        let what = match target_kind {
                            Some(QuestionType::Calculate) => format!("a calculation that gives a {}", typed.ty.name()),
                            Some(kind) => a_kind(kind),
                            None => "not a question".to_owned(),
                        };
                        lower
                            .error(
                                "invalid-value",
                                target.span.clone(),
                                format!("`{}` is {what}, so its answer can never equal a choice's `{}`", target.value, attribute.value),
                            )
                            .help = Some(
                            "`choice_filter` compares codes: name a select_one question (or a calculation that gives a text)"
                                .into(),
                        );
                        continue;
                    }
                    if !repeats.starts_with(target_repeats) {
                        lower.error(
                            "repeat-reference",
                            target.span.clone(),
                            format!("`{}` is inside a repeat this question is not in", target.value),
                        );
                        continue;
                    }
                    choice_filter.insert(attribute.value.clone(), path.to_owned());
                }
                Some(_) => {
                    lower.error(
                        "invalid-value",
                        target.span.clone(),
                        format!("`{}` cannot filter choices: name another question with an answer", target.value),
                    );
                }
                None => {
                    let help = did_you_mean(&target.value, env.ids());
                    lower
                        .error(
                            "unknown-reference",
                            target.span.clone(),
                            format!("there is no question `{}` in this form", target.value),
                        )
                        .help = help;
                }
            }
        }
    }

    let default = raw.default.as_ref().and_then(|literal| value_literal(lower, literal, kind, list_def, "default"));
    let min = raw.min.as_ref().and_then(|literal| bound_literal(lower, literal, kind, "min"));
    let max = raw.max.as_ref().and_then(|literal| bound_literal(lower, literal, kind, "max"));
    if let (Some(lo), Some(hi), Some(lo_raw)) = (&min, &max, &raw.min) {
        let ordered = match (lo, hi) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() <= b.as_f64(),
            (serde_json::Value::String(a), serde_json::Value::String(b)) => a <= b,
            _ => true,
        };
        if !ordered {
            lower.error("invalid-value", lo_raw.span.clone(), "`min` is greater than `max`");
        }
    }
    let max_length = match &raw.max_length {
        Some(m) if kind.is_textual() => match u32::try_from(m.value) {
            Ok(v) if (1..=100_000).contains(&v) => Some(v),
            _ => {
                lower.error("invalid-value", m.span.clone(), "`max_length` must be between 1 and 100000");
                None
            }
        },
        _ => None,
    };
    let appearance = raw.appearance.as_ref().and_then(|a| {
        let allowed = appearances(kind);
        if allowed.contains(&a.value.as_str()) {
            return Some(a.value.clone());
        }
        if allowed.is_empty() {
            // The key itself does not apply, which was reported above.
            return None;
        }
        let help = did_you_mean(&a.value, allowed.iter().copied())
            .unwrap_or_else(|| format!("for {} question: {}", a_kind(kind), allowed.join(", ")));
        lower
            .error(
                "invalid-value",
                a.span.clone(),
                format!("`{}` is not an appearance of {} question", a.value, a_kind(kind)),
            )
            .help = Some(help);
        None
    });
    let pii = raw.pii.unwrap_or(false);
    let stats = raw.stats.unwrap_or(false);
    if pii && stats {
        let span = raw.id.as_ref().map_or(raw.span.clone(), |i| i.span.clone());
        lower
            .warning(
                "pii-stats",
                span,
                format!("`{id}` is marked both identifying (pii) and safe to aggregate (stats)"),
            )
            .help = Some("identifying answers should not be used in statistics; remove `stats = true`".into());
    }
    let _ = scope;
    Some(Question {
        id,
        path: entry.path.clone(),
        kind,
        label,
        hint,
        help,
        required,
        relevant,
        constraint,
        constraint_message,
        calculation,
        value_type,
        choices: list,
        choice_filter,
        default,
        min,
        max,
        max_length,
        appearance,
        pii,
        stats,
    })
}

/// Checks a `default` literal against the question type.
fn value_literal(
    lower: &mut Lowerer<'_>,
    literal: &Sp<RawLiteral>,
    kind: QuestionType,
    list: Option<&ChoiceList>,
    key: &str,
) -> Option<serde_json::Value> {
    let bad = |lower: &mut Lowerer<'_>, expected: &str| {
        lower.error(
            "invalid-value",
            literal.span.clone(),
            format!("`{key}` of {} question must be {expected}", a_kind(kind)),
        );
        None
    };
    let code_ok = |lower: &mut Lowerer<'_>, code: &str, span: &Range<usize>| -> bool {
        let Some(list) = list else { return true };
        if list.choices.iter().any(|c| c.value == code) {
            return true;
        }
        let help = did_you_mean(code, list.choices.iter().map(|c| c.value.as_str()));
        lower.error("unknown-code", span.clone(), format!("`{code}` is not a code of this question's list")).help =
            help;
        false
    };
    match (kind, &literal.value) {
        (
            QuestionType::Text | QuestionType::Textarea | QuestionType::Email | QuestionType::Phone,
            RawLiteral::Text(t),
        ) => Some(t.clone().into()),
        (QuestionType::Integer, RawLiteral::Integer(n)) if (*n as f64).abs() <= MAX_SAFE_INTEGER => Some((*n).into()),
        (QuestionType::Decimal, RawLiteral::Integer(n)) => Some((*n).into()),
        (QuestionType::Decimal, RawLiteral::Float(f)) => Some(crate::value::number_to_json(*f)),
        (QuestionType::YesNo, RawLiteral::Bool(b)) => Some((*b).into()),
        (QuestionType::Date, RawLiteral::Date(d)) => Some(d.clone().into()),
        (QuestionType::Date, RawLiteral::Text(d)) if parse_date(d).is_some() => Some(d.clone().into()),
        (QuestionType::Time, RawLiteral::Text(t)) if parse_time(t).is_some() => Some(t.clone().into()),
        (QuestionType::SelectOne, RawLiteral::Text(code)) => {
            code_ok(lower, code, &literal.span).then(|| code.clone().into())
        }
        (QuestionType::SelectMultiple, RawLiteral::Array(items)) => {
            let mut codes = Vec::new();
            for item in items {
                match &item.value {
                    RawLiteral::Text(code) => {
                        if !code_ok(lower, code, &item.span) {
                            return None;
                        }
                        codes.push(serde_json::Value::from(code.clone()));
                    }
                    _ => return bad(lower, "a list of codes"),
                }
            }
            Some(codes.into())
        }
        (QuestionType::Text | QuestionType::Textarea | QuestionType::Email | QuestionType::Phone, _) => {
            bad(lower, "a text")
        }
        (QuestionType::Integer, _) => bad(lower, "a whole number"),
        (QuestionType::Decimal, _) => bad(lower, "a number"),
        (QuestionType::YesNo, _) => bad(lower, "true or false"),
        (QuestionType::Date, _) => bad(lower, "a date like \"2024-01-31\""),
        (QuestionType::Time, _) => bad(lower, "a time like \"08:30\""),
        (QuestionType::SelectOne, _) => bad(lower, "a choice code in quotes"),
        (QuestionType::SelectMultiple, _) => bad(lower, "a list of choice codes like [\"a\", \"b\"]"),
        (QuestionType::Note | QuestionType::Calculate, _) => None,
    }
}

/// Checks a `min`/`max` literal.
fn bound_literal(
    lower: &mut Lowerer<'_>,
    literal: &Sp<RawLiteral>,
    kind: QuestionType,
    key: &str,
) -> Option<serde_json::Value> {
    match (kind, &literal.value) {
        (QuestionType::Integer, RawLiteral::Integer(n)) if (*n as f64).abs() <= MAX_SAFE_INTEGER => Some((*n).into()),
        (QuestionType::Decimal, RawLiteral::Integer(n)) => Some((*n).into()),
        (QuestionType::Decimal, RawLiteral::Float(f)) => Some(crate::value::number_to_json(*f)),
        (QuestionType::Date, RawLiteral::Date(d)) => Some(d.clone().into()),
        (QuestionType::Date, RawLiteral::Text(d)) if parse_date(d).is_some() => Some(d.clone().into()),
        (QuestionType::SelectMultiple, RawLiteral::Integer(n)) if (0..=10_000).contains(n) => Some((*n).into()),
        _ => {
            let expected = match kind {
                QuestionType::Integer => "a whole number",
                QuestionType::Decimal => "a number",
                QuestionType::Date => "a date like \"2024-01-31\"",
                QuestionType::SelectMultiple => "how many codes, a whole number",
                _ => "a value of the question's type",
            };
            lower.error(
                "invalid-value",
                literal.span.clone(),
                format!("`{key}` of {} question must be {expected}", a_kind(kind)),
            );
            None
        }
    }
}

/// Orders calculations so each is typed after those it reads; reports cycles.
fn calculation_order(lower: &mut Lowerer<'_>, calcs: &HashMap<String, (Node, &RawExpr)>, raw: &RawForm) -> Vec<String> {
    fn idents(node: &Node, out: &mut Vec<(String, Range<usize>)>) {
        match &node.kind {
            NodeKind::Ident(name) => out.push((name.clone(), node.span.clone())),
            NodeKind::Unary(_, inner) => idents(inner, out),
            NodeKind::Binary(_, a, b) => {
                idents(a, out);
                idents(b, out);
            }
            NodeKind::Call { args, .. } => args.iter().for_each(|a| idents(a, out)),
            _ => {}
        }
    }
    // Form order, so results and reports are deterministic.
    let ids: Vec<String> = raw
        .sections
        .iter()
        .flat_map(|s| s.questions.iter())
        .filter_map(|q| q.id.as_ref().map(|i| i.value.clone()))
        .filter(|id| calcs.contains_key(id))
        .collect();
    let deps: HashMap<&str, Vec<(String, Range<usize>)>> = ids
        .iter()
        .map(|id| {
            let mut out = Vec::new();
            idents(&calcs[id].0, &mut out);
            out.retain(|(name, _)| calcs.contains_key(name));
            (id.as_str(), out)
        })
        .collect();
    let mut state: HashMap<&str, u8> = HashMap::default(); // 1 = visiting, 2 = done
    let mut order = Vec::new();
    let mut reported: HashSet<String> = HashSet::default();
    fn visit<'a>(
        id: &'a str,
        deps: &'a HashMap<&'a str, Vec<(String, Range<usize>)>>,
        state: &mut HashMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        order: &mut Vec<String>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        match state.get(id) {
            Some(2) => return,
            Some(1) => {
                let start = stack.iter().position(|s| *s == id).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(id.to_owned());
                cycles.push(cycle);
                return;
            }
            _ => {}
        }
        state.insert(id, 1);
        stack.push(id);
        for (dep, _) in &deps[id] {
            if let Some((key, _)) = deps.get_key_value(dep.as_str()) {
                visit(key, deps, state, stack, order, cycles);
            }
        }
        stack.pop();
        state.insert(id, 2);
        order.push(id.to_owned());
    }
    let mut cycles = Vec::new();
    for id in &ids {
        visit(id, &deps, &mut state, &mut Vec::new(), &mut order, &mut cycles);
    }
    let mut in_cycle = HashSet::default();
    for cycle in cycles {
        in_cycle.extend(cycle.iter().cloned());
        let first = &cycle[0];
        if !reported.insert(first.clone()) {
            continue;
        }
        let next = &cycle[1];
        let (_, raw_expr) = &calcs[first];
        let span = deps[first.as_str()]
            .iter()
            .find(|(name, _)| name == next)
            .map_or(raw_expr.span.clone(), |(_, span)| raw_expr.file_span(span));
        lower
            .error("calc-cycle", span, format!("calculations depend on each other in a circle: {}", cycle.join(" → ")))
            .help = Some("a calculation cannot use its own result, directly or through others".into());
    }
    order.retain(|id| !in_cycle.contains(id));
    order
}

/// The evaluation order of question and repeat paths (see
/// [`Manifest::order`]); reports cycles through relevance conditions.
fn value_order(lower: &mut Lowerer<'_>, sections: &[Section], raw: &RawForm) -> Vec<String> {
    // Nodes: questions and repeating sections, by data path, in form order.
    let mut nodes: Vec<String> = Vec::new();
    let mut deps: HashMap<String, Vec<String>> = HashMap::default();
    let mut expr_of: HashMap<String, (String, &'static str)> = HashMap::default();
    let by_id: HashMap<&str, &Section> = sections.iter().map(|s| (s.id.as_str(), s)).collect();
    fn chain<'s>(section: &'s Section, by_id: &HashMap<&str, &'s Section>) -> Vec<&'s Section> {
        let mut chain = vec![section];
        if let Some(parent) = section.parent.as_deref().and_then(|p| by_id.get(p)) {
            chain.insert(0, *parent);
        }
        chain
    }
    for section in sections {
        let sections_chain = chain(section, &by_id);
        // Relevance of groups in the chain, and the repeats (as nodes) around.
        let mut inherited: Vec<String> = Vec::new();
        for s in &sections_chain {
            if s.repeat.is_some() {
                if s.id != section.id || section.repeat.is_none() {
                    inherited.push(s.scope.clone());
                }
            } else if let Some(relevant) = &s.relevant {
                inherited.extend(relevant.references().into_iter().map(str::to_owned));
            }
        }
        if section.repeat.is_some() {
            let mut own = inherited.clone();
            if let Some(relevant) = &section.relevant {
                own.extend(relevant.references().into_iter().map(str::to_owned));
            }
            nodes.push(section.scope.clone());
            deps.insert(section.scope.clone(), own);
            expr_of.insert(section.scope.clone(), (section.id.clone(), "relevant"));
            inherited.push(section.scope.clone());
        }
        for question in &section.questions {
            let mut own = inherited.clone();
            if let Some(relevant) = &question.relevant {
                own.extend(relevant.references().into_iter().map(str::to_owned));
            }
            if let Some(calculation) = &question.calculation {
                own.extend(calculation.references().into_iter().map(str::to_owned));
            }
            nodes.push(question.path.clone());
            deps.insert(question.path.clone(), own);
            expr_of.insert(question.path.clone(), (question.id.clone(), "relevant"));
        }
    }
    let position: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut state = vec![0u8; nodes.len()];
    let mut order = Vec::new();
    let mut cycle_found: Option<Vec<String>> = None;
    // Iterative DFS in form order, so the order is deterministic and no form
    // can exhaust the stack.
    for start in 0..nodes.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some((node, next)) = stack.last().copied() {
            let node_deps = &deps[&nodes[node]];
            if next < node_deps.len() {
                stack.last_mut().expect("non-empty").1 += 1;
                let Some(&dep) = position.get(node_deps[next].as_str()) else {
                    continue;
                };
                match state[dep] {
                    0 => {
                        state[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 if cycle_found.is_none() => {
                        let from = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..].iter().map(|(n, _)| nodes[*n].clone()).collect();
                        cycle.push(nodes[dep].clone());
                        cycle_found = Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                order.push(nodes[node].clone());
                stack.pop();
            }
        }
    }
    if let Some(cycle) = cycle_found {
        // Calculation-only cycles were reported already; this is a cycle
        // through relevance conditions.
        let ids: Vec<&str> = cycle.iter().map(|p| p.rsplit('.').next().unwrap_or(p)).collect();
        let first_id = ids[0];
        let span =
            raw.sections
                .iter()
                .find_map(|s| {
                    if s.id.as_ref().is_some_and(|i| i.value == first_id) {
                        return Some(s.relevant.as_ref().map_or(s.span.clone(), |r| r.span.clone()));
                    }
                    s.questions.iter().find(|q| q.id.as_ref().is_some_and(|i| i.value == first_id)).map(|q| {
                        q.relevant.as_ref().or(q.calculation.as_ref()).map_or(q.span.clone(), |r| r.span.clone())
                    })
                })
                .unwrap_or(0..0);
        let already = lower.diagnostics.iter().any(|d| d.code == "calc-cycle");
        if !already {
            lower
                .error(
                    "relevance-cycle",
                    span,
                    format!("conditions depend on each other in a circle: {}", ids.join(" → ")),
                )
                .help =
                Some("whether a question is asked cannot depend, directly or through others, on its own answer".into());
        }
        let _ = expr_of;
    }
    order
}
