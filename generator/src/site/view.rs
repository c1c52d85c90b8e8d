//! View models: what the templates and the built-in markup see.
//!
//! Everything a template needs is computed here (input names with instance
//! indexes, widgets, which ids describe an input, markdown already
//! sanitised), so templates stay simple and an editor's own templates can't
//! get the accessibility wiring wrong by accident. Texts stay plain strings
//! (borrowed from the manifest); tera, or [`super::markup`], escapes them.
//!
//! Also the runtime's rules, serialized from borrowing structs in one pass.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use super::markdown::to_html;
use crate::expr::Expr;
use crate::manifest::{ChoiceList, Manifest, Question, QuestionType, Section};
use crate::messages::{self, Messages};
use crate::project::Project;

/// Hashed asset names.
#[derive(Debug, Clone, Serialize)]
pub struct Assets {
    /// The stylesheet.
    pub css: String,
    /// The browser runtime, when there is one.
    pub js: Option<String>,
    /// The part of the runtime a form page loads on demand (its name, in the
    /// same folder as the runtime).
    pub more: String,
}

#[derive(Debug, Serialize)]
struct MessagesView {
    optional: &'static str,
    submit: &'static str,
    choose: &'static str,
    add_another: &'static str,
    conditional: &'static str,
    skip_to_content: &'static str,
    language: &'static str,
    forms: &'static str,
    version: &'static str,
}

impl From<&Messages> for MessagesView {
    fn from(m: &Messages) -> Self {
        Self {
            optional: m.optional,
            submit: m.submit,
            choose: m.choose,
            add_another: m.add_another,
            conditional: m.conditional,
            skip_to_content: m.skip_to_content,
            language: m.language,
            forms: m.forms,
            version: m.version,
        }
    }
}

#[derive(Debug, Serialize)]
struct LanguageLink {
    lang: String,
    name: &'static str,
    href: String,
}

#[derive(Debug, Serialize)]
struct QuickExitView {
    url: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct Page<'a, T: Serialize> {
    lang: &'a str,
    root: &'static str,
    site_title: &'a str,
    t: MessagesView,
    assets: &'a Assets,
    alternates: Vec<LanguageLink>,
    quick_exit: Option<QuickExitView>,
    /// The runtime's texts on a page without a form, written by
    /// `base.html` as the `constancia-rules` element (form pages carry all
    /// of them in their rules).
    status: Option<String>,
    #[serde(flatten)]
    body: T,
}

#[allow(clippy::too_many_arguments)]
fn page<'a, T: Serialize>(
    project: &'a Project,
    lang: &'a str,
    root: &'static str,
    assets: &'a Assets,
    alternates: Vec<LanguageLink>,
    status: Option<String>,
    body: T,
) -> tera::Context {
    let t = messages::for_language(lang);
    let page = Page {
        lang,
        root,
        site_title: project.site.title.get(lang),
        t: t.into(),
        assets,
        alternates,
        quick_exit: project.site.quick_exit.as_ref().map(|exit| QuickExitView {
            url: exit.url.clone(),
            label: exit.label.as_ref().map_or(t.quick_exit.to_owned(), |l| l.get(lang).to_owned()),
        }),
        status,
        body,
    };
    tera::Context::from_serialize(page).expect("view models always serialize")
}

fn alternates(project: &Project, lang: &str, href: impl Fn(&str) -> String) -> Vec<LanguageLink> {
    project
        .site
        .languages
        .iter()
        .filter(|l| *l != lang)
        .map(|l| LanguageLink { lang: l.clone(), name: messages::for_language(l).language_name, href: href(l) })
        .collect()
}

/// The root page: a choice of language.
pub fn root_page(project: &Project, assets: &Assets) -> tera::Context {
    #[derive(Serialize)]
    struct Body {
        languages: Vec<LanguageLink>,
    }
    let languages = project
        .site
        .languages
        .iter()
        .map(|l| LanguageLink { lang: l.clone(), name: messages::for_language(l).language_name, href: format!("{l}/") })
        .collect();
    let lang = &project.site.default_language;
    page(project, lang, "", assets, Vec::new(), Some(status_rules(lang)), Body { languages })
}

