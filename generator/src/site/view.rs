//! View models: what the templates see.
//!
//! Everything a template needs is computed here (input names with instance
//! indexes, widgets, which ids describe an input, markdown already
//! sanitised), so templates stay simple and an editor's own templates can't
//! get the accessibility wiring wrong by accident. Texts stay plain strings;
//! tera escapes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::json;

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
/// the template gives the first of a group `input_id`, the target of error
/// links), or one `<option>`.
#[derive(Debug, Serialize)]
struct ChoiceView {
    value: String,
    label: String,
    checked: bool,
    attrs: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Default)]
struct QuestionView {
    path: String,
    name: String,
    input_id: String,
    widget: &'static str,
    input_type: &'static str,
    group: bool,
    inline: bool,
    label: String,
    label_html: Option<String>,
    hint: Option<String>,
    help_html: Option<String>,
    optional: bool,
    describedby: Option<String>,
    value: Option<String>,
    inputmode: Option<&'static str>,
    max_length: Option<u32>,
    min: Option<String>,
    max: Option<String>,
    list_url: Option<String>,
    filter: Vec<(String, String)>,
    choices: Vec<ChoiceView>,
}

#[derive(Debug, Serialize)]
struct RepeatView {
    min: u32,
    max: Option<u32>,
}

#[derive(Debug, Serialize)]
struct InstanceView {
    index: usize,
    legend: String,
    questions: Vec<QuestionView>,
    children: Vec<SectionView>,
}

#[derive(Debug, Serialize)]
struct SectionView {
    id: String,
    html_id: String,
    level: u8,
    title: String,
    item: String,
    help_html: Option<String>,
    conditional: bool,
    repeat: Option<RepeatView>,
    instances: Vec<InstanceView>,
    questions: Vec<QuestionView>,
    children: Vec<SectionView>,
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
            let stem = list_stem(&manifest.id, name);
            (uses_picker(q, list) && seen.insert(stem.clone())).then_some((stem, list))
        })
        .collect()
}