/// The index of forms in one language.
pub fn index_page(project: &Project, lang: &str, assets: &Assets) -> tera::Context {
    #[derive(Serialize)]
    struct FormLink {
        href: String,
        title: String,
        version: u32,
    }
    #[derive(Serialize)]
    struct Body {
        forms: Vec<FormLink>,
    }
    let forms = project
        .forms
        .iter()
        .map(|f| FormLink {
            href: format!("{}/", f.manifest.id),
            title: f.manifest.title.get(lang).to_owned(),
            version: f.manifest.version,
        })
        .collect();
    let alternates = alternates(project, lang, |l| format!("../{l}/"));
    page(project, lang, "../", assets, alternates, Some(status_rules(lang)), Body { forms })
}

#[derive(Debug, Serialize)]
struct FormView {
    id: String,
    version: u32,
    title: String,
    intro_html: Option<String>,
    action: String,
}

/// One radio button or checkbox (wrapped in its label, so it needs no id:
/// the markup gives the first of a group `input_id`, the target of error
/// links), or one `<option>`.
#[derive(Debug, Serialize)]
pub(super) struct ChoiceView<'a> {
    pub(super) value: &'a str,
    pub(super) label: &'a str,
    pub(super) checked: bool,
    pub(super) attrs: Vec<(&'a str, &'a str)>,
}

/// One question as the markup needs it. Texts borrow from the manifest;
/// only what is computed (names, ids, markdown) is owned.
#[derive(Debug, Serialize, Default)]
pub(super) struct QuestionView<'a> {
    pub(super) path: &'a str,
    pub(super) name: String,
    pub(super) input_id: String,
    pub(super) widget: &'static str,
    pub(super) input_type: &'static str,
    pub(super) group: bool,
    pub(super) inline: bool,
    pub(super) label: &'a str,
    pub(super) label_html: Option<String>,
    pub(super) hint: Option<Cow<'a, str>>,
    pub(super) help_html: Option<String>,
    pub(super) optional: bool,
    pub(super) describedby: Option<String>,
    pub(super) value: Option<Cow<'a, str>>,
    pub(super) inputmode: Option<&'static str>,
    pub(super) max_length: Option<u32>,
    pub(super) min: Option<&'a str>,
    pub(super) max: Option<&'a str>,
    pub(super) list_url: Option<String>,
    pub(super) filter: Vec<(&'a str, &'a str)>,
    pub(super) choices: Vec<ChoiceView<'a>>,
}

#[derive(Debug, Serialize)]
pub(super) struct RepeatView {
    min: u32,
    max: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(super) struct InstanceView<'a> {
    pub(super) index: usize,
    pub(super) legend: String,
    pub(super) questions: Vec<QuestionView<'a>>,
    pub(super) children: Vec<SectionView<'a>>,
}

#[derive(Debug, Serialize)]
pub(super) struct SectionView<'a> {
    pub(super) id: &'a str,
    pub(super) html_id: String,
    pub(super) level: u8,
    pub(super) title: &'a str,
    pub(super) item: &'a str,
    pub(super) help_html: Option<String>,
    pub(super) conditional: bool,
    pub(super) repeat: Option<RepeatView>,
    pub(super) instances: Vec<InstanceView<'a>>,
    pub(super) questions: Vec<QuestionView<'a>>,
    pub(super) children: Vec<SectionView<'a>>,
}

/// List-asset paths (relative to the site root) by [`list_stem`] and language.
pub type ListUrls = BTreeMap<(String, String), String>;

/// The name of a list's asset, without language and hash: a shared list by
/// its name (`mx_municipio`), an inline list by its form and question
/// (`caso-ddhh-idioma_explicacion`). List names and question ids never hold
/// `-`, so a shared list never takes an inline list's name, and two forms'
/// inline lists on questions of the same id stay apart.
pub fn list_stem(form: &str, list: &str) -> String {
    match list.strip_prefix('#') {
        Some(question) => format!("{form}-{question}"),
        None => list.to_owned(),
    }
}

/// Whether a question's choices load on demand, as a list asset with a
/// searchable picker (a text field without JavaScript): a single choice on
/// a long list, or on any list with `appearance = "search"`.
///
/// A multiple choice always shows its checkboxes, even on a long list
/// (neither the picker nor the collector's typed matching takes several
/// answers); `check` should refuse that combination.
pub fn uses_picker(question: &Question, list: &ChoiceList) -> bool {
    question.kind == QuestionType::SelectOne && (list.long || question.appearance.as_deref() == Some("search"))
}

/// The list assets a form needs: `(stem, list)` of every question that
/// [`uses_picker`].
pub fn picker_lists(manifest: &Manifest) -> Vec<(String, &ChoiceList)> {
    let mut seen = BTreeSet::new();
    manifest
        .questions()
        .filter_map(|(_, q)| {
            let name = q.choices.as_deref()?;
            let list = manifest.lists.get(name)?;
            if !uses_picker(q, list) {
                return None;
            }
            let stem = list_stem(&manifest.id, name);
            seen.insert(stem.clone()).then_some((stem, list))
        })
        .collect()
}

/// A long list as the JSON asset the picker loads: `[[code, label, {attributes}], ...]`.
pub fn list_asset(list: &ChoiceList, lang: &str) -> String {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Row<'a> {
        Plain(&'a str, &'a str),
        Attributes(&'a str, &'a str, &'a BTreeMap<String, String>),
    }
    let rows: Vec<Row> = list
        .choices
        .iter()
        .map(|c| match c.attributes.is_empty() {
            true => Row::Plain(&c.value, c.label.get(lang)),
            false => Row::Attributes(&c.value, c.label.get(lang), &c.attributes),
        })
        .collect();
    serde_json::to_string(&rows).expect("lists always serialize")
}

struct FormRenderer<'a> {
    manifest: &'a Manifest,
    lang: &'a str,
    t: &'static Messages,
    list_urls: &'a ListUrls,
    root: &'static str,
    /// The sections nested in each section, in form order.
    children: HashMap<&'a str, Vec<&'a Section>>,
    /// Markdown already rendered, by source: a help text or a note shows
    /// in every instance of its repeat, and forms reuse the same guidance
    /// ("ask only what is needed") on many questions. Rendering it means
    /// parsing the HTML again to sanitise it, the most expensive thing a
    /// page does per question.
    markdown: RefCell<HashMap<&'a str, String>>,
}

impl<'a> FormRenderer<'a> {
    fn new(
        manifest: &'a Manifest,
        lang: &'a str,
        t: &'static Messages,
        list_urls: &'a ListUrls,
        root: &'static str,
    ) -> Self {
        let mut children: HashMap<&str, Vec<&Section>> = HashMap::default();
        for section in &manifest.sections {
            if let Some(parent) = &section.parent {
                children.entry(parent.as_str()).or_default().push(section);
            }
        }
        Self { manifest, lang, t, list_urls, root, children, markdown: RefCell::default() }
    }

    /// Markdown as sanitised HTML ([`to_html`]), rendered once per text.
    fn markdown(&self, source: &'a str) -> String {
        self.markdown.borrow_mut().entry(source).or_insert_with(|| to_html(source)).clone()
    }

    fn children_of(&self, section: &Section) -> &[&'a Section] {
        self.children.get(section.id.as_str()).map_or(&[], Vec::as_slice)
    }