/// A long list as the JSON asset the picker loads: `[[code, label, {attributes}], ...]`.
pub fn list_asset(list: &ChoiceList, lang: &str) -> String {
    let rows: Vec<serde_json::Value> = list
        .choices
        .iter()
        .map(|c| {
            if c.attributes.is_empty() {
                json!([c.value, c.label.get(lang)])
            } else {
                json!([c.value, c.label.get(lang), c.attributes])
            }
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
}

impl FormRenderer<'_> {
    fn children_of(&self, section: &Section) -> Vec<&Section> {
        self.manifest.sections.iter().filter(|s| s.parent.as_deref() == Some(section.id.as_str())).collect()
    }

    /// Renders a section. `prefix` is the input-name prefix of the instance
    /// it lives in (`""`, or `acts.0.`).
    fn section(&self, section: &Section, prefix: &str, level: u8) -> SectionView {
        let title = section.title.get(self.lang).to_owned();
        let item = section.item_label.as_ref().map_or_else(|| title.clone(), |t| t.get(self.lang).to_owned());
        let html_id = format!("{prefix}{}", section.id);
        let mut view = SectionView {
            id: section.id.clone(),
            html_id,
            level,
            item: item.clone(),
            title,
            help_html: section.help.as_ref().map(|h| to_html(h.get(self.lang))),
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

    fn question(&self, q: &Question, prefix: &str) -> Option<QuestionView> {
        if q.kind == QuestionType::Calculate {
            return None;
        }
        let lang = self.lang;
        let name = format!("{prefix}{}", q.id);
        let mut view = QuestionView {
            path: q.path.clone(),
            input_id: format!("f-{name}"),
            label: q.label.get(lang).to_owned(),
            hint: q.hint.as_ref().map(|h| h.get(lang).to_owned()),
            help_html: q.help.as_ref().map(|h| to_html(h.get(lang))),
            optional: q.required == Expr::Bool(false),
            ..QuestionView::default()
        };
        let list = q.choices.as_deref().and_then(|l| self.manifest.lists.get(l));
        let mut described = Vec::new();
        if view.hint.is_some() {
            described.push(format!("h-{name}"));
        }
        if view.help_html.is_some() {
            described.push(format!("x-{name}"));
        }
        let default_text = q.default.as_ref().map(|d| match d {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        match q.kind {
            QuestionType::Note => {
                view.widget = "note";
                view.label_html = Some(to_html(q.label.get(lang)));
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
                        value: value.into(),
                        label: label.into(),
                        checked: default == Some(b),
                        attrs: Vec::new(),
                    })
                    .collect();
            }
            QuestionType::SelectOne | QuestionType::SelectMultiple => {
                let list = list?;
                view.filter = q.choice_filter.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                if uses_picker(q, list) {
                    view.widget = "search";
                    view.input_type = "text";
                    view.value = default_text;
                    let stem = list_stem(&self.manifest.id, q.choices.as_deref().unwrap_or(""));
                    view.list_url = self.list_urls.get(&(stem, lang.to_owned())).map(|u| format!("{}{u}", self.root));
                    let search_hint = self.t.search_hint;
                    view.hint = Some(match view.hint.take() {
                        Some(hint) => format!("{hint} {search_hint}"),
                        None => search_hint.to_owned(),
                    });
                    if !described.contains(&format!("h-{name}")) {
                        described.insert(0, format!("h-{name}"));
                    }
                } else {
                    let defaults: Vec<String> = match &q.default {
                        Some(serde_json::Value::String(s)) => vec![s.clone()],
                        Some(serde_json::Value::Array(items)) => {
                            items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
                        }
                        _ => Vec::new(),
                    };
                    let filter_keys: Vec<&String> = q.choice_filter.keys().collect();
                    view.choices = list
                        .choices
                        .iter()
                        .map(|c| ChoiceView {
                            value: c.value.clone(),
                            label: c.label.get(lang).to_owned(),
                            checked: defaults.contains(&c.value),
                            attrs: c
                                .attributes
                                .iter()
                                .filter(|(k, _)| filter_keys.contains(k))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
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
                    view.min = q.min.as_ref().and_then(|m| m.as_str().map(str::to_owned));
                    view.max = q.max.as_ref().and_then(|m| m.as_str().map(str::to_owned));
                }
            }
        }
        if view.widget != "note" {
            view.describedby = (!described.is_empty()).then(|| described.join(" "));
        }
        view.name = name;
        Some(view)
    }
}

/// JSON safe inside `<script>`: no `<`, `>` or `&` can end the element early.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value)
        .expect("rules always serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What a page without a form tells the runtime: the texts of the outbox
/// status that every page shows.
fn status_rules(lang: &str) -> String {
    let t = messages::for_language(lang);
    script_json(&json!({
        "messages": { "waiting": t.waiting, "attention": t.attention, "delivered": t.delivered },
    }))
}

/// The texts the runtime shows, by the keys it asks for.
fn runtime_messages(t: &Messages) -> serde_json::Value {
    json!({
        "required": t.required,
        "constraint": t.constraint,
        "invalid_integer": t.invalid_integer,
        "invalid_decimal": t.invalid_decimal,
        "invalid_date": t.invalid_date,
        "invalid_time": t.invalid_time,
        "invalid_yes_no": t.invalid_yes_no,
        "invalid_text": t.invalid_text,
        "invalid_email": t.invalid_email,
        "invalid_phone": t.invalid_phone,
        "invalid_choice": t.invalid_choice,
        "filtered_choice": t.filtered_choice,
        "unknown_field": t.unknown_field,
        "too_small": t.too_small,
        "too_large": t.too_large,
        "too_early": t.too_early,
        "too_late": t.too_late,
        "too_few_choices": t.too_few_choices,
        "too_many_choices": t.too_many_choices,
        "too_long": t.too_long,
        "too_few_instances": t.too_few_instances,
        "error_summary": t.error_summary,
        "error_prefix": t.error_prefix,
        "remove": t.remove,
        "received": t.received,
        "reference": t.reference,
        "another": t.another,
        "queued": t.queued,
        "held": t.held,
        "not_saved": t.not_saved,
        "waiting": t.waiting,
        "attention": t.attention,
        "delivered": t.delivered,
        "draft": t.draft,
        "discard": t.discard,
    })
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
        if let Some(q) = calculations.get(path) {
            if read.insert(path) {
                wanted.extend([&q.relevant, &q.calculation].into_iter().flatten().flat_map(Expr::references));
            }
        }
    }
    read
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
    let kept: Vec<(&Section, &Question)> = manifest
        .questions()
        .filter(|(_, q)| match q.kind {
            QuestionType::Note => q.relevant.is_some(),
            QuestionType::Calculate => calculations.contains(q.path.as_str()),
            _ => true,
        })
        .collect();
    let sections: Vec<serde_json::Value> = manifest
        .sections
        .iter()
        .map(|s| {
            let mut v = json!({ "id": s.id });
            // Its questions: a run of `questions`, which follow the sections' order.
            let mut mine = kept.iter().enumerate().filter(|(_, (section, _))| section.id == s.id).map(|(i, _)| i);
            if let Some(first) = mine.next() {
                v["q"] = json!([first, mine.next_back().unwrap_or(first)]);
            }
            if let Some(relevant) = &s.relevant {
                v["relevant"] = json!(relevant);
            }
            if let Some(repeat) = s.repeat {
                v["scope"] = json!(s.scope);
                v["repeat"] = json!(repeat);
            }
            if let Some(parent) = &s.parent {
                v["parent"] = json!(parent);
            }
            v
        })
        .collect();
    let questions: Vec<serde_json::Value> = kept
        .iter()
        .map(|(_, q)| {
            let mut v = json!({ "path": q.path, "type": q.kind });
            let object = v.as_object_mut().expect("object");
            if q.required != Expr::Bool(false) {
                object.insert("required".into(), json!(q.required));
            }
            for (key, expr) in
                [("relevant", &q.relevant), ("constraint", &q.constraint), ("calculation", &q.calculation)]
            {
                if let Some(expr) = expr {
                    object.insert(key.into(), json!(expr));
                }
            }
            if let Some(message) = &q.constraint_message {
                object.insert("message".into(), json!(message.get(lang)));
            }
            if !q.choice_filter.is_empty() {
                object.insert("filter".into(), json!(q.choice_filter));
            }
            if let Some((name, list)) =
                q.choices.as_deref().and_then(|name| manifest.lists.get(name).map(|l| (name, l)))
            {
                if uses_picker(q, list) {
                    if let Some(url) = list_urls.get(&(list_stem(&manifest.id, name), lang.to_owned())) {
                        object.insert("list".into(), json!(format!("{root}{url}")));
                    }
                }
            }
            for (key, value) in [("min", &q.min), ("max", &q.max)] {
                if let Some(value) = value {
                    object.insert(key.into(), value.clone());
                }
            }
            if let Some(max_length) = q.max_length {
                object.insert("max_length".into(), json!(max_length));
            }
            if let Some(value_type) = &q.value_type {
                object.insert("value_type".into(), json!(value_type));
            }
            v
        })
        .collect();
    // The order of evaluation, as runs of consecutive question indexes.
    let index: HashMap<&str, usize> = kept.iter().enumerate().map(|(i, (_, q))| (q.path.as_str(), i)).collect();
    let repeats: BTreeSet<&str> =
        manifest.sections.iter().filter(|s| s.repeat.is_some()).map(|s| s.scope.as_str()).collect();
    let mut order: Vec<serde_json::Value> = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for path in &manifest.order {
        if let Some(&i) = index.get(path.as_str()) {
            run = match run {
                Some((first, last)) if last + 1 == i => Some((first, i)),
                other => {
                    order.extend(other.map(|(first, last)| json!([first, last])));
                    Some((i, i))
                }
            };
        } else if repeats.contains(path.as_str()) {
            order.extend(run.take().map(|(first, last)| json!([first, last])));
            order.push(json!(path));
        }
    }
    order.extend(run.map(|(first, last)| json!([first, last])));
    script_json(&json!({
        "form": manifest.id,
        "version": manifest.version,
        "lang": lang,
        "submit": format!("{}/api/v1/submissions", project.site.collector),
        "drafts": project.site.drafts,
        "more": assets.more,
        "order": order,
        "sections": sections,
        "questions": questions,
        "messages": runtime_messages(t),
    }))
}

/// The page of one form in one language.
pub fn form_page(
    project: &Project,
    manifest: &Manifest,
    lang: &str,
    assets: &Assets,
    list_urls: &ListUrls,
) -> tera::Context {
    #[derive(Serialize)]
    struct Body {
        form: FormView,
        sections: Vec<SectionView>,
        rules: String,
    }
    let t = messages::for_language(lang);
    let root = "../../";
    let renderer = FormRenderer { manifest, lang, t, list_urls, root };
    let sections =
        manifest.sections.iter().filter(|s| s.parent.is_none()).map(|s| renderer.section(s, "", 2)).collect();
    let form = FormView {
        id: manifest.id.clone(),
        version: manifest.version,
        title: manifest.title.get(lang).to_owned(),
        intro_html: manifest.intro.as_ref().map(|i| to_html(i.get(lang))),
        action: format!("{}/submit/{}/{}", project.site.collector, manifest.id, manifest.version),
    };
    let rules = rules(project, manifest, lang, t, assets, list_urls, root);
    let id = manifest.id.clone();
    let alternates = alternates(project, lang, |l| format!("../../{l}/{id}/"));
    page(project, lang, root, assets, alternates, None, Body { form, sections, rules })
}