    /// The views of the top-level sections, with everything nested in them.
    fn sections(&self) -> Vec<SectionView<'a>> {
        self.manifest.sections.iter().filter(|s| s.parent.is_none()).map(|s| self.section(s, "", 2)).collect()
    }

    /// A section. `prefix` is the input-name prefix of the instance it
    /// lives in (`""`, or `acts.0.`).
    fn section(&self, section: &'a Section, prefix: &str, level: u8) -> SectionView<'a> {
        let title = section.title.get(self.lang);
        let item = section.item_label.as_ref().map_or(title, |t| t.get(self.lang));
        let mut view = SectionView {
            id: &section.id,
            html_id: format!("{prefix}{}", section.id),
            level,
            item,
            title,
            help_html: section.help.as_ref().map(|h| self.markdown(h.get(self.lang))),
            conditional: section.relevant.is_some(),
            repeat: section.repeat.map(|r| RepeatView { min: r.min, max: r.max }),
            instances: Vec::new(),
            questions: Vec::new(),
            children: Vec::new(),
        };
        let children = self.children_of(section);
        match section.repeat {
            Some(repeat) => {
                // Without JavaScript a repeat shows its minimum (at least one).
                let count = repeat.min.max(1) as usize;
                for index in 0..count {
                    let inner = format!("{prefix}{}.{index}.", section.id);
                    view.instances.push(InstanceView {
                        index,
                        legend: format!("{item} {}", index + 1),
                        questions: section.questions.iter().filter_map(|q| self.question(q, &inner)).collect(),
                        children: children.iter().map(|c| self.section(c, &inner, level + 1)).collect(),
                    });
                }
            }
            None => {
                view.questions = section.questions.iter().filter_map(|q| self.question(q, prefix)).collect();
                view.children = children.iter().map(|c| self.section(c, prefix, level + 1)).collect();
            }
        }
        view
    }

    fn question(&self, q: &'a Question, prefix: &str) -> Option<QuestionView<'a>> {
        if q.kind == QuestionType::Calculate {
            return None;
        }
        let lang = self.lang;
        let name = format!("{prefix}{}", q.id);
        let mut view = QuestionView {
            path: &q.path,
            input_id: format!("f-{name}"),
            label: q.label.get(lang),
            hint: q.hint.as_ref().map(|h| Cow::Borrowed(h.get(lang))),
            help_html: q.help.as_ref().map(|h| self.markdown(h.get(lang))),
            optional: q.required == Expr::Bool(false),
            ..QuestionView::default()
        };
        let list = q.choices.as_deref().and_then(|l| self.manifest.lists.get(l));
        // Which ids describe the input: its hint, then its help.
        let (mut hint_id, help_id) = (view.hint.is_some(), view.help_html.is_some());
        let default_text = q.default.as_ref().map(|d| match d {
            serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        });
        match q.kind {
            QuestionType::Note => {
                view.widget = "note";
                view.label_html = Some(self.markdown(q.label.get(lang)));
            }
            QuestionType::Textarea => {
                view.widget = "textarea";
                view.max_length = q.max_length;
                view.value = default_text;
            }
            QuestionType::YesNo => {
                view.widget = "radio";
                view.group = true;
                view.inline = true;
                let default = q.default.as_ref().and_then(serde_json::Value::as_bool);
                view.choices = [("true", self.t.yes, true), ("false", self.t.no, false)]
                    .into_iter()
                    .map(|(value, label, b)| ChoiceView {
                        value,
                        label,
                        checked: default == Some(b),
                        attrs: Vec::new(),
                    })
                    .collect();
            }
            QuestionType::SelectOne | QuestionType::SelectMultiple => {
                let list = list?;
                view.filter = q.choice_filter.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if uses_picker(q, list) {
                    view.widget = "search";
                    view.input_type = "text";
                    view.value = default_text;
                    let stem = list_stem(&self.manifest.id, q.choices.as_deref().unwrap_or(""));
                    view.list_url = self.list_urls.get(&(stem, lang.to_owned())).map(|u| format!("{}{u}", self.root));
                    let search_hint = self.t.search_hint;
                    view.hint = Some(match view.hint.take() {
                        Some(hint) => Cow::Owned(format!("{hint} {search_hint}")),
                        None => Cow::Borrowed(search_hint),
                    });
                    hint_id = true;
                } else {
                    let defaults: Vec<&str> = match &q.default {
                        Some(serde_json::Value::String(s)) => vec![s.as_str()],
                        Some(serde_json::Value::Array(items)) => {
                            items.iter().filter_map(serde_json::Value::as_str).collect()
                        }
                        _ => Vec::new(),
                    };
                    let filtered = !q.choice_filter.is_empty();
                    view.choices = list
                        .choices
                        .iter()
                        .map(|c| ChoiceView {
                            value: &c.value,
                            label: c.label.get(lang),
                            checked: defaults.contains(&c.value.as_str()),
                            attrs: match filtered {
                                true => c
                                    .attributes
                                    .iter()
                                    .filter(|(k, _)| q.choice_filter.contains_key(*k))
                                    .map(|(k, v)| (k.as_str(), v.as_str()))
                                    .collect(),
                                false => Vec::new(),
                            },
                        })
                        .collect();
                    let dropdown = q.kind == QuestionType::SelectOne
                        && (q.appearance.as_deref() == Some("dropdown")
                            || (q.appearance.is_none() && list.choices.len() > 12));
                    if dropdown {
                        view.widget = "select";
                    } else {
                        view.widget = if q.kind == QuestionType::SelectOne { "radio" } else { "checkbox" };
                        view.group = true;
                        view.inline = q.appearance.as_deref() == Some("horizontal");
                    }
                }
            }
            _ => {
                view.widget = "input";
                view.value = default_text;
                view.max_length = q.max_length;
                let (input_type, inputmode) = match q.kind {
                    QuestionType::Integer => ("text", Some("numeric")),
                    QuestionType::Decimal => ("text", Some("decimal")),
                    QuestionType::Date => ("date", None),
                    QuestionType::Time => ("time", None),
                    QuestionType::Email => ("email", Some("email")),
                    QuestionType::Phone => ("tel", Some("tel")),
                    _ => ("text", None),
                };
                view.input_type = input_type;
                view.inputmode = inputmode;
                if q.kind == QuestionType::Date {
                    view.min = q.min.as_ref().and_then(serde_json::Value::as_str);
                    view.max = q.max.as_ref().and_then(serde_json::Value::as_str);
                }
            }
        }
        if view.widget != "note" {
            view.describedby = match (hint_id, help_id) {
                (true, true) => Some(format!("h-{name} x-{name}")),
                (true, false) => Some(format!("h-{name}")),
                (false, true) => Some(format!("x-{name}")),
                (false, false) => None,
            };
        }
        view.name = name;
        Some(view)
    }
}

/// serde_json's compact output, safe inside `<script>`: `<`, `>` and `&`
/// are written as `\u003c`, `\u003e` and `\u0026`, so no `</script>` or
/// `<!--` in a text can end the element early. In JSON those characters
/// can only stand inside strings, which is where this formatter works,
/// while the text is written: no second pass over the output.
struct ScriptFormatter;

impl serde_json::ser::Formatter for ScriptFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (at, byte) in bytes.iter().enumerate() {
            let escaped: &[u8] = match byte {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            writer.write_all(&bytes[start..at])?;
            writer.write_all(escaped)?;
            start = at + 1;
        }
        writer.write_all(&bytes[start..])
    }
}

/// JSON safe inside `<script>` (see [`ScriptFormatter`]).
fn script_json(value: &impl Serialize) -> String {
    let mut out = Vec::with_capacity(4096);
    value
        .serialize(&mut serde_json::Serializer::with_formatter(&mut out, ScriptFormatter))
        .expect("rules always serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// What a page without a form tells the runtime: the texts of the outbox
/// status that every page shows.
fn status_rules(lang: &str) -> String {
    let t = messages::for_language(lang);
    #[derive(Serialize)]
    struct Status {
        messages: BTreeMap<&'static str, &'static str>,
    }
    let messages = BTreeMap::from([("waiting", t.waiting), ("attention", t.attention), ("delivered", t.delivered)]);
    script_json(&Status { messages })
}

/// The texts the runtime shows, by the keys it asks for (sorted, as a map
/// writes them). The singular form of a counting message is added only when
/// a question of the form has that limit at 1: every byte is carried to the
/// consulates.
fn runtime_messages(t: &Messages, manifest: &Manifest) -> BTreeMap<&'static str, &'static str> {
    let mut messages = all_runtime_messages(t);
    let questions = || manifest.sections.iter().flat_map(|s| &s.questions);
    let is_one = |limit: Option<&serde_json::Value>| limit.and_then(serde_json::Value::as_f64) == Some(1.0);
    let choices = |q: &&Question| q.kind == QuestionType::SelectMultiple;
    if questions().filter(choices).any(|q| is_one(q.min.as_ref())) {
        messages.insert("too_few_choices_one", t.too_few_choices_one);
    }
    if questions().filter(choices).any(|q| is_one(q.max.as_ref())) {
        messages.insert("too_many_choices_one", t.too_many_choices_one);
    }
    if questions().any(|q| q.max_length == Some(1)) {
        messages.insert("too_long_one", t.too_long_one);
    }
    messages
}

fn all_runtime_messages(t: &Messages) -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("required", t.required),
        ("constraint", t.constraint),
        ("invalid_integer", t.invalid_integer),
        ("invalid_decimal", t.invalid_decimal),
        ("invalid_date", t.invalid_date),
        ("invalid_time", t.invalid_time),
        ("invalid_yes_no", t.invalid_yes_no),
        ("invalid_text", t.invalid_text),
        ("invalid_email", t.invalid_email),
        ("invalid_phone", t.invalid_phone),
        ("invalid_choice", t.invalid_choice),
        ("filtered_choice", t.filtered_choice),
        ("unknown_field", t.unknown_field),
        ("too_small", t.too_small),
        ("too_large", t.too_large),
        ("too_early", t.too_early),
        ("too_late", t.too_late),
        ("too_few_choices", t.too_few_choices),
        ("too_many_choices", t.too_many_choices),
        ("too_long", t.too_long),
        ("too_few_instances", t.too_few_instances),
        ("error_summary", t.error_summary),
        ("error_prefix", t.error_prefix),
        ("remove", t.remove),
        ("received", t.received),
        ("reference", t.reference),
        ("another", t.another),
        ("queued", t.queued),
        ("held", t.held),
        ("not_saved", t.not_saved),
        ("waiting", t.waiting),
        ("attention", t.attention),
        ("delivered", t.delivered),
        ("draft", t.draft),
        ("discard", t.discard),
    ])
}

/// The calculations the runtime must compute: those that a condition, a
/// check, a cascade or another such calculation reads. The others only
/// matter to the collector, which computes every calculation itself and
/// never takes one from a page.
fn calculations_read(manifest: &Manifest) -> BTreeSet<&str> {
    let calculations: HashMap<&str, &Question> = manifest
        .questions()
        .filter(|(_, q)| q.kind == QuestionType::Calculate)
        .map(|(_, q)| (q.path.as_str(), q))
        .collect();
    let mut wanted: Vec<&str> = Vec::new();
    for section in &manifest.sections {
        wanted.extend(section.relevant.iter().flat_map(Expr::references));
    }
    for (_, q) in manifest.questions().filter(|(_, q)| q.kind != QuestionType::Calculate) {
        wanted.extend([&q.relevant, &q.constraint].into_iter().flatten().flat_map(Expr::references));
        wanted.extend(q.required.references());
        wanted.extend(q.choice_filter.values().map(String::as_str));
    }
    let mut read = BTreeSet::new();
    while let Some(path) = wanted.pop() {
        if let Some(q) = calculations.get(path)
            && read.insert(path)
        {
            wanted.extend([&q.relevant, &q.calculation].into_iter().flatten().flat_map(Expr::references));
        }
    }
    read
}

/// The runtime's rules, serialized as they are: the fields of each struct
/// are in alphabetical order, the order these objects have always been
/// written in (and the runtime does not care about).
#[derive(Serialize)]
struct Rules<'a> {
    drafts: bool,
    form: &'a str,
    lang: &'a str,
    messages: BTreeMap<&'static str, &'static str>,
    more: &'a str,
    order: Vec<Step<'a>>,
    questions: Vec<QuestionRules<'a>>,
    sections: Vec<SectionRules<'a>>,
    submit: String,
    version: u32,
}

/// One step of the order of evaluation: a run `[first, last]` of question
/// indexes, or the path of a repeat.
#[derive(Serialize)]
#[serde(untagged)]
enum Step<'a> {
    Run([usize; 2]),
    Repeat(&'a str),
}

#[derive(Serialize)]
struct SectionRules<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    /// Its questions: a run of `questions`, which follow the sections' order.
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relevant: Option<&'a Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat: Option<RepeatRules>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

#[derive(Serialize)]
struct RepeatRules {
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<u32>,
    min: u32,
}

#[derive(Serialize)]
struct QuestionRules<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    calculation: Option<&'a Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraint: Option<&'a Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<&'a serde_json::Value>,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    relevant: Option<&'a Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<&'a Expr>,
    #[serde(rename = "type")]
    kind: QuestionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_type: Option<&'a str>,
}

/// The data the browser runtime reads from a page: the rules of the form
/// (expressions as compiled JSON) and the messages in the page's language.
///
/// Only what the runtime reads, since every byte is in the page's weight:
/// every question with a field, the notes it may hide, the calculations it
/// must compute ([`calculations_read`]); `order` as runs `[first, last]` of
/// indexes into `questions` and the paths of repeats; a section's `scope`
/// only for repeats.
fn rules(
    project: &Project,
    manifest: &Manifest,
    lang: &str,
    t: &Messages,
    assets: &Assets,
    list_urls: &ListUrls,
    root: &str,
) -> String {
    let calculations = calculations_read(manifest);
    let keep = |q: &Question| match q.kind {
        QuestionType::Note => q.relevant.is_some(),
        QuestionType::Calculate => calculations.contains(q.path.as_str()),
        _ => true,
    };
    let mut questions: Vec<QuestionRules> = Vec::new();
    let mut sections: Vec<SectionRules> = Vec::with_capacity(manifest.sections.len());
    for s in &manifest.sections {
        let first = questions.len();
        questions
            .extend(s.questions.iter().filter(|q| keep(q)).map(|q| question_rules(manifest, q, lang, list_urls, root)));
        sections.push(SectionRules {
            id: &s.id,
            parent: s.parent.as_deref(),
            q: (questions.len() > first).then(|| [first, questions.len() - 1]),
            relevant: s.relevant.as_ref(),
            repeat: s.repeat.map(|r| RepeatRules { max: r.max, min: r.min }),
            scope: s.repeat.map(|_| s.scope.as_str()),
        });
    }
    // The order of evaluation, as runs of consecutive question indexes.
    let index: HashMap<&str, usize> = questions.iter().enumerate().map(|(i, q)| (q.path, i)).collect();
    let repeats: BTreeSet<&str> =
        manifest.sections.iter().filter(|s| s.repeat.is_some()).map(|s| s.scope.as_str()).collect();
    let mut order: Vec<Step> = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for path in &manifest.order {
        if let Some(&i) = index.get(path.as_str()) {
            run = match run {
                Some((first, last)) if last + 1 == i => Some((first, i)),
                other => {
                    order.extend(other.map(|(first, last)| Step::Run([first, last])));
                    Some((i, i))
                }
            };
        } else if repeats.contains(path.as_str()) {
            order.extend(run.take().map(|(first, last)| Step::Run([first, last])));
            order.push(Step::Repeat(path));
        }
    }
    order.extend(run.map(|(first, last)| Step::Run([first, last])));
    script_json(&Rules {
        drafts: project.site.drafts,
        form: &manifest.id,
        lang,
        messages: runtime_messages(t, manifest),
        more: &assets.more,
        order,
        questions,
        sections,
        submit: format!("{}/api/v1/submissions", project.site.collector),
        version: manifest.version,
    })
}

fn question_rules<'a>(
    manifest: &Manifest,
    q: &'a Question,
    lang: &str,
    list_urls: &ListUrls,
    root: &str,
) -> QuestionRules<'a> {
    let list = q.choices.as_deref().and_then(|name| {
        let list = manifest.lists.get(name)?;
        if !uses_picker(q, list) {
            return None;
        }
        let url = list_urls.get(&(list_stem(&manifest.id, name), lang.to_owned()))?;
        Some(format!("{root}{url}"))
    });
    QuestionRules {
        calculation: q.calculation.as_ref(),
        constraint: q.constraint.as_ref(),
        filter: (!q.choice_filter.is_empty()).then_some(&q.choice_filter),
        list,
        max: q.max.as_ref(),
        max_length: q.max_length,
        message: q.constraint_message.as_ref().map(|m| m.get(lang)),
        min: q.min.as_ref(),
        path: &q.path,
        relevant: q.relevant.as_ref(),
        required: (q.required != Expr::Bool(false)).then_some(&q.required),
        kind: q.kind,
        value_type: q.value_type.as_deref(),
    }
}

#[derive(Serialize)]
struct FormBody<'a> {
    form: &'a FormView,
    /// The section views, for templates of the editor's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    sections: Option<&'a [SectionView<'a>]>,
    rules: &'a str,
}

/// The page of one form in one language, up to its questions' markup,
/// which [`FormPage::sections_html`] writes in Rust or a template of the
/// editor's writes from [`FormPage::context`]'s `sections`.
pub struct FormPage<'a> {
    project: &'a Project,
    manifest: &'a Manifest,
    lang: &'a str,
    assets: &'a Assets,
    t: &'static Messages,
    form: FormView,
    sections: Vec<SectionView<'a>>,
    rules: String,
}

impl<'a> FormPage<'a> {
    /// Computes everything the page shows.
    pub fn new(
        project: &'a Project,
        manifest: &'a Manifest,
        lang: &'a str,
        assets: &'a Assets,
        list_urls: &'a ListUrls,
    ) -> Self {
        let t = messages::for_language(lang);
        let root = "../../";
        let sections = FormRenderer::new(manifest, lang, t, list_urls, root).sections();
        let form = FormView {
            id: manifest.id.clone(),
            version: manifest.version,
            title: manifest.title.get(lang).to_owned(),
            intro_html: manifest.intro.as_ref().map(|i| to_html(i.get(lang))),
            action: format!("{}/submit/{}/{}", project.site.collector, manifest.id, manifest.version),
        };
        let rules = rules(project, manifest, lang, t, assets, list_urls, root);
        Self { project, manifest, lang, assets, t, form, sections, rules }
    }

    /// What `form.html` sees, but `sections_html`; with the section views
    /// as `sections` when `with_views` (a template of the editor's may
    /// read them; turning them into tera's JSON is most of the cost of a
    /// page, so the built-in templates never ask for them).
    pub fn context(&self, with_views: bool) -> tera::Context {
        let id = &self.manifest.id;
        let alternates = alternates(self.project, self.lang, |l| format!("../../{l}/{id}/"));
        let body =
            FormBody { form: &self.form, sections: with_views.then_some(self.sections.as_slice()), rules: &self.rules };
        page(self.project, self.lang, "../../", self.assets, alternates, None, body)
    }

    /// The markup of the top-level sections, each after a line break,
    /// byte for byte what the built-in `macros.html` writes.
    pub fn sections_html(&self) -> String {
        let questions: usize = self.manifest.sections.iter().map(|s| s.questions.len()).sum();
        let mut out = String::with_capacity(1024 + questions * 640);
        for section in &self.sections {
            out.push('\n');
            super::markup::section(&mut out, section, self.t);
        }
        out
    }
}
